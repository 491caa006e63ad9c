"""The `tolmach` command: run everything on one host, or translate from the terminal."""

from __future__ import annotations

import argparse
import sys

from bot.cli import launcher


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `tolmach` console script."""
    parser = argparse.ArgumentParser(prog="tolmach", description="Self-hosted translation bot")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "run",
        help="start Redis (if needed), a worker, the HTTP API and (with BOT_TOKEN) the bot; "
        "Ctrl-C stops all",
    )
    sub.add_parser("bot", help="run only the Telegram bot (python -m bot)")
    sub.add_parser("api", help="run only the HTTP API (python -m api)")
    worker = sub.add_parser("worker", help="run only a worker (celery -A tasks worker)")
    worker.add_argument("celery_args", nargs=argparse.REMAINDER, help="passed to celery")
    tr = sub.add_parser("translate", help="translate from the terminal, no Telegram")
    tr.add_argument("pair", help="e.g. en>ru")
    tr.add_argument("text", nargs="+", help="the text (or - to read standard input)")
    add_models_parser(sub)
    add_keys_parser(sub)
    args = parser.parse_args(argv)

    if args.command == "run":
        return launcher.run_all()
    if args.command == "bot":
        return launcher.run_one(launcher.bot_command())
    if args.command == "api":
        return launcher.run_one(launcher.api_command())
    if args.command == "keys":
        return manage_keys(args)
    if args.command == "worker":
        return launcher.run_one(launcher.worker_command(args.celery_args))
    if args.command == "models":
        return manage_models(args.models_command, getattr(args, "pairs", []))
    text = sys.stdin.read() if args.text == ["-"] else " ".join(args.text)
    return translate_here(args.pair, text)


def add_models_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`tolmach models download PAIR…` and `tolmach models list`."""
    models = sub.add_parser("models", help="fetch models ahead of time, or list those here")
    actions = models.add_subparsers(dest="models_command", required=True)
    fetch = actions.add_parser("download", help="fetch (and convert) the models of pairs")
    fetch.add_argument("pairs", nargs="+", help="e.g. en-ru ru-en")
    actions.add_parser("list", help="models in the hub cache and MODEL_CACHE")


def add_keys_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`tolmach keys add|list|remove`: the HTTP API's keys, kept in Redis."""
    keys = sub.add_parser("keys", help="API keys of the HTTP API (see API_KEYS)")
    actions = keys.add_subparsers(dest="keys_command", required=True)
    add = actions.add_parser("add", help="create a key and print it")
    add.add_argument("--per-minute", type=float, default=0, help="requests per minute")
    add.add_argument("--chars", type=int, default=0, help="characters per request")
    add.add_argument(
        "--chars-per-month", type=int, default=0, help="characters per month (0: no quota)"
    )
    actions.add_parser("list", help="the keys and their limits")
    remove = actions.add_parser("remove", help="delete a key")
    remove.add_argument("key", help="the key, or its id from `keys list`")


def manage_keys(args: argparse.Namespace) -> int:
    """Run `keys add|list|remove` against REDIS_URL."""
    import asyncio

    from api.keys import KeyStore
    from config import load_settings
    from tasks.connections import async_redis

    async def run() -> int:
        redis = async_redis(load_settings())
        try:
            store = KeyStore(redis)
            if args.keys_command == "add":
                secret, _ = await store.add(
                    per_minute=args.per_minute, chars=args.chars, per_month=args.chars_per_month
                )
                print(secret)  # shown once: only its digest is stored
            elif args.keys_command == "list":
                for key in await store.all():
                    limits = f"{key.per_minute or 'default'}/min, {key.chars or 'default'} chars"
                    limits += f", {key.per_month or 'unlimited'} chars/month"
                    print(f"{key.id}  {limits}")
            elif not await store.remove(args.key):
                print(f"error: no key {args.key}", file=sys.stderr)
                return 1
            return 0
        finally:
            await redis.aclose()

    return asyncio.run(run())


def manage_models(command: str, pairs: list[str]) -> int:
    """Run `models download|list` (model code lives in tasks/, imported only here)."""
    from config import load_settings
    from tasks.engine.models import ModelsError, download, human, present

    settings = load_settings()
    if command == "list":
        rows = present(settings)
        for row in rows:
            print(f"{row.name:<44} {human(row.size):>9}  {row.engine:<20} {row.where}")
        if not rows:
            print("no models here yet (tolmach models download en-ru)", file=sys.stderr)
        return 0
    try:
        download(settings, pairs, print)
    except ModelsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def translate_here(pair: str, text: str) -> int:
    """Translate with the engine in this process (the same code workers run)."""
    from bot.errors import BotError, NoTarget
    from bot.handlers.errors import describe
    from bot.i18n import Texts, create_i18n
    from bot.parsing import parse_translate
    from config import load_settings
    from tasks.engine.registry import ModelRegistry
    from tasks.engine.service import TranslationService

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
