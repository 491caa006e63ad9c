"""Documents end to end: a file sent to the bot comes back translated in the same format,
with a progress bar, a Cancel button and clear refusals — real worker, bot and emulator."""

from __future__ import annotations

import io
import itertools
import os
import signal
import time
import zipfile

import docx
import psutil
import pytest
import srt
from bs4 import BeautifulSoup
from fpdf import FPDF
from pypdf import PdfReader, PdfWriter

from bot import texts
from bot.documents.progress import CancelDocument
from bot.i18n import Texts, create_i18n
from config import Settings
from tasks.client.requests import PENDING
from tasks.contract import document_key
from tasks.formats import _load as load_slots
from tasks.formats import rebuild, segments, supported_extensions
from tasks.worker.document_state import plan_chunks
from tests.support.emulator import BotApiEmulator
from tests.support.procs import Proc, wait_until
from tests.support.reference import engine_translations, reference
from tests.support.samples import all_samples, long_text
from tests.support.stack import RedisServer

pytestmark = pytest.mark.e2e
PHRASES = Texts(create_i18n())
# One sentence per segment: the engine translates it in one piece, like the reference.
SENTENCES = [
    "Hello, world",
    "How are you today?",
    "The quick brown fox jumps over the lazy dog.",
    "Translation runs on local neural models.",
    "Good morning, dear friends!",
]


def send(emulator: BotApiEmulator, chat_id: int, name: str, data: bytes, caption: str | None):
    """Push a document and wait for the translated file; returns (file record, message id)."""
    message_id = emulator.push_document(chat_id, name, data, caption)
    [sent] = emulator.wait_documents(chat_id, timeout=120)
    return sent, message_id


def check_answer(emulator: BotApiEmulator, chat_id: int, sent: dict, message_id: int) -> None:
    """The file replies to the original, and the status message was replaced by it."""
    assert sent["message"]["reply_to_message"]["message_id"] == message_id
    assert sent["caption"] == PHRASES(texts.DOC_DONE, "en", language="Russian")
    status = emulator.sent_to(chat_id)[0]
    wait_until(lambda: status["message_id"] in emulator.deleted(chat_id), 10, "status deleted")


def test_txt_round_trip_keeps_lines(
    bot: object, emulator: BotApiEmulator, model_template: str, chat_id: int
) -> None:
    lines = [SENTENCES[0], "", f"  {SENTENCES[1]}", "12345", SENTENCES[2]]
    data = ("\r\n".join(lines) + "\r\n").encode()
    sent, message_id = send(emulator, chat_id, "notes.txt", data, "en>ru")
    assert sent["file_name"] == "notes.ru.txt"
    expected = reference(model_template, [SENTENCES[0], SENTENCES[1], SENTENCES[2]])
    out = sent["data"].decode().split("\r\n")
    assert out == [expected[0], "", f"  {expected[1]}", "12345", expected[2], ""]
    check_answer(emulator, chat_id, sent, message_id)


def test_srt_round_trip_keeps_numbering_and_timings(
    bot: object, emulator: BotApiEmulator, model_template: str, chat_id: int
) -> None:
    cues = [
        srt.Subtitle(i + 1, _t(i * 2), _t(i * 2 + 1.5), text) for i, text in enumerate(SENTENCES)
    ]
    data = srt.compose(cues).encode()
    sent, _ = send(emulator, chat_id, "film.srt", data, "ru")  # source detected
    assert sent["file_name"] == "film.ru.srt"
    out = list(srt.parse(sent["data"].decode()))
    assert [(c.index, c.start, c.end) for c in out] == [(c.index, c.start, c.end) for c in cues]
    assert [c.content for c in out] == reference(model_template, SENTENCES)


def test_docx_round_trip_keeps_runs_header_and_table(
    bot: object, emulator: BotApiEmulator, model_template: str, chat_id: int
) -> None:
    data = _docx()
    found = segments("report.docx", data)
    sent, message_id = send(emulator, chat_id, "report.docx", data, "en>ru")
    assert sent["file_name"] == "report.ru.docx"
    assert segments("report.docx", sent["data"]) == reference(model_template, found)
    assert _docx_shape(sent["data"]) == _docx_shape(data)
    check_answer(emulator, chat_id, sent, message_id)


