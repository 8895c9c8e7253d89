"""OpenLLMetry's LangChain instrumentor: a prompt | chat model chain and a tool under ours."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import tool

from brokle_trace import observe, trace_context
from tests.instrumentors.conftest import (
    PASSWORD,
    Exported,
    Provider,
    by_id,
    check_exported_once,
)


class FakeOpenAIChat(GenericFakeChatModel):
    """langchain-core's fake chat model, serialised with its model name as ChatOpenAI is
    (OpenLLMetry reads the model from the serialised kwargs, the vendor from the class)."""

    model_name: str = "gpt-4o-mini"

    @classmethod
    def is_lc_serializable(cls) -> bool:
        return True


def _model(text: str) -> FakeOpenAIChat:
    usage = {"input_tokens": 12, "output_tokens": 3, "total_tokens": 15}
    message = AIMessage(content=text, usage_metadata=usage)
    return FakeOpenAIChat(model_name="gpt-4o-mini", messages=iter([message]))


@pytest.fixture
def instrumented(provider: Provider) -> Iterator[None]:
    from opentelemetry.instrumentation.langchain import LangchainInstrumentor

    inst = LangchainInstrumentor()
    inst.instrument(tracer_provider=provider.provider)
    try:
        yield
    finally:
        inst.uninstrument()


PROMPT = ChatPromptTemplate.from_messages([("system", "answer briefly"), ("user", "{question}")])


@tool
def lookup(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


def test_chain_nests_under_our_span_priced(instrumented: None, exported: Exported) -> None:
    chain = PROMPT | _model("four")

    @observe
    def solve(question: str) -> str:
        return str(chain.invoke({"question": question}).content)

    with trace_context(user_id="user-7", session_id="sess-42"):
        assert solve(f"2+2? (password={PASSWORD})") == "four"
    spans = check_exported_once(exported)
    ids = by_id(spans)
    (root,) = [s for s in spans if s.name == "solve"]
    (workflow,) = [s for s in spans if s.name == "RunnableSequence.workflow"]
    (llm,) = [s for s in spans if s.name == "FakeOpenAIChat.chat"]
    (task,) = [s for s in spans if s.name == "execute_task ChatPromptTemplate"]
    assert workflow.parent_span_id == root.span_id
    assert ids[llm.parent_span_id] is workflow
    assert (task.type, llm.type) == ("chain", "llm")
    for span in (workflow, llm, task):
        assert (span.user_id, span.session_id) == ("user-7", "sess-42")
    at = llm.attributes
    assert (at["gen_ai.provider.name"], at["gen_ai.request.model"]) == ("openai", "gpt-4o-mini")
    assert at["gen_ai.usage.input_tokens"] == 12
    assert at["brokle.cost.total_usd"] > 0
    assert root.attributes["brokle.rollup.cost_usd"] == pytest.approx(at["brokle.cost.total_usd"])
    assert "[REDACTED:secret_param]" in str(llm.input)
    # The workflow and task spans carry their input and output as traceloop.entity.*.
    assert "[REDACTED:secret_param]" in str(workflow.input)
    assert json.loads(str(task.input))["inputs"]["question"].startswith("2+2?")
    assert "four" in str(workflow.output)
    exported.assert_no_secrets()


def test_tool_call_has_its_arguments_and_result(instrumented: None, exported: Exported) -> None:
    @observe
    def agent_step() -> str:
        return str(lookup.invoke({"city": f"Paris password={PASSWORD}"}))

    with trace_context(user_id="user-7"):
        agent_step()
    spans = check_exported_once(exported)
    (step,) = [s for s in spans if s.name == "execute_tool lookup"]
    assert by_id(spans)[step.parent_span_id].name == "agent_step"
    assert (step.type, step.user_id) == ("tool", "user-7")
    assert json.loads(str(step.input))["inputs"]["city"] == "Paris password=[REDACTED:secret_param]"
    assert "sunny in Paris" in json.loads(str(step.output))["output"]
    exported.assert_no_secrets()


def test_failing_step_is_an_error_span_redacted(instrumented: None, exported: Exported) -> None:
    def fetch(_: Any) -> str:
        raise ConnectionError(f"db login failed: password={PASSWORD}")

    chain = PROMPT | _model("unused") | RunnableLambda(fetch)

    @observe
    def solve() -> str:
        return str(chain.invoke({"question": "2+2?"}))

    with pytest.raises(ConnectionError):
        solve()
    spans = check_exported_once(exported)
    (step,) = [s for s in spans if s.name == "execute_task fetch"]
    assert step.status == "error"
    assert step.error is not None and step.error.type == "ConnectionError"
    assert "password=[REDACTED:secret_param]" in step.error.message
    exported.assert_no_secrets()


def test_streaming_chain(instrumented: None, exported: Exported) -> None:
    chain = PROMPT | _model("four and more")

    @observe
    def solve_stream() -> str:
        return "".join(str(chunk.content) for chunk in chain.stream({"question": "2+2?"}))

    assert solve_stream() == "four and more"
    spans = check_exported_once(exported)
    (llm,) = [s for s in spans if s.name == "FakeOpenAIChat.chat"]
    assert by_id(spans)[llm.parent_span_id].name == "RunnableSequence.workflow"
    assert llm.type == "llm"
    assert "four and more" in str(llm.output)
