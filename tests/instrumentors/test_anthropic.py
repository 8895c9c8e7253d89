"""OpenInference's Anthropic instrumentor, through tracer_provider()."""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import pytest

import brokle_trace
from brokle_trace import observe, trace_context
from brokle_trace.testing._fake_server import FakeLLMServer
from tests.export.receiver import attrs
from tests.instrumentors.conftest import ANTHROPIC_KEY, PASSWORD, Exported, check_exported_once

MODEL = "claude-3-5-sonnet-20241022"


@pytest.fixture
def instrumented() -> Iterator[None]:
    from openinference.instrumentation.anthropic import AnthropicInstrumentor

    inst = AnthropicInstrumentor()
    inst.instrument(tracer_provider=brokle_trace.tracer_provider())
    try:
        yield
    finally:
        inst.uninstrument()


def _client(server: FakeLLMServer) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=server.url, api_key=ANTHROPIC_KEY, max_retries=0)


def _check(spans: list[brokle_trace.SpanData], root_name: str) -> brokle_trace.SpanData:
    (llm,) = [s for s in spans if s.attributes.get("otel.scope.name")]
    (root,) = [s for s in spans if s.name == root_name]
    assert llm.parent_span_id == root.span_id
    assert llm.type == "llm"
    assert (llm.user_id, llm.session_id) == ("user-7", "sess-42")
    at = llm.attributes
    assert at["gen_ai.provider.name"] == "anthropic"
    assert at["gen_ai.response.model"] == MODEL
    assert at["gen_ai.usage.input_tokens"] > 0
    assert at["gen_ai.usage.output_tokens"] > 0
    assert at["brokle.cost.total_usd"] > 0
    assert root.attributes["brokle.rollup.cost_usd"] == pytest.approx(at["brokle.cost.total_usd"])
    return llm


def test_message(instrumented: None, server: FakeLLMServer, exported: Exported) -> None:
    client = _client(server)

    @observe
    def ask() -> str:
        message = client.messages.create(
            model=MODEL,
            max_tokens=100,
            messages=[{"role": "user", "content": f"hello (password={PASSWORD})"}],
        )
        return message.content[0].text  # type: ignore[union-attr]

    with trace_context(user_id="user-7", session_id="sess-42"):
        assert ask().startswith("echo: hello")
    spans = check_exported_once(exported)
    llm = _check(spans, "ask")
    sent = {s.name: attrs(s.attributes) for s in exported.otlp()}[llm.name]
    assert sent["llm.provider"] == "anthropic"  # the instrumentor's own attribute
    assert sent["session.id"] == "sess-42"  # ours
    exported.assert_no_secrets()


def test_stream(instrumented: None, server: FakeLLMServer, exported: Exported) -> None:
    client = _client(server)

    @observe
    def ask_stream() -> str:
        with client.messages.stream(
            model=MODEL, max_tokens=100, messages=[{"role": "user", "content": "stream it"}]
        ) as stream:
            return "".join(stream.text_stream)

    with trace_context(user_id="user-7", session_id="sess-42"):
        assert ask_stream() == "echo: stream it"
    spans = check_exported_once(exported)
    llm = _check(spans, "ask_stream")
    assert "echo: stream it" in str(llm.output)
    exported.assert_no_secrets()
