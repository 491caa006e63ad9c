"""The HTTP side of the API fuzz tests: the real API process, a raw client (any bytes,
any headers, any path) and the check every answer must pass, whatever was sent."""

from __future__ import annotations

import http.client
import itertools
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support import fuzz_inputs as fi
from tests.support.procs import Proc, free_port, python, wait_until

# A request the API takes longer than this to answer is a finding: nothing in the fuzz
# waits on a pending job, and the tiny models translate a short text in well under this.
BOUND = 30.0
# 503 says "queue or Redis down, try again": allowed by the API's contract, and any
# other 5xx (a traceback turned into 500, a hand-written 500) is a defect.
ALLOWED_5XX = {503}

_clients = itertools.count(1)


@dataclass
class Reply:
    """What came back, and how long it took."""

    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float


def _next_address() -> str:
    """A fresh loopback address per request: the rate limit is per client address, so
    each fuzz example is its own client and a 429 never hides what a handler does."""
    n = next(_clients)
    return f"127.{90 + (n >> 16) % 100}.{(n >> 8) % 256}.{n % 256 or 1}"


class FuzzClient:
    """Sends exactly the bytes a test built to the API process and checks the answer."""

    def __init__(self, proc: Proc, port: int) -> None:
        self.proc, self.port = proc, port

    def send(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        """One request on a connection of its own, from a fresh client address."""
        conn = http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=BOUND + 10, source_address=(_next_address(), 0)
        )
        started = time.monotonic()
        try:
            conn.putrequest(method, path, skip_accept_encoding=True)
            for name, value in (headers or {}).items():
                conn.putheader(name, value.encode("latin-1"))
            if body is not None:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            response = conn.getresponse()
            data = response.read()
            return Reply(
                response.status,
                {k.lower(): v for k, v in response.getheaders()},
                data,
                time.monotonic() - started,
            )
        finally:
            conn.close()

    def check(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        """Send, then assert what holds for any input: no 5xx but 503, an error is JSON
        with a message, the answer came within BOUND, and the process still runs."""
        log_from = self.proc.log.stat().st_size if self.proc.log.exists() else 0
        reply = self.send(method, path, body, headers)
        shown = f"{method} {path[:300]} {headers} body={_shown(body)}"
        assert reply.status < 500 or reply.status in ALLOWED_5XX, (
            f"{reply.status} for {shown}\nanswer: {reply.body[:500]!r}\n"
            f"API log:\n{self._log_since(log_from)}"
        )
        if reply.status >= 400:
            assert has_message(reply), (
                f"{reply.status} without a JSON message: {reply.body[:300]!r}"
            )
        assert reply.seconds < BOUND, f"{reply.seconds:.1f} s for {shown}"
        assert self.proc.alive(), f"the API died after {shown}:\n{self.proc.tail()}"
        return reply

    def _log_since(self, offset: int) -> str:
        """The API's log since `offset`, once the traceback is in (uvicorn writes it after
        it sent the 500) or after a second."""
        deadline = time.monotonic() + 1
        while True:
            with open(self.proc.log, "rb") as log:
                log.seek(offset)
                found = log.read()
            if b"Error" in found.split(b"uvicorn.access", 1)[-1] or time.monotonic() > deadline:
                return found[-6000:].decode(errors="replace")
            time.sleep(0.05)


class FuzzApi(FuzzClient):
    """`tolmach api` on a free port with the session's environment (BOT_TOKEN kept, as
    `tolmach run` passes it: the Mini App's sign-in is surface too), and finished jobs:
    `@doc` and `@text` in a path stand for their ids, so found jobs are fuzzed too."""

    def __init__(self, env: dict[str, str], logdir: Path) -> None:
        port = free_port()
        env = {**env, "API_PORT": str(port)}
        super().__init__(Proc("api-fuzz", python("-m", "cli", "api"), env, logdir), port)
        self.jobs: dict[str, str] = {}

    def start(self) -> FuzzApi:
        """Start it, wait for /health, and run a document and a text job to their end."""
        self.proc.start()
        wait_until(lambda: self._up() or not self.proc.alive(), 60, "the API to answer")
        assert self.proc.alive(), self.proc.tail()
        files: list[tuple[str, str | bytes, str | None]] = [("file", b"Good morning.", "a.txt")]
        body, kind = fi.multipart(
            [*files, ("source_lang", "en", None), ("target_lang", "ru", None)]
        )
        # Owned by the Mini App user 1, whom the fuzzed initData sometimes signs for.
        headers = {"Content-Type": kind, **fi.signed('{"id": 1}')}
        doc = self.send("POST", "/api/translate_file_async", body, headers)
        text = {"texts": ["Hi."], "source_lang": "en", "target_langs": ["ru"]}
        queued = self.send("POST", "/api/translate_async", json.dumps(text).encode(), fi.JSON)
        for name, reply in (("doc", doc), ("text", queued)):
            assert reply.status == 202, reply
            self.jobs[name] = json.loads(reply.body)["task_id"]
            done = self.send("GET", f"/api/result/{self.jobs[name]}?wait=60", None, headers)
            assert json.loads(done.body)["status"] == "completed", done
        return self

    def path(self, template: str) -> str:
        """`template` with the jobs' ids in place of `@doc` and `@text`."""
        for name, job_id in self.jobs.items():
            template = template.replace(f"@{name}", job_id)
        return template

    def _up(self) -> bool:
        try:
            return self.send("GET", "/health").status == 200
        except OSError:
            return False


def has_message(reply: Reply) -> bool:
    """Whether an error answer is JSON naming the problem: LibreTranslate's `error`,
    FastAPI's `detail` (a sentence, or the list of fields at fault), or DeepL's and
    DeepLX's `message`."""
    if "json" not in reply.headers.get("content-type", ""):
        return False
    try:
        body: Any = json.loads(reply.body)
    except ValueError:
        return False
    if not isinstance(body, dict):
        return False
    message = body.get("error", body.get("detail", body.get("message")))
    return isinstance(message, (str, list)) and len(message) > 0


def _shown(body: bytes | None) -> str:
    if body is None:
        return "none"
    if len(body) > 400:
        return f"{body[:200]!r}…{body[-100:]!r} ({len(body)} bytes)"
    return repr(body)
