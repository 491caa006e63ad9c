"""Faults with real processes: load, a worker or the bot killed mid-flight, Redis
restarted. Every accepted request must be answered exactly once with the right text.

Each scenario prints its figures (requests, lost, duplicated, latency); run
`pytest tests/faults/test_faults.py -s` to see them (bench/RESULTS.md has the latest).
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
import redis

from bot.server.intake import PARKED
from tasks.client.requests import PENDING
from tests.support.emulator import BotApiEmulator
from tests.support.load import Sent, sentence
from tests.support.procs import Proc, free_port, wait_until
from tests.support.samples import long_text
from tests.support.stack import (
    TOKEN,
    BotHandle,
    RedisServer,
    launch_worker,
    process_env,
    redis_proc,
    start_bot,
    start_worker,
    wait_redis,
    wait_worker,
)

pytestmark = pytest.mark.e2e
_users = itertools.count(30_000)
# How long after Telegram took its first answer the bot is killed (seconds): longer
# than a send's reply takes to reach a busy bot, so that answer is no longer in flight.
KILL_AFTER = 0.3


def test_300_requests_from_60_users(
    bot: BotHandle, emulator: BotApiEmulator, redis_server: RedisServer, model_template: str
) -> None:
    sent = Sent()
    users = [next(_users) for _ in range(60)]
    for round_ in range(5):
        for n, user in enumerate(users):
            sent.push(emulator, user, sentence(round_ * 60 + n))
    wait_until(lambda: sent.answered(emulator) == 300, 300, "300 answers")
    client = redis_server.client()
    wait_until(lambda: client.zcard(PENDING) == 0, 30, "no pending replies")
    time.sleep(1)  # a duplicate would arrive about now
    sent.check(emulator, model_template, "300 requests from 60 users")


@dataclass
class Stack:
    """A database, emulator and environment of their own for the kill scenarios."""

    server: RedisServer
    db: int
    emulator: BotApiEmulator
    env: dict[str, str]
    logdir: Path

    def worker(self, name: str, **extra: str) -> Proc:
        return start_worker(name, {**self.env, **extra}, self.server, self.db, self.logdir)

    def bot(self, name: str) -> Proc:
        port = free_port()
        return start_bot(name, {**self.env, "METRICS_PORT": str(port)}, self.logdir, port)

    def pending(self) -> int:
        return int(self.server.client(self.db).zcard(PENDING))


@pytest.fixture(scope="module")
def stack(
    redis_server: RedisServer, model_template: str, logdir: Path, redis_db: int
) -> Iterator[Stack]:
    redis_server.client(redis_db).flushdb()
    emulator = BotApiEmulator(TOKEN)
    emulator.start()
    # Recovery settings are the defaults users run (VISIBILITY_TIMEOUT and time limits).
    env = process_env(redis_server.url(redis_db), model_template, emulator.url)
    yield Stack(redis_server, redis_db, emulator, env, logdir)
    emulator.stop()


def _held(client: redis.Redis) -> Counter[str]:
    """Messages taken by workers and not yet acknowledged, by queue."""
    return Counter(json.loads(raw)[2] for raw in client.hvals("unacked"))


def test_worker_host_dies_holding_chat_inline_and_document_work(
    stack: Stack, model_template: str
) -> None:
    # This worker's one child works through a document's chunks and then freezes, as on
    # a host about to die: the chat and inline requests that come in meanwhile are held
    # (buffered, or handed to the frozen child). It dies holding all three kinds, the
    # whole process group SIGKILLed at once, the way a host dies. Default settings.
    doomed = stack.worker("doomed-worker")
    bot = stack.bot("faults-bot-1")
    client = stack.server.client(stack.db)
    sent, doc_chat = Sent(), next(_users)
    try:
        stack.emulator.push_document(doc_chat, "held.txt", long_text(400, seed=5).encode(), "en>ru")
        wait_until(lambda: _held(client)["documents"] >= 2, 60, "document chunks taken")
        assert doomed.popen is not None
        for child in psutil.Process(doomed.popen.pid).children(recursive=True):
            child.send_signal(signal.SIGSTOP)
        for i in range(40):
            sent.push(stack.emulator, next(_users), sentence(1000 + i))
        wait_until(lambda: _held(client)["chat"] == 40, 60, "40 chat messages taken")
        query = stack.emulator.push_inline(next(_users), "en>ru Good morning friends")
        wait_until(lambda: _held(client)["inline"] == 1, 10, "the inline query taken")
        asked = time.monotonic()
        doomed.stop(signal.SIGKILL)
        killed = time.monotonic()
        assert sent.answered(stack.emulator) == 0 and client.llen("chat") == 0
        rescuer = stack.worker("rescuer-worker")  # started a moment later
        try:
            # Telegram gives an inline query about 10 s: answered (or "busy") before that.
            stack.emulator.wait_inline(query, timeout=10)
            assert stack.emulator.answer_times()[query] - asked < 10
            wait_until(lambda: sent.answered(stack.emulator) == 40, 120, "40 answers")
            [document] = stack.emulator.wait_documents(doc_chat, timeout=120)
            recovered = time.monotonic() - killed
            wait_until(lambda: stack.pending() == 0, 30, "no pending replies")
            time.sleep(2)  # a duplicate would arrive about now
        finally:
            rescuer.stop()
    finally:
        doomed.stop(signal.SIGKILL)
        bot.stop()
    print(f"\n[figures] worker host killed: everything answered {recovered:.1f} s after")
    assert recovered < 120
    assert len(stack.emulator.documents_to(doc_chat)) == 1
    assert len(document["data"].decode().splitlines()) == 400
    assert [q for q, a in stack.emulator.inline_answers().items() if q == query and a] == [query]
    sent.check(stack.emulator, model_template, "worker host SIGKILLed holding 40+1+document")


def test_a_message_redis_dropped_is_sent_again(stack: Stack, model_template: str) -> None:
    # What a worker's BRPOP answered just as Redis went down looks like: the task left
    # its queue and no worker holds it. The bot notices and sends it again.
    client = stack.server.client(stack.db)
    bot = stack.bot("faults-bot-lost")
    sent = Sent()
    worker: Proc | None = None
    try:
        sent.push(stack.emulator, next(_users), sentence(1500))
        wait_until(lambda: client.llen("chat") == 1, 30, "the task queued")
        assert client.rpop("chat") is not None  # dropped, as Redis would have
        worker = stack.worker("lost-worker")
        wait_until(lambda: sent.answered(stack.emulator) == 1, 60, "the answer")
        wait_until(lambda: stack.pending() == 0, 30, "no pending replies")
        time.sleep(2)
    finally:
        bot.stop()
        if worker is not None:
            worker.stop()
    sent.check(stack.emulator, model_template, "a message dropped by Redis")


def test_bot_killed_with_50_in_flight(stack: Stack, model_template: str) -> None:
    # Killed with 50 requests accepted and queued, none answered; results are published
    # while no bot listens, and the restarted bot delivers them (some found by its sweep
    # at start, the rest as they arrive). Killed while answering: the next test.
    bot = stack.bot("faults-bot-2")
    client = stack.server.client(stack.db)
    sent = Sent()
    worker: Proc | None = None
    try:
        for i in range(50):
            sent.push(stack.emulator, next(_users), sentence(2000 + i))
        # All recorded and at least three sent (the first results below): a batch's
        # records are saved together, in one round trip, before its tasks are sent.
        unqueued = "tolmach:unqueued"
        wait_until(
            lambda: stack.pending() == 50 and client.zcard(unqueued) <= 47, 60, "50 accepted"
        )
        bot.stop(signal.SIGKILL)
        worker = stack.worker("faults-worker", BATCH_MAX_REQUESTS="5")
        # Tasks the bot sent before it died are translated meanwhile; the requests it
        # accepted but had not queued yet are sent again by the restarted bot.
        wait_until(lambda: len(client.keys("celery-task-meta-*")) >= 3, 60, "first results")
        bot = stack.bot("faults-bot-3")
        wait_until(lambda: sent.answered(stack.emulator) == 50, 120, "50 answers")
        wait_until(lambda: stack.pending() == 0, 30, "no pending replies")
        time.sleep(1)
    finally:
        bot.stop()
        if worker is not None:
            worker.stop()
    sent.check(stack.emulator, model_template, "bot SIGKILLed with 50 in flight")


def long_request(i: int) -> str:
    """Four sentences of 80 words (about 1,800 characters): a batch of these takes a
    while to translate, and the answer fits one message."""
    return " ".join(sentence(4000 + i * 4 + k, 80) for k in range(4))


def test_bot_killed_just_after_its_first_answer(stack: Stack, model_template: str) -> None:
    # SIGKILLed within half a second of Telegram taking its first answer, while it answers
    # long requests. Five come first; 40 more once the first answer is out, each taken in
    # by the bot (its record saved) before the kill; the last five only after it, so some
    # are unanswered at the kill however fast the machine (an idle worker batches what is
    # queued: 50 sent at once were all answered within 0.3 s on a fast machine). An update
    # the bot fetched but had not recorded yet is not what this test is about. What the
    # bot had sent was marked answered in Redis right after each send: the restarted bot
    # answers the rest, and nothing twice.
    worker = stack.worker("first-answer-worker")
    bot = stack.bot("first-answer-bot-1")
    sent = Sent()
    try:
        for i in range(5):
            sent.push(stack.emulator, next(_users), long_request(i))
        stack.emulator.wait(lambda: sent.answered(stack.emulator) > 0, 120)
        replies = sent.replies(stack.emulator).values()
        first = min(float(str(r[0]["sent_at"])) for r in replies if r)
        taken = 45
        for i in range(5, taken):
            sent.push(stack.emulator, next(_users), long_request(i))
        # Each one either answered or recorded and waiting for its answer.
        wait_until(lambda: sent.answered(stack.emulator) + stack.pending() >= taken, 10, "records")
        time.sleep(max(first + KILL_AFTER - time.time(), 0))
        killed = time.time()
        bot.stop(signal.SIGKILL)
        before = sent.answered(stack.emulator)
        in_window = taken_unmarked(stack, sent)
        bot = stack.bot("first-answer-bot-2")
        for i in range(taken, 50):
            sent.push(stack.emulator, next(_users), long_request(i))
        wait_until(lambda: sent.answered(stack.emulator) == 50, 180, "50 answers")
        # An answer sent but not marked stays pending until it is sent again (~30 s).
        wait_until(lambda: stack.pending() == 0, 60, "no pending replies")
        time.sleep(1)
    finally:
        bot.stop()
        worker.stop()
    print(
        f"\n[figures] bot killed {killed - first:.2f} s after its first answer, "
        f"{before} of {taken} answered"
    )
    assert 0 < killed - first < 0.5 and 0 < before < 50
    # A kill can land while Telegram's reply to a send is on its way back (README, "Not
    # covered"): such an answer may go out again. Seen once in a CI run, for one answer.
    assert len(in_window) <= 2, in_window
    client = stack.server.client(stack.db)
    leftovers = client.keys("tolmach:reply:*") + client.keys("tolmach:job:*")
    assert leftovers == [] and client.zcard("tolmach:unqueued") == 0
    sent.check(
        stack.emulator,
        model_template,
        "bot SIGKILLed after its first answer",
        True,
        in_window=in_window,
    )


def taken_unmarked(stack: Stack, sent: Sent) -> set[tuple[int, int]]:
    """Requests (chat, message) that Telegram has an answer to while their record is
    still in Redis: answers a killed bot sent but had not marked answered."""
    client = stack.server.client(stack.db)
    answered = {key for key, replies in sent.replies(stack.emulator).items() if replies}
    waiting = set()
    for raw in client.mget(client.keys("tolmach:reply:*") or ["-"]):
        if raw is not None:
            context = json.loads(raw)["context"]
            waiting.add((int(context["chat_id"]), int(context["message_id"])))
    return answered & waiting


def sigkill_once(proc: Proc) -> tuple[Callable[[list[int]], None], threading.Event]:
    """An emulator hook that SIGKILLs `proc` (its process group) the first time it runs,
    and the event it sets then."""
    killed = threading.Event()

    def kill(ids: list[int]) -> None:
        if not killed.is_set():
            assert proc.popen is not None
            os.killpg(proc.popen.pid, signal.SIGKILL)
            killed.set()

    return kill, killed


@pytest.mark.parametrize("moment", ["sendChatAction", "confirmed"])
def test_bot_killed_while_it_takes_messages_in(
    stack: Stack, model_template: str, moment: str
) -> None:
    # SIGKILLed as it takes a burst in: when its first "typing" goes out (that message's
    # request saved, the rest of its batch in hand) or when its next getUpdates confirms
    # the batch. A bot that confirmed updates it had not recorded yet would lose them
    # (Telegram never resends a confirmed update); one that marked them seen before
    # recording them would skip them when they come again; one that handled them
    # afresh would answer some twice. Twenty come in a burst while it is killed, five
    # after the restart; every one is answered once. The worker is paused from the burst
    # until the restart, so none of the twenty is answered before the kill: an answer
    # Telegram took just before a kill, not yet marked answered, is sent again by the
    # next bot (no bot can close that window), and a fast worker answering the first of
    # a burst before its batch is confirmed would put a batch of answers in it.
    worker = stack.worker(f"intake-worker-{moment}")
    bot = stack.bot(f"intake-bot-{moment}-1")
    sent, (kill, killed) = Sent(), sigkill_once(bot)
    assert worker.popen is not None
    paused = False
    try:
        for i in range(3):  # a warm bot: its first answers out
            sent.push(stack.emulator, next(_users), sentence(5000 + i))
        wait_until(lambda: sent.answered(stack.emulator) == 3, 60, "first answers")
        os.killpg(worker.popen.pid, signal.SIGSTOP)
        paused = True
        stack.emulator.on(moment, kill)
        for i in range(3, 23):  # long: none answered yet when it dies
            sent.push(stack.emulator, next(_users), long_request(100 + i))
        wait_until(killed.is_set, 30, "the kill")
        bot.stop(signal.SIGKILL)  # reaped
        bot = stack.bot(f"intake-bot-{moment}-2")
        os.killpg(worker.popen.pid, signal.SIGCONT)
        paused = False
        for i in range(23, 28):
            sent.push(stack.emulator, next(_users), sentence(5000 + i))
        wait_until(lambda: sent.answered(stack.emulator) == 28, 60, "28 answers")
        wait_until(lambda: stack.pending() == 0, 30, "no pending replies")
        time.sleep(1)
    finally:
        stack.emulator.on(moment, None)
        if paused:
            os.killpg(worker.popen.pid, signal.SIGCONT)
        bot.stop()
        worker.stop()
    sent.check(stack.emulator, model_template, f"bot SIGKILLed at {moment}", True)


def test_bot_killed_as_it_says_what_was_wrong(stack: Stack) -> None:
    # A command the bot refuses is answered by its error router. SIGKILLed as that
    # reply goes out (it never reaches Telegram): the update was not marked handled
    # yet, so the restarted bot answers the copy Telegram resends. A bot that marked it
    # first (aiogram's error middleware runs outside the once-per-message one) skipped
    # the copy, and the user never heard back.
    bot = stack.bot("error-reply-bot-1")
    (kill, killed), user = sigkill_once(bot), next(_users)
    try:
        stack.emulator.on("sendMessage", kill)
        stack.emulator.fail_next("sendMessage", 502, "Bad Gateway")  # the reply is lost
        stack.emulator.push_message(user, "/translate en>en good morning")
        wait_until(killed.is_set, 30, "the kill")
        bot.stop(signal.SIGKILL)  # reaped
        stack.emulator.on("sendMessage", None)
        bot = stack.bot("error-reply-bot-2")
        stack.emulator.wait_for(user, 1, 30)
        time.sleep(1)  # a second reply would come about now
    finally:
        stack.emulator.on("sendMessage", None)
        bot.stop()
    replies = [m["text"] for m in stack.emulator.sent_to(user)]
    assert replies == [
        "The source and the target are the same language (en): nothing to translate."
    ]


def test_bot_stopped_with_a_handler_stuck_hands_its_update_on(
    stack: Stack, model_template: str
) -> None:
    # SIGTERM while a handler is stuck after its request was saved: its first "typing"
    # is answered only after a minute (the getUpdates after it held meanwhile). The bot
    # waits up to 5 s for the update, then cancels what is left while Redis is still
    # open: it exits in seconds, the stuck handler's claim on its update is dropped
    # (not left to lapse, or a copy would wait for it), the update is not confirmed,
    # and the user is answered once.
    worker = stack.worker("stuck-worker")
    bot = stack.bot("stuck-bot-1")
    client, sent = stack.server.client(stack.db), Sent()
    confirmed: set[int] = set()
    stack.emulator.on("confirmed", confirmed.update)
    try:
        sent.push(stack.emulator, next(_users), sentence(6000))  # a warm bot
        wait_until(lambda: sent.answered(stack.emulator) == 1, 60, "first answer")
        typing = len(stack.emulator.calls("sendChatAction"))
        stack.emulator.delay_next("sendChatAction", 60)
        sent.push(stack.emulator, next(_users), sentence(6001))
        update_id = int(stack.emulator.updates_pushed()[-1]["update_id"])
        wait_until(lambda: len(stack.emulator.calls("sendChatAction")) > typing, 30, "typing")
        assert client.keys("tolmach:seen-claim:*")  # the stuck handler's
        stopping = time.monotonic()
        bot.stop()
        stopped = time.monotonic() - stopping
        assert bot.popen is not None and bot.popen.returncode == 0, bot.tail()
        assert client.keys("tolmach:seen-claim:*") == [] and update_id not in confirmed
        bot = stack.bot("stuck-bot-2")
        wait_until(lambda: sent.answered(stack.emulator) == 2, 60, "2 answers")
        wait_until(lambda: stack.pending() == 0, 30, "no pending replies")
        wait_until(lambda: update_id in confirmed, 30, "the update handed on, and handled")
        time.sleep(1)
    finally:
        stack.emulator.on("confirmed", None)
        bot.stop()
        worker.stop()
    print(f"\n[figures] bot stopped in {stopped:.1f} s with a handler stuck")
    assert 5 <= stopped < 15
    sent.check(stack.emulator, model_template, "bot stopped with a handler stuck")


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["killed", "stopped"])
def test_a_document_waiting_out_a_429_outlives_its_bot(stack: Stack, sig: int) -> None:
    # A document's first reply (its status message) meets a minute's flood wait in its
    # chat, before its request is saved. The bot does not hold the next batch for it (one
    # busy chat would stall every other), so the update is confirmed and Telegram never
    # sends it again; it is parked in Redis instead. The bot is killed (or stopped)
    # meanwhile: the next one handles the parked update, and one file comes back.
    name = signal.Signals(sig).name
    worker = stack.worker(f"parked-worker-{name}")
    bot = stack.bot(f"parked-bot-{name}-1")
    client, sent, user = stack.server.client(stack.db), Sent(), next(_users)
    confirmed: set[int] = set()
    stack.emulator.on("confirmed", confirmed.update)
    try:
        sent.push(stack.emulator, next(_users), sentence(6100))  # a warm bot
        wait_until(lambda: sent.answered(stack.emulator) == 1, 60, "first answer")
        stack.emulator.fail_next("sendMessage", 429, "Too Many Requests: retry after 60", 60)
        stack.emulator.push_document(
            user, "notes.txt", b"Good morning. The weather is nice.\n", "ru"
        )
        update_id = int(stack.emulator.updates_pushed()[-1]["update_id"])
        wait_until(lambda: update_id in confirmed, 30, "the document's update confirmed")
        assert client.hkeys(PARKED) == [str(update_id).encode()]
        bot.stop(sig)
        bot = stack.bot(f"parked-bot-{name}-2")
        [translated] = stack.emulator.wait_documents(user, timeout=120)
        assert translated["file_name"] == "notes.ru.txt"
        wait_until(lambda: client.hlen(PARKED) == 0, 30, "the parked update handled")
        time.sleep(1)  # a second file would come about now
        assert len(stack.emulator.documents_to(user)) == 1
    finally:
        stack.emulator.on("confirmed", None)
        bot.stop()
        worker.stop()


def test_redis_restart_with_requests_before_during_and_after(
    tmp_path: Path, logdir: Path, model_template: str
) -> None:
    # Default settings, two workers: 20 requests in flight when redis-server stops
    # (SIGTERM, append-only file with fsync always), 5 sent while it is down, 20 after.
    port = free_port()
    server = RedisServer(port, _redis_proc(port, tmp_path, logdir))
    emulator = BotApiEmulator(TOKEN)
    emulator.start()
    env = process_env(server.url(), model_template, emulator.url)
    procs: list[Proc] = []
    sent = Sent()
    try:
        wait_redis(server)
        procs += [launch_worker(f"restart-worker-{n}", env, logdir) for n in range(2)]
        for proc in procs:
            wait_worker(proc, server, 0)
        metrics_port = free_port()
        bot_env = {**env, "METRICS_PORT": str(metrics_port)}
        procs.append(start_bot("restart-bot", bot_env, logdir, metrics_port))
        client = server.client()
        for i in range(20):
            sent.push(emulator, next(_users), sentence(3000 + i))
        # Stop it while work is reaching the workers (buffered for a batch, translating).
        deadline = time.monotonic() + 30
        while not client.hlen("unacked") and time.monotonic() < deadline:
            time.sleep(0.002)
        server.proc.stop()  # SIGTERM: redis-server writes its append-only file and exits
        for i in range(5):
            sent.push(emulator, next(_users), sentence(3020 + i))
        time.sleep(3)
        server.proc = _redis_proc(port, tmp_path, logdir)
        wait_redis(server)
        back = time.time()
        for i in range(20):
            sent.push(emulator, next(_users), sentence(3025 + i))
        try:
            wait_until(lambda: sent.answered(emulator) == 45, 60, "45 answers within 60 s")
        except TimeoutError:
            state: dict[str, object] = {
                k: client.zcard(k) for k in (PENDING, "tolmach:unqueued", "unacked_index")
            }
            state["results"] = [
                client.get(f"celery-task-meta-{t.decode()}") for t in client.zrange(PENDING, 0, -1)
            ]
            raise AssertionError(
                f"{sent.answered(emulator)} of 45 answered; {state}; queued {client.llen('chat')}"
            ) from None
        wait_until(lambda: client.zcard(PENDING) == 0, 30, "no pending replies")
        time.sleep(2)  # a duplicate would arrive about now
        assert all(p.alive() for p in procs), [p.tail() for p in procs if not p.alive()]
    finally:
        for proc in reversed(procs):
            proc.stop()
        server.proc.stop()
        emulator.stop()
    last = max(float(str(r[0]["sent_at"])) for r in sent.replies(emulator).values() if r)
    print(f"\n[figures] redis restart: last answer {last - back:.1f} s after Redis was back")
    sent.check(emulator, model_template, "redis-server restarted with 45 requests")


def _redis_proc(port: int, data: Path, logdir: Path) -> Proc:
    aof = ("--appendonly", "yes", "--appendfsync", "always")
    return redis_proc(f"redis-aof-{port}", port, data, logdir, *aof).start()
