"""Round trips of the zipped and binary formats: DOCX, PPTX, ODT, EPUB, PDF."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import docx
import pptx
from ebooklib import epub
from odfdo import Document
from pypdf import PdfReader

from tasks.formats import rebuild, segments
from tests.support.samples import docx_bytes, epub_bytes, odt_bytes, pdf_bytes, pptx_bytes


def shout(text: str) -> str:
    """A deterministic stand-in for the model."""
    return text.upper()


def translate(name: str, data: bytes) -> tuple[list[str], bytes]:
    found = segments(name, data)
    out = rebuild(name, data, [shout(s) for s in found])
    # The translated document parses again and yields the translations.
    assert segments(name, out) == [shout(s) for s in found]
    return found, out


def _docx_runs(data: bytes) -> list[list[tuple[Any, ...]]]:
    document = docx.Document(io.BytesIO(data))
    paragraphs = [*document.paragraphs]
    paragraphs += [p for t in document.tables for c in t._cells for p in c.paragraphs]
    section = document.sections[0]
    paragraphs += [*section.header.paragraphs, *section.footer.paragraphs]
    return [
        [(r.text, r.bold, r.italic, r.font.size, r.style.name) for r in p.runs] for p in paragraphs
    ]


def test_docx_keeps_runs_styles_table_header_and_footer() -> None:
    data = docx_bytes()
    found, out = translate("a.docx", data)
    assert found == [
        "Document title", "Plain start,", "bold words", "and", "italic words", "end.",
        "Cell one", "Cell three", "Header text", "Footer text",
    ]  # fmt: skip
    before, after = _docx_runs(data), _docx_runs(out)
    assert [len(runs) for runs in before] == [len(runs) for runs in after]
    for old_runs, new_runs in zip(before, after, strict=True):
        for old, new in zip(old_runs, new_runs, strict=True):
            assert new[0] == old[0].upper() and new[1:] == old[1:]
    table = docx.Document(io.BytesIO(out)).tables[0]
    assert [c.text for c in table._cells] == ["CELL ONE", "2024", "CELL THREE", ""]


def test_docx_same_formatted_runs_form_one_segment() -> None:
    document = docx.Document()
    paragraph = document.add_paragraph()
    for piece in ("Hel", "lo wor", "ld"):
        paragraph.add_run(piece)  # how spell-check marks split a word
    paragraph.add_run("!").bold = True
    buffer = io.BytesIO()
    document.save(buffer)
    assert segments("a.docx", buffer.getvalue()) == ["Hello world"]
    out = rebuild("a.docx", buffer.getvalue(), ["Hallo Welt"])
    runs = docx.Document(io.BytesIO(out)).paragraphs[0].runs
    assert [(r.text, r.bold) for r in runs] == [
        ("Hallo Welt", None),
        ("", None),
        ("", None),
        ("!", True),
    ]


def _pptx_shapes(data: bytes) -> list[tuple[Any, ...]]:
    presentation = pptx.Presentation(io.BytesIO(data))
    found: list[tuple[Any, ...]] = []

    def visit(shapes: Any) -> None:
        for shape in shapes:
            runs: list[tuple[Any, ...]] = []
            if shape.has_text_frame:
                runs = [(r.text, r.font.bold) for p in shape.text_frame.paragraphs for r in p.runs]
            if getattr(shape, "has_table", False):
                cells = [c for row in shape.table.rows for c in row.cells]
                paragraphs = [p for c in cells for p in c.text_frame.paragraphs]
                runs = [(r.text, r.font.bold) for p in paragraphs for r in p.runs]
            found.append((shape.shape_type, shape.left, shape.top, shape.width, runs))
            if shape.shape_type == pptx.enum.shapes.MSO_SHAPE_TYPE.GROUP:
                visit(shape.shapes)

    for slide in presentation.slides:
        visit(slide.shapes)
        found.append(("notes", slide.notes_slide.notes_text_frame.text))
    return found


def test_pptx_keeps_shapes_runs_tables_groups_and_notes() -> None:
    data = pptx_bytes()
    found, out = translate("a.pptx", data)
    assert found == [
        "Slide title", "Plain text", "bold text", "tail", "Table cell", "Grouped text",
        "Speaker notes",
    ]  # fmt: skip
    before, after = _pptx_shapes(data), _pptx_shapes(out)
    assert len(before) == len(after)
    for old, new in zip(before, after, strict=True):
        if old[0] == "notes":
            assert new == ("notes", "SPEAKER NOTES")
            continue
        assert new[:4] == old[:4]
        assert new[4] == [(text.upper(), bold) for text, bold in old[4]]


def _odt_shape(data: bytes) -> tuple[list[tuple[str, dict[str, str]]], str]:
    document = Document(io.BytesIO(data))
    elements = document.body.get_elements(".//*")
    # A string cell's office:string-value repeats its (translated) text.
    attributes = [
        {k: v for k, v in e.attributes.items() if k != "office:string-value"} for e in elements
    ]
    return list(
        zip([e.tag for e in elements], attributes, strict=True)
    ), document.body.text_recursive


def test_odt_keeps_elements_and_styles() -> None:
    data = odt_bytes()
    found, out = translate("a.odt", data)
    assert found == [
        "Main title",
        "Hello",
        "styled words",
        "and the rest.",
        "Cell text",
        "Page header",
    ]
    (tags_before, text_before), (tags_after, text_after) = _odt_shape(data), _odt_shape(out)
    assert tags_before == tags_after
    assert text_after == text_before.upper()
    document = Document(io.BytesIO(out))
    assert 'text:style-name="Emphasis">STYLED WORDS<' in document.body.serialize()
    assert 'office:string-value="CELL TEXT"' in document.body.serialize()
    master = document.get_part("styles.xml").root.get_element(".//style:master-page")
    assert "<style:header><text:p>PAGE HEADER</text:p></style:header>" in master.serialize()


def test_epub_keeps_members_spine_and_metadata() -> None:
    data = epub_bytes()
    found, out = translate("a.epub", data)
    assert "First" in found and "Second chapter." in found and "pre stays" not in found
    old_zip, new_zip = zipfile.ZipFile(io.BytesIO(data)), zipfile.ZipFile(io.BytesIO(out))
    assert [i.filename for i in old_zip.infolist()] == [i.filename for i in new_zip.infolist()]
    assert new_zip.infolist()[0].compress_type == zipfile.ZIP_STORED
    assert new_zip.read("mimetype") == b"application/epub+zip"
    old_book, new_book = epub.read_epub(io.BytesIO(data)), epub.read_epub(io.BytesIO(out))
    assert old_book.spine == new_book.spine
    assert [i.file_name for i in old_book.get_items()] == [
        i.file_name for i in new_book.get_items()
    ]
    assert new_book.get_metadata("DC", "title") == [("SAMPLE BOOK", {})]
    for key in ("identifier", "language", "creator"):
        assert new_book.get_metadata("DC", key) == old_book.get_metadata("DC", key)
    chapter = new_zip.read("EPUB/chap_01.xhtml").decode()
    assert '<p class="lead">FIRST <em>CHAPTER</em> TEXT.</p>' in chapter
    assert "<pre>pre stays</pre>" in chapter and "<title>CHAPTER ONE</title>" in chapter
    assert new_zip.read("EPUB/content.opf").replace(b"SAMPLE BOOK", b"Sample Book") == (
        old_zip.read("EPUB/content.opf")
    )


def test_pdf_keeps_page_count_and_sizes() -> None:
    data = pdf_bytes()
    found, out = translate("a.pdf", data)
    assert found[0] == "Page one heading."
    assert found[1].startswith("A paragraph long enough to wrap. A paragraph")
    assert found[2] == "Second page text."
    before, after = PdfReader(io.BytesIO(data)), PdfReader(io.BytesIO(out))
    assert len(before.pages) == len(after.pages) == 2
    sizes = [(round(float(p.mediabox.width)), round(float(p.mediabox.height))) for p in after.pages]
    assert sizes == [(595, 842), (400, 300)]
    assert "SECOND PAGE TEXT." in (after.pages[1].extract_text() or "")


def test_pdf_writes_non_latin_text_and_shrinks_to_fit() -> None:
    data = pdf_bytes()
    found = segments("a.pdf", data)
    long = ["Очень длинный перевод абзаца. " * 40] * len(found)
    reader = PdfReader(io.BytesIO(rebuild("a.pdf", data, long)))
    assert len(reader.pages) == 2
    assert "Очень длинный перевод" in (reader.pages[1].extract_text() or "")


def test_docx_tabs_and_breaks_separate_segments_and_stay() -> None:
    document = docx.Document()
    document.add_paragraph("Total:\tValue here")
    document.add_paragraph().add_run("Line one\nLine two")
    buffer = io.BytesIO()
    document.save(buffer)
    found = segments("a.docx", buffer.getvalue())
    assert found == ["Total:", "Value here", "Line one", "Line two"]
    out = docx.Document(io.BytesIO(rebuild("a.docx", buffer.getvalue(), [shout(s) for s in found])))
    assert [p.text for p in out.paragraphs] == ["TOTAL:\tVALUE HERE", "LINE ONE\nLINE TWO"]


def test_pptx_line_breaks_separate_segments_and_stay() -> None:
    presentation = pptx.Presentation()
    slide = presentation.slides.add_slide(presentation.slide_layouts[6])
    box = slide.shapes.add_textbox(0, 0, 100, 100)
    box.text_frame.text = "First line\vSecond line"  # \v is a line break inside a paragraph
    buffer = io.BytesIO()
    presentation.save(buffer)
    found, out = translate("a.pptx", buffer.getvalue())
    assert found == ["First line", "Second line"]
    shape = pptx.Presentation(io.BytesIO(out)).slides[0].shapes[0]
    assert shape.text_frame.text == "FIRST LINE\vSECOND LINE"


def _with_footnotes(data: bytes, text: str) -> bytes:
    """The DOCX with a footnotes part (python-docx cannot add one itself)."""
    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    footnotes = (
        f'<w:footnotes xmlns:w="{w}"><w:footnote w:id="1"><w:p><w:r><w:t>{text}</w:t>'
        "</w:r></w:p></w:footnote></w:footnotes>"
    )
    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            body = source.read(info)
            if info.filename == "[Content_Types].xml":
                body = body.replace(
                    b"</Types>",
                    b'<Override PartName="/word/footnotes.xml" ContentType="application/'
                    b'vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"/></Types>',
                )
            if info.filename == "word/_rels/document.xml.rels":
                body = body.replace(
                    b"</Relationships>",
                    b'<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/'
                    b'officeDocument/2006/relationships/footnotes" Target="footnotes.xml"/>'
                    b"</Relationships>",
                )
            target.writestr(info, body)
        target.writestr("word/footnotes.xml", footnotes)
    return out.getvalue()


def test_docx_footnotes_are_translated() -> None:
    data = _with_footnotes(docx_bytes(), "A footnote here")
    found, out = translate("a.docx", data)
    assert found[-1] == "A footnote here"
    assert b'<w:t xml:space="preserve">A FOOTNOTE HERE</w:t>' in zipfile.ZipFile(
        io.BytesIO(out)
    ).read("word/footnotes.xml")
