"""Round trips of the text formats: structure identical apart from the translated text."""

from __future__ import annotations

import re

import polib
import srt
from bs4 import BeautifulSoup

from tasks.formats import rebuild, segments
from tests.support.samples import HTML, MARKDOWN, PO, SRT, TXT, VTT


def shout(text: str) -> str:
    """A deterministic stand-in for the model."""
    return text.upper()


def translate(name: str, data: bytes) -> tuple[list[str], bytes]:
    found = segments(name, data)
    return found, rebuild(name, data, [shout(s) for s in found])


def test_txt_keeps_lines_and_line_breaks() -> None:
    found, out = translate("a.txt", TXT.encode())
    assert found == ["First line of text.", "Second line, with a comma.", "Last line"]
    assert out.decode() == TXT.upper()


def test_txt_keeps_a_legacy_encoding_that_can_hold_the_translation() -> None:
    data = "Привет, мир.\nВторая строка.\n".encode("cp1251")
    assert segments("ru.txt", data) == ["Привет, мир.", "Вторая строка."]
    assert rebuild("ru.txt", data, ["ПРИВЕТ, МИР.", "ВТОРАЯ."]).decode("cp1251") == (
        "ПРИВЕТ, МИР.\nВТОРАЯ.\n"
    )
    # Chinese does not fit cp1251: the result is UTF-8.
    assert rebuild("ru.txt", data, ["你好", "再见"]).decode("utf-8") == "你好\n再见\n"


def test_txt_with_bom_keeps_it() -> None:
    data = "\ufeffHello\n".encode()
    assert rebuild("a.txt", data, ["Hallo"]) == "\ufeffHallo\n".encode()
    utf16 = "Hello\nWorld\n".encode("utf-16")
    assert rebuild("a.txt", utf16, ["Hallo", "Welt"]).decode("utf-16") == "Hallo\nWelt\n"


def test_markdown_keeps_code_urls_and_markers() -> None:
    found, out = translate("a.md", MARKDOWN.encode())
    assert "make test" not in " ".join(found) and "code stays" not in " ".join(found)
    assert all("http" not in s and "Front matter" not in s for s in found)
    assert "the guide" in found and "a picture" in found and "Apples" in found
    text = out.decode()
    # Only letter case differs, so every character of syntax is where it was...
    assert text.lower() == MARKDOWN.lower()
    # ...and code, URLs and front matter kept their case: they were not translated.
    for kept in (
        '[THE GUIDE](https://example.org/guide_(v2) "Guide title")',
        "`make test`",
        '```python\nprint("code stays")\n```',
        "    indented code stays",
        "![A PICTURE](img/pic.png)",
        "<https://example.org/x>",
        "| ---- | ----- |",
        "[ref]: https://example.org/ref",
        "---\ntitle: Front matter stays\n---\n# MAIN HEADING",
    ):
        assert kept in text


def test_srt_keeps_numbering_timings_and_line_count() -> None:
    found, out = translate("a.srt", SRT.encode())
    assert found == ["Hello there, how are you?", "I am fine.", "Who is it?", "Nobody."]
    before, after = list(srt.parse(SRT)), list(srt.parse(out.decode()))
    assert [(s.index, s.start, s.end) for s in before] == [(s.index, s.start, s.end) for s in after]
    assert [s.content.count("\n") for s in before] == [s.content.count("\n") for s in after]
    assert after[1].content == "<i>I AM FINE.</i>"
    assert after[2].content == "- WHO IS IT?\n- NOBODY."
    assert after[0].content.replace("\n", " ") == "HELLO THERE, HOW ARE YOU?"


def test_vtt_keeps_header_notes_ids_and_settings() -> None:
    found, out = translate("a.vtt", VTT.encode())
    assert found == ["Good morning, everyone.", "Second cue."]
    lines, new_lines = VTT.splitlines(), out.decode().splitlines()
    assert len(lines) == len(new_lines)
    for old, new in zip(lines, new_lines, strict=True):
        if "morning" in old or "everyone" in old or "Second cue" in old:
            assert new != old and new.lower() == old.lower()
        else:
            assert new == old
    assert "<v Alice>GOOD MORNING" in out.decode() and out.decode().count("</v>") == 1