def test_html_round_trip_keeps_tags_and_attributes(
    bot: object, emulator: BotApiEmulator, model_template: str, chat_id: int
) -> None:
    body = "".join(f'<p class="c{i}"><b>{s}</b></p>' for i, s in enumerate(SENTENCES[:3]))
    data = f'<html><head><title>{SENTENCES[3]}</title></head><body id="x">{body}</body></html>'
    sent, _ = send(emulator, chat_id, "page.html", data.encode(), "en>ru")
    assert sent["file_name"] == "page.ru.html"
    shape = [(t.name, t.attrs) for t in BeautifulSoup(data, "html.parser").find_all(True)]
    out = BeautifulSoup(sent["data"].decode(), "html.parser")
    assert [(t.name, t.attrs) for t in out.find_all(True)] == shape
    assert [b.get_text() for b in out.find_all("b")] == reference(model_template, SENTENCES[:3])


@pytest.mark.parametrize(
    "name",
    [f"sample.{ext}" for ext in ("md", "vtt", "po", "pptx", "odt", "epub", "pdf")],
)
def test_other_formats_round_trip(
    bot: object, emulator: BotApiEmulator, model_template: str, chat_id: int, name: str
) -> None:
    """Every other format: the file that comes back is the original rebuilt with what the
    engine makes of each segment (its sentences, each translated by the model)."""
    data = all_samples()[name]
    sent, _ = send(emulator, chat_id, name, data, "en>ru")
    assert sent["file_name"] == name.replace(".", ".ru.")
    expected = rebuild(name, data, engine_translations(model_template, segments(name, data)))
    if name.endswith((".md", ".vtt", ".po")):
        assert sent["data"].decode() == expected.decode()
    elif name.endswith(".pdf"):
        before, after = PdfReader(io.BytesIO(data)), PdfReader(io.BytesIO(sent["data"]))
        assert [p.mediabox[2:] for p in after.pages] == [p.mediabox[2:] for p in before.pages]
        assert load_slots(name, sent["data"]).texts == load_slots(name, expected).texts
    else:  # zipped: the same members, each with the same content
        assert _members(sent["data"]) == _members(expected)


def test_progress_bar_edits_at_most_once_a_second(
    bot: object, emulator: BotApiEmulator, chat_id: int
) -> None:
    # Four of the largest documents the stack takes, sent together: they share the
    # worker, so each takes seconds even on a fast, idle machine with the fast engine
    # (one alone may be done within the first second, which shows no bar). The bar is
    # edited at most once a second in the chat, every status message counted.
    for seed in range(4):
        emulator.push_document(chat_id, f"long{seed}.txt", long_text(1450, seed).encode(), "en>ru")
    sent = emulator.wait_documents(chat_id, 4, timeout=180)
    assert [len(s["data"].decode().splitlines()) for s in sent] == [1450] * 4
    statuses = {m["message_id"] for m in emulator.sent_to(chat_id) if "reply_markup" in m}
    edits = [e for e in emulator.edits(chat_id) if e[1] in statuses]
    assert any("%" in text for _, _, text in edits), "no progress edit seen"
    times = [t for t, _, _ in emulator.edits(chat_id)]
    assert all(b - a >= 0.95 for a, b in itertools.pairwise(times)), times


