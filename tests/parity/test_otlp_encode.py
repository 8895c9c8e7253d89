"""Our OTLP encoding equals the OpenTelemetry SDK's own ``encode_spans`` message for message."""

from __future__ import annotations

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

from brokle_trace import ErrorInfo, SpanData
from brokle_trace.exporters._encode import encode_request
from brokle_trace.exporters._readable import ResourceCache, to_readable_spans


def test_same_message_as_encode_spans() -> None:
    base = {"trace_id": "ab" * 16, "start_time_ns": 10, "end_time_ns": 20}
    spans = [
        SpanData(
            name="root",
            span_id="01" * 8,
            service="svc",
            environment="prod",
            input={"q": [1, 2]},
            output="hi",
            user_id="u",
            tags=["a", "b"],
            **base,
        ),
        SpanData(
            name="llm",
            span_id="02" * 8,
            parent_span_id="01" * 8,
            type="llm",
            service="svc",
            environment="prod",
            attributes={
                "gen_ai.request.model": "m",
                "gen_ai.usage.input_tokens": 3,
                "gen_ai.usage.output_tokens": 4,
                "score": 0.5,
                "flag": True,
                "ids": [1, 2],
                "names": ["x"],
            },
            **base,
        ),
        SpanData(
            name="fail",
            span_id="03" * 8,
            parent_span_id="99" * 8,
            status="error",
            status_message="boom",
            error=ErrorInfo(type="E", message="boom", stacktrace="tb"),
            attributes={"brokle.remote_parent": True},
            release="1.0",
            **base,
        ),
    ]
    resources = ResourceCache({})
    ours = encode_request(spans, resources)
    theirs = encode_spans(to_readable_spans(spans, resources))
    assert ours == theirs
    assert ours.SerializeToString(deterministic=True) == theirs.SerializeToString(
        deterministic=True
    )
