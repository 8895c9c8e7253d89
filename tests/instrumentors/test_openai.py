"""OpenInference's and OpenLLMetry's OpenAI instrumentors, through tracer_provider()."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import genai_prices
import openai
import pytest

import brokle_trace
from brokle_trace import ContextThreadPoolExecutor, observe, summarize, trace_context
from brokle_trace.llm import Usage, compute_cost
from brokle_trace.testing._fake_server import FakeLLMServer
from tests.export.receiver import attrs
from tests.instrumentors.conftest import (
    OPENAI_KEY,
    PASSWORD,
    Exported,
    by_id,
    check_exported_once,
)


def _openinference() -> Any:
    from openinference.instrumentation.openai import OpenAIInstrumentor

    return OpenAIInstrumentor()


def _openllmetry() -> Any:
    from opentelemetry.instrumentation.openai import OpenAIInstrumentor

    return OpenAIInstrumentor()


def unwrap_leftovers() -> None:
    """Undo what ``uninstrument()`` leaves wrapped in the OpenAI SDK.

    OpenLLMetry's OpenAI instrumentor (0.62) unwraps ``("openai.resources.chat.completions",
    "Completions.create")``, which ``opentelemetry.instrumentation.utils.unwrap`` resolves to
    nothing: its wrappers stay and would trace the next tests' calls twice.
    """
    import inspect
    import sys

    from wrapt import FunctionWrapper

    for name, module in list(sys.modules.items()):
        if not name.startswith("openai.resources") or module is None:
            continue
        for _, cls in inspect.getmembers(module, inspect.isclass):
            for attr, value in list(vars(cls).items()):
                if isinstance(value, FunctionWrapper):
                    setattr(cls, attr, value.__wrapped__)


@pytest.fixture(params=[_openinference, _openllmetry], ids=["openinference", "openllmetry"])
def instrumentor(request: pytest.FixtureRequest) -> Iterator[str]:
    inst = request.param()
    inst.instrument(tracer_provider=brokle_trace.tracer_provider())
    try:
        yield request.node.callspec.id
    finally:
        inst.uninstrument()
        unwrap_leftovers()


def _client(server: FakeLLMServer, path: str = "/v1") -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url + path, api_key=OPENAI_KEY, max_retries=0)


def _foreign(spans: list[Any]) -> list[Any]:
    return [s for s in spans if "otel.scope.name" in s.attributes]


def _expected_cost(span: Any) -> float:
    usage = Usage(
        input_tokens=span.attributes["gen_ai.usage.input_tokens"],
        output_tokens=span.attributes["gen_ai.usage.output_tokens"],
    )
    cost = compute_cost("gpt-4o-mini", usage)
    assert cost is not None
    # ... which is the price source's own calculation for the dated model the span names.
    source = genai_prices.calc_price(
        genai_prices.Usage(input_tokens=usage.input_tokens, output_tokens=usage.output_tokens),
        span.attributes["gen_ai.response.model"],
        provider_id="openai",
    )
    assert cost.total_usd == pytest.approx(float(source.total_price))
    return cost.total_usd


def _check_llm_span(llm: Any, parent: Any) -> None:
    assert llm.parent_span_id == parent.span_id
    assert llm.trace_id == parent.trace_id
    assert llm.type == "llm"
    assert llm.user_id == "user-7"
    assert llm.session_id == "sess-42"
    at = llm.attributes
    assert at["gen_ai.provider.name"] == "openai"
    assert at["gen_ai.response.model"] == "gpt-4o-mini-2024-07-18"
    assert at["gen_ai.usage.input_tokens"] > 0
    assert at["gen_ai.usage.output_tokens"] > 0
    # A dated model name is priced as its base model: never "unpriced".
    assert "brokle.cost.unpriced" not in at
    assert at["brokle.cost.total_usd"] == pytest.approx(_expected_cost(llm))


def test_call_joins_our_trace_with_type_tokens_cost(
    instrumentor: str, server: FakeLLMServer, exported: Exported
) -> None:
    client = _client(server)

    @observe
    def answer(question: str) -> str:
        reply = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": f"{question} (my password={PASSWORD})"},
            ],
        )
        return reply.choices[0].message.content or ""

    before = brokle_trace.stats()
    with trace_context(user_id="user-7", session_id="sess-42"):
        out = answer("what is 2+2?")
    assert out.startswith("echo: what is 2+2?")

    spans = check_exported_once(exported)
    (llm,) = _foreign(spans)
    root = by_id(spans)[llm.parent_span_id]
    assert root.name == "answer"
    _check_llm_span(llm, root)
    # Its cost rolls up to our span like an @observe_llm child's would.
    assert root.attributes["brokle.rollup.llm_calls"] == 1
    assert root.attributes["brokle.rollup.cost_usd"] == pytest.approx(
        llm.attributes["brokle.cost.total_usd"]
    )
    # The prompt is in our input, redacted.
    assert "[REDACTED:secret_param]" in str(llm.input)
    assert "echo: what is 2+2?" in str(llm.output)
    after = brokle_trace.stats()
    assert after["exported"] - before["exported"] == 2
    assert after["started"] - before["started"] == 2
    row = summarize(spans).rows[0]
    assert (row.provider, row.model, row.calls) == ("openai", "gpt-4o-mini-2024-07-18", 1)

    # Over OTLP: the instrumentor's own attributes plus ours, once.
    sent = {s.name: attrs(s.attributes) for s in exported.otlp()}
    otlp = sent[llm.name]
    assert otlp["user.id"] == "user-7"
    assert otlp["brokle.cost.total_usd"] == llm.attributes["brokle.cost.total_usd"]
    if instrumentor == "openinference":
        assert otlp["openinference.span.kind"] == "LLM"
        assert otlp["llm.token_count.prompt"] == llm.attributes["gen_ai.usage.input_tokens"]
    else:
        assert otlp["gen_ai.usage.input_tokens"] == llm.attributes["gen_ai.usage.input_tokens"]
        assert otlp["gen_ai.operation.name"] == "chat"
        assert "gen_ai.input.messages" in otlp  # the instrumentor's own, as it wrote it
    exported.assert_no_secrets()


def test_streaming_call(instrumentor: str, server: FakeLLMServer, exported: Exported) -> None:
    client = _client(server)

    @observe
    def stream_answer() -> str:
        stream = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "stream a short answer please"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        return "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)

    with trace_context(user_id="user-7", session_id="sess-42"):
        text = stream_answer()
    assert text == "echo: stream a short answer please"
    spans = check_exported_once(exported)
    (llm,) = _foreign(spans)
    _check_llm_span(llm, by_id(spans)[llm.parent_span_id])
    assert llm.attributes["gen_ai.usage.output_tokens"] == len(text.split())
    exported.assert_no_secrets()


def test_failing_call_is_an_error_span_with_the_secret_redacted(
    instrumentor: str, server: FakeLLMServer, exported: Exported
) -> None:
    # A path the fake server does not serve: its 404 names the path, so the exception
    # message (and the status message) carry the key-looking segment.
    client = _client(server, path=f"/v1/{OPENAI_KEY}")

    @observe
    def broken() -> None:
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )

    with (
        trace_context(user_id="user-7", session_id="sess-42"),
        pytest.raises(openai.NotFoundError) as raised,
    ):
        broken()
    assert OPENAI_KEY in str(raised.value)  # the user's exception is untouched
    spans = check_exported_once(exported)
    (llm,) = _foreign(spans)
    root = by_id(spans)[llm.parent_span_id]
    assert root.name == "broken"
    assert llm.status == "error"
    assert llm.level == "error"
    assert llm.user_id == "user-7"
    assert llm.error is not None
    assert llm.error.type == "NotFoundError"
    assert "[REDACTED" in llm.error.message
    assert llm.error.stacktrace and "[REDACTED" in llm.error.stacktrace
    exported.assert_no_secrets()


def test_concurrent_traces_via_gather(
    instrumentor: str, server: FakeLLMServer, exported: Exported
) -> None:
    client = openai.AsyncOpenAI(base_url=server.url + "/v1", api_key=OPENAI_KEY, max_retries=0)

    @observe
    async def one(i: int) -> str:
        brokle_trace.update_current_trace(user_id=f"user-{i}", session_id="sess-42")
        reply = await client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": f"number {i}"}]
        )
        return reply.choices[0].message.content or ""

    async def main() -> list[str]:
        return await asyncio.gather(*(one(i) for i in range(6)))

    assert asyncio.run(main()) == [f"echo: number {i}" for i in range(6)]
    spans = check_exported_once(exported)
    roots = by_id(spans)
    foreign = _foreign(spans)
    assert len(foreign) == 6
    for llm in foreign:
        root = roots[llm.parent_span_id]
        assert root.name == "one"
        assert llm.trace_id == root.trace_id
        assert llm.user_id == root.user_id == f"user-{root.input['i']}"
        assert f"number {root.input['i']}" in str(llm.input)
    assert len({s.trace_id for s in foreign}) == 6


def test_thread_pool_with_context_helper(
    instrumentor: str, server: FakeLLMServer, exported: Exported
) -> None:
    client = _client(server)

    def ask(i: int) -> str:
        reply = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": f"item {i}"}]
        )
        return reply.choices[0].message.content or ""

    @observe
    def fan_out() -> list[str]:
        with ContextThreadPoolExecutor(max_workers=3) as pool:
            return list(pool.map(ask, range(5)))

    with trace_context(user_id="user-7", session_id="sess-42"):
        assert fan_out() == [f"echo: item {i}" for i in range(5)]
    spans = check_exported_once(exported)
    (root,) = [s for s in spans if s.name == "fan_out"]
    foreign = _foreign(spans)
    assert len(foreign) == 5
    for llm in foreign:
        _check_llm_span(llm, root)
    assert root.attributes["brokle.rollup.llm_calls"] == 5
    assert root.attributes["brokle.rollup.cost_usd"] == pytest.approx(
        sum(s.attributes["brokle.cost.total_usd"] for s in foreign)
    )


def test_openinference_mime_types_reach_otlp_as_the_instrumentor_wrote_them(
    server: FakeLLMServer, exported: Exported
) -> None:
    """OpenInference says its ``input.value``/``output.value`` are JSON; Phoenix renders
    them by that mime type, so ours (the lifted text is a str: "text/plain") must not win."""
    inst = _openinference()
    inst.instrument(tracer_provider=brokle_trace.tracer_provider())
    try:
        _client(server).chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": f"hi (password={PASSWORD})"}],
        )
    finally:
        inst.uninstrument()
        unwrap_leftovers()
    spans = check_exported_once(exported)
    (llm,) = _foreign(spans)
    (sent,) = (attrs(s.attributes) for s in exported.otlp() if s.name == llm.name)
    assert sent["input.mime_type"] == "application/json"
    assert sent["output.mime_type"] == "application/json"
    # The value it describes is still there, still JSON, still redacted.
    assert "[REDACTED:secret_param]" in sent["input.value"]
    exported.assert_no_secrets()


def test_embedding_call_is_typed_and_priced(
    instrumentor: str, server: FakeLLMServer, exported: Exported
) -> None:
    client = _client(server)

    @observe
    def embed(text: str) -> int:
        return len(client.embeddings.create(model="text-embedding-3-small", input=[text]).data)

    with trace_context(user_id="user-7", session_id="sess-42"):
        assert embed(f"note: password={PASSWORD}") == 1
    spans = check_exported_once(exported)
    (emb,) = _foreign(spans)
    root = by_id(spans)[emb.parent_span_id]
    assert (root.name, emb.type, emb.user_id) == ("embed", "embedding", "user-7")
    at = emb.attributes
    # OpenInference names the model ``embedding.model_name``: read, it prices the call.
    assert at["gen_ai.response.model"] == "text-embedding-3-small"
    assert "brokle.cost.unpriced" not in at
    usage = Usage(input_tokens=at["gen_ai.usage.input_tokens"], output_tokens=0)
    cost = compute_cost("text-embedding-3-small", usage, provider="openai")
    assert cost is not None and cost.total_usd > 0
    assert at["brokle.cost.total_usd"] == pytest.approx(cost.total_usd)
    assert root.attributes["brokle.rollup.cost_usd"] == pytest.approx(cost.total_usd)
    exported.assert_no_secrets()
