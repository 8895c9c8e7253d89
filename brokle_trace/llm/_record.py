"""Writing LLM facts onto a live span: model, usage, cost, time to first chunk, roll-ups.

Roll-up: whenever an LLM span's usage changes, the change (a delta, so recording twice never
double counts) is added to ``brokle.rollup.*`` tokens and calls on every ancestor that is still
running, and the span's cost cell is handed to each of them once; costs are priced from those
cells when the spans are written out (``_deferred``), off the caller's thread. Each span then
knows the totals of its subtree, and the root span knows the trace's. An LLM span that already
has LLM calls below it (``@observe_llm`` around a wrapped client call) is a container: its own
usage is the same tokens again, so it is shown but not rolled up.
"""

from __future__ import annotations

import datetime as _dt
import os
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from brokle_trace import semconv
from brokle_trace._trace import clock as _clock
from brokle_trace.llm._cost import Cost
from brokle_trace.llm._deferred import CostCell, deferred_of
from brokle_trace.llm._usage import Usage, extract_usage, usage_object

if TYPE_CHECKING:
    from brokle_trace._trace.span import Span

__all__ = ["apply_llm_update", "attrs_of", "extra", "now_ns", "record", "set_ttft"]

_lock = threading.Lock()
_ROLLUP_KEYS = (
    semconv.BROKLE_ROLLUP_INPUT_TOKENS,
    semconv.BROKLE_ROLLUP_OUTPUT_TOKENS,
    semconv.BROKLE_ROLLUP_LLM_CALLS,
)


def _after_fork_in_child() -> None:
    # Callers' threads roll LLM usage up to the ancestors under _lock: a fork while another
    # thread held it would leave it held forever, and the child's next LLM call blocked on it.
    global _lock
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):  # pragma: no branch - POSIX
    os.register_at_fork(after_in_child=_after_fork_in_child)


def extra(span: Span) -> dict[str, Any]:
    """The span's private scratch dict (created on first use)."""
    ext = getattr(span, "_extra", None)
    if type(ext) is not dict:
        span._extra = ext = {}
    return ext


def attrs_of(span: Span) -> dict[str, Any]:
    """The span's own attribute dict (created on first use)."""
    at = getattr(span, "_attributes", None)
    if type(at) is not dict:
        span._attributes = at = {}
    span._updated = True  # the export worker reads the optional slots only when set
    return at


def _static_or_own(span: Span, key: str) -> str | None:
    for source in (getattr(span, "_attributes", None), span._facts.attributes):
        if isinstance(source, dict):
            value = source.get(key)
            if isinstance(value, str):
                return value
    return None


def request_model(span: Span) -> str | None:
    """The model the span asked for: set at call time, or fixed by ``@observe_llm(model=)``."""
    return _static_or_own(span, semconv.GEN_AI_REQUEST_MODEL)


def record(
    span: Span,
    *,
    model: str | None = None,
    usage: Usage | None = None,
    cost: Cost | float | None = None,
    raw: Any = None,
) -> None:
    """Set model/usage on ``span``, queue its pricing, and roll the change up to its ancestors.

    ``raw``: the provider's usage object ``usage`` was read from, kept for the price source's
    own extractor (see ``_source``); ignored when ``usage`` only adds to an earlier one.
    """
    ext = extra(span)
    at = attrs_of(span)
    if model:
        at[semconv.GEN_AI_RESPONSE_MODEL] = model
        ext["model"] = model
    if usage is not None:
        prev = ext.get("usage")
        merged = prev.merged(usage) if prev is not None else usage
        if merged != usage:
            raw = None  # a stream's parts: only the merged counts describe the whole call
        usage = merged
        ext["usage"] = usage
        at.update(usage.attributes())
    else:
        usage = ext.get("usage")
        raw = ext.get("raw")
    cell: CostCell | None = ext.get("cell")
    if cell is None:
        if usage is None and cost is None:
            return
        cell = ext["cell"] = CostCell()
        deferred_of(at).own = cell
    if cost is not None:
        cell.manual = cost  # set by hand: wins over any price from now on
    if usage is not None:
        ext["raw"] = raw
        # Priced on the export worker: the caller's thread only says what to price.
        cell.request = (
            (ext.get("model"), request_model(span)),
            _static_or_own(span, semconv.GEN_AI_PROVIDER_NAME),
            usage,
            raw,
            span._start_ns,
        )
    _roll_up(span, ext, at, usage, cell)


def _roll_up(
    span: Span, ext: dict[str, Any], at: dict[str, Any], usage: Usage | None, cell: CostCell
) -> None:
    if at.get(semconv.BROKLE_ROLLUP_LLM_CALLS):
        return  # a container of LLM calls already counted below it
    now = (
        (usage.input_tokens or 0) if usage is not None else 0,
        (usage.output_tokens or 0) if usage is not None else 0,
        1,
    )
    prev = ext.get("rolled", (0, 0, 0))
    delta = tuple(n - p for n, p in zip(now, prev, strict=True))
    ext["rolled"] = now
    first = not prev[2]  # the cell goes to each ancestor once
    if not any(delta):
        return
    node = getattr(span, "_parent", None)
    with _lock:  # sibling spans on other threads add to the same ancestors
        while node is not None:
            if node.is_recording:
                nat = attrs_of(node)
                for key, d in zip(_ROLLUP_KEYS, delta, strict=True):
                    if d:
                        nat[key] = nat.get(key, 0) + d
                if first:
                    deferred_of(nat).cells.append(cell)
            node = getattr(node, "_parent", None)


def set_ttft(span: Span, at_ns: int) -> None:
    """Record the time to first chunk (seconds, GenAI convention) given its clock time."""
    seconds = max(0, at_ns - span._start_ns) / 1e9
    attrs_of(span)[semconv.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] = round(seconds, 9)


def _to_ns(value: Any) -> int | None:
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.astimezone()  # naive: local time, as datetime.now() returns
        return int(value.timestamp() * 1e9)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value * 1e9)  # epoch seconds, as time.time() returns
    return None


def _cost_from(value: Any) -> Cost | float | None:
    if isinstance(value, Cost):
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, Mapping):
        inp, out = value.get("input"), value.get("output")
        if isinstance(inp, (int, float)) and isinstance(out, (int, float)):
            return Cost(float(inp), float(out))
        total = value.get("total")
        if isinstance(total, (int, float)):
            return float(total)
    return None


def apply_llm_update(
    span: Span,
    *,
    model: str | None = None,
    usage: Any = None,
    cost_usd: Any = None,
    completion_start_time: Any = None,
) -> None:
    """Record LLM facts set by hand with ``update_current_span(model=..., usage=...)``.

    ``usage``: a dict or any provider usage object (see :func:`extract_usage`), or a whole
    response carrying one; ``cost_usd``: a number (the total), ``{"input": .., "output": ..}``
    or a :class:`Cost` (overrides the price table); ``completion_start_time``: a datetime,
    epoch seconds (float) or ``time.time_ns()`` nanoseconds (int) of the first token.
    """
    parsed = extract_usage(usage) if usage is not None else None
    raw = usage
    if parsed is None and usage is not None:
        raw = usage_object(usage)
        parsed = extract_usage(raw)
    record(span, model=model, usage=parsed, cost=_cost_from(cost_usd), raw=raw)
    if completion_start_time is not None:
        ns = _to_ns(completion_start_time)
        if ns is not None:
            set_ttft(span, ns)


def now_ns() -> int:
    """The core's clock (swappable in tests through ``brokle_trace.testing.deterministic``)."""
    return _clock.time_ns()
