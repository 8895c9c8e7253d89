"""Every byte a third-party span exports passes redaction, on every route: the real
credential corpus (every family, three secrets each) planted in each channel an
instrumentor writes (name, attribute values and keys, event names and attributes, link
attributes, the exception's type, message and stack, the status message, the scope, the
W3C trace state) never reaches the JSONL record, either OTLP encoder or the SDK-exporter
adapter's ``ReadableSpan``."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    TraceState,
    set_span_in_context,
)

from brokle_trace import capture
from brokle_trace._export.convert import Resource
from brokle_trace._export.foreign import attributes_of, foreign_record, to_span_data
from brokle_trace._export.foreign_otlp import foreign_span_bytes
from brokle_trace._model import span_json
from brokle_trace.exporters._encode import span_bytes
from brokle_trace.exporters._readable import ResourceCache, to_readable_span
from tests.capture.corpus.secrets import SECRETS, Secret

_SETTINGS = capture.CaptureSettings()
_SCOPE = "openinference.instrumentation.openai"
_WINDOW = 12
_CHANNELS = (
    "name",
    "attribute",
    "attribute_key",
    "event_name",
    "event_attribute",
    "link_attribute",
    "exception_type",
    "exception_message",
    "exception_stack",
    "status",
    "scope_version",
)


def _leaks(secret: Secret, raw: bytes) -> list[str]:
    return [
        needle
        for needle in secret.needles
        if any(
            needle[i : i + _WINDOW].encode() in raw
            for i in range(max(1, len(needle) - _WINDOW + 1))
        )
    ]


def _span(channel: str, text: str) -> Any:
    tracer = TracerProvider().get_tracer(_SCOPE, text if channel == "scope_version" else "1.0")
    attributes: dict[str, Any] = {"openinference.span.kind": "LLM"}
    if channel == "attribute":
        attributes["llm.invocation_parameters"] = f"cfg {text} end"
    if channel == "attribute_key":
        attributes[f"x.{text}"] = 1
    links = [Link(SpanContext(7, 8, False), {"note": text})] if channel == "link_attribute" else []
    span = tracer.start_span(
        text if channel == "name" else "chat",
        kind=SpanKind.CLIENT,
        attributes=attributes,
        links=links,
    )
    if channel == "event_name":
        span.add_event(text)
    if channel == "event_attribute":
        span.add_event("retry", {"detail": text})
    if channel.startswith("exception") or channel == "status":
        span.add_event(
            "exception",
            {
                "exception.type": text if channel == "exception_type" else "ValueError",
                "exception.message": text if channel == "exception_message" else "bad",
                "exception.stacktrace": f"Traceback:\n  {text}"
                if channel == "exception_stack"
                else "Traceback: x",
            },
        )
        span.set_status(Status(StatusCode.ERROR, text if channel == "status" else "failed"))
    span.end()
    return span


def _routes(span: Any) -> dict[str, bytes]:
    data = to_span_data(foreign_record(span, attributes_of(span), None, {}), _SETTINGS, Resource())
    readable = to_readable_span(data, ResourceCache({}))
    seen = (
        readable.name,
        dict(readable.attributes or {}),
        [(e.name, dict(e.attributes or {})) for e in readable.events],
        [dict(link.attributes or {}) for link in readable.links],
        readable.status.description,
        readable.instrumentation_scope,
        readable.context.trace_state.to_header(),
    )
    return {
        "jsonl": span_json(data),
        "direct": foreign_span_bytes(data),
        "reference": span_bytes(data),
        "adapter": repr(seen).encode(),
    }


@pytest.mark.parametrize("channel", _CHANNELS)
def test_no_corpus_secret_in_any_channel_reaches_an_exported_byte(channel: str) -> None:
    leaked = []
    for secret in SECRETS:
        for route, raw in _routes(_span(channel, secret.text)).items():
            if _leaks(secret, raw):
                leaked.append((route, secret.family))
    assert not leaked, leaked


@pytest.mark.parametrize("key", ["password", "apikey", "token", "wandb_api_key", "secret"])
def test_a_secret_in_the_trace_state_is_redacted_and_the_header_still_parses(key: str) -> None:
    value = "Zq3vT8mN1pLx7Rk2Wc9Yb4Hd6Fs0Ga5Je"
    parent = SpanContext(
        0xABC,
        0x123,
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
        trace_state=TraceState.from_header([f"vendor=abc,{key}={value}"]),
    )
    tracer = TracerProvider().get_tracer(_SCOPE)
    span = tracer.start_span("chat", context=set_span_in_context(NonRecordingSpan(parent)))
    span.end()
    for route, raw in _routes(span).items():
        assert value[:_WINDOW].encode() not in raw, route
    data = to_span_data(foreign_record(span, attributes_of(span), None, {}), _SETTINGS, Resource())
    readable = to_readable_span(data, ResourceCache({}))
    # the redacted header is still W3C: the adapter keeps both members
    assert list(readable.context.trace_state.keys()) == ["vendor", key]
