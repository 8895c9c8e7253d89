"""span_processor() in the user's own TracerProvider: their exporters keep the originals."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, Status, StatusCode

import brokle_trace
from brokle_trace import observe, trace_context
from brokle_trace.testing._fake_server import FakeLLMServer
from tests.export.receiver import attrs
from tests.instrumentors.conftest import (
    OPENAI_KEY,
    PASSWORD,
    Exported,
    by_id,
    check_exported_once,
)


@pytest.fixture
def theirs() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    provider = TracerProvider()
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    provider.add_span_processor(brokle_trace.span_processor())
    yield provider, memory
    provider.shutdown()


def test_instrumentor_on_users_provider(
    theirs: tuple[TracerProvider, InMemorySpanExporter],
    server: FakeLLMServer,
    exported: Exported,
) -> None:
    from openinference.instrumentation.openai import OpenAIInstrumentor

    provider, memory = theirs
    inst = OpenAIInstrumentor()
    inst.instrument(tracer_provider=provider)
    try:
        client = openai.OpenAI(base_url=server.url + "/v1", api_key=OPENAI_KEY)

        @observe
        def ask() -> str:
            reply = client.chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": f"hi password={PASSWORD}"}],
            )
            return reply.choices[0].message.content or ""

        with trace_context(user_id="user-7", session_id="sess-42"):
            ask()
    finally:
        inst.uninstrument()
    (original,) = memory.get_finished_spans()
    # Their exporter receives the span exactly as the instrumentor wrote it.
    assert PASSWORD in str(original.attributes["llm.input_messages.0.message.content"])
    assert "brokle.cost.total_usd" not in original.attributes
    spans = check_exported_once(exported)
    (llm,) = [s for s in spans if s.name == "ChatCompletion"]
    assert by_id(spans)[llm.parent_span_id].name == "ask"
    assert llm.span_id == f"{original.context.span_id:016x}"
    assert (llm.type, llm.user_id) == ("llm", "user-7")
    assert llm.attributes["brokle.cost.total_usd"] > 0
    exported.assert_no_secrets()


def test_manual_span_every_text_redacted(
    theirs: tuple[TracerProvider, InMemorySpanExporter], exported: Exported
) -> None:
    provider, memory = theirs
    tracer = provider.get_tracer("my.app", "1.2.3")
    secret_url = f"https://admin:{PASSWORD}@db.internal/x"
    with tracer.start_as_current_span("warmup"):
        pass
    warm = memory.get_finished_spans()[0]
    with tracer.start_as_current_span(
        f"GET {secret_url}",
        attributes={"db.password": PASSWORD, "http.request.header.authorization": "Bearer x"},
        links=[Link(warm.context, {"api_key": OPENAI_KEY})],
    ) as span:
        span.add_event("retry", {"note": f"token={OPENAI_KEY}", "attempt": 2})
        span.record_exception(RuntimeError(f"connect {secret_url} failed"))
        span.set_status(Status(StatusCode.ERROR, f"password={PASSWORD}"))
    spans = check_exported_once(exported)
    (ours,) = [s for s in spans if s.start_time_ns != 0 and s.name.startswith("GET")]
    assert ours.status == "error"
    assert ours.error is not None and ours.error.type == "RuntimeError"
    assert ours.attributes["db.password"].startswith("[REDACTED")
    assert ours.attributes["otel.scope.name"] == "my.app"
    (event,) = ours.attributes["brokle.otel.events"]
    assert event["name"] == "retry" and event["attributes"]["attempt"] == 2
    (link,) = ours.attributes["brokle.otel.links"]
    assert link["span_id"] == f"{warm.context.span_id:016x}"
    # Over OTLP: its own scope, event and link, not attributes.
    sent = {s.span_id.hex(): s for s in exported.otlp()}[ours.span_id]
    assert [e.name for e in sent.events] == ["retry", "exception"]
    assert attrs(sent.events[0].attributes)["attempt"] == 2
    assert sent.links[0].span_id.hex() == link["span_id"]
    assert "brokle.otel.events" not in attrs(sent.attributes)
    with exported.receiver.lock:
        scopes = [
            ss.scope.name
            for r in exported.receiver.received
            for rs in r.request.resource_spans
            for ss in rs.scope_spans
        ]
    assert "my.app" in scopes
    exported.assert_no_secrets()


def test_sampled_out_traces_record_no_foreign_span(
    theirs: tuple[TracerProvider, InMemorySpanExporter], tmp_path: Any
) -> None:
    memory = brokle_trace.testing.InMemoryExporter()
    brokle_trace.configure(exporter="none", exporters=[memory], sample_rate=0.0, strict=True)
    try:
        user_provider, _ = theirs
        ours = brokle_trace.tracer_provider().get_tracer("t")
        users = user_provider.get_tracer("u")
        before = brokle_trace.stats()["dropped"]["sampled_out"]

        @observe
        def traced() -> None:
            with ours.start_as_current_span("child-of-ours"):
                pass
            with users.start_as_current_span("child-on-their-provider"):
                pass

        traced()
        with ours.start_as_current_span("foreign-root"):
            pass
        with users.start_as_current_span("their-root"):  # their sampler keeps it; we don't
            pass
        brokle_trace.flush(5)
        assert memory.spans == []
        assert brokle_trace.stats()["dropped"]["sampled_out"] - before >= 2
    finally:
        brokle_trace.configure(exporter="none", strict=True)
