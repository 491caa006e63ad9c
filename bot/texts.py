"""What the bot says, as gettext message ids (English). Russian lives in
bot/locales/ru/LC_MESSAGES/tolmach.po; `Texts` picks the user's language.
"""

from __future__ import annotations

from tasks import pairs


def N_(message: str) -> str:
    """Mark a message for extraction without translating it here."""
    return message


HELP = N_(
    "I translate text with neural models that run on this bot's own servers: "
    "your text never leaves them.\n\n"
    "/translate en>ru Hello, world — from English to Russian\n"
    "/tr ru Hello — to Russian, the source is detected\n"
    "/translate english>русский,de Hi — names work too, several targets at once\n"
    "Reply to a message with /tr ru — translates that message\n"
    "In a private chat, just send text: I translate it into your language.\n"
    "Send a file with the caption ru, en>ru or /tr ru — I translate the file (other words "
    "in its caption are not translated)\n\n"
    "/lang ru en — your languages (target, then a second one for text already in the "
    "first)\n"
    "/languages — what this bot can translate\n"
    "/autotranslate on — in a group (admins): translate messages not in the group's "
    "languages"
)
# A mistyped request's words belong to the parser both the bot and `tolmach translate` use.
USAGE = pairs.USAGE
NO_TARGET = pairs.NO_TARGET
UNKNOWN_LANGUAGE = pairs.UNKNOWN_LANGUAGE
DID_YOU_MEAN = pairs.DID_YOU_MEAN
SAME_LANGUAGE = pairs.SAME_LANGUAGE
ALREADY_IN_LANGUAGE = N_(
    "This is already in {language}, your language. Into which language should I translate "
    "it? To have such text translated without asking, set a second language: "
    "/lang {src} {example}"
)
ALREADY_IN_LANGUAGE_NO_MODEL = N_(
    "This is already in {language}, your language, and this bot has no model that "
    "translates from it. /languages shows what it can translate."
)
TEXT_TOO_LONG = N_("The text is too long: {length} characters, the limit is {limit}.")
INVALID_TEXT = N_(
    "The text holds characters that cannot be translated (control characters or broken "
    "Unicode). Remove them and send it again."
)
TOO_MUCH_WORK = N_("That is too much at once: send fewer languages or a shorter text.")
QUEUE_UNAVAILABLE = N_("The translation service is unavailable right now. Please try again later.")
RATE_LIMITED = N_(
    "You are sending requests faster than I can take them. Please wait {seconds} s; "
    "messages sent meanwhile are not translated."
)
BUSY = N_("I am very busy right now. Please try again in {seconds} s.")
NOT_ALLOWED = N_("This is a private translation bot; its owner has not let you in.")
EMPTY_TRANSLATION = N_("(the model returned an empty translation)")
CANCELLED = N_("The translation was cancelled.")
SOURCE_GONE = N_("This message is too old for its buttons: send the text again.")
UNSUPPORTED_PAIR = N_("Sorry, this bot has no model for {src}>{tgt}.")
MODEL_UNAVAILABLE = N_("The model for {src}>{tgt} could not be loaded. Please try again later.")
RESULT_TOO_LONG = N_("The text is too long to translate.")
BAD_REQUEST = N_("This request could not be translated.")
INTERNAL = N_("Something went wrong while translating. Please try again.")
UNDETECTED = N_("I could not tell which language this is. Name it: /translate en>ru …")
LANG_SHOW = N_("Your languages: {languages}. Change them with /lang ru en")
LANG_NONE = N_("You have not chosen a language yet. Example: /lang ru en")
LANG_USAGE = N_("Usage: /lang <language> [second] [third], e.g. /lang ru en")
AUTO_GROUPS_ONLY = N_("/autotranslate works in groups: add me to one and send it there.")
LANG_SET = N_("Saved: I will translate into {languages}.")
CHAT_LANG_SET = N_("Saved: this group's languages are {languages}.")
ADMINS_ONLY = N_("Only the group's admins can change its settings.")
AUTO_ON = N_("Auto-translate is on: messages not in {languages} are translated into {target}.")
AUTO_OFF = N_("Auto-translate is off.")
AUTO_NEEDS_LANGUAGES = N_("Set the group's languages first, e.g. /lang en ru")
AUTO_USAGE = N_("Usage: /autotranslate on|off")
LANGUAGES_PAIRS = N_("Language pairs with a model here: {pairs}.")
LANGUAGES_MULTI = N_("Multilingual model for other pairs: {models}.")
LANGUAGES_HUB = N_("Any pair with an opus-mt model can be used; it is downloaded on first use.")
LANGUAGES_PIVOT = N_("Pairs without a direct model go through English.")
LANGUAGES_UNKNOWN = N_("No worker has reported its models yet. Try again in a minute.")
OTHER_LANGUAGE = N_("Translating…")
INLINE_HELP_TITLE = N_("Type a language and the text")
INLINE_HELP = N_("Examples: en>ru Hello · ru Hello · Hello (into your language)")
INLINE_BUSY = N_("The translators are busy; try again in a few seconds.")
STATS_ADMINS_ONLY = N_("/stats is for the bot's administrators.")
STATS = N_(
    "Queues: {queues}\n"
    "Requests to this bot process: {requests}\n"
    "Translated by workers: {translated} in {batches} batches\n"
    "Models loaded: {models}"
)
STATS_NONE = N_("none")

