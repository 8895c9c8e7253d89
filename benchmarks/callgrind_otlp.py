"""The OTLP export's instructions per span, stage by stage, under ``valgrind --tool=callgrind``.

Run:  python benchmarks/callgrind_otlp.py [--calls 1000] [--scenario S1]

``callgrind.py --exporter otlp`` counts the whole path (caller, worker, lane and HTTP
threads). This splits it: the same decorated calls run with the worker kept asleep, their
records are taken from the queue and pushed through the export's stages on the main
thread, in 512-span batches as the worker forms them, one stage more per mode:
``caller`` (the calls alone), ``encode`` (``otlp_batch.encode_batch``: record -> span
bytes), ``frame`` (``OTLPExporter._requests``: requests framed under the cap), ``gzip``
(``_compress``), ``http`` (``HttpSender.send`` to the loopback receiver of ``run.py``,
which is another process and not counted). Each mode runs N and 2N calls; the difference
per span, and each mode minus the one before it, is that stage's cost. What
``callgrind.py``'s total has beyond the ``http`` row is the worker's loop and its threads
(wake-ups, lanes, runner hand-offs, sizing).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
STAGES = ("caller", "encode", "frame", "gzip", "http")
_SPANS_PER_CALL = {"S1": 1, "S2": 4, "S3": 11, "S6": 1}

_CHILD = r"""
import asyncio, os, sys, time
n, scenario, stage = int(sys.argv[1]), sys.argv[2], sys.argv[3]
sys.path.insert(0, os.environ["BROKLE_BENCH_DIR"])
import brokle_trace
from brokle_trace import observe
from brokle_trace._runtime import lifecycle
from payloads import S6_MESSAGES, S6_RESPONSE, S6_TOOLS

brokle_trace.configure(
    exporter="otlp", otlp_endpoint=os.environ["BROKLE_OTLP"], max_queue_size=1_000_000,
    schedule_delay=60,
)
pipeline = lifecycle.current_pipeline()
pipeline._pacing.next_wake[0] = -1  # the worker never wakes: the records stay queued
exporter = pipeline.exporters[0]
TEXT = "x" * 100
def flat(s): return s
def child(i): return i
def root():
    for i in range(3):
        traced_child(i)
async def achild(i): return i
async def aroot(): return await asyncio.gather(*(traced_achild(i) for i in range(10)))
def chat(messages, tools): return S6_RESPONSE
traced_flat, traced_child, traced_root = observe(flat), observe(child), observe(root)
traced_achild, traced_aroot, traced_chat = observe(achild), observe(aroot), observe(chat)
loop = asyncio.new_event_loop()
fn = {
    "S1": lambda: traced_flat(TEXT),
    "S2": traced_root,
    "S3": lambda: loop.run_until_complete(traced_aroot()),
    "S6": lambda: traced_chat(S6_MESSAGES, S6_TOOLS),
}[scenario]

from brokle_trace._export.otlp_batch import encode_batch

def failed(record, exc, add):
    raise exc

def export(records):
    encoded = encode_batch(records, pipeline._settings, pipeline._resource, failed)
    if stage == "encode":
        return
    requests = exporter._requests(encoded, {})
    if stage == "frame":
        return
    bodies = [exporter._compress(raw) for _, raw in requests]
    if stage == "gzip":
        return
    for body in bodies:
        assert exporter._sender.send(body, time.monotonic() + 30).ok

def run(calls):
    for _ in range(calls):
        fn()
    queue = pipeline._queue
    records = [r for r in queue if type(r) is tuple]
    queue.clear()
    if stage != "caller":
        for i in range(0, len(records), 512):
            export(records[i : i + 512])

run(200)  # warm-up: caches, templates, the connection
run(n)
"""


def count(n: int, scenario: str, stage: str, endpoint: str) -> int:
    """Instructions of one run (all threads)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cg.out"
        done = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={out}",
                sys.executable,
                "-c",
                _CHILD,
                str(n),
                scenario,
                stage,
            ],
            env={
                **os.environ,
                "PYTHONHASHSEED": "0",
                "PYTHONPATH": str(HERE.parent),
                "BROKLE_OTLP": endpoint,
                "BROKLE_BENCH_DIR": str(HERE),
            },
            capture_output=True,
            text=True,
            check=True,
        )
        m = re.search(r"Collected : (\d+)", done.stderr)
        if m is None:
            raise RuntimeError(done.stderr[-2000:])
        return int(m.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000, help="N (and 2N) decorated calls")
    parser.add_argument("--scenario", default="S1", choices=sorted(_SPANS_PER_CALL))
    parser.add_argument("--stages", default=",".join(STAGES))
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    from harness import start_receiver

    receiver, endpoint = start_receiver()
    spans = args.calls * _SPANS_PER_CALL[args.scenario]
    previous = 0.0
    print(f"| {args.scenario} stage | cumulative per span | this stage |")
    print("|---|---:|---:|")
    try:
        for stage in args.stages.split(","):
            one = count(args.calls, args.scenario, stage, endpoint)
            two = count(2 * args.calls, args.scenario, stage, endpoint)
            per_span = (two - one) / spans
            print(f"| {stage} | {per_span:,.0f} | {per_span - previous:,.0f} |", flush=True)
            previous = per_span
    finally:
        receiver.kill()
        receiver.wait()


if __name__ == "__main__":
    main()
