"""LLM calls as the viewers count them: each call once, with its model, tokens and cost.

An ``@observe_llm`` function that calls a wrapped client (``wrap_openai``) produces two LLM
spans for one call: the decorated function's (``? / gpt-4``: no provider) and the client's
(``openai / gpt-4``), both carrying the same usage. Counting both doubles calls, tokens and
cost. The outer one is a *container* and is not counted. It is recognised two ways:

* the library marks it: a span with ``brokle.rollup.llm_calls`` has LLM calls below it;
* spans from elsewhere (another process, an OpenTelemetry instrumentation) carry no mark, so
  a model span with a model span as a child is a container too. Children usually end, and
  are written, first; when the parent comes first (it returned a stream that its child
  consumed later) the parent was already counted and is taken back (:meth:`LlmCalls.feed`
  returns it as ``retracted``). That look-back covers the last ``window`` calls.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from brokle_trace import semconv

__all__ = ["Call", "LlmCalls", "call_of", "format_cost", "model_of", "number"]

#: Span types that are model calls even when no model is named.
MODEL_TYPES = frozenset({"llm", "embedding"})


def number(value: Any) -> float | int | None:
    """``value`` when it is a real number (not a bool), else None."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    return None


def _attrs(span: dict[str, Any]) -> dict[str, Any]:
    attrs = span.get("attributes")
    return attrs if isinstance(attrs, dict) else {}


def model_of(span: dict[str, Any]) -> str | None:
    """The model a span names (the one that answered, else the one asked for), or None.

    Example:
        >>> model_of({"attributes": {"gen_ai.request.model": "gpt-4o"}})
        'gpt-4o'
    """
    attrs = _attrs(span)
    model = attrs.get(semconv.GEN_AI_RESPONSE_MODEL) or attrs.get(semconv.GEN_AI_REQUEST_MODEL)
    return str(model) if model else None


@dataclass(slots=True)
class Call:
    """One model span's numbers, as the totals add them."""

    trace_id: str
    span_id: str
    key: str  # "provider / model"
    duration_ns: int
    error: bool
    input_tokens: int | None
    output_tokens: int | None
    cost_usd: float | None
    container: bool  # marked by the library: LLM calls below it are counted instead


def call_of(span: dict[str, Any]) -> Call | None:
    """The :class:`Call` of a span that is a model call, None for any other span.

    Example:
        >>> c = call_of({"trace_id": "t", "span_id": "s", "type": "llm", "start_time_ns": 0,
        ...              "end_time_ns": 5, "attributes": {"gen_ai.request.model": "m",
        ...              "gen_ai.usage.input_tokens": 3}})
        >>> (c.key, c.input_tokens, c.output_tokens)
        ('? / m', 3, None)
    """
    model = model_of(span)
    if model is None and span.get("type") not in MODEL_TYPES:
        return None
    attrs = _attrs(span)
    provider = attrs.get(semconv.GEN_AI_PROVIDER_NAME) or "?"
    tin = number(attrs.get(semconv.GEN_AI_USAGE_INPUT_TOKENS))
    tout = number(attrs.get(semconv.GEN_AI_USAGE_OUTPUT_TOKENS))
    cost = number(attrs.get(semconv.BROKLE_COST_TOTAL_USD))
    return Call(
        trace_id=span["trace_id"],
        span_id=span["span_id"],
        key=f"{provider} / {model or '?'}",
        duration_ns=max(0, span["end_time_ns"] - span["start_time_ns"]),
        error=span.get("status") == "error",
        input_tokens=int(tin) if tin is not None else None,
        output_tokens=int(tout) if tout is not None else None,
        cost_usd=float(cost) if cost is not None else None,
        container=bool(attrs.get(semconv.BROKLE_ROLLUP_LLM_CALLS)),
    )


class LlmCalls:
    """Feeds on spans in file order; says which are LLM calls to count, each call once.

    Example:
        >>> calls = LlmCalls()
        >>> inner = {"trace_id": "t", "span_id": "b", "parent_span_id": "a", "type": "llm",
        ...          "start_time_ns": 1, "end_time_ns": 2, "attributes": {}}
        >>> outer = {**inner, "span_id": "a", "parent_span_id": None}
        >>> added, _ = calls.feed(inner); added.span_id
        'b'
        >>> calls.feed(outer)  # it has an LLM child: a container, not a second call
        (None, None)
    """

    def __init__(self, window: int = 100_000) -> None:
        self.window = window
        # Calls counted that may still turn out to be containers (a child naming them).
        self._recent: OrderedDict[tuple[str, str], Call] = OrderedDict()
        # Parents named by model spans seen so far, whose own span has not come yet.
        self._parents: OrderedDict[tuple[str, str], None] = OrderedDict()

    def feed(self, span: dict[str, Any]) -> tuple[Call | None, Call | None]:
        """``(call to add, call to take back)``; either may be None."""
        tid = span["trace_id"]
        me = (tid, span["span_id"])
        had_model_child = False
        if self._parents and me in self._parents:
            del self._parents[me]
            had_model_child = True
        if not span.get("attributes") and span.get("type") not in MODEL_TYPES:
            return None, None  # most spans: no attribute can name a model (no call_of cost)
        call = call_of(span)
        if call is None:
            return None, None
        retracted = None
        parent = span.get("parent_span_id")
        if parent:
            up = (tid, parent)
            retracted = self._recent.pop(up, None)
            if retracted is None:
                self._parents[up] = None
                if len(self._parents) > self.window:
                    self._parents.popitem(last=False)
        if call.container or had_model_child:
            return None, retracted
        self._recent[me] = call
        if len(self._recent) > self.window:
            self._recent.popitem(last=False)
        return call, retracted


def format_cost(usd: float) -> str:
    """A cost for people: cents to four places, sub-cent amounts to two significant digits.

    Example:
        >>> format_cost(0.0000189), format_cost(0.0015), format_cost(0.02), format_cost(12.345)
        ('$0.000019', '$0.0015', '$0.0200', '$12.35')
        >>> format_cost(0.0)
        '$0.00'
    """
    if usd <= 0 or not math.isfinite(usd):
        return "$0.00" if usd == 0 else f"${usd}"
    if usd >= 1:
        return f"${usd:,.2f}"
    if usd >= 0.01:
        return f"${usd:.4f}"
    decimals = 1 - math.floor(math.log10(usd))  # two significant digits
    return f"${usd:.{decimals}f}"
