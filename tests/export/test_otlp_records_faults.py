"""The OTLP route from records (span bytes on the worker, framed requests) under the faults
the SpanData route was hardened against: a 413 in the middle of a batch, partial success,
a receiver that resets the connection, a span over the cap, text that cannot be encoded,
mixed third-party spans. Every span arrives once or is counted."""

from __future__ import annotations

import os

import pytest
from opentelemetry.sdk.trace import TracerProvider

import brokle_trace
from brokle_trace import observe
from brokle_trace._export.batches import takes_span_bytes
from brokle_trace._runtime import lifecycle
from tests.export.faults import assert_accounted
from tests.export.receiver import Receiver, Reply, partial_success


@observe
def handle(i: int, text: str) -> str:
    return text


def _configure(url: str, **extra: object) -> None:
    brokle_trace.configure(exporter="otlp", otlp_endpoint=url, otlp_timeout=5, **extra)
    (exporter,) = lifecycle.current_pipeline().exporters
    assert takes_span_bytes(exporter)  # the records route, not SpanData


def _ids(receiver: Receiver) -> list[bytes]:
    return [span.span_id for span in receiver.spans()]


def test_a_413_in_the_middle_of_a_batch_delivers_each_span_once() -> None:
    receiver = Receiver(max_body=20_000)  # gzip cannot squeeze random hex under it
    try:
        _configure(receiver.url, max_string_length=2000)
        for i in range(700):
            handle(i, os.urandom(200).hex() if i % 3 else "short")
        assert brokle_trace.flush(20)
        ids = _ids(receiver)
        assert len(ids) == len(set(ids)) == 700
        assert receiver.too_large >= 1
        stats = assert_accounted()
        assert stats["exported"] == 700
    finally:
        receiver.close()


def test_partial_success_is_counted_from_the_framed_request() -> None:
    receiver = Receiver([Reply(body=partial_success(3, "quota"))])
    try:
        _configure(receiver.url)
        for i in range(10):
            handle(i, "x")
        assert brokle_trace.flush(10)
        stats = assert_accounted()
        assert stats["dropped"]["export_failed"] == 3
        assert stats["exported"] == 7
    finally:
        receiver.close()


def test_a_receiver_that_resets_the_connection_then_recovers() -> None:
    receiver = Receiver([Reply(action="reset"), Reply()])
    try:
        _configure(receiver.url)
        for i in range(50):
            handle(i, "y")
        assert brokle_trace.flush(15)
        stats = assert_accounted()
        assert len(set(_ids(receiver))) == stats["exported"]
        assert stats["exported"] + stats["dropped"]["export_failed"] == 50
    finally:
        receiver.close()


def test_a_huge_value_over_the_cap_is_dropped_alone() -> None:
    receiver = Receiver()
    try:
        _configure(receiver.url, otlp_max_request_bytes=64_000, max_string_length=1_000_000)
        handle(0, "z" * 500_000)
        for i in range(1, 20):
            handle(i, "ok")
        assert brokle_trace.flush(10)
        stats = assert_accounted()
        assert stats["dropped"]["too_large"] == 1
        assert len(_ids(receiver)) == stats["exported"] == 19
    finally:
        receiver.close()


@pytest.mark.usefixtures("lenient")
def test_a_value_that_cannot_be_encoded_takes_the_cleaning_route() -> None:
    receiver = Receiver()
    try:
        _configure(receiver.url)
        handle(1, "bad \udc80 surrogate")  # os.listdir on a non-UTF-8 name gives these
        handle(2, "fine")
        assert brokle_trace.flush(10)
        spans = receiver.spans()
        assert len(spans) == 2
        values = [
            attr.value.string_value
            for span in spans
            for attr in span.attributes
            if attr.key == "output.value"
        ]
        assert "fine" in values and any(v.startswith("bad ") for v in values)
        assert assert_accounted()["exported"] == 2
    finally:
        receiver.close()


def test_third_party_spans_travel_with_ours_in_their_own_scope() -> None:
    receiver = Receiver()
    try:
        _configure(receiver.url)
        provider = TracerProvider()
        provider.add_span_processor(brokle_trace.span_processor())
        tracer = provider.get_tracer("openinference.instrumentation.openai", "0.1")

        @observe
        def agent() -> str:
            with tracer.start_as_current_span("ChatCompletion") as theirs:
                theirs.set_attribute("llm.model_name", "gpt-4o")
                theirs.set_attribute("custom.flag", True)
            return handle(0, "done")

        agent()
        assert brokle_trace.flush(10)
        scopes = {
            ss.scope.name: [s.name for s in ss.spans]
            for received in receiver.received
            for rs in received.request.resource_spans
            for ss in rs.scope_spans
        }
        assert scopes["openinference.instrumentation.openai"] == ["ChatCompletion"]
        assert sorted(scopes["brokle_trace"]) == ["agent", "handle"]
        (theirs,) = [s for s in receiver.spans() if s.name == "ChatCompletion"]
        keys = {a.key for a in theirs.attributes}
        assert {"llm.model_name", "custom.flag", "openinference.span.kind"} <= keys
    finally:
        receiver.close()
