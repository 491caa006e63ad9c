"""Bot benchmark (not a test): a `/translate en>ru <sentence>` command to the bot's reply.

Starts the real stack on this machine — redis-server, one worker as `tolmach run` starts
it (the deployment's defaults; `--engine` sets ENGINE), `python -m bot` polling the tests'
Bot API emulator — with the model and sentences of bench/api.py (bench/workload.py), and
CACHE_TTL=0. For each user count, every user in a private chat of its own runs a closed
loop: it sends the next command when the reply to the last one came. Latency is from the
update being handed to the emulator to the bot's sendMessage arriving there.

The bot's rate limits stay at their defaults (RATE_USER_PER_MINUTE 30, burst 10): each
user sends `--commands` (8) commands, within the burst, so no reply should be a refusal;
refusals and unanswered commands are counted and printed. Compared with the raw batch-1
p50 of the same model in this process (every core; before and after the bot runs).

    python bench/bot.py [--users 1,50] [--commands 8] [--engine ...] [--quick]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import workload
from bench.redis_server import start_redis
from bench.stack import Stack, deployment_env, layout, start_worker
from bot import texts
from tests.support.emulator import BotApiEmulator
from tests.support.procs import Proc, python
from tests.support.stack import TOKEN

REPLY_TIMEOUT = 120.0
# A refusal's words up to its first placeholder.
REFUSALS = tuple(text.split("{")[0] for text in (texts.RATE_LIMITED, texts.BUSY))


@dataclass
class Phase:
    """One user count's replies: latencies of translations, refusals, commands unanswered."""

    users: int
    latencies: list[float] = field(default_factory=list)
    refusals: int = 0
    unanswered: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def user(emulator: BotApiEmulator, chat: int, lines: list[str], phase: Phase) -> None:
    """One user: each command after the reply to the last; stops at an unanswered one."""
    for count, line in enumerate(lines, 1):
        sent = time.time()
        emulator.push_message(chat, f"/translate en>ru {line}")
        try:
            reply = emulator.wait_for(chat, count, REPLY_TIMEOUT)[count - 1]
        except TimeoutError:
            with phase.lock:
                phase.unanswered += len(lines) - count + 1
            return
        with phase.lock:
            if str(reply.get("text", "")).startswith(REFUSALS):
                phase.refusals += 1
            else:
                phase.latencies.append(float(reply["sent_at"]) - sent)


def run_phase(emulator: BotApiEmulator, users: int, commands: int, offset: int) -> Phase:
    """`users` users in closed loops, `commands` commands each, chats from `offset`."""
    phase = Phase(users)
    threads = [
        threading.Thread(
            target=user,
            args=(emulator, offset + u, workload.sentences(commands, (offset + u) * 100), phase),
        )
        for u in range(users)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return phase


@dataclass(frozen=True)
class Result:
    """What ran and what it measured."""

    phases: list[Phase]
    single: list[float]
    engine: str
    layout: str
    tokens: float


def run(args: argparse.Namespace, root: Path) -> Result:
    """Raw batch-1 calls, the stack and each user count, raw batch-1 calls again."""
    model_dir = workload.build_model(root)
    engine = workload.engine_name(model_dir, args.engine)
    raw_texts = workload.sentences(args.singles, offset=500_000)
    translator = workload.load_raw(model_dir, root, engine, args.device)
    single = workload.raw_single(translator, raw_texts)
    stack, emulator = Stack(), BotApiEmulator(TOKEN)
    emulator.start()
    try:
        server, url = start_redis(root)
        stack.add(server)
        env = deployment_env(
            url, str(root / "opus-mt-{src}-{tgt}"), emulator.url, root, args.engine
        )
        worker = start_worker(stack, root, env, url)
        stack.add(Proc("bot", python("-m", "bot"), env, root).start())
        stack.wait(lambda: bool(emulator.calls("getUpdates")), 60, "the bot to poll")
        run_phase(emulator, 1, 2, offset=8_000)  # warm-up: connections, first calls
        phases = [
            run_phase(emulator, users, args.commands, offset=1_000 * (number + 1))
            for number, users in enumerate(int(u) for u in args.users.split(","))
        ]
        worker_layout = layout(worker) or "?"
    except BaseException as exc:
        print(f"benchmark failed: {exc}\n{stack.logs()}", file=sys.stderr)
        raise
    finally:
        stack.stop()
        emulator.stop()
    single += workload.raw_single(translator, raw_texts)
    tokens = workload.mean_tokens(model_dir, raw_texts)
    return Result(phases, single, engine, worker_layout, tokens)


def report(args: argparse.Namespace, result: Result) -> None:
    """A header naming what ran, then a line per user count."""
    single = statistics.median(result.single)
    print(
        f"Machine: {workload.machine()}. Engine: {result.engine} (ENGINE "
        f"{args.engine or 'not set'}); device: {workload.device_name(args.device)}; model: "
        f"random weights, opus-mt-en-ru sizes, {workload.NUM_BEAMS} beams; tokens: "
        f"{result.tokens:.1f} in, {workload.OUTPUT_TOKENS} out; worker as `tolmach run` starts "
        f"it: concurrency {result.layout}; rate limits at their defaults; CACHE_TTL=0; "
        f"{args.commands} commands per user, each after the last one's reply."
    )
    print(f"raw batch-1 p50 {single * 1e3:.0f} ms (this process, every core)")
    for phase in result.phases:
        users = f"{phase.users} user{'s' if phase.users > 1 else ''}"
        if not phase.latencies:
            print(f"{users}: no translation came back")
            continue
        p50 = statistics.median(phase.latencies)
        print(
            f"{users}: command to reply p50 {p50 * 1e3:.0f} ms, p90 "
            f"{workload.percentile(phase.latencies, 90) * 1e3:.0f} ms "
            f"({len(phase.latencies)} replies); p50 - raw batch-1 p50 "
            f"{(p50 - single) * 1e3:+.0f} ms; refusals {phase.refusals}, "
            f"unanswered {phase.unanswered}"
        )


def main() -> None:
    """Parse the arguments, run, report."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", default="1,50", help="user counts, comma-separated")
    parser.add_argument("--commands", type=int, default=8, help="commands per user")
    parser.add_argument("--engine", choices=("auto", "transformers", "ctranslate2"))
    parser.add_argument("--singles", type=int, default=20, help="raw batch-1 calls, each side")
    parser.add_argument("--quick", action="store_true", help="a smoke run: users 1,8; 3 each")
    args = parser.parse_args()
    if args.quick:
        args.users, args.commands, args.singles = "1,8", 3, 5
    args.device = os.environ.get("DEVICE") or None
    with tempfile.TemporaryDirectory() as tmp:
        result = run(args, Path(tmp))
    report(args, result)


if __name__ == "__main__":
    main()
