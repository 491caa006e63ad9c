"""HTTP API benchmark (not a test): LibreTranslate's `POST /translate` vs the raw engine.

Builds a random-weight Marian model with the real opus-mt-en-ru sizes (bench/workload.py:
17 output tokens, sentences of 15 tokens, beam search at the default NUM_BEAMS), then
starts the real stack on this machine as `tolmach run` starts it — redis-server, one
worker with the deployment's defaults (no -c, TORCH_THREADS, ENGINE or NUM_BEAMS set;
`--engine` sets ENGINE), `python -m api` — and drives it from a load generator of its own
(bench/load.py), for each mode and client count:

- `closed`: N clients each send a request, wait for the answer, send the next; the
  sentences/s of the steady part (after the first round);
- `burst`: N clients (connections opened first) send one request each, all at once;
  several rounds.

Each is compared with the raw limit measured in this script: the same model loaded in
this process on every core, with the engine the worker runs, `translate_batch` in
batches of 32 and of 64 on the same sentences, before and after the API runs; the better
batch size is the limit (as issue 25 defines it; batch 128 is measured too, and each
ratio is also printed against the best of the three). Also: p50 latency per request; the
worker's CPU-seconds per sentence (its process and children) against the raw engine's,
and those of the API and Redis and of the load generator, which share the machine with
it; the worker's mean batch; the ceiling (the raw rate at batch N: N clients that wait
for their answers never give a server more than N sentences at a time); and for one
client in a closed loop, p50 minus the raw batch-1 p50. Every sentence is distinct and
CACHE_TTL=0. `--texts N`: each request a LibreTranslate batch of N sentences (`q` a
list, as subtitle tools send); rates and CPU are still per sentence.

    python bench/api.py [--engine auto|transformers|ctranslate2] [--clients 1,8,32,64,256]
                        [--modes closed,burst] [--texts 1] [--set NAME=VALUE ...] [--quick]
    DEVICE=cuda python bench/api.py        # DEVICE: as the deployment reads it
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil
import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import workload
from bench.api_report import Result, Row, report
from bench.load import Outcome, Plan, latencies, throughput
from bench.redis_server import start_redis
from bench.stack import BenchError, Stack, cpu_seconds, deployment_env, layout, start_worker
from tasks.worker.metrics import BATCH_SIZE_KEY
from tests.support.procs import ROOT, Proc, free_port, python


def start_api(stack: Stack, root: Path, env: dict[str, str]) -> tuple[Proc, str, int]:
    """`python -m api` on a free port of 127.0.0.1, serving; (its process, host, port)."""
    port = free_port()
    env = {**env, "API_HOST": "127.0.0.1", "API_PORT": str(port)}
    env.pop("BOT_TOKEN", None)  # the API needs no bot
    api = stack.add(Proc("api", python("-m", "api"), env, root).start())
    stack.wait(lambda: healthy(f"http://127.0.0.1:{port}"), 60, "the API to answer /health")
    return api, "127.0.0.1", port


def healthy(base: str) -> bool:
    with urllib.request.urlopen(base + "/health", timeout=5) as response:
        return bool(response.status == 200)


@dataclass(frozen=True)
class Meters:
    """What is read around each run: the worker's CPU, the CPU of the rest of the stack
    (API and Redis, which share the machine with it), and the worker's batch sizes."""

    worker: Proc
    others: list[Proc]
    redis_url: str

    def read(self) -> tuple[float, float, float, float]:
        """(worker CPU-s, API + Redis CPU-s, batches, requests in them) so far."""
        stats = redis.Redis.from_url(self.redis_url).hmget(BATCH_SIZE_KEY, "count", "sum")
        batches, requests = (float(v or 0) for v in stats)
        others = sum(cpu_seconds(proc) for proc in self.others)
        return cpu_seconds(self.worker), others, batches, requests


