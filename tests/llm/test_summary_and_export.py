"""summarize(): the per-provider/model report; the OTLP view of LLM spans uses both vocabularies."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest

from brokle_trace import SpanData, observe, observe_llm, summarize, wrap_anthropic, wrap_openai
from brokle_trace.semconv import to_otel_attributes
from brokle_trace.testing import capture_spans
from brokle_trace.testing._fake_server import FakeLLMServer


def _llm(
    name: str, provider: str, model: str, duration_ms: int, status: str = "ok", **attrs: Any
) -> SpanData:
    base = {"gen_ai.provider.name": provider, "gen_ai.request.model": model, **attrs}
    return SpanData(
        name=name,
        trace_id="a" * 32,
        span_id="b" * 16,
        type="llm",
        start_time_ns=0,
        end_time_ns=duration_ms * 1_000_000,
        status=status,
        attributes=base,
    )


def test_rows_per_provider_and_model() -> None:
    spans = [
        _llm(
            "a",
            "openai",
            "gpt-4o",
            100,
            **{
                "gen_ai.usage.input_tokens": 10,
                "gen_ai.usage.output_tokens": 5,
                "brokle.cost.total_usd": 0.001,
            },
        ),
        _llm(
            "b",
            "openai",
            "gpt-4o",
            300,
            **{
                "gen_ai.usage.input_tokens": 20,
                "gen_ai.usage.output_tokens": 5,
                "brokle.cost.total_usd": 0.002,
            },
        ),
        _llm("c", "openai", "gpt-4o", 200, status="error"),
        _llm(
            "d",
            "acme",
            "acme-1",
            50,
            **{"gen_ai.usage.input_tokens": 1, "brokle.cost.unpriced": True},
        ),
        SpanData(
            name="parent", trace_id="a" * 32, span_id="c" * 16, start_time_ns=0, end_time_ns=1
        ),
    ]
    report = summarize(spans)
    acme, gpt = report.rows
    assert (gpt.provider, gpt.model, gpt.calls, gpt.errors) == ("openai", "gpt-4o", 3, 1)
    assert gpt.error_rate == pytest.approx(1 / 3)
    assert (gpt.input_tokens, gpt.output_tokens) == (30, 10)
    assert gpt.cost_usd == pytest.approx(0.003)
    assert (gpt.p50_ms, gpt.p95_ms) == (200.0, 300.0)
    assert acme.unpriced_calls == 1 and acme.cost_usd == 0.0
    assert report.calls == 4 and report.errors == 1 and report.traces == 1
    table = str(report)
    assert "gpt-4o" in table and "no known price" in table
    assert report.to_dict()["totals"]["cost_usd"] == pytest.approx(0.003)


def test_containers_are_not_counted_twice() -> None:
    @observe_llm(name="inner", model="gpt-4o-mini", provider="openai")
    def inner() -> dict[str, Any]:
        return {"usage": {"prompt_tokens": 100, "completion_tokens": 10}}

    @observe_llm(name="outer", model="gpt-4o-mini", provider="openai")
    def outer() -> dict[str, Any]:
        return inner()

    with capture_spans() as spans:
        outer()
    (row,) = summarize(spans).rows
    assert row.calls == 1 and row.input_tokens == 100


def test_summary_of_a_real_fallback_run(
    openai_client: Any, anthropic_client: Any, server: FakeLLMServer
) -> None:
    server.fail_next("/v1/messages", 529)
    claude, gpt = wrap_anthropic(anthropic_client), wrap_openai(openai_client)

    @observe(name="agent")
    def agent() -> None:
        try:
            claude.messages.create(
                model="claude-opus-4-5", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
            )
        except anthropic.APIStatusError:
            gpt.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
            )

    with capture_spans() as spans:
        agent()
    rows = {(r.provider, r.model): r for r in summarize(spans).rows}
    assert rows[("anthropic", "claude-opus-4-5")].error_rate == 1.0
    assert rows[("openai", "gpt-4o")].cost_usd > 0


def test_otlp_attributes_use_genai_and_openinference_names(openai_client: Any) -> None:
    client = wrap_openai(openai_client, user_id="u-7", session_id="s-7")
    with capture_spans() as spans:
        client.chat.completions.create(
            model="gpt-4o", temperature=0.1, messages=[{"role": "user", "content": "hello"}]
        )
    attrs, dropped = to_otel_attributes(spans[0])
    assert dropped == 0
    # GenAI semantic conventions
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.provider.name"] == "openai"
    assert attrs["gen_ai.request.model"] == "gpt-4o"
    assert attrs["gen_ai.request.temperature"] == 0.1
    assert attrs["gen_ai.usage.input_tokens"] == spans[0].attributes["gen_ai.usage.input_tokens"]
    assert attrs["gen_ai.usage.output_tokens"] > 0
    # OpenInference
    assert attrs["openinference.span.kind"] == "LLM"
    assert attrs["llm.model_name"] == "gpt-4o"
    assert attrs["llm.provider"] == "openai"
    assert attrs["llm.token_count.total"] == (
        attrs["llm.token_count.prompt"] + attrs["llm.token_count.completion"]
    )
    assert attrs["output.value"] == "echo: hello"
    assert (attrs["user.id"], attrs["session.id"]) == ("u-7", "s-7")
    assert "brokle.cost.total_usd" in attrs
    # never the deprecated names
    assert not {
        "gen_ai.system",
        "gen_ai.usage.prompt_tokens",
        "gen_ai.usage.completion_tokens",
    } & set(attrs)
