"""The services `tolmach run` starts, and what it does when one of them stops.

Each service's output is forwarded line by line, so that when one stops with its
one-line reason (a token Telegram rejects, a model folder that is missing), the others'
shutdown chatter can be dropped and that line stays the last thing the user reads.
"""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading
import time
from typing import IO

LAG = 1.0  # seconds each forwarded line waits (see Service._write)


class Service:
    """A child process whose stdout and stderr we forward until told to drop them."""

    def __init__(self, name: str, command: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.proc = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self.quiet = threading.Event()
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self._pumps = [
            threading.Thread(target=self._pump, args=(source, sink), daemon=True)
            for source, sink in (
                (self.proc.stdout, sys.stdout.buffer),
                (self.proc.stderr, sys.stderr.buffer),
            )
        ]
        for pump in self._pumps:
            pump.start()

    def _pump(self, source: IO[bytes], sink: IO[bytes]) -> None:
        # Reading goes on while quiet: a child blocked on a full pipe would not stop.
        lines: queue.SimpleQueue[tuple[float, bytes] | None] = queue.SimpleQueue()
        writer = threading.Thread(target=self._write, args=(lines, sink), daemon=True)
        writer.start()
        for line in iter(source.readline, b""):
            lines.put((time.monotonic(), line))
        lines.put(None)
        writer.join()

    def _write(self, lines: queue.SimpleQueue[tuple[float, bytes] | None], sink: IO[bytes]) -> None:
        # Every line is written LAG after it was read. A service that stops prints its
        # reason and exits well within LAG, and `supervise` quiets the others within
        # 0.2 s of the exit: by the time the reason is written, what the others said
        # after it (a worker's banner printed just as the bot stopped on a rejected
        # token) is dropped rather than shown below it.
        while (item := lines.get()) is not None:
            read_at, line = item
            time.sleep(max(0.0, read_at + LAG - time.monotonic()))
            if not self.quiet.is_set():
                sink.write(line)
                sink.flush()

    def drain(self, timeout: float = 5.0 + LAG) -> None:
        """Wait until everything the process wrote has been forwarded."""
        for pump in self._pumps:
            pump.join(timeout)


def supervise(services: list[Service], stopping: threading.Event) -> int:
    """Wait until `stopping` is set or a service exits; the exit code to end with.

    A service that failed has said why (or was killed, which we say): the others'
    output is dropped from then on, while they are being stopped.
    """
    # A supervisor, not the bot's event loop: waiting here blocks nothing else.
    while not stopping.wait(0.2) and all(s.proc.poll() is None for s in services):
        pass
    failed = next((s for s in services if s.proc.returncode), None)
    if failed is None or stopping.is_set():
        return failed.proc.returncode if failed else 0
    for service in services:
        if service is not failed:
            service.quiet.set()
    failed.drain()
    code = failed.proc.returncode
    if code < 0:
        print(f"the {failed.name} was killed by {signal.Signals(-code).name}", file=sys.stderr)
        return 128 - code
    return code
