"""Instruction counts per span under ``valgrind --tool=callgrind``: repeatable on a noisy machine.

Run:  python benchmarks/callgrind.py [--calls 2000] [--scenarios S1,S2] [--exporter otlp]

For each scenario, the same program runs N and 2N decorated calls (then flushes to a JSONL
file, so the export worker's instructions are counted too; with ``--exporter otlp``, our
``OTLPExporter`` posts to the loopback receiver of ``run.py``, started by this script in its
own process outside valgrind: encoding, gzip, request framing and the HTTP client are
counted, the receiver is not); the difference divided by N is
the cost of one span, caller and worker together, with interpreter start-up, imports and
warm-up cancelled out. ``bare`` runs the undecorated function the same way (``bare6``
the undecorated S6 ``chat``: run.py's chat call with content parts and tool schemas;
``bare7`` and ``S7`` the same for run.py's retrieval call returning ten documents;
``S6new`` S6 with new message texts on every call, which no cache has seen: its
worker's cost, total minus hot, is what a chat whose history is new costs).
``S4`` and ``S4n`` are run.py's 200 000-char string with 1000 flat rows, and with rows that
each carry a 2-tag list; total minus hot is the export worker's share.
``--mode hot`` keeps the queue full so the worker does nothing: the count is then the
caller's thread alone (each span ends at the queue-full counter instead of the append).
Hash randomisation is fixed (PYTHONHASHSEED=0) so that dict probes, and with them the
counts, repeat.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

_PROGRAM = r"""
import sys, tempfile, os
n, scenario = int(sys.argv[1]), sys.argv[2]
import brokle_trace
from brokle_trace import observe
path = os.path.join(tempfile.mkdtemp(), "t.jsonl")
mode = os.environ.get("BROKLE_CALLGRIND_MODE", "total")
import threading
gate = threading.Event()
gate.set()


class Gated:  # blocks the export worker while the gate is closed (inline: on the worker)
    export_inline = True

    def export(self, spans):
        gate.wait()
        return brokle_trace.ExportResult.SUCCESS

    def shutdown(self):
        pass


if mode == "hot":
    # A queue of one span, held by the blocked worker's batch: every later span is refused
    # at the queue (one counter) and the worker does nothing. The count is the caller's.
    brokle_trace.configure(exporter="none", exporters=[Gated()], max_queue_size=1)
elif os.environ.get("BROKLE_CALLGRIND_OTLP"):
    # Full batches only (the timer never fires before the final flush): under valgrind's
    # slowdown a 0.2 s tick would cut batches of varying size, and each request's HTTP
    # cost with them, so N and 2N would not differ by the same requests run to run.
    brokle_trace.configure(
        exporter="otlp",
        otlp_endpoint=os.environ["BROKLE_CALLGRIND_OTLP"],
        max_queue_size=1_000_000,
        schedule_delay=60,
    )
else:
    brokle_trace.configure(exporter="jsonl", traces_file=path, max_queue_size=1_000_000)
TEXT = "x" * 100

def flat(s):
    return s

def child(i):
    return i

def root():
    for i in range(3):
        traced_child(i)

import asyncio

async def achild(i):
    return i

async def aroot():
    return await asyncio.gather(*(traced_achild(i) for i in range(10)))

def chat(messages, tools):
    return S6_RESPONSE

def retrieve(query, k=10):
    return S7_DOCS[:k]

sys.path.insert(0, os.environ["BROKLE_BENCH_DIR"])
from payloads import S4N_PAYLOAD, S6_MESSAGES, S6_RESPONSE, S6_TOOLS, S7_DOCS
from payloads import _SENTENCES as S6_TEXT

WORDS = " ".join(S6_TEXT).split()
turn = iter(range(10**9))


def new_messages():  # S6's shape with new texts on every call (caches see nothing twice)
    i = next(turn)
    return [
        {
            "role": m["role"],
            "content": [{"type": "text", "text": (f"{i}.{j} " + " ".join(
                WORDS[(i * 7 + j * 13 + k) % len(WORDS)] for k in range(40)))[:200]}],
        }
        for j, m in enumerate(S6_MESSAGES)
    ]


S4_PAYLOAD = {  # run.py's S4
    "text": "x" * 200_000,
    "items": [{"id": i, "text": "short", "score": 0.5} for i in range(1000)],
}

def s4(payload):
    return len(payload["text"])

