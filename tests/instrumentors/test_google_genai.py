"""OpenInference's and OpenLLMetry's Google GenAI instrumentors, the google-genai SDK on a
loopback Gemini API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import brokle_trace
from brokle_trace import observe, trace_context
from tests.instrumentors.conftest import (
    GOOGLE_KEY,
    PASSWORD,
    Exported,
    Provider,
    by_id,
    check_exported_once,
)
from tests.instrumentors.fake_clouds import ANSWER, INPUT_TOKENS, FakeGemini

genai = pytest.importorskip("google.genai")


@pytest.fixture(scope="module")
def gemini() -> Iterator[Any]:
    with FakeGemini() as fake:
        yield fake


@pytest.fixture(params=["openinference", "openllmetry"])
def family(request: pytest.FixtureRequest, provider: Provider) -> Iterator[str]:
    if request.param == "openinference":
        from openinference.instrumentation.google_genai import GoogleGenAIInstrumentor as Inst
    else:
        from opentelemetry.instrumentation.google_generativeai import (
            GoogleGenerativeAiInstrumentor as Inst,
        )
    inst = Inst()
    inst.instrument(tracer_provider=provider.provider)
    try:
        yield request.param
    finally:
        inst.uninstrument()


def _ask(gemini: Any, stream: bool) -> Any:
    from google.genai import types

    client = genai.Client(api_key=GOOGLE_KEY, http_options=types.HttpOptions(base_url=gemini.url))

    @observe
    def ask(question: str) -> str:
        if stream:
            chunks = client.models.generate_content_stream(
                model="gemini-2.0-flash", contents=question
            )
            return "".join(chunk.text or "" for chunk in chunks)
        return str(client.models.generate_content(model="gemini-2.0-flash", contents=question).text)

    return ask


@pytest.mark.parametrize("stream", [False, True], ids=["generate", "stream"])
def test_call_is_an_llm_span_priced_under_ours(
    family: str, stream: bool, provider: Provider, gemini: Any, exported: Exported
) -> None:
    ask = _ask(gemini, stream)
    before = brokle_trace.stats()
    with trace_context(user_id="user-7", session_id="sess-42"):
        assert ask(f"Capital of France? password={PASSWORD}") == ANSWER
    spans = check_exported_once(exported)
    assert brokle_trace.stats()["exported"] - before["exported"] == 2
    (llm,) = [s for s in spans if "otel.scope.name" in s.attributes]
    root = by_id(spans)[llm.parent_span_id]
    assert root.name == "ask"
    assert (llm.type, llm.user_id, llm.session_id) == ("llm", "user-7", "sess-42")
    at = llm.attributes
    assert at["gen_ai.provider.name"] in {"google", "gcp.gen_ai"}  # OpenInference, OpenLLMetry
    assert at["gen_ai.usage.input_tokens"] == INPUT_TOKENS
    assert at["gen_ai.usage.cache_read.input_tokens"] == 4  # cached part of the prompt
    # The dated model version the API answers with is priced as its base model.
    assert at["brokle.cost.model"] == "gemini-2.0-flash"
    assert root.attributes["brokle.rollup.cost_usd"] == pytest.approx(at["brokle.cost.total_usd"])
    assert "[REDACTED:secret_param]" in str(llm.input)
    if provider.theirs is not None:
        (original,) = provider.originals()
        assert original.context.span_id == int(llm.span_id, 16)
    exported.assert_no_secrets()


def test_failing_call_is_an_error_span(
    family: str, provider: Provider, gemini: Any, exported: Exported
) -> None:
    ask = _ask(gemini, stream=False)
    gemini.fail = 1
    with trace_context(user_id="user-7"), pytest.raises(Exception, match="API key not valid"):
        ask(f"Capital of France? password={PASSWORD}")
    spans = check_exported_once(exported)
    (llm,) = [s for s in spans if "otel.scope.name" in s.attributes]
    assert by_id(spans)[llm.parent_span_id].name == "ask"
    assert (llm.type, llm.status) == ("llm", "error")
    assert llm.error is not None and llm.error.type == "ClientError"
    exported.assert_no_secrets()
