"""`tolmach translate PAIR TEXT…`: translate in this process, no queue and no Telegram."""

from __future__ import annotations

import argparse
import sys

from tasks.pairs import NoTarget, PairError, UsageError, parse_translate, words

# The bot's usage words name its commands (/translate, /lang); the command names itself.
USAGE = (
    "Usage: tolmach translate <from>><to> <text>, or <to> alone to detect the source\n"
    "Example: tolmach translate en>ru Hello, world"
)


def translate(args: argparse.Namespace) -> int:
    """Translate the words given, or standard input for `-`."""
    text = sys.stdin.read() if args.text == ["-"] else " ".join(args.text)
    return translate_here(args.pair, text)


def translate_here(pair: str, text: str) -> int:
    """Translate with the engine in this process (the same code workers run).

    Returns:
        0 when translated, 1 when the engine refused, 2 when the pair is mistyped.
    """
    from config import load_settings
    from tasks.engine.registry import ModelRegistry
    from tasks.engine.service import TranslationService

    settings = load_settings()
    try:
        request = parse_translate(f"{pair} {text}")
        if not request.targets:
            raise NoTarget
    except (UsageError, NoTarget):
        print(USAGE, file=sys.stderr)
        return 2
    except PairError as exc:
        print(words(exc), file=sys.stderr)  # the bot's English words for a language
        return 2
    registry = ModelRegistry.from_settings(settings)
    result = TranslationService(registry, max_chars=settings.max_text_chars).translate(
        request.text, request.src, request.targets[0]
    )
    if not result["ok"]:
        print(f"error: {result['error']}: {result.get('detail', '')}", file=sys.stderr)
        return 1
    print(result["text"])
    return 0
