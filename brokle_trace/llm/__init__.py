"""LLM, retrieval, tool and embedding spans: usage, cost, streaming, client wrappers.

TEMPORARY minimal version; the full one (usage extraction, price table, streaming, wrappers)
replaces it (issue 5).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from brokle_trace import semconv

if TYPE_CHECKING:
    from brokle_trace._span import Span

__all__ = ["apply_llm_update", "hooks_for"]


def hooks_for(span_type: str, fn: Any) -> dict[str, Any]:
    """The span-type hooks for a decorated function, chosen once at decoration time.

    Returns keyword arguments for ``SpanFacts``: ``result_hook(span, result)`` (live return
    value), ``item_hook(span, item)`` (each yielded item), ``stream_end_hook(span)`` (a
    generator span ends). An empty dict means a plain span.
    """
    return {}


def apply_llm_update(
    span: Span,
    *,
    model: str | None = None,
    usage: Any = None,
    cost_usd: Any = None,
    completion_start_time: Any = None,
) -> None:
    """Record LLM facts set by hand with ``update_current_span(model=..., usage=...)``."""
    attrs: dict[str, Any] = {}
    if model is not None:
        attrs[semconv.GEN_AI_RESPONSE_MODEL] = model
    if isinstance(usage, dict):
        if "input_tokens" in usage:
            attrs[semconv.GEN_AI_USAGE_INPUT_TOKENS] = usage["input_tokens"]
        if "output_tokens" in usage:
            attrs[semconv.GEN_AI_USAGE_OUTPUT_TOKENS] = usage["output_tokens"]
    if attrs:
        span.update(attributes=attrs)
