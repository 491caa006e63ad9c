"""Token buckets in Redis, shared by every replica of every front end (rate limits).

A request takes one token from each of its buckets, or from none; buckets refill by
elapsed time on Redis's clock, so replicas need no clock of their own.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

PREFIX = "tolmach:bucket:"

# Buckets refilled by elapsed time; a request takes a token from each, or from none.
# Returns {1, "0"} when admitted, else {0, seconds until it would be}.
# ARGV: rate/s and burst per key (a rate of 0: no bucket).
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local levels, waits = {}, {}
for i = 1, #KEYS do
  local rate, burst = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  if rate > 0 then
    local state = redis.call('HMGET', KEYS[i], 'tokens', 'at')
    local tokens = tonumber(state[1]) or burst
    local at = tonumber(state[2]) or now
    tokens = math.min(burst, tokens + math.max(now - at, 0) * rate)
    levels[i] = tokens
    if tokens < 1 then waits[#waits + 1] = (1 - tokens) / rate end
  end
end
if #waits > 0 then return {0, tostring(math.max(unpack(waits)))} end
for i = 1, #KEYS do
  local rate, burst = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  if levels[i] then
    redis.call('HSET', KEYS[i], 'tokens', levels[i] - 1, 'at', now)
    redis.call('EXPIRE', KEYS[i], math.ceil(burst / rate) + 1)
  end
end
return {1, "0"}
"""


@dataclass(frozen=True)
class Bucket:
    """One bucket: `name` under PREFIX, refilled `per_minute`, holding up to `burst`."""

    name: str
    per_minute: float
    burst: int


class TokenBuckets:
    """Takes tokens atomically from several buckets at once."""

    def __init__(self, redis: Redis) -> None:
        self._take = redis.register_script(_TAKE)

    async def take(self, *buckets: Bucket) -> float:
        """Take a token from every bucket; 0 when admitted, else the seconds to wait
        (nothing was taken). A bucket with a rate of 0 is no limit."""
        buckets = tuple(b for b in buckets if b.per_minute > 0)
        if not buckets:  # no limit: no need to ask Redis
            return 0.0
        keys = [PREFIX + b.name for b in buckets]
        args: list[float] = []
        for b in buckets:
            args += [b.per_minute / 60, b.burst]
        admitted, wait = await self._take(keys=keys, args=args)
        return 0.0 if int(admitted) else float(wait)
