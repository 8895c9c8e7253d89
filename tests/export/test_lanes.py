"""One sick exporter never starves another: each has its own slice of the queue and pace."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

import brokle_trace
from brokle_trace import SpanData, observe
from brokle_trace.testing import FunctionExporter, InMemoryExporter
from tests.export.faults import assert_accounted, exporter_stats, figure, timed_calls
from tests.export.receiver import Receiver, Reply, closed_port


@observe
def handle(i: int) -> int:
    return i


def lines_of(path: Path) -> list[str]:
    return path.read_text().splitlines()


@pytest.mark.usefixtures("lenient")
def test_a_blackholed_collector_never_starves_the_file(tmp_path: Path) -> None:
    # Accepts connections and never answers: every OTLP request waits out its timeout.
    blackhole = Receiver([Reply(action="hang")])
    path = tmp_path / "t.jsonl"
    try:
        brokle_trace.configure(
            exporter=["jsonl", "otlp"],
            traces_file=path,
            otlp_endpoint=blackhole.url,
            otlp_timeout=1.0,
        )
        worst = timed_calls(handle, 20_000, "lanes: blackholed collector + file")
        # The file keeps up while every OTLP request hangs: all of it lands before any
        # shutdown (polled: on a loaded machine the last batches take a moment).
        until = time.monotonic() + 30
        while len(lines_of(path)) < 20_000 and time.monotonic() < until:
            time.sleep(0.05)
        start = time.monotonic()
        brokle_trace.shutdown(2.0)
        assert time.monotonic() - start < 3.0
    finally:
        blackhole.close()
    ids = [line.split('"span_id":"')[1][:16] for line in lines_of(path)]
    assert len(ids) == len(set(ids)) == 20_000  # the file kept up, no duplicate
    s = assert_accounted()
    assert exporter_stats(s, "JsonlExporter")["exported"] == 20_000
    otlp = exporter_stats(s, "OTLPExporter")
    assert otlp["exported"] == 0 and sum(otlp["dropped"].values()) == 20_000
    assert {k for k, v in otlp["dropped"].items() if v} <= {"export_failed", "shutdown"}
    assert s["exported"] == 0  # not delivered to every exporter
    figure(
        "item 6: jsonl + blackholed otlp, 20000 spans",
        file_lines=len(ids),
        otlp_dropped=otlp["dropped"],
        worst_call_s=worst,
    )
    assert worst < 0.25, worst


def test_a_collector_down_then_up_gets_every_span_once(tmp_path: Path) -> None:
    port = closed_port()
    path = tmp_path / "t.jsonl"
    brokle_trace.configure(
        exporter=["jsonl", "otlp"],
        traces_file=path,
        otlp_endpoint=f"http://127.0.0.1:{port}",
        otlp_timeout=10.0,
        max_export_batch_size=256,
    )
    worst = timed_calls(handle, 3_000, "lanes: collector down then up")
    # The file gets everything while OTLP is still retrying its first batch (its collector
    # is not even listening yet); polled, as the file lane's pace depends on the machine's load.
    deadline = time.monotonic() + 10.0
    while len(lines_of(path)) < 3_000 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(lines_of(path)) == 3_000
    collector = Receiver(port=port)  # back up: the retries (1 s, 2 s, ...) now land
    try:
        assert brokle_trace.flush(15.0)
        names = [span.span_id for span in collector.spans()]
        assert len(names) == len(set(names)) == 3_000
    finally:
        collector.close()
    s = assert_accounted()
    assert s["exported"] == 3_000 and sum(s["dropped"].values()) == 0
    figure(
        "item 6: collector down then up, 3000 spans", delivered_once=len(names), worst_call_s=worst
    )
    assert worst < 0.25, worst


@pytest.mark.usefixtures("lenient")
def test_a_stuck_exporter_overflows_its_own_share_only() -> None:
    release = threading.Event()

    def stuck(spans: Sequence[SpanData]) -> None:
        release.wait(60)  # released below; a shorter wait let one batch through when slow

    memory = InMemoryExporter()
    brokle_trace.configure(
        exporter="none",
        exporters=[FunctionExporter(stuck), memory],
        max_queue_size=4_000,  # a slice of 2 000 spans each
        max_export_batch_size=100,
        exporter_timeout=30.0,
    )
    for _ in range(12):
        timed_calls(handle, 500, "lanes: stuck exporter")
        time.sleep(0.02)  # let the worker move the spans on: the memory exporter keeps up
    assert not brokle_trace.flush(0.5)  # the stuck exporter has not got to the marker
    assert len(memory.spans) == 6_000
    s = brokle_trace.stats()
    own = exporter_stats(s, "FunctionExporter")
    assert 0 < own["queued"] <= 2_000 + 100
    assert own["exported"] == 0
    assert own["dropped"]["queue_full"] == 6_000 - own["queued"]
    assert exporter_stats(s, "InMemoryExporter")["dropped"]["queue_full"] == 0
    release.set()
    assert brokle_trace.flush(5.0)
    s = assert_accounted()
    assert exporter_stats(s, "FunctionExporter")["exported"] == own["queued"]
    assert s["exported"] == own["queued"] and s["dropped"]["queue_full"] == 6_000 - own["queued"]