def test_cancel_revokes_and_no_file_is_sent(
    bot: object,
    emulator: BotApiEmulator,
    redis_server: RedisServer,
    stack_env: dict[str, str],
    chat_id: int,
) -> None:
    lines = long_text(1450, seed=7)  # under the stack's DOCUMENT_MAX_CHARS
    emulator.push_document(chat_id, "big.txt", lines.encode(), "en>ru")
    [status] = emulator.wait_for(chat_id)
    [[button]] = status["reply_markup"]["inline_keyboard"]
    task_id = CancelDocument.unpack(button["callback_data"]).task
    client = redis_server.client()
    # Cancel once the chunks run (a chunk finished), not before the work started.
    done_key = document_key(task_id, "done")
    wait_until(lambda: int(client.get(done_key) or 0) > 0, 60, "a chunk translated")
    emulator.push_callback(chat_id, status, button["callback_data"])
    cancelled = PHRASES(texts.DOC_CANCELLED, "en", name="big.txt")
    wait_until(lambda: _text(emulator, chat_id, status) == cancelled, 30, "cancelled status")
    done_at_cancel = int(client.get(done_key) or 0)
    wait_until(lambda: client.llen("documents") == 0, 60, "the documents queue drained")
    time.sleep(3)  # long enough for a chunk still running and a build to finish
    assert emulator.documents_to(chat_id) == []
    assert _text(emulator, chat_id, status) == cancelled
    # The revoked chunks never ran: after the cancel only the chunks already running (at
    # most one per lane) finished, however fast this machine got through the others.
    done, total = (int(v or 0) for v in client.mget(done_key, document_key(task_id, "total")))
    chunk_chars = int(stack_env["DOCUMENT_CHUNK_CHARS"])
    chunk = max(map(len, plan_chunks(lines.splitlines(), chunk_chars)))
    lanes = Settings().document_parallel  # a lane runs one chunk at a time
    assert total == 1450
    assert 0 < done <= done_at_cancel + lanes * chunk, (done_at_cancel, done, chunk)
    assert done < total, (done, total)


def test_a_caption_naming_too_many_languages_is_refused_whole(
    bot: object, emulator: BotApiEmulator, chat_id: int
) -> None:
    # MAX_TARGETS (10) holds for a document as for a text: eleven targets get one reply
    # and no status message (each was a document task of its own).
    targets = "ru,de,fr,es,it,pl,uk,cs,nl,sv,fi"
    emulator.push_document(chat_id, "many.txt", b"Good morning.", f"en>{targets}")
    [reply] = emulator.wait_for(chat_id)
    assert reply["text"] == PHRASES(texts.TOO_MUCH_WORK, "en")
    time.sleep(1)
    assert len(emulator.sent_to(chat_id)) == 1


def test_only_the_sender_or_an_admin_cancels_a_document(
    bot: object, worker: Proc, emulator: BotApiEmulator, redis_server: RedisServer, chat_id: int
) -> None:
    # In a group, another member's Cancel (or a forged button from another chat) is
    # refused with an alert and the document goes on; an admin's Cancel is taken. The
    # worker is paused meanwhile, so the document cannot finish before the presses.
    group, sender, other, admin = -chat_id, 9101, 9102, 9103
    emulator.set_admins(group, {admin})
    assert worker.popen is not None
    os.killpg(worker.popen.pid, signal.SIGSTOP)
    try:
        emulator.push_document(
            group, "mine.txt", b"Good morning.", "en>ru", user_id=sender, chat_type="supergroup"
        )
        [status] = emulator.wait_for(group)
        _press_cancel(emulator, redis_server, group, status, chat_id, other, admin)
    finally:
        os.killpg(worker.popen.pid, signal.SIGCONT)
    time.sleep(2)  # a file would be sent about now
    assert emulator.documents_to(group) == []


def _press_cancel(
    emulator: BotApiEmulator,
    redis_server: RedisServer,
    group: int,
    status: dict,
    chat_id: int,
    other: int,
    admin: int,
) -> None:
    [[button]] = status["reply_markup"]["inline_keyboard"]
    task_id = CancelDocument.unpack(button["callback_data"]).task
    refused = PHRASES(texts.DOC_NOT_YOURS, "en")
    emulator.push_callback(group, status, button["callback_data"], user_id=other)
    emulator.push_callback(chat_id, status | {"chat": {"id": chat_id, "type": "private"}},
                           button["callback_data"], user_id=chat_id)  # fmt: skip
    alerts = lambda: [  # noqa: E731
        c for _, c in emulator.calls("answerCallbackQuery") if c.get("text") == refused
    ]
    wait_until(lambda: len(alerts()) == 2, 30, "two refusals")
    assert redis_server.client().exists(f"tolmach:reply:{task_id}")  # still waiting
    emulator.push_callback(group, status, button["callback_data"], user_id=admin)
    cancelled = PHRASES(texts.DOC_CANCELLED, "en", name="mine.txt")
    wait_until(lambda: _text(emulator, group, status) == cancelled, 30, "cancelled status")


