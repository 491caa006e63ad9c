"""EPUB: ebooklib reads the book; chapters are translated like HTML, member by member.

ebooklib finds the package document, the spine and the XHTML documents. Writing back does
not go through `ebooklib.write_epub`, which regenerates the package document, navigation
and file names; instead the original zip is copied member by member, only the translated
documents replaced. So chapters, spine, manifest, metadata, styles, fonts and images stay
byte for byte. Translated: the text nodes of every XHTML document (spine order first, the
navigation document included; not script, style, code, pre), the NCX table-of-contents
labels and the book title.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
from typing import Any
from urllib.parse import unquote

import ebooklib
from ebooklib import epub
from lxml import etree

from tasks.formats import xmlscan
from tasks.formats.base import ElementSlot as _Slot
from tasks.formats.base import Parsed, changed
from tasks.formats.errors import CorruptDocument
from tasks.formats.html import SKIPPED, normalize_space

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, recover=True, huge_tree=False
)
_CONTAINER_NS = {"c": "urn:oasis:names:tc:opendocument:xmlns:container"}
_TITLE = "{http://purl.org/dc/elements/1.1/}title"
_NCX_TEXT = "{http://www.daisy.org/z3986/2005/ncx/}text"


def load(name: str, data: bytes) -> Parsed:
    """Parse an .epub file into text slots: title, documents in spine order, NCX labels.

    Args:
        name: The file name (unused: ebooklib's errors name no file).
        data: The file's bytes.

    Returns:
        The parsed document.
    """
    archive = zipfile.ZipFile(io.BytesIO(data))
    # Every member is read now, so a damaged one fails the parse, not the rebuild; the
    # archive limits were checked before.
    bodies = {info.filename: archive.read(info) for info in archive.infolist()}
    book = epub.read_epub(io.BytesIO(data), options={"ignore_ncx": True})
    opf = _package_path(archive)
    members = [(opf, _title_slots)]
    members += [(path, _document_slots) for path in _documents(book, archive, opf)]
    members += [
        (path, _ncx_slots) for path in _members(archive, opf, book, ebooklib.ITEM_NAVIGATION)
    ]
    roots = {path: _parse(name, path, bodies[path]) for path, _ in members}
    slots = [(path, slot) for path, find in members for slot in find(roots[path])]
    texts = [normalize_space(slot.get()) for _, slot in slots]

    def write(new: list[str]) -> bytes:
        edited: dict[str, Any] = {}
        for i, text in changed(texts, new):
            path, slot = slots[i]
            slot.set(text)
            edited[path] = roots[path]
        return _repack(archive, bodies, edited)

    return Parsed(texts, write)


def _parse(name: str, path: str, body: bytes) -> Any:
    # The archive check scanned members by name; a document may be named anything.
    xmlscan.check_xml(name, body, dtd_allowed=True, part=path)
    root = etree.fromstring(body, _PARSER)
    # `recover` mends sloppy XHTML, but past a parser limit (nesting deeper than 256) it
    # would drop the rest of the document without a word.
    for error in _PARSER.error_log:
        if error.type_name == "ERR_RESOURCE_LIMIT":
            raise CorruptDocument(name, f"{path!r}: {error.message}")
    return root


def _package_path(archive: zipfile.ZipFile) -> str:
    container = etree.fromstring(archive.read("META-INF/container.xml"), _PARSER)
    paths = container.xpath("//c:rootfile/@full-path", namespaces=_CONTAINER_NS)
    if not paths:
        raise ValueError("META-INF/container.xml names no package document")
    return str(paths[0])


def _documents(book: Any, archive: zipfile.ZipFile, opf: str) -> list[str]:
    """XHTML documents: spine order first, then the others by path."""
    by_id = {item.get_id(): item for item in book.get_items_of_type(ebooklib.ITEM_DOCUMENT)}
    ordered = [by_id.pop(idref) for idref, *_ in book.spine if idref in by_id]
    ordered += sorted(by_id.values(), key=lambda item: item.file_name)
    paths = [_member_path(archive, opf, item.file_name) for item in ordered]
    return list(dict.fromkeys(path for path in paths if path is not None))


def _members(archive: zipfile.ZipFile, opf: str, book: Any, kind: int) -> list[str]:
    items = sorted(book.get_items_of_type(kind), key=lambda item: item.file_name)
    paths = [_member_path(archive, opf, item.file_name) for item in items]
    return [path for path in paths if path is not None]


def _member_path(archive: zipfile.ZipFile, opf: str, href: str) -> str | None:
    names = set(archive.namelist())
    for candidate in (href, unquote(href)):
        path = posixpath.normpath(posixpath.join(posixpath.dirname(opf), candidate))
        if path in names:
            return path
    return None


def _title_slots(root: Any) -> list[_Slot]:
    return [_Slot(element, tail=False) for element in root.iter(_TITLE)]


def _ncx_slots(root: Any) -> list[_Slot]:
    return [_Slot(element, tail=False) for element in root.iter(_NCX_TEXT)]


def _document_slots(root: Any) -> list[_Slot]:
    """Text and tails in document order, nothing inside script, style, code or pre."""
    return _slots_under(root, skipped=False)


def _slots_under(element: Any, skipped: bool) -> list[_Slot]:
    is_element = isinstance(element.tag, str)  # comments and entity references are not
    skipped = skipped or (is_element and etree.QName(element).localname in SKIPPED)
    found = [_Slot(element, tail=False)] if is_element and not skipped else []
    for child in element:
        found += _slots_under(child, skipped)
        if not skipped:
            found.append(_Slot(child, tail=True))
    return found


def _repack(archive: zipfile.ZipFile, bodies: dict[str, bytes], roots: dict[str, Any]) -> bytes:
    """The original zip with the edited members re-serialized, all else copied as it was."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in archive.infolist():
            body = bodies[info.filename]
            if info.filename in roots:
                tree = roots[info.filename].getroottree()
                # lxml drops whitespace after the root element; keep the source's.
                tail = body[len(body.rstrip()) :]
                body = etree.tostring(tree, xml_declaration=True, encoding="utf-8") + tail
            # The original ZipInfo keeps order, names, dates and compression: `mimetype`
            # stays first and stored, as EPUB readers require.
            target.writestr(info, body)
    return out.getvalue()
