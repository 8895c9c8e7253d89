"""What every fault test asserts: each span exported or counted, per exporter and in total,
and the caller never slowed down."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

import brokle_trace

#: The slowest single call the fault tests measured, by test (reported by the test run).
WORST_CALLS: dict[str, float] = {}


def assert_accounted(stats: dict[str, Any] | None = None) -> dict[str, Any]:
    """``started == exported + sum(dropped)`` for the pipeline and for every exporter."""
    s = brokle_trace.stats() if stats is None else stats
    assert s["started"] == s["exported"] + sum(s["dropped"].values()), s
    for name, own in s["exporters"].items():
        assert s["started"] == own["exported"] + sum(own["dropped"].values()), (name, own)
    return s


def exporter_stats(stats: dict[str, Any], prefix: str) -> dict[str, Any]:
    """The one exporter entry of ``stats`` whose name starts with ``prefix``."""
    (own,) = [v for k, v in stats["exporters"].items() if k.startswith(prefix)]
    return own


def timed_calls(fn: Callable[[int], object], n: int, label: str) -> float:
    """Call ``fn(i)`` ``n`` times; the slowest call in seconds (kept in ``WORST_CALLS``).

    The objects alive before (the whole test session's) are frozen out of the garbage
    collector meanwhile: a full collection of them is the session's cost, not tracing's.
    """
    worst = 0.0
    clock = time.perf_counter
    gc.collect()
    gc.freeze()
    try:
        for i in range(n):
            start = clock()
            fn(i)
            worst = max(worst, clock() - start)
    finally:
        gc.unfreeze()
    WORST_CALLS[label] = max(worst, WORST_CALLS.get(label, 0.0))
    return worst


def rss_mb() -> float:
    """This process's resident memory, in MB (Linux)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")  # pragma: no cover


def figure(label: str, **values: object) -> None:
    """Print a measured figure when ``BROKLE_FIGURES`` is set (for the change's report)."""
    import os
    import sys

    if os.environ.get("BROKLE_FIGURES"):
        shown = ", ".join(
            f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items()
        )
        print(f"\nFIGURE {label}: {shown}", file=sys.stderr)