def test_a_worker_dying_mid_document_still_gives_one_file(
    bot: object, worker: Proc, emulator: BotApiEmulator, redis_server: RedisServer, chat_id: int
) -> None:
    # The kill comes once a chunk is done, not at the first progress edit: a fast engine
    # translates a short document within the second before any edit.
    emulator.push_document(chat_id, "crash.txt", long_text(1450, seed=3).encode(), "en>ru")
    [status] = emulator.wait_for(chat_id)
    [[button]] = status["reply_markup"]["inline_keyboard"]
    task_id = CancelDocument.unpack(button["callback_data"]).task
    client = redis_server.client()
    done_key = document_key(task_id, "done")
    wait_until(lambda: int(client.get(done_key) or 0) > 0, 60, "a chunk translated")
    assert worker.popen is not None
    children = psutil.Process(worker.popen.pid).children()
    children[0].send_signal(signal.SIGKILL)  # its chunk is requeued (acks_late)
    assert int(client.get(done_key) or 0) < 1450, "the document was done before the kill"
    [sent] = emulator.wait_documents(chat_id, timeout=180)
    assert len(sent["data"].decode().splitlines()) == 1450
    time.sleep(2)
    assert len(emulator.documents_to(chat_id)) == 1


def test_media_group_gets_one_file_each(
    bot: object, emulator: BotApiEmulator, model_template: str, chat_id: int
) -> None:
    for i, sentence in enumerate(SENTENCES[:2]):
        emulator.push_document(
            chat_id, f"part{i}.txt", sentence.encode(), media_group_id="album1", language_code="ru"
        )
    sent = emulator.wait_documents(chat_id, 2)
    time.sleep(1)
    assert len(emulator.documents_to(chat_id)) == 2
    # No caption: into the user's language (from the Telegram app), the source detected.
    by_name = {s["file_name"]: s["data"].decode() for s in sent}
    assert by_name == dict(
        zip(["part0.ru.txt", "part1.ru.txt"], reference(model_template, SENTENCES[:2]), strict=True)
    )


def test_a_file_telegram_refuses_is_explained_once(
    bot: object, emulator: BotApiEmulator, redis_server: RedisServer, chat_id: int
) -> None:
    # A 400 on the file (the bot may not send files there) is final: the status message
    # says something went wrong and stays, and the request is not tried again.
    refused = "Bad Request: not enough rights to send documents to the chat"
    emulator.fail_next("sendDocument", 400, refused)
    emulator.push_document(chat_id, "refused.txt", SENTENCES[0].encode(), "en>ru")
    [status] = emulator.wait_for(chat_id)
    failed = PHRASES(texts.INTERNAL, "en")
    wait_until(lambda: _text(emulator, chat_id, status) == failed, 60, "the status says so")
    client = redis_server.client()
    wait_until(lambda: client.zcard(PENDING) == 0, 10, "the request marked answered")
    assert len(emulator.calls("sendDocument")) >= 1 and emulator.documents_to(chat_id) == []
    emulator.errors.remove(("sendDocument", refused))  # refused on purpose


def test_an_album_follows_the_caption_on_its_first_file(
    bot: object, emulator: BotApiEmulator, chat_id: int
) -> None:
    # Telegram puts an album's caption on its first file only. In a group a file without
    # languages is not for the bot: the second file was ignored. It follows the caption.
    group, kw = -chat_id, {"chat_type": "supergroup", "media_group_id": "album2"}
    emulator.push_document(group, "a.txt", SENTENCES[0].encode(), "en>ru", **kw)
    emulator.push_document(group, "b.txt", SENTENCES[1].encode(), **kw)
    sent = emulator.wait_documents(group, 2)
    assert sorted(s["file_name"] for s in sent) == ["a.ru.txt", "b.ru.txt"]


