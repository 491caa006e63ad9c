"""Hostile documents, built at test time: entity tricks, zip tricks, bombs, huge structures.

No tests here: tests/unit/test_formats_hostile.py uses these builders. Nothing binary is
committed; big files are stream-written so building them stays fast and small in memory.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from tests.support.samples import docx_bytes, epub_bytes, odt_bytes, pptx_bytes

GB = 1 << 30
W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
# Per zip-based format: the sample, the XML member to poison, its root element, and a text
# in that member the entity reference goes next to (so it lands in a translated slot).
TARGETS = {
    ".docx": (docx_bytes, "word/document.xml", "w:document", "Document title"),
    ".pptx": (pptx_bytes, "ppt/slides/slide1.xml", "p:sld", "Slide title"),
    ".odt": (odt_bytes, "content.xml", "office:document-content", "Main title"),
    ".epub": (epub_bytes, "EPUB/chap_01.xhtml", "html", "First"),
}


def rezip(data: bytes, replace: dict[str, bytes], add: dict[str, bytes] | None = None) -> bytes:
    """A copy of a zip with some members' contents replaced and others appended."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            target.writestr(info, replace.get(info.filename, source.read(info)))
        for name, body in (add or {}).items():
            target.writestr(name, body, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def xxe_doctype(root: str, secret: Path) -> str:
    """An internal subset declaring `&xxe;` as a local file's content."""
    return f'<!DOCTYPE {root} [<!ENTITY xxe SYSTEM "file://{secret}">]>'


def external_dtd_doctype(root: str, dtd: Path) -> str:
    """A DOCTYPE that points at an external DTD on disk (which declares `&xxe;`)."""
    return f'<!DOCTYPE {root} SYSTEM "file://{dtd}">'


def parameter_entity_doctype(root: str, dtd: Path) -> str:
    """An internal subset that pulls an external DTD in through a parameter entity."""
    return f'<!DOCTYPE {root} [<!ENTITY % ext SYSTEM "file://{dtd}"> %ext;]>'


def laughs_doctype(root: str, levels: int = 9) -> str:
    """Billion laughs: `&lol9;` expands to 10**9 copies of "lol"."""
    declarations = ['<!ENTITY lol0 "lol">']
    for level in range(1, levels + 1):
        declarations.append(f'<!ENTITY lol{level} "{f"&lol{level - 1};" * 10}">')
    return f"<!DOCTYPE {root} [{''.join(declarations)}]>"


def external_dtd(secret: Path) -> str:
    """The content of a DTD file declaring `&xxe;` as a local file's content."""
    return f'<!ENTITY xxe SYSTEM "file://{secret}">'


def poisoned(
    extension: str, doctype: str, reference: str, encoding: str = "utf-8", declared: str = ""
) -> bytes:
    """A sample document of a zip-based format with `doctype` and an entity reference.

    The poisoned member is written in `encoding`, its XML declaration naming `declared`
    (an ASCII declaration, then the rest in `encoding`, is how UTF-7 is smuggled).
    """
    build, member, _, text = TARGETS[extension]
    data = build()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        xml = archive.read(member).decode("utf-8")
    xml = re.sub(r"<\?xml[^>]*\?>\s*", "", xml, count=1)
    xml = re.sub(r"<!DOCTYPE[^>]*>", "", xml, count=1)  # EPUB chapters have one already
    assert text in xml, (member, text)
    body = doctype + xml.replace(text, f"{text} {reference}", 1)
    declaration = f'<?xml version="1.0" encoding="{declared or encoding}"?>'
    if encoding == "utf-7":
        encoded = declaration.encode("ascii") + body.encode("utf-7")
    else:
        encoded = (declaration + body).encode(encoding)
    return rezip(data, {member: encoded})


def nested(extension: str, levels: int) -> bytes:
    """A sample document of a zip-based format with `levels` nested elements in its text."""
    build, member, _, text = TARGETS[extension]
    data = build()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        xml = archive.read(member).decode("utf-8")
    deep = "<span>" * levels + "deep" + "</span>" * levels
    return rezip(data, {member: xml.replace(text, f"{text} {deep}", 1).encode("utf-8")})


def poisoned_html(doctype: str, reference: str) -> bytes:
    """An HTML page with `doctype` and an entity reference in its text."""
    return f"{doctype}<html><body><p>Hello {reference} world</p></body></html>".encode()


def big_docx(size: int = GB, declared: int | None = None) -> bytes:
    """A DOCX whose word/document.xml is `size` bytes of real paragraphs, deflated (~1 MB).

    `declared` forges the size its zip headers claim (a bomb that lies about itself). The
    paragraphs come in identical 1 MiB blocks, each deflated after a full flush (which
    resets the compressor), so every block has the same deflated bytes, compressed once:
    a GB takes about a second, never in memory.
    """
    head = f'<?xml version="1.0"?><w:document xmlns:w="{W_NS}"><w:body>'.encode()
    tail = b"</w:body></w:document>"
    paragraph = b"<w:p><w:r><w:t>Lorem ipsum dolor sit amet.</w:t></w:r></w:p>"
    block = paragraph * ((1 << 20) // len(paragraph))
    count = -(-(size - len(head) - len(tail)) // len(block))  # at least `size` bytes
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    parts = [
        compressor.compress(part) + compressor.flush(zlib.Z_FULL_FLUSH) for part in (head, block)
    ]
    crc = zlib.crc32(head)
    for _ in range(count):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(tail, crc)
    deflated = parts[0] + parts[1] * count + compressor.compress(tail) + compressor.flush()
    real = len(head) + len(block) * count + len(tail)
    entries = []
    with zipfile.ZipFile(io.BytesIO(docx_bytes())) as source:
        for info in source.infolist():
            if info.filename == "word/document.xml":
                entries.append(_Entry(info.filename, deflated, crc, real, declared or real))
            else:
                entries.append(_Entry.of(info.filename, source.read(info)))
    return _zip(entries)


@dataclass(frozen=True)
class _Entry:
    name: str
    deflated: bytes
    crc: int
    size: int
    declared: int

    @classmethod
    def of(cls, name: str, body: bytes) -> _Entry:
        compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
        deflated = compressor.compress(body) + compressor.flush()
        return cls(name, deflated, zlib.crc32(body), len(body), len(body))


def _zip(entries: list[_Entry]) -> bytes:
    """A zip written field by field, so a member's declared size can lie."""
    out = io.BytesIO()
    central = []
    for entry in entries:
        offset, name = out.tell(), entry.name.encode()
        sizes = (entry.crc, len(entry.deflated), entry.declared, len(name))
        # version 2.0, no flags, deflate, 1980-01-01 00:00
        out.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0x21, *sizes, 0))
        out.write(name + entry.deflated)
        fields = (b"PK\x01\x02", 20, 20, 0, 8, 0, 0x21, *sizes, 0, 0, 0, 0, 0, offset)
        central.append(struct.pack("<4s6H3L5H2L", *fields) + name)
    start, directory = out.tell(), b"".join(central)
    out.write(directory)
    out.write(
        struct.pack(
            "<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(directory), start, 0
        )
    )
    return out.getvalue()


def deep_html(levels: int = 100_000, text_at_every_level: bool = False) -> bytes:
    """`levels` nested divs, with text at the bottom (or a word inside every one)."""
    opening = b"<div>a " if text_at_every_level else b"<div>"
    return opening * levels + b"deep text" + b"</div>" * levels


def many_cues_srt(count: int = 1_000_000, text: str = "Hello") -> bytes:
    """An SRT of `count` one-word cues."""
    cue = f"{{n}}\n00:00:01,000 --> 00:00:02,000\n{text}\n\n"
    return "".join(cue.format(n=n) for n in range(1, count + 1)).encode()


def many_cues_vtt(count: int = 1_000_000) -> bytes:
    """A WebVTT file of `count` one-word cues."""
    return b"WEBVTT\n\n" + b"00:00:01.000 --> 00:00:02.000\nHello\n\n" * count


def pdf(pages: list[bytes | None], fonts: tuple[bytes, ...] = (), declared: int = 0) -> bytes:
    """A PDF whose pages have the given zlib streams as contents (None: an empty page).

    Pages with contents share one font resource: Helvetica, plus a TrueType font per entry
    of `fonts` with that zlib stream as its embedded font file. `declared` forges the
    page tree's /Count. The tree is two levels deep (up to 1,000 pages per node), as PDF
    writers do for long documents, so a reader's flat-array limits do not refuse it first.
    """
    objects: list[bytes] = [b"<< /Type /Catalog /Pages 2 0 R >>", b""]  # objects 1 and 2
    resources = _font_resources(objects, fonts)
    nodes: list[int] = []
    for start in range(0, len(pages), 1000):
        objects.append(b"")
        node = len(objects)
        nodes.append(node)
        members: list[int] = []
        for contents in pages[start : start + 1000]:
            entry = f"<< /Type /Page /Parent {node} 0 R /MediaBox [0 0 612 792]"
            if contents is None:
                objects.append(f"{entry} >>".encode())
            else:
                number = len(objects) + 2
                objects.append(f"{entry} /Resources {resources} /Contents {number} 0 R >>".encode())
                objects.append(_stream(contents))
            members.append(len(objects) - (contents is not None))
        objects[node - 1] = _pages_node(members, parent=2, count=len(members))
    objects[1] = _pages_node(nodes, parent=None, count=declared or len(pages))
    return _serialize(objects)


def _font_resources(objects: list[bytes], fonts: tuple[bytes, ...]) -> str:
    names = ["/F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    for n, program in enumerate(fonts):
        objects.append(_stream(program))
        descriptor = f"<< /Type /FontDescriptor /FontName /E{n} /FontFile2 {len(objects)} 0 R >>"
        objects.append(descriptor.encode())
        font = f"<< /Type /Font /Subtype /TrueType /FontDescriptor {len(objects)} 0 R >>"
        objects.append(font.encode())
        names.append(f"/E{n} {len(objects)} 0 R")
    return f"<< /Font << {' '.join(names)} >> >>"


def _pages_node(kids: list[int], parent: int | None, count: int) -> bytes:
    refs = " ".join(f"{kid} 0 R" for kid in kids)
    up = f" /Parent {parent} 0 R" if parent else ""
    return f"<< /Type /Pages{up} /Kids [{refs}] /Count {count} >>".encode()


def _stream(deflated: bytes) -> bytes:
    head = f"<< /Length {len(deflated)} /Filter /FlateDecode >>\nstream\n".encode()
    return head + deflated + b"\nendstream"


def _serialize(objects: list[bytes]) -> bytes:
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.write(b"".join(b"%010d 00000 n \n" % offset for offset in offsets))
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(objects) + 1))
    out.write(b"startxref\n%d\n%%%%EOF\n" % xref)
    return out.getvalue()


def deflated_zeros(size: int) -> bytes:
    """A zlib stream of `size` zero bytes (a multiple of 16 MiB): GBs in well under a second.

    Each 16 MiB block is compressed after a full flush, which resets the compressor, so
    every block deflates to the same bytes and is compressed once. The Adler-32 of n zero
    bytes is ((n mod 65521) << 16) | 1.
    """
    block = 16 << 20
    assert size % block == 0, size
    compressor = zlib.compressobj(9)
    first = compressor.compress(bytes(block)) + compressor.flush(zlib.Z_FULL_FLUSH)
    header, body = first[:2], first[2:]
    end = b"\x03\x00"  # an empty final fixed-Huffman block
    checksum = struct.pack(">I", ((size % 65521) << 16) | 1)
    return header + body * (size // block) + end + checksum
