"""Files built to hurt the readers: each is refused with a typed error naming the problem,
or read safely, quickly and in bounded memory.

The big ones are built here (tests/support/hostile_files.py) and read in a child process, which
reports how long the read took and how far its peak RSS grew past what it had after
importing the readers and loading the file: a bomb that got through shows as gigabytes
or minutes, well past the bounds asserted (before these guards: a million SRT cues took
19 s and 520 MB, 100 PDF pages of 64 MB Flate streams 78 s and 6.4 GB).
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import subprocess
import sys
import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import Any, cast

import polib
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.context import ReplyContext
from bot.documents.delivery import describe_failure
from bot.i18n import Texts, create_i18n
from config.settings import Settings
from tasks.errors import ModelUnavailable, SameLanguage, TranslationError, UnsupportedPair
from tasks.formats import rebuild, segments, supported_extensions
from tasks.formats.errors import (
    ArchiveLimits,
    CorruptDocument,
    DocumentError,
    EmptyDocument,
    TooManyParts,
    UnsafeDocument,
)
from tasks.formats.pdfread import MAX_PAGES
from tasks.formats.subtitles import MAX_CUES
from tasks.worker.document_state import failure, source_language
from tests.support import hostile_files as hostile
from tests.support.procs import ROOT
from tests.support.samples import PROPERTY, samples

ZIPPED = [".docx", ".pptx", ".odt", ".epub"]
TEXT = sorted(supported_extensions() - {*ZIPPED, ".pdf"})
MARKER = "TOPSECRET-7f3a"
MAX_CHARS = Settings.model_fields["document_max_chars"].default
MAX_GROWTH_MB = 300  # the bound on the worker's memory growth per document
REFUSE_S = 10  # refusals take well under a second here; slack for a loaded 2-core machine
READ_S = 45  # a hostile file read in full (100,000 nested divs: ~9 s here)

# Reads one file as the worker would and reports; run in a fresh interpreter per file.
# The peak is VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec, so a child of the
# big pytest process would start at the parent's size and hide growth below it.
_CHILD = r"""
import json, sys, time
from tasks.errors import ModelUnavailable, SameLanguage, TranslationError, UnsupportedPair
from tasks.formats import rebuild, segments
def peak_kb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
name, path, max_chars = sys.argv[1], sys.argv[2], int(sys.argv[3])
try:
    segments(name, b"")  # imports the format's libraries before the baseline
except TranslationError:
    pass
data = open(path, "rb").read()
base = peak_kb()
start = time.monotonic()
report = {}
try:
    found = segments(name, data, max_chars=max_chars)
    output = rebuild(name, data, found)
    report.update(segments=len(found), texts=found[:2] + found[-2:], output=len(output))
except TranslationError as exc:
    report.update(error=type(exc).__name__, reason=exc.reason, message=str(exc))
