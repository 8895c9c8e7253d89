"""Requests are capped in bytes before compression: batches split, oversized spans dropped."""

from __future__ import annotations

import brokle_trace
from brokle_trace import SpanData, observe
from brokle_trace.exporters.otlp import OTLPExporter
from brokle_trace.typing import ExportResult
from tests.export.receiver import Receiver


def span(i: int, payload: int) -> SpanData:
    return SpanData(
        name=f"s{i}",
        trace_id=f"{7:032x}",
        span_id=f"{i + 1:016x}",
        start_time_ns=1,
        end_time_ns=2,
        input="x" * payload,
    )


def test_batch_over_the_cap_is_split_into_requests_under_it(receiver: Receiver) -> None:
    cap = 20_000
    exp = OTLPExporter(receiver.url, max_request_bytes=cap, environ={})
    batch = [span(i, 3_000) for i in range(20)]  # ~60 KB in all
    assert exp.export(batch) is ExportResult.SUCCESS
    assert len(receiver.received) >= 3
    assert all(r.raw_size <= cap for r in receiver.received)
    assert sorted(s.name for s in receiver.spans()) == sorted(s.name for s in batch)
    assert exp.take_drops() == {}


def test_single_span_over_the_cap_is_dropped_and_counted_not_blocking(
    receiver: Receiver,
) -> None:
    exp = OTLPExporter(receiver.url, max_request_bytes=10_000, environ={})
    batch = [span(0, 100), span(1, 50_000), span(2, 100)]
    assert exp.export(batch) is ExportResult.SUCCESS
    assert sorted(s.name for s in receiver.spans()) == ["s0", "s2"]
    assert exp.take_drops() == {"too_large": 1}
    assert exp.counters["too_large"] == 1


def test_too_large_reaches_the_pipeline_counters(receiver: Receiver) -> None:
    brokle_trace.configure(
        exporter="otlp",
        otlp_endpoint=receiver.url,
        otlp_max_request_bytes=5_000,
        max_string_length=100_000,
        max_bytes=1_000_000,
    )

    @observe
    def big(text: str) -> int:
        return len(text)

    big("y" * 20_000)
    big("small")
    assert brokle_trace.flush(3.0)
    s = brokle_trace.stats()
    assert s["dropped"]["too_large"] == 1 and s["exported"] == 1
    assert [sp.name for sp in receiver.spans()] == ["big"]
