"""How the bot meets the outside: updates in, health and metrics out.

- `updates`: webhook when WEBHOOK_URL is set, long polling otherwise.
- `intake`: a fetched batch is confirmed to Telegram only once it was handled.
- `web`: the small aiohttp server (`/health`, `/metrics`, the webhook route).
- `metrics`: the bot's Prometheus metrics (queue depths and worker metrics: `tasks.fleet`).
- `startup`: waits for Redis and checks the token before updates are taken.
"""