report["seconds"] = time.monotonic() - start
report["grown_mb"] = (peak_kb() - base) / 1024
report["base_mb"] = base / 1024
print(json.dumps(report))
"""


def read_in_child(tmp_path: Path, name: str, data: bytes) -> dict[str, Any]:
    """Read `data` as `name` in a child process; check its memory and what it wrote."""
    source = tmp_path / "input"
    source.write_bytes(data)
    work = tmp_path / "work" / "deep"
    work.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, name, str(source), str(MAX_CHARS)],
        cwd=work,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report: dict[str, Any] = json.loads(result.stdout.splitlines()[-1])
    assert report["grown_mb"] < MAX_GROWTH_MB, report
    # Nothing written anywhere under the test's folder, the child's working folder included.
    assert sorted(tmp_path.rglob("*")) == [source, tmp_path / "work", work], report
    return report


def refused(report: dict[str, Any], error: type[DocumentError], words: str) -> None:
    assert report.get("error") == error.__name__, report
    assert words in report["message"] and report["seconds"] < REFUSE_S, report


@pytest.fixture
def secret(tmp_path: Path) -> tuple[Path, Path]:
    """A local file an XXE would leak, and a DTD on disk that declares it as `&xxe;`."""
    path = tmp_path / "secret.txt"
    path.write_text(f"{MARKER}\n")
    dtd = tmp_path / "evil.dtd"
    dtd.write_text(hostile.external_dtd(path))
    return path, dtd


def _poisoned(ext: str, doctype: str, reference: str) -> bytes:
    if ext == ".html":
        return hostile.poisoned_html(doctype, reference)
    return hostile.poisoned(ext, doctype, reference)


def _root(ext: str) -> str:
    return hostile.TARGETS[ext][2] if ext in hostile.TARGETS else "html"


# --- XML entities and DTDs --------------------------------------------------------------


@pytest.mark.parametrize("kind", ["xxe", "parameter entity", "billion laughs"])
@pytest.mark.parametrize("ext", [*ZIPPED, ".html"])
def test_entity_declarations_are_refused(ext: str, kind: str, secret: tuple[Path, Path]) -> None:
    path, dtd = secret
    doctype, reference = {
        "xxe": (hostile.xxe_doctype(_root(ext), path), "&xxe;"),
        "parameter entity": (hostile.parameter_entity_doctype(_root(ext), dtd), "&xxe;"),
        "billion laughs": (hostile.laughs_doctype(_root(ext)), "&lol9;"),
    }[kind]
    with pytest.raises(UnsafeDocument, match="declares XML entities") as caught:
        segments(f"a{ext}", _poisoned(ext, doctype, reference))
    assert caught.value.reason == "corrupt"


@pytest.mark.parametrize("ext", [*ZIPPED, ".html"])
def test_an_external_dtd_is_refused_or_never_loaded(ext: str, secret: tuple[Path, Path]) -> None:
    dtd = secret[1]
    data = _poisoned(ext, hostile.external_dtd_doctype(_root(ext), dtd), "&xxe;")
    if ext in (".docx", ".pptx", ".odt"):  # formats without DTDs refuse any
        with pytest.raises(UnsafeDocument, match="has a DTD"):
            segments(f"a{ext}", data)
        return
    found = segments(f"a{ext}", data)  # XHTML and HTML have doctypes: never loaded
    assert found and MARKER not in " ".join(found)
    assert MARKER.encode() not in rebuild(f"a{ext}", data, found)


@pytest.mark.parametrize("ext", ZIPPED)
def test_the_readers_never_resolve_external_entities_unscanned(
    ext: str, secret: tuple[Path, Path]
) -> None:
    # The scan is the first guard; each reader's own parser settings are the second.
    reader = importlib.import_module(f"tasks.formats.{ext[1:]}")
    data = hostile.poisoned(ext, hostile.xxe_doctype(_root(ext), secret[0]), "&xxe;")
    try:
        parsed = reader.load(f"a{ext}", data)
    except Exception:  # refusing to parse is safe too
        return
    assert MARKER not in " ".join(parsed.texts)
    assert MARKER.encode() not in parsed.write(parsed.texts)


@pytest.mark.parametrize(
    ("encoding", "declared", "words"),
    [
        ("utf-16", "", "declares XML entities"),  # with a BOM
        ("utf-16-le", "UTF-16", "declares XML entities"),
        ("utf-16-be", "UTF-16", "declares XML entities"),
        ("utf-7", "", "unsupported encoding 'utf-7'"),  # `+ADw-` is `<`
        ("utf-32", "", "other than UTF-8 or UTF-16"),
    ],
)
@pytest.mark.parametrize("ext", ZIPPED)
def test_entities_cannot_hide_in_another_encoding(
    ext: str, encoding: str, declared: str, words: str
) -> None:
    data = hostile.poisoned(ext, hostile.laughs_doctype(_root(ext)), "&lol9;", encoding, declared)
    with pytest.raises(UnsafeDocument, match=words):
        segments(f"a{ext}", data)


@pytest.mark.parametrize("ext", ZIPPED)
def test_utf16_and_latin1_members_without_entities_are_read(ext: str) -> None:
    for encoding, declared in (("utf-16", ""), ("latin-1", "ISO-8859-1")):
        found = segments(f"a{ext}", hostile.poisoned(ext, "", "", encoding, declared))
        assert found == segments(f"a{ext}", samples()[f"sample{ext}"])


@pytest.mark.parametrize("ext", [".odt", ".html"])
def test_billion_laughs_costs_no_time_or_memory(tmp_path: Path, ext: str) -> None:
    # ODT: odfdo parses with lxml's defaults, which expand internal entities.
    report = read_in_child(
        tmp_path, f"a{ext}", _poisoned(ext, hostile.laughs_doctype(_root(ext)), "&lol9;")
    )
    refused(report, UnsafeDocument, "declares XML entities")


# --- zip tricks ---------------------------------------------------------------------------


@pytest.mark.parametrize("member", ["../../x", "word/../../x", "..\\..\\x", "C:/x", "ABS"])
@pytest.mark.parametrize("ext", ZIPPED)
def test_zip_members_outside_the_archive_are_refused(
    tmp_path: Path, ext: str, member: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    member = str(tmp_path / "abs" / "x") if member == "ABS" else member
    data = hostile.rezip(samples()[f"sample{ext}"], {}, {member: b"written?"})
    assert member in zipfile.ZipFile(io.BytesIO(data)).namelist()
    work = tmp_path / "work" / "deep"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    with pytest.raises(UnsafeDocument, match="outside the archive"):
        segments(f"a{ext}", data)
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_a_docx_of_a_gigabyte_of_xml_is_refused_unread(tmp_path: Path) -> None:
    data = hostile.big_docx()
    assert zipfile.ZipFile(io.BytesIO(data)).getinfo("word/document.xml").file_size >= hostile.GB
    refused(read_in_child(tmp_path, "a.docx", data), ArchiveLimits, "unpacks to over 200 MB")


def test_a_docx_that_hides_a_gigabyte_behind_a_small_declared_size(tmp_path: Path) -> None:
    # Under every declared limit; unpacking stops at the declared size, the CRC then fails.
    data = hostile.big_docx(declared=100_000)
    refused(read_in_child(tmp_path, "a.docx", data), CorruptDocument, "Bad CRC-32")


# --- deep nesting -----------------------------------------------------------------------


def test_html_nested_100000_levels_is_read(tmp_path: Path) -> None:
    report = read_in_child(tmp_path, "a.html", hostile.deep_html(100_000))
    assert report.get("segments") == 1 and report["texts"] == ["deep text"] * 2, report
    assert report["seconds"] < READ_S, report


def test_html_nested_with_text_at_every_level_is_read_in_linear_time(tmp_path: Path) -> None:
    # Finding skipped elements by walking each text's ancestors took minutes here.
    report = read_in_child(tmp_path, "a.html", hostile.deep_html(30_000, text_at_every_level=True))
    assert report.get("segments") == 30_000 and report["texts"][-1] == "a deep text", report
    assert report["seconds"] < READ_S, report


@pytest.mark.parametrize("ext", ZIPPED)
def test_xml_nested_past_the_parser_limit_is_refused(ext: str) -> None:
    assert segments(f"a{ext}", hostile.nested(ext, 200))  # deep is fine
    with pytest.raises(CorruptDocument, match="Excessive depth"):
        segments(f"a{ext}", hostile.nested(ext, 300))  # EPUB's `recover` would drop text


# --- subtitles ---------------------------------------------------------------------------


@pytest.mark.parametrize("ext", [".srt", ".vtt"])
def test_a_million_cues_are_refused_before_parsing(tmp_path: Path, ext: str) -> None:
    data = hostile.many_cues_srt() if ext == ".srt" else hostile.many_cues_vtt()
    report = read_in_child(tmp_path, f"a{ext}", data)
    refused(report, TooManyParts, f"1000000 cues, the limit is {MAX_CUES}")
    assert report["reason"] == "too_many_cues"


def test_cues_up_to_the_limit_are_read(tmp_path: Path) -> None:
    report = read_in_child(tmp_path, "a.srt", hostile.many_cues_srt(MAX_CUES, text="Hi"))
    assert report.get("segments") == MAX_CUES and report["seconds"] < READ_S, report


# --- PDF ---------------------------------------------------------------------------------

HELLO = zlib.compress(b"BT /F1 12 Tf 72 720 Td (Hello world) Tj ET")


def test_a_pdf_of_100000_empty_pages_is_refused(tmp_path: Path) -> None:
    report = read_in_child(tmp_path, "a.pdf", hostile.pdf([None] * 100_000))
    refused(report, TooManyParts, f"100000 pages, the limit is {MAX_PAGES}")
    assert report["reason"] == "too_many_pages"


def test_a_pdf_that_lies_about_its_page_count_is_refused(tmp_path: Path) -> None:
    report = read_in_child(tmp_path, "a.pdf", hostile.pdf([None] * 30_000, declared=5))
    refused(report, ArchiveLimits, "page tree")


_BOMBS = {
    # One page whose contents inflate to 2 GB: pypdf's per-stream limit, lowered.
    "2-GB-stream": (lambda: hostile.pdf([hostile.deflated_zeros(2 << 30)]), "decompressing"),
    # 100 pages of 48 MB each, every one under pypdf's own limit: the document budget.
    "100-pages-of-48-MB": (
        lambda: hostile.pdf([hostile.deflated_zeros(48 << 20)] * 100),
        "unpack to over 64 MB",
    ),
    # Ten embedded font files of 32 MB, which text extraction reads too.
    "ten-32-MB-fonts": (
        lambda: hostile.pdf([HELLO], fonts=(hostile.deflated_zeros(32 << 20),) * 10),
        "unpack to over 64 MB",
    ),
}


@pytest.mark.parametrize("bomb", sorted(_BOMBS))
def test_pdf_stream_bombs_are_refused(tmp_path: Path, bomb: str) -> None:
    build, words = _BOMBS[bomb]
    report = read_in_child(tmp_path, "a.pdf", build())
    refused(report, ArchiveLimits, words)
    assert report["reason"] == "archive_limits"


def test_a_long_ordinary_pdf_is_read() -> None:
    found = segments("a.pdf", hostile.pdf([HELLO] * 1000 + [None] * 1000))
    assert found == ["Hello world"] * 1000


# --- PO, text encodings, empty files --------------------------------------------------------

_HEADERS = {
    "unknown charset": '"Content-Type: text/plain; charset=NOPE\\n"',
    "huge nplurals": '"Plural-Forms: nplurals=99999999999999999999; plural=n;\\n"',
    "negative nplurals": '"Plural-Forms: nplurals=-5; plural=(n;\\n"',
    "lines without colons": '"garbage header line\\n"\n"Content-Type\\n"',
    "unterminated string": '"Content-Type: text/plain',
    "a megabyte of header": '"X-Foo: ' + "a" * 1_000_000 + '\\n"',
    "escapes": '"\\x00\\u0001 weird: \\\\\\n"',
}


@pytest.mark.parametrize("header", sorted(_HEADERS))
def test_po_with_invalid_headers_is_handled(header: str) -> None:
    data = (
        f'msgid ""\nmsgstr ""\n{_HEADERS[header]}\n\n'
        'msgid "One file"\nmsgid_plural "%d files"\nmsgstr[0] ""\n\n'
        'msgid "Hello"\nmsgstr ""\n'
    ).encode()
    found = segments("a.po", data)
    assert found == ["One file", "files", "Hello"]
    output = rebuild("a.po", data, [s.upper() for s in found]).decode("utf-8")
    entries = {e.msgid: e for e in polib.pofile(output)}
    assert entries["Hello"].msgstr == "HELLO" and entries["One file"].msgstr_plural[0] == "ONE FILE"


@pytest.mark.parametrize(
    "text",
    [
        "Hello world, a plain text file.\r\nSecond line.\r\n",
        "Hi",
        "Привет, мир!\nВторая строка.\n",
        "Γεια σου κόσμε, αυτό είναι κείμενο.\n",
        "你好，世界。这是一个普通的文本文件。\n第二行。",
    ],
)
@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_bom_is_decoded(text: str, encoding: str) -> None:
    data = text.encode(encoding)
    found = segments("a.txt", data)
    assert found == segments("a.txt", text.encode("utf-8"))
    assert rebuild("a.txt", data, found) == data
    assert rebuild("a.txt", data, [s.upper() for s in found]) == text.upper().encode(encoding)


_WORDS = st.sampled_from(
    ["hello", "world", "привет", "мир", "γεια", "κόσμε", "שלום", "مرحبا", "naïve", "café", "42"]
)


@PROPERTY
@given(
    words=st.lists(_WORDS, min_size=2, max_size=40),
    separator=st.sampled_from([" ", ", ", "\n", " - "]),
    encoding=st.sampled_from(["utf-16-le", "utf-16-be"]),
)
def test_any_utf16_text_without_a_bom_reads_as_its_utf8(
    words: list[str], separator: str, encoding: str
) -> None:
    text = separator.join(words)
    assert segments("a.txt", text.encode(encoding)) == segments("a.txt", text.encode("utf-8"))


@pytest.mark.parametrize("ext", sorted(supported_extensions()))
def test_an_empty_file_is_said_to_be_empty(ext: str) -> None:
    if ext in TEXT:  # an empty text file is valid; the task answers "no text" for it
        assert segments(f"a{ext}", b"") == []
        assert source_language("auto", "ru", [], cast(Any, None)) == "auto"  # no route needed
        return
    with pytest.raises(EmptyDocument, match="empty file") as caught:
        segments(f"a{ext}", b"")
    assert caught.value.reason == "empty"


# --- what the user reads ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "english", "russian"),
    [
        (UnsafeDocument("a.docx", "x"), "is damaged or is not a valid DOCX file", "повреждён"),
        (EmptyDocument("a.pdf"), "There is no text to translate in “a.pdf”", "нет текста"),
        (TooManyParts("a.pdf", 100_000, 10_000, "pages"), "too many pages: 100000", "страниц"),
        (TooManyParts("a.srt", 10**6, 10**5, "cues"), "too many subtitles: 1000000", "субтитров"),
        (ArchiveLimits("a.pdf", "x"), "unpacks to far more data than it holds", "распаковывается"),
    ],
)
def test_each_refusal_is_worded_for_the_user(
    error: DocumentError, english: str, russian: str
) -> None:
    meta = {"status": "SUCCESS", "result": failure(error, cast(Any, error).filename, "en", "ru")}
    phrases = Texts(create_i18n())
    for locale, words in (("en", english), ("ru", russian)):
        context = ReplyContext(chat_id=1, message_id=1, locale=locale, kind="document")
        assert words in describe_failure(meta, context, phrases)


@pytest.mark.parametrize(
    ("error", "english"),
    [
        (SameLanguage("ru"), "the same language (fr)"),
        (UnsupportedPair("fr", "ja", "none"), "no model for fr>ja"),
        (ModelUnavailable("fr-ja", "down"), "could not be loaded"),
    ],
)
def test_an_engine_failure_of_a_document_is_worded_like_a_messages(
    error: TranslationError, english: str
) -> None:
    """A document in its target language (or with no model) gets the chat's words,
    not a document reason with placeholders it cannot fill."""
    meta = {"status": "SUCCESS", "result": failure(error, "a.txt", "fr", "ja")}
    context = ReplyContext(chat_id=1, message_id=1, kind="document")
    assert english in describe_failure(meta, context, Texts(create_i18n()))


# --- property tests: only typed errors, nothing written ----------------------------------------

_SNIPPETS = [
    b"<!DOCTYPE x [<!ENTITY a 'b'>]>",
    b"<!ENTITY xxe SYSTEM 'file:///etc/passwd'>",
    b"&xxe;",
    b"&#0;",
    b"<x>" * 300,
    b"</w:p></w:body>",
    b"<![CDATA[",
    b"\x00",
    b"\xff\xfe",
    b'<?xml version="1.0" encoding="utf-7"?>',
]


@PROPERTY
@given(
    ext=st.sampled_from(ZIPPED),
    pick=st.integers(min_value=0),
    position=st.floats(min_value=0, max_value=1),
    insert=st.one_of(st.sampled_from(_SNIPPETS), st.binary(max_size=64)),
    cut=st.booleans(),
)
def test_mutated_xml_members_raise_only_typed_errors(
    ext: str, pick: int, position: float, insert: bytes, cut: bool
) -> None:
    data = samples()[f"sample{ext}"]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = [n for n in archive.namelist() if n.endswith((".xml", ".xhtml", ".opf"))]
        member = members[pick % len(members)]
        body = archive.read(member)
    at = int(position * len(body))
    damaged = hostile.rezip(data, {member: body[:at] + insert + (b"" if cut else body[at:])})
    try:
        found = segments(f"a{ext}", damaged)
    except TranslationError:
        return
    rebuild(f"a{ext}", damaged, [s.upper() for s in found])


@PROPERTY
@given(
    ext=st.sampled_from(ZIPPED),
    member=st.text(alphabet=st.sampled_from("./\\:ax"), min_size=1, max_size=10),
)
def test_any_member_name_is_refused_or_harmless(ext: str, member: str) -> None:
    data = hostile.rezip(samples()[f"sample{ext}"], {}, {member: b"written?"})
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp, "a", "b")
        work.mkdir(parents=True)
        with contextlib.chdir(work), contextlib.suppress(TranslationError):
            rebuild(f"a{ext}", data, segments(f"a{ext}", data))
        assert sorted(Path(tmp).rglob("*")) == [Path(tmp, "a"), work]


_HTML_TOKENS = st.sampled_from(
    ["<div>", "</div>", "<p>", "<b>", "</b>", "<script>", "</script>", "<!DOCTYPE html [", "]>",
     "<!ENTITY a 'b'>", "&a;", "&amp;", "<![CDATA[", "]]>", "<!--", "-->", "text ", "<pre>", "<"]
)  # fmt: skip


@PROPERTY
@given(tokens=st.lists(_HTML_TOKENS, max_size=200), depth=st.integers(0, 3000))
def test_html_token_soup_raises_only_typed_errors(tokens: list[str], depth: int) -> None:
    data = ("<div>" * depth + "".join(tokens) + "</div>" * depth).encode()
    try:
        found = segments("a.html", data)
    except TranslationError as exc:
        assert isinstance(exc, UnsafeDocument), exc  # the only refusal such a page earns
        return
    rebuild("a.html", data, found).decode("utf-8")
