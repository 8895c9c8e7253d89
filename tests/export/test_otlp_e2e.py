"""Spans traced with the decorators reach a real OTLP/HTTP receiver, decoded with the
OpenTelemetry proto package: the tree, the ids and the attributes both kinds of GenAI-aware
backend read."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import brokle_trace
from brokle_trace import get_current_span, observe, observe_llm, observe_retrieval
from tests.export.receiver import Receiver, attrs


@pytest.fixture
def otlp(receiver: Receiver) -> Iterator[Receiver]:
    brokle_trace.configure(
        exporter="otlp",
        otlp_endpoint=receiver.url,
        api_key="sk-test-SECRET-123",
        otlp_headers="x-team=ml",
        service_name="checkout",
        environment="staging",
        release="1.4.2",
        strict=True,
    )
    yield receiver
    brokle_trace.shutdown(2.0)


def test_tree_ids_and_attributes_round_trip(otlp: Receiver) -> None:
    @observe_retrieval(name="search", index_name="company_docs", top_k=5)
    def search(q: str) -> list[str]:
        return ["doc1", "doc2"]

    @observe_llm(name="answer", model="gpt-4o", provider="openai")
    def answer(q: str, docs: list[str]) -> str:
        get_current_span().update(usage={"input_tokens": 12, "output_tokens": 7})
        return "42"

    @observe(name="pipeline", user_id="u1", session_id="s1", tags=["prod"], metadata={"v": 2})
    def pipeline(q: str) -> str:
        ids.append((get_current_span().trace_id, get_current_span().span_id))
        return answer(q, search(q))

    ids: list[tuple[str, str]] = []
    assert pipeline("what?") == "42"
    assert brokle_trace.flush(5.0)

    spans = {s.name: s for s in otlp.spans()}
    assert set(spans) == {"pipeline", "search", "answer"}
    root, llm, ret = spans["pipeline"], spans["answer"], spans["search"]
    trace_id, span_id = ids[0]
    assert root.trace_id.hex() == trace_id and root.span_id.hex() == span_id
    assert root.parent_span_id == b""
    assert llm.parent_span_id == root.span_id and ret.parent_span_id == root.span_id
    assert {s.trace_id for s in spans.values()} == {root.trace_id}

    a = attrs(llm.attributes)
    assert a["openinference.span.kind"] == "LLM"
    assert a["gen_ai.operation.name"] == "chat"
    assert a["gen_ai.request.model"] == "gpt-4o" and a["llm.model_name"] == "gpt-4o"
    assert a["gen_ai.provider.name"] == "openai" and a["llm.provider"] == "openai"
    assert a["gen_ai.usage.input_tokens"] == 12 and a["gen_ai.usage.output_tokens"] == 7
    assert a["llm.token_count.prompt"] == 12 and a["llm.token_count.total"] == 19
    assert a["output.value"] == "42" and a["output.mime_type"] == "text/plain"
    assert a["user.id"] == "u1" and a["session.id"] == "s1"
    assert "gen_ai.system" not in a and "gen_ai.usage.prompt_tokens" not in a
    assert llm.kind == llm.SPAN_KIND_CLIENT

    r = attrs(ret.attributes)
    assert r["openinference.span.kind"] == "RETRIEVER"
    assert r["gen_ai.data_source.id"] == "company_docs" and r["gen_ai.request.top_k"] == 5

    p = attrs(root.attributes)
    assert p["openinference.span.kind"] == "CHAIN"
    assert p["tag.tags"] == ["prod"]
    assert p["input.mime_type"] == "application/json" and '"what?"' in p["input.value"]

    resource = otlp.resources()[0]
    assert resource["service.name"] == "checkout"
    assert resource["deployment.environment.name"] == "staging"
    assert resource["service.version"] == "1.4.2"

    headers = {k.lower(): v for k, v in otlp.received[0].headers.items()}
    assert headers["authorization"] == "Bearer sk-test-SECRET-123"
    assert headers["x-team"] == "ml"
    assert headers["content-encoding"] == "gzip"
    assert headers["content-type"] == "application/x-protobuf"


def test_error_span_has_status_and_exception_event(otlp: Receiver) -> None:
    @observe
    def boom() -> None:
        raise ValueError("bad input")

    with pytest.raises(ValueError):
        boom()
    assert brokle_trace.flush(5.0)
    (span,) = otlp.spans()
    assert span.status.code == span.status.STATUS_CODE_ERROR
    assert span.status.message == "bad input"
    (event,) = span.events
    ev = attrs(event.attributes)
    assert event.name == "exception"
    assert ev["exception.type"] == "ValueError" and "bad input" in ev["exception.stacktrace"]


def test_core_attributes_survive_the_attribute_limit(receiver: Receiver) -> None:
    # max_items raised so capture keeps all 300 attributes and the OTLP limit is what cuts.
    brokle_trace.configure(exporter="otlp", otlp_endpoint=receiver.url, max_items=1000, strict=True)
    otlp = receiver

    @observe_llm(model="gpt-4o", provider="openai")
    def chatty() -> str:
        get_current_span().update(attributes={f"custom.{i:03d}": i for i in range(300)})
        return "ok"

    chatty()
    assert brokle_trace.flush(5.0)
    (span,) = otlp.spans()
    a = attrs(span.attributes)
    kept_custom = sum(k.startswith("custom.") for k in a)
    assert len(a) == 128
    assert span.dropped_attributes_count == 300 - kept_custom
    for key in (
        "gen_ai.request.model",
        "gen_ai.provider.name",
        "openinference.span.kind",
        "gen_ai.operation.name",
        "llm.model_name",
        "output.value",
    ):
        assert key in a


def test_api_key_never_appears_in_logs_repr_or_stats(
    otlp: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    from brokle_trace._runtime import lifecycle as _lifecycle

    otlp.replies = [__import__("tests.export.receiver", fromlist=["Reply"]).Reply(401)]

    @observe
    def step() -> None:
        pass

    step()
    brokle_trace.flush(5.0)
    pipeline = _lifecycle.current_pipeline()
    text = " ".join(
        [
            caplog.text,
            repr(pipeline.exporters),
            repr(brokle_trace.stats()),
            repr(_lifecycle._settings),
        ]
    )
    assert "401" in caplog.text  # the failure is logged...
    assert "SECRET" not in text  # ...but never the key


@pytest.mark.parametrize("route", ["direct", "reference"])
def test_attributes_cut_at_max_items_are_counted_as_dropped(receiver: Receiver, route: str) -> None:
    # OTLP's dropped_attributes_count is what a backend shows as "attributes discarded"; the
    # cut at max_items (capture's) was only said in a "[TRUNCATED]" attribute, counted 0,
    # on both encoders, for our spans (static or set per call) and third-party ones alike.
    from opentelemetry.sdk.trace import TracerProvider

    from brokle_trace.testing import InMemoryExporter

    # Another exporter beside OTLP: spans go through SpanData and the reference encoder.
    others = [InMemoryExporter()] if route == "reference" else []
    brokle_trace.configure(
        exporter="otlp", exporters=others, otlp_endpoint=receiver.url, strict=True
    )

    @observe(name="static", attributes={f"s.{i}": i for i in range(120)})
    def static() -> int:
        return 1

    @observe(name="per-call")
    def per_call() -> int:
        get_current_span().update(attributes={f"d.{i}": i for i in range(130)})
        return 2

    static()
    per_call()
    provider = TracerProvider()
    provider.add_span_processor(brokle_trace.span_processor())
    tracer = provider.get_tracer("openinference.instrumentation.openai")
    tracer.start_span("third-party", attributes={f"t.{i}": i for i in range(110)}).end()
    assert brokle_trace.flush(5.0)
    spans = {s.name: s for s in receiver.spans()}
    assert set(spans) == {"static", "per-call", "third-party"}
    for span in spans.values():
        marker = attrs(span.attributes)["[TRUNCATED]"]
        omitted = int(marker.split()[1])  # "[TRUNCATED: N more of M keys]"
        assert omitted > 0 and span.dropped_attributes_count == omitted, span.name
