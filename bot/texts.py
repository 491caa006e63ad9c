"""What the bot says, as gettext message ids (English). Russian lives in
bot/locales/ru/LC_MESSAGES/tolmach.po; `Texts` picks the user's language.
"""

from __future__ import annotations


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
    "In a private chat, just send text: I translate it into your language.\n\n"
    "/lang ru en — your languages (target, then a second one for text already in the "
    "first)\n"
    "/languages — what this bot can translate\n"
    "/autotranslate on — in a group (admins): translate messages not in the group's "
    "languages"
)
USAGE = N_(
    "Usage: /translate <from>><to> <text>\n"
    "Example: /translate en>ru Hello, world\n"
    "Or reply to a message with /translate ru"
)
NO_TARGET = N_(
    "Which language should I translate into? For example: /translate ru Hello. "
    "Set your usual language with /lang ru"
)
UNKNOWN_LANGUAGE = N_("I don't know the language “{code}”.")
DID_YOU_MEAN = N_("Did you mean “{suggestion}”?")
SAME_LANGUAGE = N_(
    "The source and the target are the same language ({code}): nothing to translate."
)
TEXT_TOO_LONG = N_("The text is too long: {length} characters, the limit is {limit}.")
QUEUE_UNAVAILABLE = N_("The translation service is unavailable right now. Please try again later.")
EMPTY_TRANSLATION = N_("(the model returned an empty translation)")
CANCELLED = N_("The translation was cancelled.")
UNSUPPORTED_PAIR = N_("Sorry, this bot has no model for {src}>{tgt}.")
MODEL_UNAVAILABLE = N_("The model for {src}>{tgt} could not be loaded. Please try again later.")
RESULT_TOO_LONG = N_("The text is too long to translate.")
BAD_REQUEST = N_("This request could not be translated.")
INTERNAL = N_("Something went wrong while translating. Please try again.")
UNDETECTED = N_("I could not tell which language this is. Name it: /translate en>ru …")
LANG_SHOW = N_("Your languages: {languages}. Change them with /lang ru en")
LANG_NONE = N_("You have not chosen a language yet. Example: /lang ru en")
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

COMMANDS = {
    "translate": N_("Translate: /translate en>ru text"),
    "tr": N_("Short for /translate"),
    "lang": N_("Your languages: /lang ru en"),
    "languages": N_("What this bot can translate"),
    "autotranslate": N_("Group auto-translate: on or off (admins)"),
    "help": N_("How to use the bot"),
}
