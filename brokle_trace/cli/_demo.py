"""``brokle-trace demo``: a realistic document-analysis pipeline, traced, with no network.

Preprocessing with nested steps, a retrieval step, a tool call, an ``asyncio.gather``
fan-out over fake chat-model calls, and a flaky step that fails once and is retried. The
fake LLM is deterministic, so the tree is the same on every run (only ids and timings
change).

The spans go where the environment says, as for any application: the JSONL file by
default, or ``BROKLE_EXPORTER=otlp`` with the ``OTEL_EXPORTER_OTLP_*`` variables to a
backend (Phoenix, Jaeger, a Collector). The tree printed at the end is taken from an
in-memory exporter beside them, so it shows whatever the exporters are.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import sys
from pathlib import Path
from typing import Any

from brokle_trace import (
    SpanData,
    configure,
    flush,
    get_current_trace_id,
    observe,
    observe_llm,
    observe_retrieval,
    trace_context,
    update_current_span,
)
from brokle_trace import stats as tracing_stats
from brokle_trace.exporters import InMemoryExporter
from brokle_trace.exporters.console import format_tree

__all__ = ["COMMAND", "run_demo"]

DOCUMENT = """Quarterly report: Acme Robotics.
Revenue grew 18% to $4.2M, driven by warehouse automation contracts.
Risks: supplier delays for servo motors; one customer is 30% of revenue.
Outlook: two new product lines ship next quarter; hiring 12 engineers."""

_KNOWLEDGE_BASE = {
    "kb-001": "Warehouse automation demand rose across logistics customers in 2026.",
    "kb-002": "Servo motor lead times averaged 14 weeks industry-wide.",
    "kb-003": "Customer concentration above 25% is flagged as a material risk.",
    "kb-004": "Robotics hiring markets remain tight for controls engineers.",
}


class TransientProviderError(RuntimeError):
    """A retryable failure of the (fake) LLM provider."""


class FakeLLM:
    """Deterministic stand-in for a chat model: same prompt, same answer, same usage."""

    def __init__(self, model: str, latency_s: float = 0.01) -> None:
        self.model = model
        self.latency_s = latency_s
        self.calls = 0

    async def complete(self, messages: list[dict[str, str]]) -> dict[str, Any]:
        self.calls += 1
        await asyncio.sleep(self.latency_s)
        prompt = "\n".join(m["content"] for m in messages)
        digest = hashlib.sha256(prompt.encode()).hexdigest()[:8]
        words = messages[-1]["content"].split()
        text = f"[{self.model}:{digest}] " + " ".join(words[-12:])
        return {
            "id": f"chatcmpl-{digest}",
            "model": self.model,
            "choices": [{"message": {"role": "assistant", "content": text}}],
            "usage": {
                "prompt_tokens": len(words) * 4 // 3,
                "completion_tokens": 24,
                "total_tokens": len(words) * 4 // 3 + 24,
            },
        }


_llm = FakeLLM("gpt-4o-mini")


@observe(name="normalize-text")
def normalize(document: str) -> str:
    return " ".join(document.split())


@observe(name="split-sections")
def split_sections(text: str) -> list[str]:
    # Sentences end with ". ": a plain "." would also split "$4.2M".
    return [part.strip(" .") for part in text.split(". ") if part.strip(" .")]


@observe(name="document-preprocessing", type="chain")
def preprocess(document: str) -> dict[str, Any]:
    text = normalize(document)
    sections = split_sections(text)
    update_current_span(metadata={"sections": len(sections)})
    return {"text": text, "sections": sections}


@observe_retrieval(name="knowledge-search", index_name="company_docs", top_k=2)
def search_knowledge(query: str, top_k: int = 2) -> list[dict[str, Any]]:
    terms = {w.lower().strip(".,:;%$") for w in query.split() if len(w) > 3}
    scored: list[dict[str, Any]] = []
    for doc_id, text in _KNOWLEDGE_BASE.items():
        words = {w.lower().strip(".,:;%$") for w in text.split()}
        scored.append(
            {"id": doc_id, "score": len(terms & words) / max(1, len(terms)), "text": text}
        )
    scored.sort(key=lambda d: (-d["score"], d["id"]))
    return scored[:top_k]


_SUMMARIZE = "You summarise one section of a company report in one sentence, using the context."
_ASSESS = "You list the business risks in a report summary, most material first."


@observe_llm(name="summarize-section", model="gpt-4o-mini", provider="openai")
async def summarize_section(messages: list[dict[str, str]]) -> dict[str, Any]:
    return await _llm.complete(messages)


def _summary_request(section: str, context: list[str]) -> list[dict[str, str]]:
    notes = "\n".join(f"- {c}" for c in context)
    return [
        {"role": "system", "content": _SUMMARIZE},
        {"role": "user", "content": f"Section: {section}\nContext:\n{notes}"},
    ]


@observe(name="fetch-market-data", type="tool")
def fetch_market_data(sector: str) -> dict[str, Any]:
    return {"sector": sector, "growth_pct": 11.5, "source": "demo-market-feed"}


_flaky_attempts = {"count": 0}


@observe_llm(name="risk-assessment", model="gpt-4o", provider="openai")
async def assess_risk(messages: list[dict[str, str]]) -> dict[str, Any]:
    _flaky_attempts["count"] += 1
    if _flaky_attempts["count"] == 1:
        raise TransientProviderError("provider overloaded (HTTP 529), retry later")
    return await FakeLLM("gpt-4o").complete(messages)


@observe(name="risk-assessment-with-retry", type="chain")
async def assess_risk_with_retry(summary: str, attempts: int = 3) -> dict[str, Any]:
    messages = [
        {"role": "system", "content": _ASSESS},
        {"role": "user", "content": f"Summary: {summary}"},
    ]
    for attempt in range(1, attempts + 1):
        try:
            return await assess_risk(messages)
        except TransientProviderError:
            update_current_span(metadata={"retries": attempt})
            await asyncio.sleep(0.005 * attempt)
    raise TransientProviderError("all attempts failed")


@observe(name="document-analysis", type="agent")
async def analyze_document(document: str) -> dict[str, Any]:
    prepared = preprocess(document)
    context = [d["text"] for d in search_knowledge(prepared["text"])]
    summaries = await asyncio.gather(
        *(
            summarize_section(_summary_request(section, context))
            for section in prepared["sections"][:4]
        )
    )
    market = fetch_market_data("warehouse robotics")
    joined = " ".join(s["choices"][0]["message"]["content"] for s in summaries)
    risk = await assess_risk_with_retry(f"{joined} Sector growth: {market['growth_pct']}%.")
    return {
        "sections": len(prepared["sections"]),
        "summaries": len(summaries),
        "risk": risk["choices"][0]["message"]["content"],
    }


def run_demo(traces_file: Path) -> tuple[str, list[SpanData]]:
    """Run the pipeline once and export its spans where the environment says (the JSONL file
    ``traces_file`` by default); return (trace id, spans)."""
    memory = InMemoryExporter()
    # BROKLE_EXPORTER, OTEL_EXPORTER_OTLP_* and the rest are read by configure() as in any
    # application; only what the environment leaves unset is decided here.
    options: dict[str, Any] = {"traces_file": traces_file, "exporters": [memory]}
    if not (os.environ.get("OTEL_SERVICE_NAME") or os.environ.get("BROKLE_SERVICE_NAME")):
        options["service_name"] = "brokle-trace-demo"
    configure(**options)
    _flaky_attempts["count"] = 0
    trace_ids: list[str] = []

    @observe(name="demo-request")
    async def request() -> dict[str, Any]:
        trace_ids.append(get_current_trace_id() or "")
        return await analyze_document(DOCUMENT)

    with trace_context(user_id="demo-user", session_id="demo-session", tags=["demo"]):
        asyncio.run(request())
    flush(timeout=10)
    trace_id = trace_ids[0]
    spans = [s for s in memory.spans if s.trace_id == trace_id]
    return trace_id, spans


def _destinations() -> list[str]:
    """Where the spans went, one line per exporter (the in-memory one left out)."""
    lines = []
    for name, info in tracing_stats().get("exporters", {}).items():
        if "path" in info:
            lines.append(f"appended to {info['path']}")
        elif "endpoint" in info:
            sent, failed = info.get("spans_sent", 0), info.get("failed_requests", 0)
            verdict = f"{sent} spans sent" if sent else "nothing sent yet"
            if failed:
                verdict += f", {failed} failed requests (is the backend running?)"
            lines.append(f"OTLP {info['endpoint']}: {verdict}")
        elif not name.startswith("InMemoryExporter"):
            lines.append(f"exported with {name.split('#')[0]}")
    return lines


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--file",
        type=Path,
        default=Path(os.environ.get("BROKLE_TRACES_FILE", "brokle_traces.jsonl")),
        help="JSONL file to append the spans to (default: $BROKLE_TRACES_FILE or "
        "./brokle_traces.jsonl)",
    )


def _run(args: argparse.Namespace) -> int:
    trace_id, spans = run_demo(args.file)
    errors = sum(1 for s in spans if s.status == "error")
    where = _destinations()
    print(f"Traced one document-analysis request: trace {trace_id}")
    print(
        f"{len(spans)} spans ({errors} failed and retried); "
        + ("; ".join(where) or "no exporter configured (BROKLE_EXPORTER=none)")
        + "\n"
    )
    print(format_tree(spans))
    if any(line.startswith("appended to") for line in where):
        print(f"\nLook at it again with:  brokle-trace view {args.file} --trace {trace_id}")
        print(f"or in your browser:     brokle-trace serve {args.file}")
    sys.stdout.flush()
    return 0


COMMAND = (
    "run a traced document-analysis pipeline (no network) and print its tree",
    _add_arguments,
    _run,
)
