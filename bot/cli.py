"""The `tolmach` command: run everything on one host, or translate from the terminal."""

from __future__ import annotations

import argparse
import sys

from bot import launcher


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `tolmach` console script."""
    parser = argparse.ArgumentParser(prog="tolmach", description="Self-hosted translation bot")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="start Redis (if needed), a worker and the bot; Ctrl-C stops all")
    sub.add_parser("bot", help="run only the Telegram bot (python -m bot)")
    worker = sub.add_parser("worker", help="run only a worker (celery -A tasks worker)")
    worker.add_argument("celery_args", nargs=argparse.REMAINDER, help="passed to celery")
    tr = sub.add_parser("translate", help="translate from the terminal, no Telegram")
    tr.add_argument("pair", help="e.g. en>ru")
    tr.add_argument("text", nargs="+", help="the text (or - to read standard input)")
    args = parser.parse_args(argv)

    if args.command == "run":
        return launcher.run_all()
    if args.command == "bot":
        return launcher.run_one(launcher.bot_command())
    if args.command == "worker":
        return launcher.run_one(launcher.worker_command(args.celery_args))
    text = sys.stdin.read() if args.text == ["-"] else " ".join(args.text)
    return translate_here(args.pair, text)


def translate_here(pair: str, text: str) -> int:
    """Translate with the engine in this process (the same code workers run)."""
    from bot.errors import BotError, NoTarget
    from bot.handlers.errors import describe
    from bot.i18n import Texts, create_i18n
    from bot.parsing import parse_translate
    from config import load_settings
    from tasks.registry import ModelRegistry
    from tasks.service import TranslationService

    settings = load_settings()
    try:
        request = parse_translate(f"{pair} {text}")
        if not request.targets:
            raise NoTarget
    except BotError as exc:
        print(describe(exc, Texts(create_i18n()), "en"), file=sys.stderr)
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


if __name__ == "__main__":
    sys.exit(main())
