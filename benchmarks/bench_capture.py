"""Micro-benchmark of capture alone: hot-path snapshot vs worker finalize, S1 vs S4.

Run: ``python benchmarks/bench_capture.py [--quick]``. Prints ns per call (best of several
repeats; the machine is noisy, so compare the ratios printed in the same run), the S4/S1
hot-path ratio, a naive encode-then-cut baseline, and the peak RSS of 500 S4 calls whose
snapshots all wait for the worker at once (the worst case of a stalled export queue).

S1: a flat call with a 100-char string argument and a 100-char string return.
S4: the argument is a dict holding a 200 000-char string and a 1000-element list of small
    dicts; the return value is short.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from brokle_trace.capture import CaptureSettings, finalize, redact_text, snapshot

SETTINGS = CaptureSettings()
PROSE = (
    "The model read the whole contract, then summarised each clause for the user; "
    "no secrets here, just long text. "
) * 40


def s1_args() -> dict[str, Any]:
    return {"text": "x" * 100}


def s4_args() -> dict[str, Any]:
    return {
        "payload": {
            "text": "x" * 200_000,
            "items": [{"id": i, "text": "short", "score": 0.5} for i in range(1000)],
        }
    }


def best_ns(fn: Callable[[], object], number: int, repeats: int) -> float:
    """Best mean over ``repeats`` runs of ``number`` calls (min filters scheduler noise)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter_ns()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter_ns() - start) / number)
    return best


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer iterations")
    opts = parser.parse_args()
    n, reps = (2_000, 3) if opts.quick else (20_000, 7)

    s = SETTINGS
    a1, r1, a4, r4 = s1_args(), "y" * 100, s4_args(), "ok"
    snap_a1, snap_r1 = snapshot(a1, s), snapshot(r1, s)
    snap_a4, snap_r4 = snapshot(a4, s), snapshot(r4, s)

    rows: list[tuple[str, float]] = [
        ("snapshot  S1 args {'text': 100 chars}", best_ns(lambda: snapshot(a1, s), n, reps)),
        ("snapshot  S1 return (100-char str)", best_ns(lambda: snapshot(r1, s), n, reps)),
        ("snapshot  S4 args (200K str + 1000 dicts)", best_ns(lambda: snapshot(a4, s), n, reps)),
        ("snapshot  S4 return ('ok')", best_ns(lambda: snapshot(r4, s), n, reps)),
        ("finalize  S1 args", best_ns(lambda: finalize(snap_a1, s), n // 4, reps)),
        ("finalize  S1 return", best_ns(lambda: finalize(snap_r1, s), n // 4, reps)),
        ("finalize  S4 args", best_ns(lambda: finalize(snap_a4, s), max(n // 100, 20), reps)),
        ("finalize  S4 return", best_ns(lambda: finalize(snap_r4, s), n // 4, reps)),
        (
            "redact_text 4 KB prose (no secret)",
            best_ns(lambda: redact_text(PROSE, s), max(n // 50, 20), reps),
        ),
        (
            "baseline: json.dumps(S4 args)[:4000]",
            best_ns(lambda: json.dumps(a4)[:4000], max(n // 1000, 5), reps),
        ),
    ]
    width = max(len(label) for label, _ in rows)
    print(f"{'operation':<{width}}  {'ns/call':>12}")
    for label, ns in rows:
        print(f"{label:<{width}}  {ns:>12,.0f}")

    hot_s1 = rows[0][1] + rows[1][1]
    hot_s4 = rows[2][1] + rows[3][1]
    worker_s1 = rows[4][1] + rows[5][1]
    worker_s4 = rows[6][1] + rows[7][1]
    print()
    print(
        f"hot path (snapshot in + out):  S1 {hot_s1:,.0f} ns   S4 {hot_s4:,.0f} ns   "
        f"S4/S1 = {hot_s4 / hot_s1:.2f}   S4-S1 = {hot_s4 - hot_s1:,.0f} ns"
    )
    print(f"worker (finalize in + out):    S1 {worker_s1:,.0f} ns   S4 {worker_s4:,.0f} ns")
    print(f"S4 hot path vs naive encode-then-cut: {rows[9][1] / hot_s4:,.0f}x cheaper")

    # Peak RSS: 500 S4 calls with a fresh payload each, every snapshot still queued, then
    # the worker finalizes them all. Payloads die with their "call"; snapshots keep their
    # 200 KB strings alive only within ``max_pinned_bytes`` (16 MiB), heads after that.
    gc.collect()
    before = peak_rss_mb()
    pending = []
    for _ in range(500):
        args = s4_args()
        pending.append((snapshot(args, s), snapshot("ok", s)))
        del args
    exported = [finalize(snap_in, s) for snap_in, _ in pending]
    exported += [finalize(snap_out, s, field="output") for _, snap_out in pending]
    after = peak_rss_mb()
    print(
        f"500 S4 snapshots queued then finalized: peak RSS {after:.1f} MB "
        f"(+{after - before:.1f} MB over the {before:.1f} MB before), "
        f"{len(exported) // 2} spans' inputs and outputs exported"
    )


if __name__ == "__main__":
    main()
