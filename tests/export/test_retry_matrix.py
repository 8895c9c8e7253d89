"""The OTLP/HTTP retry rules against a real loopback server: every status and network fault.

Each case scripts the server's replies, sends one batch of 5 spans through ``OTLPExporter``
(short backoff, short timeout) and checks: the result, how many requests reached the server,
that the total time stayed within the export timeout, and the exporter's counters.
"""

from __future__ import annotations

import time
from email.utils import formatdate

import pytest

from brokle_trace import SpanData
from brokle_trace.exporters.otlp import OTLPExporter
from brokle_trace.typing import ExportResult
from tests.export.receiver import Receiver, Reply, closed_port, partial_success

TIMEOUT = 1.0


def spans(n: int = 5) -> list[SpanData]:
    return [
        SpanData(
            name=f"s{i}",
            trace_id=f"{1:032x}",
            span_id=f"{i + 1:016x}",
            start_time_ns=1_000,
            end_time_ns=2_000,
        )
        for i in range(n)
    ]


def exporter(url: str, timeout: float = TIMEOUT) -> OTLPExporter:
    return OTLPExporter(url, timeout=timeout, backoff_initial=0.02, backoff_max=0.1, environ={})


def run(
    replies: list[Reply], timeout: float = TIMEOUT
) -> tuple[ExportResult, Receiver, float, OTLPExporter]:
    server = Receiver(replies)
    try:
        exp = exporter(server.url, timeout)
        start = time.monotonic()
        result = exp.export(spans())
        elapsed = time.monotonic() - start
        exp.shutdown()
    finally:
        server.close()
    return result, server, elapsed, exp


def test_200_delivers_in_one_request() -> None:
    result, server, _, exp = run([Reply(200)])
    assert result is ExportResult.SUCCESS
    assert server.attempts == 1 and len(server.spans()) == 5
    assert exp.counters["spans_sent"] == 5 and exp.take_drops() == {}


def test_partial_success_counts_the_rejected_spans() -> None:
    result, server, _, exp = run([Reply(200, body=partial_success(2, "bad attribute"))])
    assert result is ExportResult.SUCCESS
    assert server.attempts == 1
    assert exp.counters["rejected"] == 2 and exp.counters["spans_sent"] == 3
    assert exp.take_drops() == {"export_failed": 2}


# 413 is not retried as is either: the request is split (tests/exporters/test_otlp_faults.py).
@pytest.mark.parametrize("status", [400, 401, 403, 404, 408, 500])
def test_other_statuses_are_never_retried(status: int) -> None:
    result, server, elapsed, exp = run([Reply(status), Reply(200)])
    assert result is ExportResult.FAILURE
    assert server.attempts == 1
    assert elapsed < 0.5
    assert exp.counters["failed_requests"] == 1
    assert exp.take_drops() == {"export_failed": 5}


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_retryable_statuses_are_retried_with_backoff(status: int) -> None:
    result, server, elapsed, exp = run([Reply(status), Reply(status), Reply(200)])
    assert result is ExportResult.SUCCESS
    assert server.attempts == 3 and len(server.spans()) == 5
    assert exp.counters["attempts"] == 3 and exp.counters["requests"] == 1
    # Two backoffs of ~0.02 s and ~0.04 s (+-20 %), nowhere near the timeout.
    assert 0.025 <= elapsed < 0.5


def test_retryable_status_forever_gives_up_within_the_timeout() -> None:
    result, server, elapsed, exp = run([Reply(503)], timeout=0.5)
    assert result is ExportResult.FAILURE
    assert server.attempts >= 3
    assert elapsed <= 0.5 + 0.1
    assert exp.take_drops() == {"export_failed": 5}


def test_retry_after_seconds_is_honoured() -> None:
    result, server, elapsed, _ = run([Reply(429, {"Retry-After": "1"}), Reply(200)], timeout=3)
    assert result is ExportResult.SUCCESS and server.attempts == 2
    assert 0.95 <= elapsed < 2.0


def test_retry_after_past_the_deadline_fails_at_once() -> None:
    result, server, elapsed, _ = run([Reply(429, {"Retry-After": "60"}), Reply(200)])
    assert result is ExportResult.FAILURE and server.attempts == 1
    assert elapsed < 0.3


def test_retry_after_http_date_in_the_past_retries_now() -> None:
    past = formatdate(time.time() - 3600, usegmt=True)
    result, server, elapsed, _ = run([Reply(503, {"Retry-After": past}), Reply(200)])
    assert result is ExportResult.SUCCESS and server.attempts == 2
    assert elapsed < 0.3


def test_retry_after_http_date_in_the_future_is_honoured() -> None:
    # One hour ahead is past the deadline: the exporter must give up at once rather than
    # sleep through its timeout (proof that the date was parsed, not ignored).
    future = formatdate(time.time() + 3600, usegmt=True)
    result, server, elapsed, _ = run([Reply(503, {"Retry-After": future}), Reply(200)])
    assert result is ExportResult.FAILURE and server.attempts == 1
    assert elapsed < 0.3


def test_retry_after_garbage_falls_back_to_backoff() -> None:
    result, server, elapsed, _ = run([Reply(429, {"Retry-After": "soon-ish"}), Reply(200)])
    assert result is ExportResult.SUCCESS and server.attempts == 2
    assert elapsed < 0.3


def test_connection_refused_is_retried_until_the_timeout() -> None:
    exp = exporter(f"http://127.0.0.1:{closed_port()}", timeout=0.5)
    start = time.monotonic()
    result = exp.export(spans())
    elapsed = time.monotonic() - start
    assert result is ExportResult.FAILURE
    assert exp.counters["attempts"] >= 3
    assert elapsed <= 0.6
    assert exp.take_drops() == {"export_failed": 5}


def test_connection_reset_is_retried() -> None:
    result, server, _, exp = run([Reply(action="reset"), Reply(200)])
    assert result is ExportResult.SUCCESS
    assert server.attempts == 2 and len(server.spans()) == 5
    assert exp.counters["attempts"] == 2


def test_server_that_never_answers_times_out() -> None:
    result, server, elapsed, exp = run([Reply(action="hang")], timeout=0.5)
    assert result is ExportResult.FAILURE
    assert server.attempts == 1
    assert 0.45 <= elapsed <= 0.7
    assert exp.take_drops() == {"export_failed": 5}


def test_keep_alive_connection_is_reused() -> None:
    server = Receiver([Reply(200)])
    try:
        exp = exporter(server.url)
        for _ in range(3):
            assert exp.export(spans()) is ExportResult.SUCCESS
        conn = exp._sender._conn
        assert conn is not None and conn.sock is not None
        exp.shutdown()
    finally:
        server.close()
    assert server.attempts == 3
