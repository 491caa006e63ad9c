"""Language codes, aliases and names, shared by the worker and the bot.

Codes are normalised to ISO 639-1 where one exists (`en`, `ru`), with a script or
region where it matters (`zh-Hans`, `pt-BR`). Names come from Babel's CLDR data in
English and in the language itself, so `english`, `русский` and `eng` all mean `en`.
"""

from __future__ import annotations

import difflib
import re
from functools import cache, lru_cache

# Pairs without a model of their own are translated through this language.
PIVOT = "en"

# code: (ISO 639-3, FLORES-200 code used by NLLB)
LANGUAGES: dict[str, tuple[str, str]] = {
    "af": ("afr", "afr_Latn"),
    "ar": ("ara", "arb_Arab"),
    "az": ("aze", "azj_Latn"),
    "be": ("bel", "bel_Cyrl"),
    "bg": ("bul", "bul_Cyrl"),
    "bn": ("ben", "ben_Beng"),
    "ca": ("cat", "cat_Latn"),
    "cs": ("ces", "ces_Latn"),
    "da": ("dan", "dan_Latn"),
    "de": ("deu", "deu_Latn"),
    "el": ("ell", "ell_Grek"),
    "en": ("eng", "eng_Latn"),
    "eo": ("epo", "epo_Latn"),
    "es": ("spa", "spa_Latn"),
    "et": ("est", "est_Latn"),
    "fa": ("fas", "pes_Arab"),
    "fi": ("fin", "fin_Latn"),
    "fr": ("fra", "fra_Latn"),
    "ga": ("gle", "gle_Latn"),
    "he": ("heb", "heb_Hebr"),
    "hi": ("hin", "hin_Deva"),
    "hr": ("hrv", "hrv_Latn"),
    "hu": ("hun", "hun_Latn"),
    "hy": ("hye", "hye_Armn"),
    "id": ("ind", "ind_Latn"),
    "is": ("isl", "isl_Latn"),
    "it": ("ita", "ita_Latn"),
    "ja": ("jpn", "jpn_Jpan"),
    "ka": ("kat", "kat_Geor"),
    "kk": ("kaz", "kaz_Cyrl"),
    "ko": ("kor", "kor_Hang"),
    "lt": ("lit", "lit_Latn"),
    "lv": ("lav", "lvs_Latn"),
    "mk": ("mkd", "mkd_Cyrl"),
    "ms": ("msa", "zsm_Latn"),
    "nl": ("nld", "nld_Latn"),
    "no": ("nor", "nob_Latn"),
    "pl": ("pol", "pol_Latn"),
    "pt": ("por", "por_Latn"),
    "ro": ("ron", "ron_Latn"),
    "ru": ("rus", "rus_Cyrl"),
    "sk": ("slk", "slk_Latn"),
    "sl": ("slv", "slv_Latn"),
    "sq": ("sqi", "als_Latn"),
    "sr": ("srp", "srp_Cyrl"),
    "sv": ("swe", "swe_Latn"),
    "sw": ("swa", "swh_Latn"),
    "th": ("tha", "tha_Thai"),
    "tr": ("tur", "tur_Latn"),
    "uk": ("ukr", "ukr_Cyrl"),
    "ur": ("urd", "urd_Arab"),
    "uz": ("uzb", "uzn_Latn"),
    "vi": ("vie", "vie_Latn"),
    "zh": ("zho", "zho_Hans"),
    "zh-Hant": ("zho", "zho_Hant"),
}
# Aliases that are not derivable from the table or CLDR.
_EXTRA_ALIASES = {
    "zh-hans": "zh",
    "zh-cn": "zh",
    "zh-tw": "zh-Hant",
    "ua": "uk",
    "iw": "he",
    "jp": "ja",
    "cn": "zh",
    "nb": "no",
    "in": "id",
    "fil": "tl",
}

# ISO 639-1/639-3 codes with an optional script or region (zh-Hans, pt-BR).
_CODE_RE = re.compile(r"^([A-Za-z]{2,3})(?:[-_]([A-Za-z]{2,4}))?$")


def normalize_code(code: str) -> str | None:
    """Return the canonical form of a language code, or None when it is not one.

    The result is safe to put into a model path template: letters and one dash only.
    """
    match = _CODE_RE.match(code.strip())
    if match is None:
        return None
    base, sub = match.group(1).lower(), match.group(2)
    if not sub:
        return base
    return f"{base}-{sub.title() if len(sub) == 4 else sub.upper()}"


def resolve(name: str) -> str | None:
    """A language code for a code, an alias or a name (`eng`, `English`, `русский`)."""
    key = name.strip().lower().replace("_", "-")
    if not key:
        return None
    if (known := _aliases().get(key)) is not None:
        return known
    return normalize_code(name)


def names_a_language(code: str) -> bool:
    """Whether a code (as `resolve` gives it) names a language: one in our table, or
    two or three letters (with a region or script or not) that Babel has a name for
    (`yo`, `ceb`, `pt-BR`; not `qq`: taken as a target, it made every later request
    fail)."""
    if code in LANGUAGES:
        return True
    base = code.partition("-")[0]
    return len(base) in (2, 3) and display_name(base) != base


def app_language(code: str) -> str | None:
    """The target a Telegram app's language stands for: its code without the region
    (`pt-br` is Portuguese: no model is named for pt-BR), unless the region-qualified
    code is a language of its own here (zh-Hant)."""
    found = resolve(code)
    if found is None or "-" not in found or found in LANGUAGES:
        return found
    return found.partition("-")[0]


def flores(code: str) -> str | None:
    """The FLORES-200 code NLLB models use for a language, if known."""
    entry = LANGUAGES.get(code)
    return entry[1] if entry else None


def display_name(code: str, locale: str = "en") -> str:
    """The language's name in `locale` (falls back to the code)."""
    from babel import Locale, UnknownLocaleError

    try:
        return str(Locale.parse(code.replace("-", "_")).get_display_name(locale) or code)
    except (UnknownLocaleError, ValueError):
        return code


def known_names() -> list[str]:
    """Every code, alias and name `resolve` understands (lower case)."""
    return list(_aliases())


@lru_cache(maxsize=1024)  # bounded: `raw` is anyone's input
def suggest(raw: str) -> str | None:
    """The closest language name or code to a misspelling, for "did you mean"."""
    close = difflib.get_close_matches(raw.strip().lower(), known_names(), n=1, cutoff=0.6)
    return close[0] if close else None


# Built once: every resolve (each request in the worker and the API) reads it.
@cache
def _aliases() -> dict[str, str]:
    aliases: dict[str, str] = {}
    for code, (iso3, nllb) in LANGUAGES.items():
        for alias in (code.lower(), iso3, nllb.lower().replace("_", "-")):
            aliases.setdefault(alias, code)
        for locale in ("en", code):
            aliases.setdefault(display_name(code, locale).lower(), code)
    aliases.update(_EXTRA_ALIASES)
    return aliases
