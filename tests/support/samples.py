"""Sample documents for the format tests, each built with its format's own library.

No tests here: the round-trip, error, property and document tests import these builders.
"""

from __future__ import annotations

import io
from functools import cache

import docx
import pptx
from docx.shared import Pt
from ebooklib import epub
from fpdf import FPDF
from hypothesis import HealthCheck, settings
from odfdo import Document, Header, Paragraph, Span, Table
from pptx.util import Inches

TXT = "First line of text.\r\n\r\n12345\r\nSecond line, with a comma.\r\n   \r\nLast line"

MARKDOWN = """---
title: Front matter stays
---
# Main heading

Read [the guide](https://example.org/guide_(v2) "Guide title") and run `make test` now.

- First item with ![a picture](img/pic.png)
- Second item, see <https://example.org/x>
1. Numbered item

```python
print("code stays")
```

    indented code stays

| Name | Value |
| ---- | ----- |
| Apples | 3 |

[ref]: https://example.org/ref
"""

SRT = """1
00:00:01,000 --> 00:00:03,500
Hello there,
how are you?

2
00:00:04,000 --> 00:00:06,000
<i>I am fine.</i>

3
00:00:07,250 --> 00:00:09,000
- Who is it?
- Nobody.

"""

VTT = """WEBVTT - sample

NOTE this note stays

STYLE
::cue { color: yellow }

intro
00:00:01.000 --> 00:00:03.000 align:start position:10%
<v Alice>Good morning,
everyone.</v>

00:00:04.000 --> 00:00:05.000
Second cue.
"""

HTML = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Page title</title>
<script>var greeting = "Hello script";</script>
<style>p { color: red; }</style></head>
<body class="main" data-id="7">
<!-- a comment stays -->
<h1 id="top">Welcome home</h1>
<p>Some <b class="x">bold</b> text and <a href="/path?q=1" title="Link title">a link</a>.</p>
<pre>pre stays</pre><p>Run <code>ls -la</code> here.</p>
<img src="pic.png" alt="Alt text"><p>42</p>
</body>
</html>
"""

PO = r"""# Translator comment
msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\n"
"Plural-Forms: nplurals=2; plural=(n != 1);\n"

#. Extracted comment
#: app.py:10
#, python-format
msgid "Hello %(name)s, you have %d new messages"
msgstr ""

#, python-brace-format
msgctxt "menu"
msgid "Open {file} now"
msgstr ""

msgid "One file"
msgid_plural "%d files"
msgstr[0] ""
msgstr[1] ""

msgid "Line one\nLine two"
msgstr ""

