"""The document layer's API, its typed refusals of bad input, and property tests."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pypdf import PdfReader, PdfWriter

from tasks.errors import TranslationError
from tasks.formats import output_name, rebuild, segments, supported_extensions
from tasks.formats.archives import ZipLimits, check_zip
from tasks.formats.errors import (
    ArchiveLimits,
    BinaryContent,
    CorruptDocument,
    DocumentTooLarge,
    EncryptedDocument,
    UnsupportedDocument,
)
from tests.support.procs import ROOT
from tests.support.samples import PROPERTY, all_samples, docx_bytes, pdf_bytes, samples

EXTENSIONS = sorted(supported_extensions())


def test_supported_extensions() -> None:
    assert supported_extensions() == {
        ".txt", ".md", ".markdown", ".srt", ".vtt", ".html", ".htm", ".docx", ".pptx", ".odt",
        ".epub", ".po", ".pot", ".pdf",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("report.docx", "report.ru.docx"),
        ("My Talk.final.PPTX", "My Talk.final.ru.PPTX"),
        ("messages.pot", "messages.ru.po"),
        ("README", "README.ru"),
    ],
)
def test_output_name(name: str, expected: str) -> None:
    assert output_name(name, "ru") == expected


@pytest.mark.parametrize("name", sorted(all_samples()))
def test_segments_are_deterministic_stripped_and_have_letters(name: str) -> None:
    data = samples()[name]
    found = segments(name, data)
    assert found and found == segments(name, data)
    assert all(s == s.strip() and any(c.isalpha() for c in s) for s in found)


@pytest.mark.parametrize("name", sorted(all_samples()))
def test_rebuild_refuses_a_wrong_number_of_translations(name: str) -> None:
    data = samples()[name]
    with pytest.raises(ValueError, match="translations for"):
        rebuild(name, data, [*segments(name, data), "one too many"])


def test_letterless_and_blank_lines_are_not_segments() -> None:
    data = b"  \n2024-01-01\n---\n\tTabbed text  \n"
    assert segments("a.txt", data) == ["Tabbed text"]
    assert rebuild("a.txt", data, ["  Getabt  "]) == b"  \n2024-01-01\n---\n\tGetabt  \n"


def test_unknown_extension() -> None:
    with pytest.raises(UnsupportedDocument) as caught:
        segments("photo.jpg", b"\xff\xd8\xff")
    assert caught.value.reason == "unsupported_format" and ".docx" in str(caught.value)
    with pytest.raises(UnsupportedDocument):
        segments("no_extension", b"text")


@pytest.mark.parametrize(
    "data", [b"text\x00with NUL", bytes(range(1, 32)) * 10, b"\x89PNG\r\n\x1a\n\x00\x00"]
)
@pytest.mark.parametrize("name", ["a.txt", "a.md", "a.srt", "a.html", "a.po"])
def test_binary_content_in_a_text_format(name: str, data: bytes) -> None:
    with pytest.raises(BinaryContent) as caught:
        segments(name, data)
    assert caught.value.reason == "binary" and "not a text file" in str(caught.value)


@pytest.mark.parametrize(
    "data",
    [
        b"PK\x03\x04 random bytes, not a zip",
        docx_bytes()[:2000],  # truncated
        bytes(range(256)) * 8,
    ],
)
@pytest.mark.parametrize("name", ["a.docx", "a.pptx", "a.odt", "a.epub", "a.pdf"])
def test_corrupt_documents(name: str, data: bytes) -> None:
    with pytest.raises(CorruptDocument) as caught:
        segments(name, data)
    assert caught.value.reason == "corrupt" and "damaged" in str(caught.value)


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, body in members.items():
            archive.writestr(member, body)
    return out.getvalue()


@pytest.mark.parametrize("name", ["a.docx", "a.pptx", "a.odt", "a.epub"])
def test_a_zip_of_something_else_is_corrupt(name: str) -> None:
    with pytest.raises(CorruptDocument):
        segments(name, _zip({"hello.txt": b"hello"}))


def test_srt_and_vtt_that_do_not_parse_are_corrupt() -> None:
    with pytest.raises(CorruptDocument):
        segments("a.srt", b"1\nnot a timing line\nHello\n")
    with pytest.raises(CorruptDocument):
        segments("a.vtt", b"00:01.000 --> 00:02.000\nno header\n")


def test_encrypted_pdf() -> None:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_bytes())))
    writer.encrypt("secret", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    with pytest.raises(EncryptedDocument) as caught:
        segments("a.pdf", out.getvalue())
    assert caught.value.reason == "encrypted" and "encrypted" in str(caught.value)


@pytest.mark.parametrize("name", ["bomb.docx", "bomb.pptx", "bomb.odt", "bomb.epub"])
def test_zip_bomb_is_refused_before_parsing(name: str) -> None:
    bomb = _zip({"word/document.xml": b"\0" * (20 * 1024 * 1024)})  # ~1000:1
    with pytest.raises(ArchiveLimits) as caught:
        segments(name, bomb)
    assert caught.value.reason == "archive_limits" and "compresses" in str(caught.value)


def test_zip_limits_on_total_size_and_member_count() -> None:
    data = _zip({f"m{n}.xml": bytes(range(256)) * 8 for n in range(20)})
    check_zip("a.docx", data)
    with pytest.raises(ArchiveLimits, match="unpacks to over"):
        check_zip("a.docx", data, ZipLimits(max_total=20_000))
    with pytest.raises(ArchiveLimits, match="20 members"):
        check_zip("a.docx", data, ZipLimits(max_members=10))


def test_too_many_characters() -> None:
    data = samples()["sample.docx"]
    total = sum(len(s) for s in segments("a.docx", data))
    assert len(segments("a.docx", data, max_chars=total)) > 0
    with pytest.raises(DocumentTooLarge) as caught:
        segments("a.docx", data, max_chars=total - 1)
    error = caught.value
    assert error.reason == "too_large" and error.code == "text_too_long"
    assert (error.chars, error.limit) == (total, total - 1)


def test_all_errors_are_translation_errors_with_a_reason() -> None:
    for error in (
        UnsupportedDocument("a", frozenset({".txt"})),
        CorruptDocument("a", "x"),
        EncryptedDocument("a"),
        BinaryContent("a", "x"),
        DocumentTooLarge("a", 2, 1),
        ArchiveLimits("a", "x"),
    ):
        assert isinstance(error, TranslationError) and error.reason and str(error)
        assert error.code in ("bad_request", "text_too_long")


def test_no_model_libraries_are_imported() -> None:
    code = (
        "import sys, tasks.formats as f;"
        "[f.segments(n, d) for n, d in __import__('tests.support.samples',"
        " fromlist=['x']).all_samples().items()];"
        "heavy = {'torch', 'transformers', 'ctranslate2', 'celery', 'aiogram'} & set(sys.modules);"
        "assert not heavy, heavy"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@PROPERTY
@given(extension=st.sampled_from(EXTENSIONS), data=st.binary(max_size=3000))
def test_arbitrary_bytes_raise_only_translation_errors(extension: str, data: bytes) -> None:
    try:
        found = segments(f"fuzz{extension}", data)
    except TranslationError:
        return
    assert all(isinstance(s, str) for s in found)
    rebuild(f"fuzz{extension}", data, found)


@PROPERTY
@given(
    name=st.sampled_from(sorted(all_samples())),
    position=st.floats(min_value=0, max_value=1),
    junk=st.binary(min_size=1, max_size=64),
)
def test_damaged_samples_raise_only_translation_errors(
    name: str, position: float, junk: bytes
) -> None:
    data = samples()[name]
    at = int(position * (len(data) - 1))
    damaged = data[:at] + junk + data[at + len(junk) :]
    try:
        found = segments(name, damaged)
    except TranslationError:
        return
    rebuild(name, damaged, [s.upper() for s in found])


@PROPERTY
@given(text=st.text(max_size=300))
def test_any_text_file_round_trips_unchanged(text: str) -> None:
    data = text.encode("utf-8")
    try:
        found = segments("a.txt", data)
    except BinaryContent:
        return  # control characters
    assert rebuild("a.txt", data, found) == data
