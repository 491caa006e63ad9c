"""`tolmach models download PAIR…|list`: fetch models ahead of time, or list those here."""

from __future__ import annotations

import argparse
import sys


def manage(args: argparse.Namespace) -> int:
    """Run `models download|list` (model code lives in tasks/, imported only here)."""
    from config import load_settings
    from tasks.engine.models import ModelsError, download, human, present

    settings = load_settings()
    if args.models_command == "list":
        rows = present(settings)
        for row in rows:
            print(f"{row.name:<44} {human(row.size):>9}  {row.engine:<20} {row.where}")
        if not rows:
            print("no models here yet (tolmach models download en-ru)", file=sys.stderr)
        return 0
    try:
        download(settings, args.pairs, print)
    except ModelsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