@pytest.mark.parametrize(
    ("name", "make", "message"),
    [
        ("photo.xyz", lambda: b"hello", texts.DOC_UNSUPPORTED),
        ("binary.txt", lambda: bytes(range(256)) * 8, texts.DOC_BINARY),
        ("broken.docx", lambda: b"PK\x03\x04 this is not a zip file", texts.DOC_CORRUPT),
        ("secret.pdf", lambda: _encrypted_pdf(), texts.DOC_ENCRYPTED),
        ("bomb.docx", lambda: _zip_bomb(), texts.DOC_ARCHIVE_BOMB),
        (
            "huge.txt",
            lambda: "\n".join(["abcdefghij" * 10] * 700).encode(),
            texts.DOC_TOO_MANY_CHARS,
        ),
    ],
)
def test_bad_documents_get_a_clear_answer(
    bot: object, emulator: BotApiEmulator, chat_id: int, name: str, make, message: str
) -> None:
    emulator.push_document(chat_id, name, make(), "en>ru")
    values = {
        "name": name,
        "format": name.rsplit(".", 1)[1].upper(),
        "formats": ", ".join(sorted(e.lstrip(".") for e in supported_extensions())),
        "length": 70000,
        "limit": 60000,
    }
    expected = PHRASES(message, "en", **values)
    wait_until(lambda: expected in _texts(emulator, chat_id), 60, repr(expected))
    assert emulator.documents_to(chat_id) == []
    assert not any("Traceback" in t for t in _texts(emulator, chat_id))


def test_file_over_the_download_limit_is_refused_before_queuing(
    bot: object, emulator: BotApiEmulator, chat_id: int
) -> None:
    emulator.push_document(chat_id, "big.txt", b"Hello", "en>ru", file_size=3 * 1024 * 1024)
    expected = PHRASES(texts.DOC_FILE_TOO_BIG, "en", name="big.txt", size="3.0", max_size="1")
    [reply] = emulator.wait_for(chat_id)
    assert reply["text"] == expected
    asked = [p for _, p in emulator.calls("getFile") if p["file_id"].startswith(f"doc{chat_id}_")]
    assert asked == []


# ---- helpers ---------------------------------------------------------------------------


def _t(seconds: float):
    from datetime import timedelta

    return timedelta(seconds=seconds)


def _text(emulator: BotApiEmulator, chat_id: int, message: dict) -> str:
    now = emulator.message(chat_id, message["message_id"])
    return str(now.get("text")) if now else ""


def _texts(emulator: BotApiEmulator, chat_id: int) -> list[str]:
    return [_text(emulator, chat_id, m) for m in emulator.sent_to(chat_id)]


def _members(data: bytes) -> dict[str, bytes]:
    archive = zipfile.ZipFile(io.BytesIO(data))
    return {name: archive.read(name) for name in archive.namelist()}


def _docx() -> bytes:
    document = docx.Document()
    document.add_heading(SENTENCES[0], level=1)
    paragraph = document.add_paragraph()
    paragraph.add_run(SENTENCES[1]).bold = True
    paragraph.add_run(" ")
    paragraph.add_run(SENTENCES[2]).italic = True
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text = SENTENCES[3]
    table.cell(0, 1).text = "2024"
    document.sections[0].header.paragraphs[0].text = SENTENCES[4]
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _docx_shape(data: bytes) -> list[list[tuple[object, ...]]]:
    document = docx.Document(io.BytesIO(data))
    paragraphs = [*document.paragraphs, *document.sections[0].header.paragraphs]
    paragraphs += [p for t in document.tables for c in t._cells for p in c.paragraphs]
    return [[(r.bold, r.italic, r.style.name) for r in p.runs] for p in paragraphs]


def _encrypted_pdf() -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.cell(0, 10, SENTENCES[0])
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(bytes(pdf.output()))))
    writer.encrypt("secret")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"\0" * (30 * 1024 * 1024))
    return out.getvalue()
