"""The `tolmach` command's arguments, and which module runs each subcommand."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from cli import keys, models, run, translate

Command = Callable[[argparse.Namespace], int]
# Subcommand -> what runs it; each module imports its heavy parts only when run.
COMMANDS: dict[str, Command] = {
    "run": run.run_all,
    "bot": run.bot,
    "api": run.api,
    "worker": run.worker,
    "translate": translate.translate,
    "models": models.manage,
    "keys": keys.manage,
}


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
    return COMMANDS[args.command](args)


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


if __name__ == "__main__":
    sys.exit(main())
