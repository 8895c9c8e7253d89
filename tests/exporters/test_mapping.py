"""The OTLP attribute mapping (semconv.to_otel_attributes) and the resource."""

from __future__ import annotations

from brokle_trace import SpanData
from brokle_trace.exporters._readable import ResourceCache, to_readable_span
from brokle_trace.semconv import to_otel_attributes


def make(**fields: object) -> SpanData:
    base: dict[str, object] = {
        "name": "x",
        "trace_id": "1" * 32,
        "span_id": "2" * 16,
        "start_time_ns": 1,
        "end_time_ns": 2,
    }
    return SpanData.model_validate({**base, **fields})


def test_deprecated_genai_names_are_renamed_never_sent() -> None:
    attrs, _ = to_otel_attributes(
        make(
            type="llm",
            attributes={
                "gen_ai.system": "openai",
                "gen_ai.usage.prompt_tokens": 3,
                "gen_ai.usage.completion_tokens": 4,
            },
        )
    )
    assert attrs["gen_ai.provider.name"] == "openai"
    assert attrs["gen_ai.usage.input_tokens"] == 3 and attrs["gen_ai.usage.output_tokens"] == 4
    assert not {
        "gen_ai.system",
        "gen_ai.usage.prompt_tokens",
        "gen_ai.usage.completion_tokens",
    } & set(attrs)


def test_span_kinds_per_type() -> None:
    kinds = {
        t: to_otel_attributes(make(type=t))[0]["openinference.span.kind"]
        for t in ("span", "chain", "llm", "retrieval", "tool", "embedding", "agent")
    }
    assert kinds == {
        "span": "CHAIN",
        "chain": "CHAIN",
        "llm": "LLM",
        "retrieval": "RETRIEVER",
        "tool": "TOOL",
        "embedding": "EMBEDDING",
        "agent": "AGENT",
    }
    ops = {
        t: to_otel_attributes(make(type=t))[0].get("gen_ai.operation.name")
        for t in ("span", "llm", "embedding", "tool", "agent", "retrieval")
    }
    assert ops == {
        "span": None,
        "llm": "chat",
        "embedding": "embeddings",
        "tool": "execute_tool",
        "agent": "invoke_agent",
        "retrieval": "retrieval",
    }


def test_values_are_otlp_legal() -> None:
    attrs, _ = to_otel_attributes(
        make(
            attributes={"a": [1, 2], "b": [1, "x"], "c": {"k": 1}, "d": None},
            metadata={"m": 1},
            input={"q": 1},
            output=None,
            level="warning",
        )
    )
    assert attrs["a"] == [1, 2] and attrs["b"] == '[1,"x"]' and attrs["c"] == '{"k":1}'
    assert "d" not in attrs and "output.value" not in attrs
    assert attrs["metadata"] == '{"m":1}' and attrs["input.value"] == '{"q":1}'
    assert attrs["brokle.level"] == "warning"


def test_resource_merges_env_and_ours_wins() -> None:
    cache = ResourceCache(
        {
            "OTEL_RESOURCE_ATTRIBUTES": "team=ml,service.name=env-svc",
            "OTEL_SERVICE_NAME": "env-name",
        }
    )
    assert cache.get(None, None, None).attributes["service.name"] == "env-name"
    r = cache.get("ours", "prod", "2.0").attributes
    assert r["service.name"] == "ours" and r["team"] == "ml"
    assert r["deployment.environment.name"] == "prod" and r["service.version"] == "2.0"
    assert cache.get("ours", "prod", "2.0") is cache.get("ours", "prod", "2.0")


def test_remote_parent_and_error_status() -> None:
    span = make(
        parent_span_id="3" * 16,
        status="error",
        status_message="bad",
        attributes={"brokle.remote_parent": True},
    )
    rs = to_readable_span(span, ResourceCache({}))
    assert rs.parent is not None and rs.parent.is_remote
    assert rs.status.description == "bad" and rs.events == ()
