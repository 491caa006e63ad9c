"""`tolmach run` starts every service on one host; `tolmach bot|api|worker` starts one."""

from __future__ import annotations

import argparse

from cli import launcher


def run_all(args: argparse.Namespace) -> int:
    """`tolmach run`: Redis if needed, a worker, the HTTP API and (with BOT_TOKEN) the bot."""
    return launcher.run_all()


def bot(args: argparse.Namespace) -> int:
    """`tolmach bot`: only the Telegram bot, in the foreground."""
    return launcher.run_one(launcher.bot_command())


def api(args: argparse.Namespace) -> int:
    """`tolmach api`: only the HTTP API, in the foreground."""
    return launcher.run_one(launcher.api_command())


def worker(args: argparse.Namespace) -> int:
    """`tolmach worker [CELERY_ARGS…]`: only a worker, in the foreground."""
    return launcher.run_one(launcher.worker_command(args.celery_args))
