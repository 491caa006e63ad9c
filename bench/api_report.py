"""What bench/api.py prints: a header naming what ran, the raw figures, a table ready
for bench/RESULTS.md, and the issue's targets, met or missed."""

from __future__ import annotations

import argparse
import os
import statistics
from dataclasses import dataclass

from bench import workload

# Closed and burst: API sentences/s at least this share of the raw limit.
FLOORS = {32: 0.85, 64: 0.9, 256: 0.9}
SINGLE_EXTRA = 0.020  # one client's p50 over the raw batch-1 p50, at most (seconds)


@dataclass(frozen=True)
class Row:
    """One (mode, clients) run through the API."""

    mode: str
    clients: int
    rate: float
    steady: bool
    p50: float
    cpu_per_sentence: float
    sentences: int
    others: float  # the API's and Redis's CPU-s per sentence
    generator: float  # the load generator's CPU-s per sentence
    batch: float  # requests per model call in the worker, mean


@dataclass(frozen=True)
class Result:
    """Everything a run measured, and what it ran."""

    rows: list[Row]
    raw: workload.RawFigures
    engine: str
    layout: str
    tokens: float


def report(args: argparse.Namespace, result: Result) -> None:
    """The header, the raw figures, the table for bench/RESULTS.md, the targets."""
    raw = result.raw
    limit, single = raw.rate(raw.limit_batch), statistics.median(raw.single)
    best = raw.rate(raw.best)
    print(header(args, result))
    for batch in workload.RAW_BATCHES:
        before, after = (run.rate for run in raw.runs[batch])
        print(
            f"raw batch {batch}: {raw.rate(batch):.1f} sent/s ({before:.1f} before the API "
            f"runs, {after:.1f} after), {raw.cpu_per_sentence(batch):.3f} CPU-s/sent"
        )
    print(
        f"raw limit: {limit:.1f} sent/s (batch {raw.limit_batch}, the better of "
        f"{' and '.join(map(str, workload.LIMIT_BATCHES))}, as issue 25 defines it); the best "
        f"raw batch: {best:.1f} sent/s (batch {raw.best}); raw batch-1 p50 {single * 1e3:.0f} ms"
    )
    print(
        f"closed: each client max({args.rounds}, {args.min_sentences} / clients) requests, the "
        f"rate after its first; burst: {args.bursts} rounds of one request per client; "
        f"{args.texts} text(s) in each request"
    )
    print()
    print(
        "| mode | clients | API sent/s | raw limit sent/s | ratio | ratio to the best raw batch "
        "| ceiling | p50 ms | mean batch | worker CPU-s/sent | raw CPU-s/sent "
        "| API+Redis CPU-s/sent | load generator CPU-s/sent |"
    )
    print("| --- " * 13 + "|")
    raw_cpu = raw.cpu_per_sentence(raw.limit_batch)
    for row in result.rows:
        rate = f"{row.rate:.1f}" + ("" if row.steady else " (whole run)")
        print(
            f"| {row.mode} | {row.clients} | {rate} | {limit:.1f} | {row.rate / limit:.2f} | "
            f"{row.rate / best:.2f} | {ceiling(raw, row.clients, limit)} | "
            f"{row.p50 * 1e3:.0f} | {row.batch:.1f} | "
            f"{row.cpu_per_sentence:.3f} | {raw_cpu:.3f} | {row.others:.3f} | "
            f"{row.generator:.3f} |"
        )
    print(
        "\nceiling: the raw engine's rate with only N sentences at a time (what N clients "
        "that each wait for their answer can hand a server), as a ratio to the raw limit; "
        "- where N is not a raw batch size measured"
    )
    print()
    if args.texts != 1:
        print(f"targets: issue 25's are for one text a request, not {args.texts}; not judged")
        return
    for line in targets(result.rows, limit, single, best):
        print(line)


def ceiling(raw: workload.RawFigures, clients: int, limit: float) -> str:
    """The raw rate at batch `clients` over the limit, where that batch was measured."""
    return f"{raw.rate(clients) / limit:.2f}" if clients in raw.runs else "-"


def header(args: argparse.Namespace, result: Result) -> str:
    """One line naming the machine, the engine, the model and the worker's layout."""
    engine = args.engine or f"not set: the default, {workload.DEFAULT_ENGINE}"
    device = args.device or f"not set: the default, {workload.DEFAULT_DEVICE}"
    return (
        f"Machine: {workload.machine()}. Engine: {result.engine} (ENGINE {engine}); "
        f"device: {workload.device_name(args.device)} (DEVICE {device}); model: random "
        f"weights, opus-mt-en-ru sizes, beam search with {workload.NUM_BEAMS} beams (the "
        f"default NUM_BEAMS); tokens: {result.tokens:.1f} in (mean, </s> included), "
        f"{workload.OUTPUT_TOKENS} out; worker as `tolmach run` starts it: concurrency "
        f"{result.layout}; CACHE_TTL=0; {changed(args)}; raw engine: one translator "
        f"with {os.cpu_count()} threads in the benchmark's process."
    )


def changed(args: argparse.Namespace) -> str:
    """The settings this run changed (--set), or that it changed none."""
    settings = getattr(args, "settings", {})
    if not settings:
        return "every other setting at its default"
    named = ", ".join(f"{name}={value}" for name, value in settings.items())
    return f"NOT THE DEFAULTS: {named}"


def targets(rows: list[Row], limit: float, single: float, best: float) -> list[str]:
    """A line per target: met or missed with the figure (and the ratio to the best raw
    batch beside it), or not measured by this run."""
    lines = []
    for clients, floor in FLOORS.items():
        runs = [row for row in rows if row.clients == clients]
        met = {row.mode: "met" if row.rate >= floor * limit else "MISSED" for row in runs}
        figures = "; ".join(
            f"{r.mode} {r.rate / limit:.2f} x, {met[r.mode]} ({r.rate / best:.2f} x the best "
            "raw batch)"
            for r in runs
        )
        lines.append(f"target: {clients} clients >= {floor} x raw: {figures or 'not measured'}")
    one = [row for row in rows if row.mode == "closed" and row.clients == 1]
    figure = "not measured"
    if one:
        extra = one[0].p50 - single
        figure = (
            f"{'met' if extra <= SINGLE_EXTRA else 'MISSED'}: p50 {one[0].p50 * 1e3:.0f} ms, "
            f"raw batch-1 {single * 1e3:.0f} ms, {extra * 1e3:+.0f} ms"
        )
    lines.append(f"target: one client (closed) p50 <= raw batch-1 p50 + 20 ms: {figure}")
    return lines
