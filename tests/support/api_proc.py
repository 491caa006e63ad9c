"""The real API process as every test starts it, and a small HTTP client for it."""

from __future__ import annotations

import contextlib
import http.client
import json
from pathlib import Path
from typing import Any

from tests.support.procs import Proc, free_port, python, wait_until

# The stack's test-only knobs that are not the API's defaults.
NOT_DEFAULTS = (
    "MAX_TEXT_CHARS",
    "DOCUMENT_MAX_BYTES",
    "DOCUMENT_MAX_CHARS",
    "BOT_TOKEN",
    "TELEGRAM_API_URL",  # the emulator's: Telegram's limits follow it
)


class ApiProc:
    """`python -m api` (or another command serving it) on a free port, with a JSON client:
    the one way tests start the API process."""

    def __init__(
        self,
        name: str,
        env: dict[str, str],
        logdir: Path,
        port: int = 0,
        command: tuple[str, ...] = ("-m", "api"),
    ) -> None:
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = Proc(name, python(*command), {**env, "API_PORT": str(self.port)}, logdir)

    def start(self) -> ApiProc:
        """Start it and wait for /health."""
        return self.launch().wait_up()

    def launch(self) -> ApiProc:
        """Start it without waiting (see `wait_up`)."""
        self.proc.start()
        return self

    def wait_up(self) -> ApiProc:
        """Wait until it answers /health; fail with its log if it died."""
        wait_until(lambda: self.up() or not self.proc.alive(), 60, "the API to answer")
        assert self.proc.alive(), self.proc.tail()
        return self

    def up(self) -> bool:
        try:
            return self.request("GET", "/health")[0] == 200
        except OSError:
            return False

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 120,
    ) -> tuple[int, dict[str, str], Any]:
        """One call: status, headers, and the JSON answer (or the raw bytes)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            # The server may answer (413) and close before the whole body is sent: its
            # answer is then waiting to be read, as curl or a browser would read it.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            raw = response.read()
            found = {k.lower(): v for k, v in response.getheaders()}
        finally:
            conn.close()
        try:
            return response.status, found, json.loads(raw)
        except ValueError:
            return response.status, found, raw

    def post_json(
        self, path: str, body: Any, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        """POST a JSON body; status and answer."""
        data = json.dumps(body).encode()
        status, _, answer = self.request(
            "POST", path, data, {"Content-Type": "application/json", **(headers or {})}
        )
        return status, answer

    def rss_peak_kb(self) -> int:
        """The process's peak resident memory (VmHWM), from /proc."""
        assert self.proc.popen is not None
        for line in Path(f"/proc/{self.proc.popen.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        raise AssertionError("no VmHWM")

    def stop(self) -> None:
        self.proc.stop()


def api_env(stack_env: dict[str, str], **changes: str) -> dict[str, str]:
    """The stack's environment with the API's own settings at their defaults (only
    `changes` set)."""
    env = {k: v for k, v in stack_env.items() if k not in NOT_DEFAULTS and not k.startswith("API_")}
    return {**env, **changes}


def multipart(fields: dict[str, str], name: str, data: bytes) -> tuple[bytes, str]:
    """A multipart/form-data body with `fields` and one file; the body and its type."""
    boundary = "tolmach-test-boundary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    ]
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    body = b"".join(parts) + head + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"
