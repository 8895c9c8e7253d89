"""The httpx instrumentor through tracer_provider(); suppression honoured both ways."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import httpx
import pytest
from opentelemetry import context as otel_context
from opentelemetry.instrumentation.utils import suppress_instrumentation

import brokle_trace
from brokle_trace import SpanData, observe, trace_context
from brokle_trace.exporters._encode import encode_request
from brokle_trace.exporters._readable import ResourceCache
from brokle_trace.testing._fake_server import FakeLLMServer
from brokle_trace.typing import ExportResult
from tests.export.receiver import Receiver
from tests.instrumentors.conftest import OPENAI_KEY, Exported, check_exported_once


@pytest.fixture
def instrumented() -> Iterator[None]:
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    inst = HTTPXClientInstrumentor()
    inst.instrument(tracer_provider=brokle_trace.tracer_provider())
    try:
        yield
    finally:
        inst.uninstrument()


def _body() -> dict[str, object]:
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


def test_http_span_joins_our_trace_redacted(
    instrumented: None, server: FakeLLMServer, exported: Exported
) -> None:
    @observe
    def call_api() -> int:
        with httpx.Client() as client:
            url = f"{server.url}/v1/chat/completions?api_key={OPENAI_KEY}"
            return client.post(url, json=_body()).status_code

    with trace_context(user_id="user-7", session_id="sess-42"):
        assert call_api() == 200
    spans = check_exported_once(exported)
    (http,) = [s for s in spans if s.attributes.get("otel.scope.name", "").endswith("httpx")]
    (root,) = [s for s in spans if s.name == "call_api"]
    assert http.parent_span_id == root.span_id
    assert (http.type, http.user_id, http.session_id) == ("span", "user-7", "sess-42")
    assert http.attributes["brokle.otel.kind"] == "client"
    at = http.attributes
    status = at.get("http.response.status_code", at.get("http.status_code"))
    assert status == 200  # the instrumentation's own attribute (old or new HTTP conventions)
    (sent,) = [s for s in exported.otlp() if s.span_id.hex() == http.span_id]
    assert sent.kind == sent.SPAN_KIND_CLIENT
    exported.assert_no_secrets()


class HttpxExporter:
    """A user's exporter that sends with httpx: the client we instrumented."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.calls = 0
        self.resources = ResourceCache()

    def export(self, spans: Sequence[SpanData]) -> ExportResult:
        self.calls += 1
        body = encode_request(spans, self.resources).SerializeToString()
        httpx.post(self.url, content=body, headers={"Content-Type": "application/x-protobuf"})
        return ExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


def test_our_exports_are_never_traced(instrumented: None) -> None:
    receiver = Receiver()
    try:
        exporter = HttpxExporter(receiver.url + "/v1/traces")
        memory = brokle_trace.testing.InMemoryExporter()
        brokle_trace.configure(exporter="none", exporters=[exporter, memory], strict=True)

        @observe
        def step(i: int) -> int:
            return i

        for i in range(3):
            step(i)
            assert brokle_trace.flush(5)
        assert exporter.calls >= 1
        # Without suppression each export would be an httpx span, exported next time round.
        assert [s.name for s in memory.spans] == ["step"] * 3
        assert [s.name for s in receiver.spans()] == ["step"] * 3
    finally:
        brokle_trace.configure(exporter="none", strict=True)
        receiver.close()


def test_spans_started_under_suppression_are_not_recorded(memory: object) -> None:
    tracer = brokle_trace.tracer_provider().get_tracer("test")
    before = brokle_trace.stats()["started"]
    with suppress_instrumentation(), tracer.start_as_current_span("suppressed") as span:
        assert not span.is_recording()
    token = otel_context.attach(otel_context.set_value("suppress_instrumentation", True))
    try:
        with tracer.start_as_current_span("suppressed-too") as span:
            assert not span.is_recording()
    finally:
        otel_context.detach(token)
    with tracer.start_as_current_span("kept"):
        pass
    brokle_trace.flush(5)
    assert [s.name for s in memory.spans] == ["kept"]  # type: ignore[attr-defined]
    assert brokle_trace.stats()["started"] - before == 1


def test_sdk_exporter_on_requests_is_never_traced() -> None:
    """The SDK's own OTLP/HTTP exporter (it sends with requests) as one of our exporters,
    requests instrumented on our provider: only the user's request becomes a span."""
    import requests
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.requests import RequestsInstrumentor

    ours, sdk = Receiver(), Receiver()
    inst = RequestsInstrumentor()
    inst.instrument(tracer_provider=brokle_trace.tracer_provider())
    try:
        brokle_trace.configure(
            exporter="otlp",
            otlp_endpoint=ours.url,
            otlp_headers={"authorization": f"Bearer {OPENAI_KEY}"},
            exporters=[OTLPSpanExporter(endpoint=sdk.url + "/v1/traces")],
            strict=True,
        )

        @observe
        def call() -> int:
            return requests.get(f"{ours.url}/health?api_key={OPENAI_KEY}", timeout=5).status_code

        for _ in range(3):
            call()
            assert brokle_trace.flush(5)
        # Without suppression each SDK export would be a requests span, sent next time round.
        for receiver in (ours, sdk):
            assert sorted(s.name for s in receiver.spans()) == ["GET"] * 3 + ["call"] * 3
        assert brokle_trace.stats()["exported"] == 6
        sent = b"".join(r.request.SerializeToString() for r in ours.received + sdk.received)
        assert OPENAI_KEY.encode() not in sent  # the query string's key, redacted
    finally:
        inst.uninstrument()
        brokle_trace.configure(exporter="none", strict=True)
        ours.close()
        sdk.close()
