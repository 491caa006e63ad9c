"""A Bot API emulator on 127.0.0.1 that the tests own.

It speaks the real HTTP API (`/bot{token}/{method}`, Telegram-shaped JSON), rejects
what Telegram rejects (bad token, empty or over-long text, broken HTML entities,
unknown reply targets) and lets a test push updates and read what the bot sent.
It runs on its own event loop in a thread; its public methods are thread-safe.

Modules:
  driver       BotApiEmulator, the test side: push updates, read and wait for results
  server       the aiohttp app on its own thread, the Bot API methods, webhook posting
  files        the file route, getFile and sendDocument
  html_checks  Telegram-HTML validation for parse_mode=HTML
  state        the state both sides share, under one lock
  api          errors, limits and form decoding common to the rest
"""

from tests.support.emulator.api import BOT_USER, TEXT_LIMIT, ApiError
from tests.support.emulator.driver import BotApiEmulator
from tests.support.emulator.html_checks import check_html

__all__ = ["BOT_USER", "TEXT_LIMIT", "ApiError", "BotApiEmulator", "check_html"]