def drive(stack: Stack, meters: Meters, plan: Plan) -> Row:
    """Run one plan in the load generator's process; CPU and batches around it."""
    load = subprocess.Popen(
        python("-m", "bench.load"),
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert load.stdin is not None and load.stdout is not None
    try:
        load.stdin.write(json.dumps(asdict(plan)) + "\n")
        load.stdin.flush()
        if load.stdout.readline().strip() != "ready":
            raise BenchError("the load generator did not start")
        stack.check()
        before = meters.read()
        load.stdin.write("go\n")
        load.stdin.flush()
        outcome = Outcome(**json.loads(load.stdout.readline() or "{}"))
        after = meters.read()
        times = psutil.Process(load.pid).cpu_times()
        generator = times.user + times.system
    finally:
        load.kill()
        load.wait()
    if outcome.error or not outcome.requests:
        raise BenchError(f"{plan.mode}, {plan.clients} clients: {outcome.error or 'no answer'}")
    worker, others, batches, requests = (b - a for a, b in zip(before, after, strict=True))
    rate, steady = throughput(outcome, plan.mode)
    rate *= plan.per_request  # sentences/s
    count = len(outcome.requests) * plan.per_request
    p50 = statistics.median(latencies(outcome, plan.mode))
    return Row(
        plan.mode,
        plan.clients,
        rate,
        steady,
        p50,
        worker / count,
        count,
        others=others / count,
        generator=generator / count,
        batch=requests / batches if batches else 0.0,
    )


def plans(args: argparse.Namespace, host: str, port: int) -> list[Plan]:
    """Every (mode, clients) run, each with sentences of its own."""
    out, offset = [], 0
    for mode in args.modes.split(","):
        for clients in (int(c) for c in args.clients.split(",")):
            rounds = args.bursts
            if mode == "closed":
                rounds = max(args.rounds, math.ceil(args.min_sentences / clients))
            texts = workload.sentences(clients * rounds * args.texts, offset)
            out.append(Plan(host, port, mode, clients, rounds, texts, args.texts))
            offset += len(texts)
    return out


def run(args: argparse.Namespace, root: Path) -> Result:
    """Raw runs, the stack, every plan, raw runs again."""
    model_dir = workload.build_model(root)
    engine = workload.engine_name(model_dir, args.engine)
    raw_texts = workload.sentences(args.raw_sentences, offset=500_000)
    tokens = workload.mean_tokens(model_dir, raw_texts)
    translator = workload.load_raw(model_dir, root, engine, args.device)
    raw = workload.RawFigures({}, [])
    raw.measure(translator, raw_texts, args.singles)
    stack = Stack()
    try:
        server, url = start_redis(root)
        stack.add(server)
        env = deployment_env(
            url, str(root / "opus-mt-{src}-{tgt}"), "http://127.0.0.1:9", root, args.engine
        )
        env.update(args.settings)
        worker = start_worker(stack, root, env, url)
        api, host, port = start_api(stack, root, env)
        meters = Meters(worker, [api, server], url)
        todo = plans(args, host, port)
        warm = min(max(p.clients for p in todo), 64)
        drive(stack, meters, Plan(host, port, "burst", warm, 1, workload.sentences(warm, 800_000)))
        rows = [drive(stack, meters, plan) for plan in todo]
        worker_layout = layout(worker) or "?"
    except BaseException as exc:
        print(f"benchmark failed: {exc}\n{stack.logs()}", file=sys.stderr)
        raise
    finally:
        stack.stop()
    raw.measure(translator, raw_texts, args.singles)
    return Result(rows, raw, engine, worker_layout, tokens)


def main() -> None:
    """Parse the arguments, run, report."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--engine",
        choices=("auto", "transformers", "ctranslate2"),
        default=None,
        help="ENGINE for the worker (default: not set)",
    )
    parser.add_argument("--clients", default="1,8,32,64,256", help="client counts, comma-separated")
    parser.add_argument("--modes", default="closed,burst", help="closed, burst or both")
    parser.add_argument(
        "--rounds", type=int, default=4, help="closed: requests per client, at least"
    )
    parser.add_argument(
        "--min-sentences", type=int, default=256, help="closed: sentences per run, at least"
    )
    parser.add_argument("--bursts", type=int, default=3, help="burst: rounds")
    parser.add_argument(
        "--texts",
        type=int,
        default=1,
        help="texts in each request (more than 1: a LibreTranslate batch, q a list; "
        "issue 25's targets are for 1)",
    )
    parser.add_argument(
        "--raw-sentences", type=int, default=256, help="sentences of each raw batched run"
    )
    parser.add_argument(
        "--singles", type=int, default=30, help="raw batch-1 calls before and after"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting other than the default, for the worker and the API (repeatable; "
        "the header names it, so the figures are not read as the defaults')",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: clients 1,8, few requests"
    )
    args = parser.parse_args()
    if args.quick:
        args.clients, args.rounds, args.min_sentences, args.bursts = "1,8", 3, 6, 2
        args.raw_sentences, args.singles = 64, 5
    if not set(args.modes.split(",")) <= {"closed", "burst"}:
        parser.error("--modes: closed, burst or both")
    args.device = os.environ.get("DEVICE") or None
    args.settings = dict(item.partition("=")[::2] for item in args.set)
    if not all(name.isupper() and name for name in args.settings):
        parser.error("--set: NAME=VALUE, NAME an environment setting (upper case)")
    with tempfile.TemporaryDirectory() as tmp:
        result = run(args, Path(tmp))
    report(args, result)


if __name__ == "__main__":
    main()
