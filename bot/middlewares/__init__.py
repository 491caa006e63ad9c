"""Cross-cutting steps every update or API call goes through.

- `dedupe`: each update is handled once, even if Telegram resends it.
- `gate`: the allow-list and rate limits, before any work is queued.
- `retries`: one place where calls to Telegram wait out 429s and retry network errors.
"""
