"""A multi-provider agent: classify with OpenAI, answer with Anthropic, fall back to OpenAI.

Runs offline against the library's loopback fake of both HTTP APIs, with the real ``openai``
and ``anthropic`` clients, and prints the trace tree (tokens and cost per span, totals on the
root) and the per-model report.

    python examples/multi_provider_agent.py
"""

from __future__ import annotations

from typing import Any

import anthropic
import openai

import brokle_trace
from brokle_trace import (
    SpanData,
    observe,
    observe_retrieval,
    summarize,
    wrap_anthropic,
    wrap_openai,
)
from brokle_trace.testing import capture_spans
from brokle_trace.testing._fake_server import FakeLLMServer

DOCS = {
    "refunds": "Refunds are accepted within 30 days of purchase with a receipt.",
    "shipping": "Standard shipping takes 3-5 business days; express takes 1-2.",
}


def fake_model(body: dict[str, Any]) -> str:
    """How the fake providers answer: a label for the classifier, prose otherwise."""
    system = str(body.get("system") or "") + str(body.get("messages", [{}])[0].get("content"))
    if "Classify" in system:
        return "creative" if "poem" in str(body["messages"]) else "factual"
    return "Here is a short answer grounded in the policy documents."


def build_agent(gpt: Any, claude: Any) -> Any:
    @observe(name="classify", type="chain")
    def classify(query: str) -> str:
        reply = gpt.chat.completions.create(
            model="gpt-4o-mini",
            temperature=0,
            messages=[
                {"role": "system", "content": "Classify the query: creative or factual."},
                {"role": "user", "content": query},
            ],
        )
        return str(reply.choices[0].message.content).strip().lower()

    @observe_retrieval(name="search-docs", index_name="policies", top_k=2)
    def search_docs(query: str) -> list[dict[str, Any]]:
        words = set(query.lower().split())
        ranked = sorted(DOCS.items(), key=lambda kv: -len(words & set(kv[1].lower().split())))
        return [
            {"id": key, "text": text, "score": 1.0 / (i + 1)}
            for i, (key, text) in enumerate(ranked[:2])
        ]

    @observe(name="answer", type="chain")
    def answer(query: str, context: list[dict[str, Any]]) -> str:
        prompt = f"Context: {[d['text'] for d in context]}\n\nQuestion: {query}"
        try:  # primary: Anthropic
            message = claude.messages.create(
                model="claude-sonnet-4-5-20250929",
                max_tokens=300,
                messages=[{"role": "user", "content": prompt}],
            )
            return str(message.content[0].text)
        except anthropic.APIStatusError:  # fallback: OpenAI, streamed
            stream = gpt.chat.completions.create(
                model="gpt-4o",
                messages=[{"role": "user", "content": prompt}],
                stream=True,
                stream_options={"include_usage": True},
            )
            return "".join(c.choices[0].delta.content or "" for c in stream if c.choices)

    @observe(name="support-agent", type="agent", tags=["example"], user_id="user-42")
    def agent(query: str) -> dict[str, str]:
        kind = classify(query)
        context = search_docs(query)
        return {"kind": kind, "answer": answer(query, context)}

    return agent


def _line(span: SpanData) -> str:
    a = span.attributes
    parts = [f"{span.name} [{span.type}]", f"{span.duration_ns / 1e6:.1f} ms"]
    if span.status == "error":
        kind = a.get("brokle.provider.error_type", span.error.type if span.error else "")
        parts.append(f"ERROR {a.get('http.response.status_code', '')} {kind}")
    if "gen_ai.usage.input_tokens" in a:
        parts.append(
            f"tokens {a['gen_ai.usage.input_tokens']} in / "
            f"{a.get('gen_ai.usage.output_tokens', 0)} out"
        )
    if "brokle.cost.total_usd" in a:
        parts.append(f"${a['brokle.cost.total_usd']:.6f}")
    if "gen_ai.response.time_to_first_chunk" in a:
        parts.append(f"TTFT {1000 * a['gen_ai.response.time_to_first_chunk']:.1f} ms")
    if "brokle.retrieval.document_count" in a:
        parts.append(f"{a['brokle.retrieval.document_count']} docs")
    if "brokle.rollup.llm_calls" in a:
        parts.append(
            f"total: {a['brokle.rollup.input_tokens']} in / "
            f"{a['brokle.rollup.output_tokens']} out tokens, "
            f"${a['brokle.rollup.cost_usd']:.6f} "
            f"over {a['brokle.rollup.llm_calls']} calls"
        )
    return "  ".join(parts)


def print_tree(spans: list[SpanData]) -> None:
    """The trace as an indented tree, children in start order."""
    children: dict[str | None, list[SpanData]] = {}
    for span in sorted(spans, key=lambda s: s.start_time_ns):
        children.setdefault(span.parent_span_id, []).append(span)

    def walk(span: SpanData, prefix: str, last: bool, root: bool) -> None:
        branch = "" if root else ("└─ " if last else "├─ ")
        print(prefix + branch + _line(span))
        kids = children.get(span.span_id, [])
        for i, kid in enumerate(kids):
            walk(
                kid,
                prefix + ("" if root else ("   " if last else "│  ")),
                i == len(kids) - 1,
                False,
            )

    for root in children.get(None, []):
        walk(root, "", True, True)


def main() -> list[SpanData]:
    brokle_trace.configure(exporter="none")
    with FakeLLMServer() as server:
        server.responder = fake_model
        server.fail_next("/v1/messages", 529)  # Anthropic is overloaded for the first call
        gpt = wrap_openai(
            openai.OpenAI(api_key="sk-fake", base_url=server.url + "/v1", max_retries=0)
        )
        claude = wrap_anthropic(
            anthropic.Anthropic(api_key="sk-ant-fake", base_url=server.url, max_retries=0)
        )
        agent = build_agent(gpt, claude)
        with capture_spans() as spans:
            result = agent("How many days do I have to ask for a refund?")
    print("result:", result, "\n")
    print_tree(spans)
    print()
    print(summarize(spans))
    return spans


if __name__ == "__main__":
    main()