traced_flat = observe(flat)
traced_chat = observe(chat)
traced_retrieve = observe(retrieve)
traced_child = observe(child)
traced_root = observe(root)
traced_achild = observe(achild)
traced_aroot = observe(aroot)
loop = asyncio.new_event_loop()
traced_s4 = observe(s4)
fn = {
    "bare": lambda: flat(TEXT),
    "S1": lambda: traced_flat(TEXT),
    "S2": traced_root,
    "S3": lambda: loop.run_until_complete(traced_aroot()),
    "bare6": lambda: chat(S6_MESSAGES, S6_TOOLS),
    "S6": lambda: traced_chat(S6_MESSAGES, S6_TOOLS),
    "S6new": lambda: traced_chat(new_messages(), S6_TOOLS),
    "bare7": lambda: retrieve("what did customers say about onboarding?", k=10),
    "S7": lambda: traced_retrieve("what did customers say about onboarding?", k=10),
    "S4": lambda: traced_s4(S4_PAYLOAD),
    "S4n": lambda: traced_s4(S4N_PAYLOAD),
}[scenario]
for _ in range(200):  # warm-up: caches, first-span set-up
    fn()
brokle_trace.flush(60)
if mode == "hot":
    gate.clear()
    fn()  # the worker takes this one and blocks; the next one fills the queue
    brokle_trace.flush(0.2)
for _ in range(n):
    fn()
if mode == "hot":
    gate.set()
assert brokle_trace.flush(600)
if mode != "hot":  # every span reached the file or the receiver
    dropped = brokle_trace.stats()["dropped"]
    assert not any(dropped.values()), dropped
"""

_SPANS_PER_CALL = {
    "bare": 1,
    "S1": 1,
    "S2": 4,
    "S3": 11,
    "bare6": 1,
    "S6": 1,
    "bare7": 1,
    "S7": 1,
    "S6new": 1,
    "S4": 1,
    "S4n": 1,
}


def _instructions(  # noqa: PLR0917 - one measurement's knobs
    python: str, n: int, scenario: str, root: Path, mode: str, endpoint: str = ""
) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        proc = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={out}",
                python,
                "-c",
                _PROGRAM,
                str(n),
                scenario,
            ],
            capture_output=True,
            text=True,
            cwd=root,
            env={
                **os.environ,
                "PYTHONPATH": str(root),
                "BROKLE_CALLGRIND_MODE": mode,
                "BROKLE_CALLGRIND_OTLP": endpoint,
                "PYTHONHASHSEED": "0",
                "BROKLE_BENCH_DIR": str(Path(__file__).resolve().parent),
            },
            check=True,
        )
    match = re.search(r"Collected : (\d+)", proc.stderr)
    if match is None:
        raise RuntimeError(proc.stderr[-2000:])
    return int(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--scenarios", default="bare,S1,S2")
    parser.add_argument("--mode", default="total", choices=["total", "hot"])
    parser.add_argument(
        "--exporter",
        default="jsonl",
        choices=["jsonl", "otlp"],
        help="total mode: a JSONL file, or OTLP/HTTP to a loopback receiver (not counted)",
    )
    parser.add_argument(
        "--root",
        default=str(Path(__file__).resolve().parents[1]),
        help="the checkout whose brokle_trace is measured",
    )
    args = parser.parse_args()
    root = Path(args.root)
    receiver, endpoint = None, ""
    if args.exporter == "otlp" and args.mode == "total":
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from harness import start_receiver

        receiver, endpoint = start_receiver()
    print(
        f"python {sys.version.split()[0]}, {args.calls} and {2 * args.calls} calls, "
        f"mode {args.mode}, exporter {args.exporter if args.mode == 'total' else '-'}, {root}"
    )
    what = "caller's thread" if args.mode == "hot" else "caller + worker"
    print(f"| scenario | instructions per span ({what}) |")
    print("|---|---:|")
    try:
        for scenario in args.scenarios.split(","):
            one = _instructions(sys.executable, args.calls, scenario, root, args.mode, endpoint)
            two = _instructions(sys.executable, 2 * args.calls, scenario, root, args.mode, endpoint)
            per_span = (two - one) / (args.calls * _SPANS_PER_CALL[scenario])
            print(f"| {scenario} | {per_span:,.0f} |", flush=True)
    finally:
        if receiver is not None:
            receiver.kill()
            receiver.wait()


if __name__ == "__main__":
    main()
