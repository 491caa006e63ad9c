"""`tolmach keys add|list|remove`: the HTTP API's keys, kept in Redis."""

from __future__ import annotations

import argparse
import sys


def manage(args: argparse.Namespace) -> int:
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
