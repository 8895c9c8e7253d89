"""Sustained throughput: does export keep up with a steady stream of spans, and how much of a
tight loop reaches the backend before the queue fills?

Each run is its own process; OTLP goes to a loopback receiver in yet another process (its
CPU is not ours; it counts the spans it decoded). Every span is exported or counted:
``started == exported + sum(dropped)`` is checked on every run.

    python benchmarks/bench_throughput.py                       # paced + tight, both exporters
    python benchmarks/bench_throughput.py --rate 50000 --seconds 5 --exporter otlp
    python benchmarks/bench_throughput.py --tight 2000000 --exporter otlp
    python benchmarks/bench_throughput.py --tight 2000000 --exporter otlp --block

paced  a producer thread ends S1 spans (100-char string in and out) at ``--rate`` per second
       for ``--seconds`` (in ticks of 1 ms, catching up if late); reports the rate reached,
       exported and dropped, and the export worker's CPU share.
tight  ``--tight`` S1 calls as fast as the caller can make them; reports the share exported
       (the rest is counted as queue_full: the queue is bounded, the caller never waits),
       or with ``--block`` (lossless mode) how long the loop took with nothing dropped.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_export import serve


def _receiver() -> tuple[subprocess.Popen[bytes], int]:
    port_file = tempfile.mktemp()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", port_file], stdout=subprocess.DEVNULL
    )
    for _ in range(200):
        if os.path.exists(port_file) and Path(port_file).read_text().strip():
            return proc, int(Path(port_file).read_text())
        time.sleep(0.05)
    raise RuntimeError("the receiver did not start")


def _received(port: int, reset: bool = False) -> int:
    path = "/reset" if reset else "/"
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
        return int(response.read())


def _thread_cpu() -> dict[str, float]:
    """CPU seconds of each live thread by name (Linux: /proc/self/task/<tid>/stat)."""
    out: dict[str, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for thread in threading.enumerate():
        try:
            with open(f"/proc/self/task/{thread.native_id}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        name = thread.name.split("-", 3)[-1] if thread.name.startswith("brokle") else "caller"
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


def run_one(args: argparse.Namespace, port: int | None) -> dict[str, Any]:
    """One measured run, in this process."""
    import brokle_trace
    from brokle_trace import observe

    options: dict[str, Any] = {"exporter": "none"}
    if args.exporter == "otlp":
        options.update(exporter="otlp", otlp_endpoint=f"http://127.0.0.1:{port}")
    else:
        options.update(exporter="jsonl", traces_file=os.path.join(tempfile.mkdtemp(), "t.jsonl"))
    if args.block:
        options.update(on_queue_full="block", queue_block_timeout=30)
    brokle_trace.configure(**options)

    @observe
    def s1(text: str) -> str:
        return text

    text = "x" * 100
    s1(text)  # warm-up: imports, the first connection
    brokle_trace.flush(10)
    if port is not None:
        _received(port, reset=True)
    base = brokle_trace.stats()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    thread0 = time.thread_time()
    if args.tight:
        for _ in range(args.tight):
            s1(text)
        wanted = args.tight
    else:
        wanted = int(args.rate * args.seconds)
        done = 0
        tick = 0.001
        per_tick = args.rate * tick
        start = time.perf_counter()
        while done < wanted:
            # Catch up to where the clock says we should be, then sleep to the next tick.
            due = min(wanted, int((time.perf_counter() - start) / tick * per_tick) + 1)
            while done < due:
                s1(text)
                done += 1
            left = start + (done / per_tick) * tick - time.perf_counter()
            if left > 0:
                time.sleep(left)
    loop_s = time.perf_counter() - wall0
    threads = _thread_cpu()  # during the loop (the worker's share of the GIL, mostly)
    caller_cpu = time.thread_time() - thread0
    ok = brokle_trace.flush(120)
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    stats = brokle_trace.stats()
    started = stats["started"] - base["started"]
    exported = stats["exported"] - base["exported"]
    dropped = {k: v - base["dropped"].get(k, 0) for k, v in stats["dropped"].items()}
    dropped = {k: v for k, v in dropped.items() if v}
    accounted = stats["started"] == stats["exported"] + sum(stats["dropped"].values())
    received = _received(port) if args.exporter == "otlp" else exported
    from brokle_trace._runtime import lifecycle

    # Where the drops happened: at the queue (the worker fell behind) or at the exporter's
    # lane (the exporter fell behind the worker).
    at_lane = lifecycle.current_pipeline()._ledger.from_lanes.get("queue_full", 0)
    brokle_trace.shutdown(10)
    return {
        "exporter": args.exporter,
        "mode": "tight" if args.tight else "paced",
        "block": args.block,
        "spans": wanted,
        "rate_reached": round(wanted / loop_s),
        "loop_s": round(loop_s, 2),
        "flushed": ok,
        "wall_s": round(wall, 2),
        "started": started,
        "exported": exported,
        "received": received,
        "dropped": dropped,
        "dropped_at_lane": at_lane,
        "thread_cpu_s_in_loop": {k: round(v, 2) for k, v in threads.items()},
        "accounted": accounted,
        "exported_share": round(exported / started, 3) if started else 0.0,
        "worker_cpu_us_per_span": round((cpu - caller_cpu) / max(1, exported) * 1e6, 2),
        "total_cpu_us_per_span": round(cpu / max(1, started) * 1e6, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--exporter", choices=["jsonl", "otlp", "both"], default="both")
    parser.add_argument("--rate", type=float, default=50_000)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--tight", type=int, default=0, help="a tight loop of this many spans")
    parser.add_argument("--block", action="store_true", help="lossless mode (on_queue_full)")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return 0
    if args.one:
        print(json.dumps(run_one(args, args.port)))
        return 0
    exporters = ["jsonl", "otlp"] if args.exporter == "both" else [args.exporter]
    receiver, port = _receiver()
    failures = 0
    try:
        for exporter in exporters:
            modes = [["--tight", str(args.tight)]] if args.tight else [[]]
            for extra in modes:
                cmd = [
                    sys.executable,
                    __file__,
                    "--one",
                    "--port",
                    str(port),
                    "--exporter",
                    exporter,
                    "--rate",
                    str(args.rate),
                    "--seconds",
                    str(args.seconds),
                    *extra,
                    *(["--block"] if args.block else []),
                ]
                out = subprocess.run(cmd, capture_output=True, text=True, check=True)
                result = json.loads(out.stdout.strip().splitlines()[-1])
                print(json.dumps(result))
                complete = result["exported"] == result["started"]
                if not result["accounted"] or (not args.tight and not complete):
                    failures += 1
    finally:
        receiver.terminate()
    return 1 if failures else 0


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    sys.exit(main())
