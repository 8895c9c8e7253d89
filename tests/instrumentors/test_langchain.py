"""OpenInference's LangChain instrumentor: a prompt | chat model chain under our span."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda

import brokle_trace
from brokle_trace import observe, trace_context
from tests.instrumentors.conftest import PASSWORD, Exported, by_id, check_exported_once


class PricedFakeChatModel(GenericFakeChatModel):
    """langchain-core's fake chat model, naming a real model as a provider's model would."""

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": "gpt-4o-mini"}


def _model(text: str) -> PricedFakeChatModel:
    usage = {"input_tokens": 12, "output_tokens": 3, "total_tokens": 15}
    return PricedFakeChatModel(messages=iter([AIMessage(content=text, usage_metadata=usage)]))


@pytest.fixture
def instrumented() -> Iterator[None]:
    from openinference.instrumentation.langchain import LangChainInstrumentor

    inst = LangChainInstrumentor()
    inst.instrument(tracer_provider=brokle_trace.tracer_provider())
    try:
        yield
    finally:
        inst.uninstrument()


PROMPT = ChatPromptTemplate.from_messages([("system", "answer briefly"), ("user", "{question}")])


def _tree_checks(spans: list[Any], root_name: str) -> tuple[Any, Any, Any]:
    ids = by_id(spans)
    (root,) = [s for s in spans if s.name == root_name]
    (chain,) = [s for s in spans if s.name == "RunnableSequence"]
    (llm,) = [s for s in spans if s.name == "PricedFakeChatModel"]
    assert chain.parent_span_id == root.span_id
    assert llm.parent_span_id == chain.span_id
    assert ids[llm.parent_span_id].type == "chain"
    assert llm.type == "llm"
    for span in (chain, llm):
        assert (span.user_id, span.session_id, span.tags) == ("user-7", "sess-42", ["lc"])
    return root, chain, llm


def test_chain_nests_under_our_span_and_rolls_up(instrumented: None, exported: Exported) -> None:
    chain = PROMPT | _model("four")

    @observe(tags=["lc"])
    def solve(question: str) -> str:
        return str(chain.invoke({"question": question}).content)

    with trace_context(user_id="user-7", session_id="sess-42"):
        assert solve(f"2+2? (password={PASSWORD})") == "four"
    spans = check_exported_once(exported)
    root, chain_span, llm = _tree_checks(spans, "solve")
    assert llm.attributes["gen_ai.usage.input_tokens"] == 12
    assert llm.attributes["gen_ai.response.model"] == "gpt-4o-mini"
    cost = llm.attributes["brokle.cost.total_usd"]
    # The cost rolls up through the chain span (theirs) to our span.
    assert chain_span.attributes["brokle.rollup.cost_usd"] == pytest.approx(cost)
    assert root.attributes["brokle.rollup.cost_usd"] == pytest.approx(cost)
    assert root.attributes["brokle.rollup.llm_calls"] == 1
    exported.assert_no_secrets()


def test_streaming_chain(instrumented: None, exported: Exported) -> None:
    chain = PROMPT | _model("four and more")

    @observe(tags=["lc"])
    def solve_stream() -> str:
        return "".join(str(chunk.content) for chunk in chain.stream({"question": "2+2?"}))

    with trace_context(user_id="user-7", session_id="sess-42"):
        assert solve_stream() == "four and more"
    spans = check_exported_once(exported)
    _, _, llm = _tree_checks(spans, "solve_stream")
    assert "four and more" in str(llm.output)


def test_failing_step_is_an_error_span_redacted(instrumented: None, exported: Exported) -> None:
    def lookup(_: Any) -> str:
        raise ConnectionError(f"db login failed: password={PASSWORD}")

    chain = PROMPT | _model("unused") | RunnableLambda(lookup)

    @observe(tags=["lc"])
    def solve() -> str:
        return str(chain.invoke({"question": "2+2?"}))

    with trace_context(user_id="user-7", session_id="sess-42"), pytest.raises(ConnectionError):
        solve()
    spans = check_exported_once(exported)
    (step,) = [s for s in spans if s.name == "lookup"]
    assert step.status == "error"
    assert step.error is not None and step.error.type == "ConnectionError"
    assert "password=[REDACTED:secret_param]" in step.error.message
    assert step.status_message is not None and PASSWORD not in step.status_message
    exported.assert_no_secrets()
