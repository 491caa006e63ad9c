"""Cross-cutting steps every update or API call goes through.

- `dedupe`: each update is handled once, even if Telegram resends it or its bot died.
- `gate`: the allow-list and rate limits, before any work is queued.

The one retry policy of calls to Telegram is a session middleware, shared with the HTTP
API: `tasks.telegram.retries`.
"""
