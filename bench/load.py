"""The HTTP API benchmark's load generator: a process of its own, so its CPU is not
the benchmark's and its event loop waits on nothing else.

    python -m bench.load    # stdin: one JSON line (Plan); stdout: "ready", then Outcome

It opens every client's connection, says "ready", waits for "go" on stdin (the caller
reads the worker's CPU time in between), runs, and prints one JSON line: what each
request took and when it finished. Clients are keep-alive HTTP/1.1 connections of one
event loop, written to and read from directly: an HTTP client library's own CPU would
take a share of the cores the server needs.

- `burst`: every client sends one request, all at once; the next round starts when all
  were answered.
- `closed`: each client sends a request, waits for its answer, sends the next.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import asdict, dataclass, field

REQUEST_TIMEOUT = 300.0  # one request (the API itself answers within 120 s)

Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


@dataclass
class Plan:
    """What to run: `clients` connections, `rounds` requests each, sentences from `texts`,
    `per_request` of them in each request (more than one: a LibreTranslate batch, `q` a
    list, as subtitle tools send)."""

    host: str
    port: int
    mode: str
    clients: int
    rounds: int
    texts: list[str]
    per_request: int = 1


@dataclass
class Outcome:
    """Per request, its client, round, start and finish (perf_counter seconds)."""

    started: float = 0.0
    requests: list[tuple[int, int, float, float]] = field(default_factory=list)
    error: str | None = None


async def run(plan: Plan) -> Outcome:
    """Open the connections, wait for "go", run the plan."""
    connections = await asyncio.gather(
        *(asyncio.open_connection(plan.host, plan.port) for _ in range(plan.clients))
    )
    print("ready", flush=True)
    sys.stdin.readline()  # "go": blocking is fine, nothing else runs yet
    outcome = Outcome(started=time.perf_counter())
    try:
        if plan.mode == "burst":
            for number in range(plan.rounds):
                await asyncio.gather(
                    *(
                        client(plan, outcome, conn, index, number, number + 1)
                        for index, conn in enumerate(connections)
                    )
                )
        else:
            await asyncio.gather(
                *(
                    client(plan, outcome, conn, index, 0, plan.rounds)
                    for index, conn in enumerate(connections)
                )
            )
    except Exception as exc:
        outcome.error = f"{type(exc).__name__}: {exc}"
    finally:
        for _, writer in connections:
            writer.close()
    return outcome


async def client(
    plan: Plan, outcome: Outcome, conn: Connection, index: int, first: int, end: int
) -> None:
    """Rounds `first`..`end` of one client, one request at a time."""
    for number in range(first, end):
        at = (number * plan.clients + index) * plan.per_request
        text = plan.texts[at : at + plan.per_request]
        started = time.perf_counter()
        try:
            await asyncio.wait_for(exchange(conn, plan.host, text), REQUEST_TIMEOUT)
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            if isinstance(exc, asyncio.IncompleteReadError) and exc.partial:
                raise
            # The server closed the connection while it sat idle (uvicorn keeps one 5 s
            # between requests): open another and send again, as HTTP clients do.
            conn[1].close()
            conn = await asyncio.open_connection(plan.host, plan.port)
            started = time.perf_counter()
            await asyncio.wait_for(exchange(conn, plan.host, text), REQUEST_TIMEOUT)
        outcome.requests.append((index, number, started, time.perf_counter()))


async def exchange(conn: Connection, host: str, texts: list[str]) -> None:
    """One LibreTranslate `POST /translate` (one text, or a batch); raises unless each
    text was translated."""
    reader, writer = conn
    q: str | list[str] = texts[0] if len(texts) == 1 else texts
    body = json.dumps({"q": q, "source": "en", "target": "ru"}).encode()
    head = (
        f"POST /translate HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    writer.write(head.encode() + body)
    header = await reader.readuntil(b"\r\n\r\n")
    status, *lines = header.decode("latin-1").split("\r\n")
    length = next(
        (int(v) for k, _, v in (x.partition(":") for x in lines) if k.lower() == "content-length"),
        None,
    )
    if length is None:
        raise RuntimeError(f"no Content-Length in the answer ({status!r})")
    payload = await reader.readexactly(length)
    if " 200 " not in status + " ":
        raise RuntimeError(f"POST /translate: {status!r}: {payload[:300]!r}")
    translated = json.loads(payload).get("translatedText")
    each = translated if isinstance(q, list) and isinstance(translated, list) else [translated]
    if len(each) != len(texts) or not all(isinstance(t, str) and t for t in each):
        raise RuntimeError(f"POST /translate: unexpected answer {payload[:300]!r}")


def throughput(outcome: Outcome, mode: str) -> tuple[float, bool]:
    """Sentences/s, and whether over the steady part only.

    A burst: its requests over the time from its first send to its last answer, summed
    over the rounds. Closed loop: each client's requests after its first answer over the
    time from its first answer to its last, summed over the clients (the first round
    fills connections and queues). Counting the answers inside one window instead would
    count a whole batch's answers that land on its edge.
    """
    done: dict[int, list[float]] = {}
    for index, number, _, finished in outcome.requests:
        done.setdefault(number if mode == "burst" else index, []).append(finished)
    if mode == "burst":
        starts: dict[int, float] = {}
        for _, number, started, _ in outcome.requests:
            starts[number] = min(started, starts.get(number, started))
        busy = sum(max(done[number]) - starts[number] for number in done)
        return len(outcome.requests) / busy, True
    if all(len(times) > 1 for times in done.values()):
        return sum((len(t) - 1) / (max(t) - min(t)) for t in done.values()), True
    last = max(max(times) for times in done.values())
    return len(outcome.requests) / (last - outcome.started), False


def latencies(outcome: Outcome, mode: str) -> list[float]:
    """Seconds from send to answer; in a closed loop, of the rounds after the first."""
    rounds = {number for _, number, _, _ in outcome.requests}
    skip = 0 if mode == "burst" or len(rounds) < 2 else 1
    return [end - start for _, number, start, end in outcome.requests if number >= skip]


def main() -> None:
    """Read the plan from stdin, run it, print the outcome."""
    plan = Plan(**json.loads(sys.stdin.readline()))
    if len(plan.texts) < plan.clients * plan.rounds * plan.per_request:
        raise SystemExit("bench.load: fewer texts than clients x rounds x texts per request")
    outcome = asyncio.run(run(plan))
    print(json.dumps(asdict(outcome)), flush=True)


if __name__ == "__main__":
    main()
