"""The API's files in Redis (uploads waiting for a worker, translations waiting for
their download) under a byte budget of their own and a cap per client.

Redis is also the queue: without a budget, a few clients uploading large files could
fill its memory and stop every translation. A ledger (Redis key → size, client, when)
counts what is held; an entry whose key is gone (downloaded, cancelled, expired) drops
out at the next count.
"""

from __future__ import annotations

import time

from redis.asyncio import Redis

LEDGER = "tolmach:api:files"
# An entry younger than this counts even before its key is written.
GRACE = 30

# KEYS[1]: the ledger. ARGV: key, size, client, budget, per client, now, grace.
# 0: admitted (and entered); 1: the client holds its share; 2: the budget is spent.
_ADMIT = """
local entries = redis.call('HGETALL', KEYS[1])
local now, grace = tonumber(ARGV[6]), tonumber(ARGV[7])
local total, mine = 0, 0
for i = 1, #entries, 2 do
  local key, value = entries[i], entries[i + 1]
  local size, client, at = string.match(value, '^(%d+)|(.*)|([%d.]+)$')
  if size and (redis.call('EXISTS', key) == 1 or now - tonumber(at) < grace) then
    total = total + tonumber(size)
    if client == ARGV[3] then mine = mine + 1 end
  else
    redis.call('HDEL', KEYS[1], key)
  end
end
if mine >= tonumber(ARGV[5]) then return 1 end
if total + tonumber(ARGV[2]) > tonumber(ARGV[4]) then return 2 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. '|' .. ARGV[3] .. '|' .. ARGV[6])
return 0
"""


class FilesFull(Exception):
    """A file the budget has no room for; `mine`: the client's own share is spent."""

    def __init__(self, mine: bool) -> None:
        super().__init__("client" if mine else "budget")
        self.mine = mine


class FileLedger:
    """Admits, moves and forgets the API's files in Redis."""

    def __init__(self, redis: Redis, *, budget: int, per_client: int) -> None:
        self.redis = redis
        self.budget = budget
        self.per_client = per_client
        self._admit = redis.register_script(_ADMIT)

    async def admit(self, key: str, size: int, client: str) -> None:
        """Enter `size` bytes under `key` for `client`, if there is room.

        Raises:
            FilesFull: the client holds API_FILES_PER_CLIENT files, or the bytes held
                would pass API_FILES_MAX_BYTES.
        """
        args: list[str | int | float] = [
            key,
            size,
            client,
            self.budget,
            self.per_client,
            time.time(),
            GRACE,
        ]
        refused = int(await self._admit(keys=[LEDGER], args=args))
        if refused:
            raise FilesFull(mine=refused == 1)

    async def replace(self, old: str, new: str) -> None:
        """An upload became its translation: the client's entry follows the new key,
        with the new key's size (nothing is refused: the work was accepted)."""
        raw = await self.redis.hget(LEDGER, old)
        client = raw.decode().split("|")[1] if isinstance(raw, bytes) else "?"
        size = int(await self.redis.strlen(new))
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hdel(LEDGER, old)
            pipe.hset(LEDGER, new, f"{size}|{client}|{time.time()}")
            await pipe.execute()

    async def forget(self, key: str) -> None:
        """The file under `key` is gone (or going): it no longer counts."""
        await self.redis.hdel(LEDGER, key)
