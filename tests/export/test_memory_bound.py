"""A dead backend under sustained load: memory stays bounded, every loss is counted."""

from __future__ import annotations

import gc
import time

import pytest

import brokle_trace
from brokle_trace import observe
from brokle_trace.testing import FunctionExporter
from tests.export.faults import assert_accounted, figure
from tests.export.receiver import Receiver, Reply, closed_port


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


# -- what queued spans keep alive --------------------------------------------------------------

SHARED = 0.125  # one float object: the embeddings below are lists of references to it


def retrieved() -> list[dict[str, object]]:
    """What a RAG app passes: 100 fresh documents with a 1536-dimension embedding each, about
    1.3 MB in Python objects that only the span refers to once the call returns; encoded,
    the capture limits cut it to ~60 KB."""
    return [{"id": i, "text": f"chunk {i}", "embedding": [SHARED] * 1536} for i in range(100)]


@observe
def answer(question: str, documents: list[dict[str, object]]) -> str:
    return question


def _feed(seconds: float) -> tuple[float, int]:
    for _ in range(40):  # warm up: the worker thread, lazy imports, first conversions
        answer("q", retrieved())
    time.sleep(0.3)
    gc.collect()
    base = peak = rss_mb()
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        answer("q", retrieved())
        n += 1
        if n % 20 == 0:
            peak = max(peak, rss_mb())
    return peak - base, n


@pytest.mark.usefixtures("lenient")
def test_a_dead_backend_and_spans_pinning_user_objects_hold_the_bound() -> None:
    blackhole = Receiver([Reply(action="hang")])
    try:
        brokle_trace.configure(
            exporter="otlp",
            otlp_endpoint=blackhole.url,
            otlp_timeout=0.5,
            max_queue_bytes=32 * 1024 * 1024,
        )
        grew, n = _feed(2.5)
        brokle_trace.shutdown(0.5)
    finally:
        blackhole.close()
    figure(
        "item 10: dead backend, 1.3 MB pinned per span, 32 MiB bound", rss_growth_mb=grew, spans=n
    )
    # Before: hundreds of queued spans each pinning 1.3 MB (+415 MB here, 617 MB reported).
    assert grew < 64, (grew, n)  # 32 MiB of queue, at most, and some slack
    assert n > 200  # the load was sustained
    assert_accounted()


@pytest.mark.usefixtures("lenient")
def test_a_busy_worker_counts_what_queued_spans_keep_alive() -> None:
    # An exporter that never blocks but is slow: the worker itself falls behind, so spans
    # wait in the queue with the documents their snapshots refer to.
    slow = FunctionExporter(lambda spans: time.sleep(0.02), export_inline=True)
    brokle_trace.configure(exporter="none", exporters=[slow], max_queue_bytes=32 * 1024 * 1024)
    grew, n = _feed(2.5)
    s = brokle_trace.stats()
    figure(
        "item 10: busy worker, 1.3 MB pinned per span, 32 MiB bound",
        rss_growth_mb=grew,
        spans=n,
        queue_limit=s["queue_limit"],
    )
    assert s["queue_limit"] < 60, s["queue_limit"]  # ~32 MiB / 1.3 MB, not 32 MiB / 60 KB
    assert grew < 64, (grew, n)  # 32 MiB of queue, at most, and some slack
    brokle_trace.shutdown(2.0)
    s = assert_accounted()
    assert s["dropped"]["queue_full"] > 0 and s["exported"] > 0
