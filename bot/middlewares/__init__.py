"""Cross-cutting steps every update or API call goes through.

- `dedupe`: each update is handled once, even if Telegram resends it.
- `gate`: the allow-list and rate limits, before any work is queued.
- `retries`: the one retry policy of calls to Telegram (429s waited out, 5xx and network
  errors retried); the start-up check, which has a patience of its own, is exempt.
"""
