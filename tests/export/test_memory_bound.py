"""A dead backend under sustained load: memory stays bounded, every loss is counted."""

from __future__ import annotations

import gc
import time

import pytest

import brokle_trace
from brokle_trace import observe
from tests.export.receiver import closed_port


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")  # pragma: no cover


@observe
def handle(text: str) -> str:
    return text


@pytest.mark.usefixtures("lenient")
def test_dead_backend_keeps_memory_bounded() -> None:
    brokle_trace.configure(
        exporter="otlp",
        otlp_endpoint=f"http://127.0.0.1:{closed_port()}",
        otlp_timeout=0.2,
        max_queue_bytes=8 * 1024 * 1024,
    )
    started_before = brokle_trace.stats()["started"]  # process-wide; counters are per pipeline
    payload = "z" * 3000
    for i in range(2000):
        handle(payload + str(i))
    time.sleep(0.3)  # let the worker measure span sizes once
    gc.collect()
    base = rss_mb()
    peak = base
    end = time.monotonic() + 2.5
    i = 0
    while time.monotonic() < end:
        handle(payload + str(i))
        i += 1
        if i % 2000 == 0:
            peak = max(peak, rss_mb())
    s = brokle_trace.stats()
    # ~8 MB of encoded spans, a few times that in Python objects: far from the ~100 000
    # spans (~700 MB) the count bound alone would allow.
    assert peak - base < 80, (peak - base, i, s["queue_limit"])
    assert s["queue_limit"] < 4000
    assert s["dropped"]["queue_full"] > 0 and s["dropped"]["export_failed"] > 0
    assert i > 20_000  # the load was sustained
    brokle_trace.shutdown(0.5)
    s = brokle_trace.stats()
    assert s["exported"] == 0
    assert sum(s["dropped"].values()) == s["started"] - started_before, s