def test_vtt_with_crlf_keeps_crlf() -> None:
    data = b"WEBVTT\r\n\r\n00:01.000 --> 00:02.000\r\nOne line\r\nand two\r\n"
    out = rebuild("a.vtt", data, ["EINE ZEILE UND ZWEI"]).decode()
    assert out == "WEBVTT\r\n\r\n00:01.000 --> 00:02.000\r\nEINE ZEILE\r\nUND ZWEI\r\n"


def _structure(html: str) -> list[tuple[str, list[tuple[str, str]]]]:
    soup = BeautifulSoup(html, "html.parser")
    return [(tag.name, [(k, str(v)) for k, v in tag.attrs.items()]) for tag in soup.find_all()]


def test_html_keeps_tags_attributes_doctype_and_code() -> None:
    found, out = translate("a.html", HTML.encode())
    assert found == [
        "Page title",
        "Welcome home",
        "Some",
        "bold",
        "text and",
        "a link",
        "Run",
        "here.",
    ]
    text = out.decode()
    assert _structure(text) == _structure(HTML)
    assert text.startswith("<!DOCTYPE html>\n<html")
    for kept in (
        '"Hello script"',
        "p { color: red; }",
        "<pre>pre stays</pre>",
        "<code>ls -la</code>",
    ):
        assert kept in text
    assert "<!-- a comment stays -->" in text and 'alt="Alt text"' in text
    assert "<title>PAGE TITLE</title>" in text and '<b class="x">BOLD</b>' in text


def test_html_declared_legacy_charset_comes_back_as_utf8() -> None:
    data = '<html><head><meta charset="iso-8859-1"><title>Café</title></head></html>'.encode(
        "iso-8859-1"
    )
    assert segments("a.htm", data) == ["Café"]
    out = rebuild("a.htm", data, ["Кафе"]).decode("utf-8")
    assert 'charset="utf-8"' in out and "<title>Кафе</title>" in out


def test_po_keeps_msgids_placeholders_comments_and_flags() -> None:
    found = segments("a.po", PO.encode())
    assert found == [
        "Hello", ", you have", "new messages", "Open", "now", "One file", "files",
        "Line one", "Line two",
    ]  # fmt: skip
    assert not any(re.search(r"%|\{|\}", s) for s in found)
    out = rebuild("a.po", PO.encode(), [f"«{s.upper()}»" for s in found]).decode()
    before, after = polib.pofile(PO), polib.pofile(out)
    keys = ("msgctxt", "msgid", "msgid_plural", "flags", "comment", "tcomment", "occurrences")
    assert [[getattr(e, k) for k in keys] for e in before] == [
        [getattr(e, k) for k in keys] for e in after
    ]
    by_id = {entry.msgid: entry for entry in after}
    assert by_id["Hello %(name)s, you have %d new messages"].msgstr == (
        "«HELLO» %(name)s«, YOU HAVE» %d «NEW MESSAGES»"
    )
    assert by_id["Open {file} now"].msgstr == "«OPEN» {file} «NOW»"
    assert by_id["One file"].msgstr_plural == {0: "«ONE FILE»", 1: "%d «FILES»"}
    assert by_id["Line one\nLine two"].msgstr == "«LINE ONE»\n«LINE TWO»"
    assert after.header == before.header and after.metadata == before.metadata
    assert [e.msgstr for e in after.obsolete_entries()] == ["Alte"]


def test_po_fills_every_plural_form_and_declares_utf8() -> None:
    data = PO.replace("nplurals=2", "nplurals=3").replace("UTF-8", "ISO-8859-1").encode("latin-1")
    found = segments("a.pot", data)
    catalogue = polib.pofile(rebuild("a.pot", data, ["Ж"] * len(found)).decode("utf-8"))
    assert catalogue.metadata["Content-Type"] == "text/plain; charset=UTF-8"
    plural = next(entry for entry in catalogue if entry.msgid_plural)
    assert plural.msgstr_plural == {0: "Ж", 1: "%d Ж", 2: "%d Ж"}
