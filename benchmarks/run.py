"""Decorator overhead: brokle_trace vs the bare function vs a hand-written OTel SDK decorator.

Run:  python benchmarks/run.py [--quick] [--json results.json]

Everything runs in one process, interleaved, so the ratios are comparable even on a noisy
machine (absolute times are not comparable across runs). For each scenario we measure:

* hot path: CPU time of the calling thread per span, minus the bare function's time
  (``thread_time``: GIL waits while the export worker runs are excluded, its CPU is not
  hidden either: it is in the total);
* total CPU per span: whole-process CPU (caller + export worker) from the first call to the
  end of the flush, divided by the spans exported;
* spans exported: read back from the exporter's own count.

Scenarios:
  S1 flat sync call, 100-char string argument and return (capture on)
  S2 a root calling 3 children
  S3 an async root gathering 10 async children
  S4 an argument dict holding a 200 000-char string and a 1000-element list of small dicts
  S5 S1 with tracing disabled (compared with the bare call)

The OpenTelemetry baseline is what a user would write by hand: ``start_as_current_span``
around the call, a ``BatchSpanProcessor`` whose queue is large enough to drop nothing, and
an exporter that encodes each batch to OTLP protobuf in-process and discards the bytes.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import inspect
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

import brokle_trace

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


# -- the OpenTelemetry baseline ------------------------------------------------------------------


class EncodingExporter(SpanExporter):
    """Encodes every batch to OTLP protobuf bytes and throws them away (no network)."""

    def __init__(self) -> None:
        self.exported = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        encode_spans(spans).SerializeToString()
        self.exported += len(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None


def otel_setup() -> tuple[Decorator, EncodingExporter, TracerProvider]:
    exporter = EncodingExporter()
    provider = TracerProvider()
    provider.add_span_processor(
        BatchSpanProcessor(exporter, max_queue_size=1_000_000, max_export_batch_size=512)
    )
    tracer = provider.get_tracer("bench")

    def otel_observe(fn: Callable[..., Any]) -> Callable[..., Any]:
        name = fn.__name__
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def awrapper(*args: Any, **kwargs: Any) -> Any:
                with tracer.start_as_current_span(name):
                    return await fn(*args, **kwargs)

            return awrapper

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with tracer.start_as_current_span(name):
                return fn(*args, **kwargs)

        return wrapper

    return otel_observe, exporter, provider


def bare(fn: Callable[..., Any]) -> Callable[..., Any]:
    return fn


# -- scenarios -----------------------------------------------------------------------------------


@dataclass
class Scenario:
    name: str
    spans_per_call: int
    make: Callable[[Decorator], Callable[[int], None]]


def make_s1(deco: Decorator) -> Callable[[int], None]:
    @deco
    def s1(text: str) -> str:
        return text

    arg = "x" * 100

    def run(n: int) -> None:
        for _ in range(n):
            s1(arg)

    return run


def make_s2(deco: Decorator) -> Callable[[int], None]:
    @deco
    def child(x: int) -> int:
        return x

    @deco
    def root(x: int) -> int:
        child(x)
        child(x)
        child(x)
        return x

    def run(n: int) -> None:
        for i in range(n):
            root(i)

    return run


def make_s3(deco: Decorator) -> Callable[[int], None]:
    @deco
    async def child(i: int) -> int:
        return i

    @deco
    async def root() -> list[int]:
        return list(await asyncio.gather(*(child(i) for i in range(10))))

    async def many(n: int) -> None:
        for _ in range(n):
            await root()

    def run(n: int) -> None:
        asyncio.run(many(n))

    return run


S4_PAYLOAD = {
    "text": "x" * 200_000,
    "items": [{"id": i, "text": "short", "score": 0.5} for i in range(1000)],
}


def make_s4(deco: Decorator) -> Callable[[int], None]:
    @deco
    def s4(payload: dict[str, Any]) -> int:
        return len(payload["text"])

    def run(n: int) -> None:
        for _ in range(n):
            s4(S4_PAYLOAD)

    return run


SCENARIOS = [
    Scenario("S1 flat sync, 100-char str", 1, make_s1),
    Scenario("S2 root + 3 children", 4, make_s2),
    Scenario("S3 async gather of 10", 11, make_s3),
    Scenario("S4 200k str + 1000 dicts", 1, make_s4),
]


# -- measurement ---------------------------------------------------------------------------------


def timed(run: Callable[[int], None], n: int) -> tuple[float, float]:
    """(caller-thread CPU s, wall s) for ``run(n)``."""
    gc.collect()
    t0, w0 = time.thread_time(), time.perf_counter()
    run(n)
    return time.thread_time() - t0, time.perf_counter() - w0


def measure(calls: int, repeats: int, only: Sequence[str] = ()) -> dict[str, Any]:
    otel_observe, otel_exporter, provider = otel_setup()
    traces_file = Path(tempfile.mkdtemp()) / "bench.jsonl"
    brokle_trace.configure(exporter="jsonl", traces_file=traces_file)
    results: dict[str, Any] = {"scenarios": [], "calls": calls, "repeats": repeats}

    for scenario in SCENARIOS:
        if only and scenario.name[:2] not in only:
            continue
        runs = {
            "bare": scenario.make(bare),
            "otel": scenario.make(otel_observe),
            "brokle": scenario.make(brokle_trace.observe),
        }
        # About `calls` spans per repeat in every scenario: a burst the size the export
        # pipeline is specified for (20 000 spans from a tight loop), not 11x that for S3.
        n = max(1, calls // scenario.spans_per_call)
        if scenario.name[:2] == "S4":
            n = max(1, calls // 4)
        for run in runs.values():  # warm up caches, lazy imports, the worker thread
            run(max(1, n // 20))
        brokle_trace.flush(30)
        provider.force_flush(30_000)

        samples: dict[str, list[float]] = {k: [] for k in runs}
        totals: dict[str, list[float]] = {"otel": [], "brokle": []}
        exported = {"otel": 0, "brokle": 0}
        for _ in range(repeats):
            for key, run in runs.items():
                cpu0 = time.process_time()
                before = (
                    brokle_trace.stats()["exported"] if key == "brokle" else otel_exporter.exported
                )
                thread_cpu, _wall = timed(run, n)
                if key == "brokle":
                    brokle_trace.flush(60)
                    done = brokle_trace.stats()["exported"] - before
                elif key == "otel":
                    provider.force_flush(60_000)
                    done = otel_exporter.exported - before
                else:
                    done = n * scenario.spans_per_call
                spans = n * scenario.spans_per_call
                samples[key].append(thread_cpu / spans * 1e9)
                if key != "bare":
                    totals[key].append((time.process_time() - cpu0) / max(1, done) * 1e9)
                    exported[key] += done
        med = {k: statistics.median(v) for k, v in samples.items()}
        tot = {k: statistics.median(v) for k, v in totals.items()}
        over = {k: max(0.0, med[k] - med["bare"]) for k in ("otel", "brokle")}
        results["scenarios"].append(
            {
                "name": scenario.name,
                "bare_ns": med["bare"],
                "otel_ns": med["otel"],
                "brokle_ns": med["brokle"],
                "otel_overhead_ns": over["otel"],
                "brokle_overhead_ns": over["brokle"],
                "hot_path_ratio": over["brokle"] / over["otel"] if over["otel"] else float("nan"),
                "otel_total_cpu_ns": tot["otel"],
                "brokle_total_cpu_ns": tot["brokle"],
                "total_cpu_ratio": tot["brokle"] / tot["otel"],
                "spans_expected": n * scenario.spans_per_call * repeats,
                "brokle_exported": exported["brokle"],
                "otel_exported": exported["otel"],
            }
        )

    # Counters of the traced runs, before S5 reconfigures (and so replaces) the pipeline.
    results["stats"] = brokle_trace.stats()
    # S5: the same call as S1 with tracing disabled, against the bare call.
    brokle_trace.configure(enabled=False, exporter="none")
    disabled, bare_run = make_s1(brokle_trace.observe), make_s1(bare)
    disabled(calls // 10)
    bare_run(calls // 10)
    dis, b = [], []
    for _ in range(repeats):
        b.append(timed(bare_run, calls)[0] / calls * 1e9)
        dis.append(timed(disabled, calls)[0] / calls * 1e9)
    results["s5"] = {
        "bare_ns": statistics.median(b),
        "disabled_ns": statistics.median(dis),
        "ratio": statistics.median(dis) / statistics.median(b),
    }
    results["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    results["dropped"] = {k: v for k, v in results["stats"]["dropped"].items() if v}
    provider.shutdown()
    return results


BUDGET_HOT = 0.10
BUDGET_TOTAL = 0.25
BUDGET_DISABLED = 3.0


def table(results: dict[str, Any]) -> str:
    rows = [
        "| scenario | bare ns/span | OTel ns/span | brokle ns/span | hot-path overhead ratio "
        "(brokle/OTel) | total CPU ns/span OTel | total CPU ns/span brokle | total CPU ratio "
        "| spans exported |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in results["scenarios"]:
        rows.append(
            f"| {s['name']} | {s['bare_ns']:.0f} | {s['otel_ns']:.0f} | {s['brokle_ns']:.0f} "
            f"| {s['hot_path_ratio']:.3f} | {s['otel_total_cpu_ns']:.0f} "
            f"| {s['brokle_total_cpu_ns']:.0f} | {s['total_cpu_ratio']:.3f} "
            f"| {s['brokle_exported']}/{s['spans_expected']} |"
        )
    s5 = results["s5"]
    rows.append(
        f"| S5 S1 with tracing disabled | {s5['bare_ns']:.0f} | – | {s5['disabled_ns']:.0f} "
        f"| {s5['ratio']:.2f}× bare | – | – | – | – |"
    )
    return "\n".join(rows)


def verdict(results: dict[str, Any]) -> list[str]:
    problems = []
    for s in results["scenarios"]:
        if s["name"][:2] in ("S1", "S2", "S3") and not s["hot_path_ratio"] <= BUDGET_HOT:
            problems.append(f"{s['name']}: hot path {s['hot_path_ratio']:.3f} > {BUDGET_HOT}")
        if s["name"][:2] != "S4" and not s["total_cpu_ratio"] <= BUDGET_TOTAL:
            problems.append(f"{s['name']}: total CPU {s['total_cpu_ratio']:.3f} > {BUDGET_TOTAL}")
        if s["brokle_exported"] != s["spans_expected"]:
            problems.append(f"{s['name']}: exported {s['brokle_exported']}/{s['spans_expected']}")
    s1 = next((s for s in results["scenarios"] if s["name"].startswith("S1")), None)
    s4 = next((s for s in results["scenarios"] if s["name"].startswith("S4")), None)
    if s1 is None or s4 is None:  # --only left one of them out
        results["s4_over_s1"] = float("nan")
    else:
        results["s4_over_s1"] = s4_ratio = s4["brokle_ns"] / s1["brokle_ns"]
        if s4_ratio > 2.0:
            problems.append(f"S4 costs {s4_ratio:.2f}× S1 on the hot path (budget 2×)")
    if results["s5"]["ratio"] > BUDGET_DISABLED:
        problems.append(f"S5 disabled is {results['s5']['ratio']:.2f}× bare (budget 3×)")
    return problems


def _rss_s4() -> dict[str, Any]:
    import subprocess

    script = Path(__file__).with_name("rss_s4.py")
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, check=True, timeout=600
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls (smoke run)")
    parser.add_argument("--calls", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument(
        "--only", default="", help="comma-separated scenarios to run, e.g. S1,S3 (no RSS run)"
    )
    args = parser.parse_args()
    calls = args.calls or (2_000 if args.quick else 20_000)
    only = tuple(part.strip().upper() for part in args.only.split(",") if part.strip())
    results = measure(calls, 3 if args.quick else args.repeats, only)
    problems = verdict(results)
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} cores, {calls} calls x "
        f"{results['repeats']} repeats\n"
    )
    print(table(results))
    print(f"\nS4/S1 hot path (brokle ns/span): {results['s4_over_s1']:.2f}x")
    if only:
        print("\n" + ("\n".join(problems) if problems else "selected scenarios within budget"))
        return 1 if problems else 0
    rss = _rss_s4()
    results["rss_s4"] = rss
    print(
        f"500 S4 calls in a fresh process: peak RSS {rss['peak_rss_mb']} MB, "
        f"{rss['exported']}/500 exported"
    )
    if rss["peak_rss_mb"] >= 100 or rss["exported"] != 500:
        problems.append("S4 RSS/export budget missed")
    print(f"peak RSS: {results['peak_rss_mb']:.0f} MB")
    print(f"dropped during the traced runs: {results['dropped'] or 'none'}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    if problems:
        print("\nOVER BUDGET:\n  " + "\n  ".join(problems))
        return 1
    print("\nall within budget")
    return 0


if __name__ == "__main__":
    sys.exit(main())
