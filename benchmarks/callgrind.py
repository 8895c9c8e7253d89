"""Instruction counts per span under ``valgrind --tool=callgrind``: repeatable on a noisy machine.

Run:  python benchmarks/callgrind.py [--calls 2000] [--scenarios S1,S2]

For each scenario, the same program runs N and 2N decorated calls (then flushes to a JSONL
file, so the export worker's instructions are counted too); the difference divided by N is
the cost of one span, caller and worker together, with interpreter start-up, imports and
warm-up cancelled out. ``bare`` runs the undecorated function the same way (``bare6``
the undecorated S6 ``chat``: run.py's chat call with content parts and tool schemas).
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

def chat(messages, tools):
    return S6_RESPONSE

sys.path.insert(0, os.environ["BROKLE_BENCH_DIR"])
from payloads import S4N_PAYLOAD, S6_MESSAGES, S6_RESPONSE, S6_TOOLS

S4_PAYLOAD = {  # run.py's S4
    "text": "x" * 200_000,
    "items": [{"id": i, "text": "short", "score": 0.5} for i in range(1000)],
}

def s4(payload):
    return len(payload["text"])

traced_flat = observe(flat)
traced_chat = observe(chat)
traced_child = observe(child)
traced_root = observe(root)
traced_s4 = observe(s4)
fn = {
    "bare": lambda: flat(TEXT),
    "S1": lambda: traced_flat(TEXT),
    "S2": traced_root,
    "bare6": lambda: chat(S6_MESSAGES, S6_TOOLS),
    "S6": lambda: traced_chat(S6_MESSAGES, S6_TOOLS),
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
"""

_SPANS_PER_CALL = {"bare": 1, "S1": 1, "S2": 4, "bare6": 1, "S6": 1, "S4": 1, "S4n": 1}


def _instructions(python: str, n: int, scenario: str, root: Path, mode: str) -> int:
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
        "--root",
        default=str(Path(__file__).resolve().parents[1]),
        help="the checkout whose brokle_trace is measured",
    )
    args = parser.parse_args()
    root = Path(args.root)
    print(
        f"python {sys.version.split()[0]}, {args.calls} and {2 * args.calls} calls, "
        f"mode {args.mode}, {root}"
    )
    what = "caller's thread" if args.mode == "hot" else "caller + worker"
    print(f"| scenario | instructions per span ({what}) |")
    print("|---|---:|")
    for scenario in args.scenarios.split(","):
        one = _instructions(sys.executable, args.calls, scenario, root, args.mode)
        two = _instructions(sys.executable, 2 * args.calls, scenario, root, args.mode)
        per_span = (two - one) / (args.calls * _SPANS_PER_CALL[scenario])
        print(f"| {scenario} | {per_span:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
