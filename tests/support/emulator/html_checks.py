"""Telegram-HTML validation: reject parse_mode=HTML text the way the Bot API does."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from tests.support.emulator.api import ApiError

# The tags Telegram's HTML parse mode accepts; anything else is a 400.
_HTML_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "a",
    "code",
    "pre",
    "span",
    "tg-spoiler",
    "blockquote",
    "tg-emoji",
}

# What may legally contain < or &: a tag or one of the entities Telegram knows.
_TAG_OR_ENTITY = re.compile(r"</?[a-zA-Z][\w-]*(\s[^<>]*)?>|&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")


class _HtmlCheck(HTMLParser):
    """Tracks open tags; raises ApiError on an unknown tag or a mismatched end tag."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _HTML_TAGS:
            raise ApiError(
                400, f'Bad Request: can\'t parse entities: Unsupported start tag "{tag}"'
            )
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            raise ApiError(400, f'Bad Request: can\'t parse entities: Unexpected end tag "{tag}"')


def check_html(text: str) -> None:
    """Reject HTML the way Telegram does: bare < or &, unknown or unbalanced tags."""
    # HTMLParser forgives a bare < or &, Telegram does not: strip the legal ones first.
    bare = _TAG_OR_ENTITY.sub("", text)
    if "<" in bare or "&" in bare:
        raise ApiError(400, "Bad Request: can't parse entities: unexpected < or & outside a tag")
    checker = _HtmlCheck()
    checker.feed(text)
    if checker.stack:
        raise ApiError(400, "Bad Request: can't parse entities: unclosed tag")
