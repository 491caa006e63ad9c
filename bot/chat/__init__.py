"""Translations in chats: `/translate`, private text, group auto-translate, buttons.

- `flow`: turns messages into queued translations; `delivery`: sends the answers.
- `sources`: originals kept for the "other language" buttons; `keyboards`, `choices`:
  those buttons and the languages they offer.
- `splitting`: answers longer than one Telegram message; `typing_indicator`: "typing…".
"""
