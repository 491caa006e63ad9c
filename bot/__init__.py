"""Tolmach's Telegram front end (aiogram 3). Never imports torch or transformers."""
