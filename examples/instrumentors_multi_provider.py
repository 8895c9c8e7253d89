"""Bring your own instrumentor: OpenInference and OpenLLMetry spans in our traces.

The agent classifies with OpenAI (traced by OpenInference's instrumentor), answers with
Anthropic (traced by OpenLLMetry's), falls back to OpenAI when Anthropic is overloaded, and
summarises with a LangChain chain (OpenInference's LangChain instrumentor). None of those
calls is decorated: the instrumentors trace them, ``brokle_trace.tracer_provider()`` takes
their spans into the same tree, redaction, JSONL file, cost roll-ups and report as the
``@observe`` functions around them.

Runs offline against the library's loopback fake of both HTTP APIs, with the real clients
and the real instrumentors (``pip install -e ".[dev]"``):

    python examples/instrumentors_multi_provider.py
"""

from __future__ import annotations

from typing import Any

import anthropic
import openai
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.prompts import ChatPromptTemplate
from openinference.instrumentation.langchain import LangChainInstrumentor
from openinference.instrumentation.openai import OpenAIInstrumentor
from opentelemetry.instrumentation.anthropic import AnthropicInstrumentor

import brokle_trace
from brokle_trace import SpanData, observe, summarize, trace_context
from brokle_trace.testing import capture_spans
from brokle_trace.testing._fake_server import FakeLLMServer

INSTRUMENTORS = (OpenAIInstrumentor(), AnthropicInstrumentor(), LangChainInstrumentor())


def fake_model(body: dict[str, Any]) -> str:
    """How the fake providers answer: a label for the classifier, prose otherwise."""
    if "Classify" in str(body.get("messages", [{}])[0].get("content")):
        return "factual"
    return "Refunds are accepted within 30 days with a receipt."


class Agent:
    def __init__(self, server: FakeLLMServer) -> None:
        # Real clients; the keys only ever reach the fake server (and never the traces).
        self.gpt = openai.OpenAI(
            api_key="sk-proj-example0000000000000000", base_url=server.url + "/v1", max_retries=0
        )
        self.claude = anthropic.Anthropic(
            api_key="sk-ant-api03-example00000000000", base_url=server.url, max_retries=0
        )
        prompt = ChatPromptTemplate.from_messages([("system", "Summarise: {text}")])
        model = GenericFakeChatModel(messages=iter([AIMessage(content="30-day refunds.")]))
        self.summarise = prompt | model

    @observe(name="classify")
    def classify(self, question: str) -> str:
        reply = self.gpt.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": f"Classify: {question}"}],
        )
        return reply.choices[0].message.content or ""

    @observe(name="answer")
    def answer(self, question: str) -> str:
        try:
            message = self.claude.messages.create(
                model="claude-3-5-sonnet-20241022",
                max_tokens=200,
                messages=[{"role": "user", "content": question}],
            )
            return message.content[0].text  # type: ignore[union-attr]
        except anthropic.APIStatusError:
            reply = self.gpt.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": question}]
            )
            return reply.choices[0].message.content or ""

    @observe(name="support-agent")
    def run(self, question: str) -> str:
        self.classify(question)
        text = self.answer(question)
        return str(self.summarise.invoke({"text": text}).content)


def print_tree(spans: list[SpanData]) -> None:
    children: dict[str | None, list[SpanData]] = {}
    ids = {s.span_id for s in spans}
    for s in sorted(spans, key=lambda s: s.start_time_ns):
        children.setdefault(s.parent_span_id if s.parent_span_id in ids else None, []).append(s)

    def show(span: SpanData, depth: int) -> None:
        at = span.attributes
        scope = at.get("otel.scope.name", "@observe")
        cost = at.get("brokle.cost.total_usd", at.get("brokle.rollup.cost_usd"))
        extra = f"  ${cost:.6f}" if isinstance(cost, float) else ""
        status = "  ERROR " + (span.status_message or "") if span.status == "error" else ""
        print(f"{'  ' * depth}{span.name} [{span.type}] ({scope}){extra}{status}")
        for child in children.get(span.span_id, []):
            show(child, depth + 1)

    for root in children.get(None, []):
        show(root, 0)


def main() -> list[SpanData]:
    provider = brokle_trace.tracer_provider()
    for instrumentor in INSTRUMENTORS:
        instrumentor.instrument(tracer_provider=provider)
    try:
        with FakeLLMServer() as server:
            server.responder = fake_model
            server.fail_next("/v1/messages", 529)  # Anthropic overloaded once: fall back
            agent = Agent(server)
            with capture_spans() as spans, trace_context(user_id="user-42", session_id="s-1"):
                agent.run("Can I get a refund after three weeks?")
    finally:
        for instrumentor in INSTRUMENTORS:
            instrumentor.uninstrument()
    print_tree(spans)
    print()
    print(summarize(spans))
    return spans


if __name__ == "__main__":
    main()
