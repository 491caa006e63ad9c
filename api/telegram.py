"""Telegram Mini App sign-in: `initData` checked as Telegram documents it.

(A file sent to the user's chat goes through the bot's own Bot: `tasks.telegram`.)

https://core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app:
the secret key is HMAC-SHA256("WebAppData", bot token); the hash is HMAC-SHA256 of the
sorted `key=value` lines (all fields but `hash`) under that key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

# initData older than this is refused: a leaked one stops working within a day.
MAX_AGE = 86_400
# Clocks differ a little; a signature from further ahead than this is not Telegram's.
SKEW = 300


# Why initData was refused, in the words a caller is shown.
FORGED = "the signature does not match"
NO_USER = "no user in initData"
STALE = "initData is more than a day old"
FUTURE = "initData is signed in the future"


class InvalidInitData(Exception):
    """Forged, stale or malformed initData; `why` is one of the phrases above."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


@dataclass(frozen=True)
class WebAppUser:
    """The Telegram user a Mini App page was opened by."""

    id: int
    language_code: str | None
    first_name: str


def validate(init_data: str, bot_token: str, *, now: float | None = None) -> WebAppUser:
    """The user `init_data` vouches for.

    Raises:
        InvalidInitData: the signature does not match, `auth_date` is over a day old,
            or there is no user.
    """
    fields = dict(parse_qsl(init_data, keep_blank_values=True))
    received = fields.pop("hash", "")
    expected = _digest(fields, bot_token)
    # Bytes: compare_digest refuses a str with characters outside ASCII.
    if not received or not hmac.compare_digest(expected.encode(), received.encode()):
        raise InvalidInitData(FORGED)
    try:
        signed_at = int(fields.get("auth_date", ""))
        user = json.loads(fields["user"])
        language = user.get("language_code")
        found = WebAppUser(
            int(user["id"]),
            language if isinstance(language, str) else None,
            str(user.get("first_name", "")),
        )
    except (KeyError, ValueError, TypeError, OverflowError, AttributeError):  # any shape
        raise InvalidInitData(NO_USER) from None
    age = (now if now is not None else time.time()) - signed_at
    if age > MAX_AGE:
        raise InvalidInitData(STALE)
    if age < -SKEW:
        raise InvalidInitData(FUTURE)
    return found


def sign(fields: dict[str, str], bot_token: str) -> str:
    """initData for `fields`, signed as Telegram signs it (for tests and tools)."""
    return urlencode({**fields, "hash": _digest(fields, bot_token)})


def _digest(fields: dict[str, str], bot_token: str) -> str:
    """Telegram's hash of initData's fields (all but `hash`), as hex."""
    check = "\n".join(f"{key}={fields[key]}" for key in sorted(fields))
    secret = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    return hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