#~ msgid "Old entry"
#~ msgstr "Alte"
"""


def docx_bytes() -> bytes:
    """A DOCX with bold/italic runs, a table, a header and a footer."""
    document = docx.Document()
    document.add_heading("Document title", level=1)
    paragraph = document.add_paragraph("Plain start, ")
    paragraph.add_run("bold words").bold = True
    paragraph.add_run(" and ")
    paragraph.add_run("italic words").italic = True
    paragraph.add_run(" end.").font.size = Pt(14)
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Cell one"
    table.cell(0, 1).text = "2024"
    table.cell(1, 0).text = "Cell three"
    section = document.sections[0]
    section.header.paragraphs[0].text = "Header text"
    section.footer.paragraphs[0].text = "Footer text"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def pptx_bytes() -> bytes:
    """A PPTX with a title, styled runs, a table, a group and notes."""
    presentation = pptx.Presentation()
    slide = presentation.slides.add_slide(presentation.slide_layouts[5])
    slide.shapes.title.text = "Slide title"
    box = slide.shapes.add_textbox(Inches(1), Inches(1.5), Inches(4), Inches(1))
    paragraph = box.text_frame.paragraphs[0]
    for text, bold in (("Plain text ", False), ("bold text", True), (" tail", False)):
        run = paragraph.add_run()
        run.text, run.font.bold = text, bold
    table = slide.shapes.add_table(2, 2, Inches(1), Inches(3), Inches(4), Inches(1)).table
    table.cell(0, 0).text = "Table cell"
    table.cell(1, 1).text = "99"
    group = slide.shapes.add_group_shape()
    inner = group.shapes.add_textbox(Inches(5), Inches(5), Inches(2), Inches(1))
    inner.text_frame.text = "Grouped text"
    slide.notes_slide.notes_text_frame.text = "Speaker notes"
    out = io.BytesIO()
    presentation.save(out)
    return out.getvalue()


def odt_bytes() -> bytes:
    """An ODT with a heading, a styled span, a table and a page header."""
    document = Document("text")
    body = document.body
    body.clear()
    body.append(Header(1, "Main title"))
    paragraph = Paragraph("Hello ", style="Standard")
    paragraph.append(Span("styled words", style="Emphasis"))
    paragraph.append(" and the rest.")
    body.append(paragraph)
    table = Table("Prices", width=2, height=1)
    table.set_value((0, 0), "Cell text")
    table.set_value((0, 1), "12")
    body.append(table)
    master = document.get_style("master-page", "Standard")
    if master is not None:
        master.set_page_header(Paragraph("Page header"))
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def epub_bytes() -> bytes:
    """An EPUB with two chapters, a table of contents and metadata."""
    book = epub.EpubBook()
    book.set_identifier("sample-1")
    book.set_title("Sample Book")
    book.set_language("en")
    book.add_author("Ann Author")
    one = epub.EpubHtml(title="Chapter One", file_name="chap_01.xhtml", lang="en")
    one.content = (
        "<html><head><title>Chapter One</title></head><body><h1>Chapter One</h1>"
        '<p class="lead">First <em>chapter</em> text.</p><pre>pre stays</pre></body></html>'
    )
    two = epub.EpubHtml(title="Chapter Two", file_name="text/chap_02.xhtml", lang="en")
    two.content = "<h1>Chapter Two</h1><p>Second chapter.</p>"
    book.add_item(one)
    book.add_item(two)
    book.toc = (one, two)
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = ["nav", one, two]
    out = io.BytesIO()
    epub.write_epub(out, book)
    return out.getvalue()


PDF_PAGES = (
    ("A4", ["Page one heading.", "A paragraph long enough to wrap. " * 4, "1"]),
    ((400.0, 300.0), ["Second page text.", "2"]),
)


def pdf_bytes() -> bytes:
    """A two-page PDF (A4 and a small landscape page) with wrapped paragraphs."""
    pdf = FPDF(unit="pt")
    pdf.set_font("Helvetica", size=12)
    for size, texts in PDF_PAGES:
        pdf.add_page(format=size)
        for text in texts:
            pdf.multi_cell(0, 14, text, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(8)
    return bytes(pdf.output())


SAMPLES = {
    "sample.txt": TXT.encode(),
    "sample.md": MARKDOWN.encode(),
    "sample.srt": SRT.encode(),
    "sample.vtt": VTT.encode(),
    "sample.html": HTML.encode(),
    "sample.po": PO.encode(),
}


def all_samples() -> dict[str, bytes]:
    """One sample document per supported format."""
    return {
        **SAMPLES,
        "sample.docx": docx_bytes(),
        "sample.pptx": pptx_bytes(),
        "sample.odt": odt_bytes(),
        "sample.epub": epub_bytes(),
        "sample.pdf": pdf_bytes(),
    }


def long_text(lines: int, seed: int = 0) -> str:
    """`lines` short English sentences, varied by `seed`."""
    words = "river mountain city music travel weather family friends news work".split()
    return "\n".join(
        f"The {words[(i + seed) % 10]} and the {words[(i * 3 + seed) % 10]} number {i}."
        for i in range(lines)
    )


@cache
def samples() -> dict[str, bytes]:
    """`all_samples()`, built once."""
    return all_samples()


# The format property tests' settings (test_formats and test_formats_hostile share them).
PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
