"""`python -m bot`: run the Telegram bot (webhook when WEBHOOK_URL is set, else polling).

Settings are read before aiogram and the queue client are imported: a bad setting is one
clear line at once, not after seconds of imports.
"""

from __future__ import annotations

from config import load_settings
from config.logs import setup_logging


def main() -> None:
    """Entry point: settings first, so a bad setting is one clear line."""
    settings = load_settings(need_bot_token=True)
    setup_logging(settings.log_level, settings.log_format)
    from bot.run import serve_forever

    serve_forever(settings)


if __name__ == "__main__":
    main()
