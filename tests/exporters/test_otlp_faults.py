"""OTLP against hostile backends and hostile spans: 413 splits, a slow drip meets the
deadline, a poison span or header fails alone."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

import brokle_trace
from brokle_trace import SpanData, get_current_span, observe
from brokle_trace.exporters.otlp import OTLPExporter
from brokle_trace.typing import ExportResult
from tests.export.faults import assert_accounted, exporter_stats, figure, timed_calls
from tests.export.receiver import Receiver, Reply


def span(i: int, name: str | None = None, **fields: object) -> SpanData:
    return SpanData(
        name=name or f"s{i}",
        trace_id=f"{7:032x}",
        span_id=f"{i + 1:016x}",
        start_time_ns=1,
        end_time_ns=2,
        **fields,  # type: ignore[arg-type]
    )


@pytest.fixture
def nginx() -> Iterator[Receiver]:
    """A collector behind a proxy with a 64 KB body limit (nginx's default is 1 MB)."""
    server = Receiver(max_body=64 * 1024)
    yield server
    server.close()


@observe
def handle(i: int, text: str) -> int:
    return i


# -- 8. a 413 halves the batch ------------------------------------------------------------


def test_a_413_splits_the_batch_down_to_what_the_backend_takes(nginx: Receiver) -> None:
    brokle_trace.configure(exporter="otlp", otlp_endpoint=nginx.url, max_string_length=1000)
    # Incompressible text: gzip cannot bring 512 of these under 64 KB.
    worst = timed_calls(lambda i: handle(i, os.urandom(300).hex()), 3_000, "otlp: 413 splits")
    assert brokle_trace.flush(20.0)
    ids = [s.span_id for s in nginx.spans()]
    assert len(ids) == len(set(ids)) == 3_000
    s = assert_accounted()
    assert s["exported"] == 3_000 and sum(s["dropped"].values()) == 0
    otlp = exporter_stats(s, "OTLPExporter")
    figure(
        "item 8: 3000 spans, 64 KB body limit",
        delivered=len(ids),
        answered_413=nginx.too_large,
        splits=otlp["split_413"],
        requests=otlp["requests"],
        worst_call_s=worst,
    )
    assert nginx.too_large >= 1 and otlp["split_413"] >= 1
    # The limit is learnt: 6 batches of 512 would bounce at least 12 times (213 KB, then
    # 106 KB) if each found it out anew.
    assert nginx.too_large < 6, nginx.too_large
    assert worst < 0.25, worst


def test_a_single_span_over_the_backends_limit_is_dropped_alone(nginx: Receiver) -> None:
    exporter = OTLPExporter(nginx.url, environ={})
    batch = [span(i, input=os.urandom(40).hex()) for i in range(20)]
    batch[7] = span(7, input=os.urandom(60_000).hex())  # ~120 KB, over 64 KB even gzipped
    exporter.export(batch)
    assert sorted(s.name for s in nginx.spans()) == sorted(s.name for s in batch if s.name != "s7")
    assert exporter.take_drops() == {"too_large": 1}


# -- 9. the export timeout is a deadline ---------------------------------------------------


def test_a_slow_drip_response_ends_at_the_export_timeout() -> None:
    # Each byte of the response comes 0.2 s after the last: no single read times out.
    drip = Receiver([Reply(action="drip")], drip_every=0.2)
    try:
        exporter = OTLPExporter(drip.url, timeout=1.0, environ={})
        start = time.monotonic()
        assert exporter.export([span(0)]) is ExportResult.FAILURE
        elapsed = time.monotonic() - start
    finally:
        drip.close()
    assert 0.9 <= elapsed < 1.5, elapsed
    assert exporter.take_drops() == {"export_failed": 1}
    assert "export timeout" in exporter.last_error


# -- 7. a poison span or header fails alone ------------------------------------------------


def test_a_lone_surrogate_in_a_span_name_is_replaced_not_fatal(receiver: Receiver) -> None:
    brokle_trace.configure(exporter="otlp", otlp_endpoint=receiver.url)

    @observe
    def step(i: int) -> None:
        if i == 3:  # a name from os.listdir on a non-UTF-8 filesystem
            get_current_span().update(name=os.fsdecode(b"report-\xe9.csv"))

    for i in range(10):
        step(i)
    assert brokle_trace.flush(5.0)
    names = sorted(s.name for s in receiver.spans())
    assert names == sorted(["step"] * 9 + ["report-\ufffd.csv"])
    assert brokle_trace.stats()["exported"] == 10


def test_a_span_that_cannot_be_encoded_at_all_is_dropped_alone(receiver: Receiver) -> None:
    exporter = OTLPExporter(receiver.url, environ={})
    broken = span(5).model_copy(update={"trace_id": "not-hex"})
    batch = [span(i) for i in range(10)]
    batch[5] = broken
    assert exporter.export(batch) is ExportResult.SUCCESS
    assert len(receiver.spans()) == 9
    assert exporter.take_drops() == {"serialize_error": 1}


def test_a_header_value_outside_latin1_is_replaced_not_fatal(receiver: Receiver) -> None:
    brokle_trace.configure(
        exporter="otlp", otlp_endpoint=receiver.url, otlp_headers={"x-team": "ml \u2014 nlp"}
    )
    handle(1, "x")
    assert brokle_trace.flush(5.0)
    assert brokle_trace.stats()["exported"] == 1
    assert receiver.received[0].headers["x-team"] == "ml ? nlp"
