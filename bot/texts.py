"""What the bot says. One place, so wording (and later translation) stays consistent."""

from __future__ import annotations

USAGE = "Usage: /translate <from>><to> <text>\nExample: /translate en>ru Hello, world"
HELP = (
    "I translate text with neural models that run on this bot's own servers: "
    "your text never leaves them.\n\n"
    "/translate en>ru Hello, world — translate from English to Russian\n"
    "/tr de>en Guten Morgen — the same, shorter\n"
    "/help — this message"
)
UNKNOWN_LANGUAGE = "I don't know the language code “{code}”. Use codes such as en, ru, de, fr."
SAME_LANGUAGE = "The source and the target are the same language ({code}): nothing to translate."
TEXT_TOO_LONG = "The text is too long: {length} characters, the limit is {limit}."
QUEUE_UNAVAILABLE = "The translation service is unavailable right now. Please try again later."
EMPTY_TRANSLATION = "(the model returned an empty translation)"

RESULT_ERRORS = {
    "unsupported_pair": "Sorry, this bot has no model for {src}>{tgt}.",
    "model_unavailable": "The model for {src}>{tgt} could not be loaded. Please try again later.",
    "text_too_long": "The text is too long to translate.",
    "bad_request": "This request could not be translated.",
    "internal": "Something went wrong while translating. Please try again.",
}
CANCELLED = "The translation was cancelled."
