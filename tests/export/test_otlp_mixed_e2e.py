"""End to end over a real loopback receiver: our spans and third-party spans from several
providers (each its own resource) and scopes, in one pipeline, gzip or not, behind a
backend that answers 413 above a body size: every span arrives exactly once, under its own
resource and scope, with its trace state, and nothing is counted lost."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from opentelemetry.sdk.resources import Resource as OtelResource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import (
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    TraceFlags,
    TraceState,
    set_span_in_context,
)

import brokle_trace
from brokle_trace import observe
from tests.export.receiver import Receiver

_N = 60


def _providers() -> list[TracerProvider]:
    out = []
    for service in ("svc-a", "svc-ü", "unknown_service"):
        provider = TracerProvider(resource=OtelResource.create({"service.name": service}))
        provider.add_span_processor(brokle_trace.span_processor())
        out.append(provider)
    return out


def _spans(receiver: Receiver) -> list[tuple[str, str, Any]]:
    """(service, scope, span) of every span received."""
    out = []
    for r in receiver.received:
        for rs in r.request.resource_spans:
            service = next(
                kv.value.string_value for kv in rs.resource.attributes if kv.key == "service.name"
            )
            for ss in rs.scope_spans:
                out.extend((service, ss.scope.name, s) for s in ss.spans)
    return out


@pytest.mark.parametrize("compression", ["gzip", "none"])
def test_mixed_batches_arrive_once_each_through_413_splits(compression: str) -> None:
    receiver = Receiver(max_body=6_000)
    try:
        brokle_trace.configure(
            exporter="otlp",
            otlp_endpoint=receiver.url,
            otlp_compression=compression,
            service_name="ours",
        )
        providers = _providers()
        parent = SpanContext(
            0x1, 0x2, True, TraceFlags(TraceFlags.SAMPLED), TraceState([("vendor", "v1")])
        )

        @observe(name="step")
        def step(i: int) -> str:
            provider = providers[i % len(providers)]
            tracer = provider.get_tracer(f"their.scope.{i % 2}", "1.0")
            context = set_span_in_context(NonRecordingSpan(parent)) if i % 5 == 0 else None
            with tracer.start_as_current_span(
                f"call {i}", kind=SpanKind.CLIENT, context=context
            ) as span:
                span.set_attribute("payload", "é" * (i * 7 % 700))
                span.set_attribute("gen_ai.operation.name", "chat")
            return "中" * (i * 13 % 900)

        for i in range(_N):
            step(i)
        assert brokle_trace.flush(20)
        stats = brokle_trace.stats()
        got = _spans(receiver)
        names = Counter(s.name for _, _, s in got)
        assert names == Counter(["step"] * _N + [f"call {i}" for i in range(_N)])
        for service, scope, span in got:
            if span.name == "step":
                assert (service, scope) == ("ours", "brokle_trace")
            else:
                i = int(span.name.split()[1])
                # the span's own resource, ours where it has none of its own
                assert service == ("svc-a", "svc-ü", "ours")[i % 3]
                assert scope == f"their.scope.{i % 2}"
                assert span.trace_state == ("vendor=v1" if i % 5 == 0 else "")
        assert not {k: v for k, v in stats["dropped"].items() if v}, stats
        assert stats["exported"] == 2 * _N
        (otlp,) = stats["exporters"].values()
        assert otlp["split_413"] > 0  # the backend's limit was met, and split around
    finally:
        brokle_trace.shutdown(2.0)
        receiver.close()
