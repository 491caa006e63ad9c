"""Redis cache of finished segment translations, keyed by route, pair and text hash."""

from __future__ import annotations

import hashlib
import logging

import redis

from tasks.connections import as_text

log = logging.getLogger(__name__)
PREFIX = "tolmach:tc:"


class TranslationCache:
    """Get and set many segment translations in one round trip each.

    Failures are logged and treated as misses: the cache must never fail a request.
    """

    def __init__(self, client: redis.Redis, ttl: int) -> None:
        self.client = client
        self.ttl = ttl

    @staticmethod
    def key(namespace: str, text: str) -> str:
        """Cache key for a text under a namespace (engine, models, beams, pair)."""
        # surrogatepass: a text with a lone surrogate (valid JSON, not valid Unicode) must
        # get a key of its own, not raise for the whole batch it came in.
        digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
        return f"{PREFIX}{hashlib.blake2b(namespace.encode(), digest_size=8).hexdigest()}:{digest}"

    def get_many(self, namespace: str, texts: list[str]) -> list[str | None]:
        """Cached translations (None for a miss), same order as `texts`."""
        if not texts or self.ttl <= 0:
            return [None] * len(texts)
        try:
            found = self.client.mget([self.key(namespace, t) for t in texts])
        except redis.RedisError as exc:
            log.warning("translation cache unavailable: %r", exc)
            return [None] * len(texts)
        return [None if v is None else as_text(v) for v in found]

    def set_many(self, namespace: str, pairs: dict[str, str]) -> None:
        """Store translations (text → translation) with the TTL."""
        if not pairs or self.ttl <= 0:
            return
        try:
            with self.client.pipeline(transaction=False) as pipe:
                for text, translated in pairs.items():
                    pipe.set(self.key(namespace, text), translated, ex=self.ttl)
                pipe.execute()
        except redis.RedisError as exc:
            log.warning("translation cache unavailable: %r", exc)