DOC_PROGRESS = N_("Translating “{name}” into {language}…")
DOC_QUEUED = N_("Queued; documents wait while chat messages are translated.")
DOC_CANCEL = N_("Cancel")
DOC_CANCELLED = N_("Cancelled: “{name}” will not be translated.")
DOC_ALREADY_DONE = N_("This document is already finished.")
DOC_NOT_YOURS = N_("Only the one who sent this document, or an admin, can cancel it.")
DOC_DONE = N_("Translated into {language}.")
DOC_UNSUPPORTED = N_("I can't translate “{name}”: unknown file format. I know: {formats}.")
DOC_FILE_TOO_BIG = N_("“{name}” is too big: {size} MB, the limit is {max_size} MB.")
DOC_BINARY = N_("“{name}” is not a text file: it holds binary data.")
DOC_CORRUPT = N_("“{name}” is damaged or is not a valid {format} file.")
DOC_ENCRYPTED = N_("“{name}” is encrypted. Send a copy without a password.")
DOC_TOO_MANY_CHARS = N_("“{name}” has too much text: {length} characters, the limit is {limit}.")
DOC_ARCHIVE_BOMB = N_("“{name}” unpacks to far more data than it holds and was refused.")
DOC_TOO_MANY_PAGES = N_("“{name}” has too many pages: {length}, the limit is {limit}.")
DOC_TOO_MANY_CUES = N_("“{name}” has too many subtitles: {length}, the limit is {limit}.")
DOC_EMPTY = N_("There is no text to translate in “{name}”.")
DOC_DOWNLOAD = N_("I could not download “{name}”. Please send it again.")

# What a failed translation's `error` (tasks.contract.ErrorCode) says; None: nothing (the
# text is in a language the chat asked to leave as it is).
ERRORS: dict[str, str | None] = {
    "unsupported_pair": UNSUPPORTED_PAIR,
    "model_unavailable": MODEL_UNAVAILABLE,
    "text_too_long": RESULT_TOO_LONG,
    "same_language": SAME_LANGUAGE,
    "undetected": UNDETECTED,
    "skipped": None,
    "bad_request": BAD_REQUEST,
    "internal": INTERNAL,
}
# Why a document came back without a file (tasks.contract.DocumentReason).
REASONS = {
    "unsupported_format": DOC_UNSUPPORTED,
    "file_too_big": DOC_FILE_TOO_BIG,
    "binary": DOC_BINARY,
    "corrupt": DOC_CORRUPT,
    "encrypted": DOC_ENCRYPTED,
    "too_large": DOC_TOO_MANY_CHARS,
    "archive_limits": DOC_ARCHIVE_BOMB,
    "too_many_pages": DOC_TOO_MANY_PAGES,
    "too_many_cues": DOC_TOO_MANY_CUES,
    "empty": DOC_EMPTY,
    "download": DOC_DOWNLOAD,
    "cancelled": DOC_CANCELLED,
}

APP_OPEN = N_("Long texts and files: open the translator page.")
APP_BUTTON = N_("Open the translator")
APP_NONE = N_("This bot has no web page set up (WEBAPP_URL).")

COMMANDS = {
    "translate": N_("Translate: /translate en>ru text"),
    "tr": N_("Short for /translate"),
    "lang": N_("Your languages: /lang ru en"),
    "languages": N_("What this bot can translate"),
    "autotranslate": N_("Group auto-translate: on or off (admins)"),
    "help": N_("How to use the bot"),
    "app": N_("The translator page: long texts and files"),
}
