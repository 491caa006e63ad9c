"""Telegram as the bot, for every front end that talks to it.

`session.create_bot` is the one way to build the deployment's aiogram Bot (its session,
TELEGRAM_API_URL, the retry policy of `retries`); `files.FileSender` sends a file to a
user's chat as the bot and turns Telegram's refusals into typed errors. The bot and the
HTTP API both import this package, never each other.
"""
