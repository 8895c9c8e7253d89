"""Cost priced when the span is written out, on the export worker, never on the caller's thread.

Pricing through genai-prices costs ~0.2 s to load and ~0.2 ms per call: neither may land on
the traced call. So recording usage only fills in a :class:`CostCell` (what to price); the
export worker prices it when it converts the span (``finish``, called by the converter for
spans whose attributes carry :data:`DEFERRED`), and loads the price source on the first one.

Roll-ups work the same way: each ancestor of an LLM span holds the span's cell, and its
``brokle.rollup.cost_usd`` / ``brokle.rollup.unpriced_calls`` are summed from those cells
when the ancestor is written out. A cell is priced once (and an unpriced call counted once),
however many spans read it.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from brokle_trace import semconv
from brokle_trace.llm._cost import Cost, count_unpriced, price_of
from brokle_trace.llm._usage import Usage

__all__ = ["DEFERRED", "CostCell", "Deferred", "deferred_of", "finish", "finish_request"]

#: Private attribute key holding a span's :class:`Deferred`; ``finish`` removes it.
DEFERRED = "brokle.cost.deferred"

_lock = threading.Lock()


def _after_fork_in_child() -> None:
    # A fork while the export worker held the lock would leave it held forever in the child.
    global _lock
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):  # pragma: no branch - POSIX
    os.register_at_fork(after_in_child=_after_fork_in_child)


class CostCell:
    """One LLM call's cost: set by hand, or the request to price (models, provider, usage).

    Example:
        >>> from brokle_trace.llm._usage import Usage
        >>> cell = CostCell()
        >>> cell.request = (("gpt-4o-mini",), "openai", Usage(1_000_000, 0), None, None)
        >>> cell.result().total_usd
        0.15
    """

    __slots__ = ("_counted", "_memo", "manual", "request")

    def __init__(self) -> None:
        #: A cost set by hand (a Cost or a total); wins over any price.
        self.manual: Cost | float | None = None
        #: (models to try, provider, usage, provider's usage object, request time ns).
        self.request: tuple[tuple[str | None, ...], str | None, Usage, Any, int | None] | None
        self.request = None
        self._memo: tuple[object, Cost | None] | None = None
        self._counted = False

    def result(self) -> Cost | float | None:
        """The cost (priced on first call, again only if the request changed), or None."""
        manual = self.manual
        if manual is not None:
            return manual
        request = self.request
        if request is None:
            return None
        with _lock:  # a cell read by a span and its ancestors is priced and counted once
            memo = self._memo
            if memo is not None and memo[0] is request:
                return memo[1]
            cost = price_of(*request)
            self._memo = (request, cost)
            if cost is None and not self._counted:
                self._counted = True
                count_unpriced(next((m for m in request[0] if m), None))
        return cost


class Deferred:
    """What a span's attributes still need at export: its own cost, its subtree's cells."""

    __slots__ = ("cells", "own")

    def __init__(self) -> None:
        self.own: CostCell | None = None
        self.cells: list[CostCell] = []


def deferred_of(attrs: dict[str, Any]) -> Deferred:
    """The span's :class:`Deferred` (created on first use) in its attribute dict."""
    holder = attrs.get(DEFERRED)
    if type(holder) is not Deferred:
        attrs[DEFERRED] = holder = Deferred()
    return holder


def finish(attrs: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``attrs`` with the deferred costs priced in and :data:`DEFERRED` removed.

    Never raises: a failure is counted as an internal error and the span goes out unpriced.
    """
    out = dict(attrs)
    holder = out.pop(DEFERRED, None)
    if type(holder) is not Deferred:
        return out
    try:
        _own(out, holder.own)
        _rolled(out, tuple(holder.cells))
    except Exception as exc:
        from brokle_trace._runtime import errors as _errors

        _errors.internal_error("price_span", exc)
    return out


def finish_request(attrs: dict[str, Any], request: tuple[Any, ...]) -> None:
    """``finish`` in place for a span whose one deferred cost is its own, read by no
    ancestor: ``request`` (a ``CostCell``'s) priced now, with no cell, lock or copy.

    The export worker's shortcut for a third-party LLM span with nothing left running above
    it (``_export.foreign``); ``finish`` on a cell holding ``request`` is its reference
    (``tests/parity/test_foreign_pricing.py``). Never raises.
    """
    try:
        cost = price_of(*request)
        if isinstance(cost, Cost):
            attrs.update(cost.attributes())
        else:
            count_unpriced(next((m for m in request[0] if m), None))
            attrs[semconv.BROKLE_COST_UNPRICED] = True
    except Exception as exc:
        from brokle_trace._runtime import errors as _errors

        _errors.internal_error("price_span", exc)


def _own(out: dict[str, Any], cell: CostCell | None) -> None:
    if cell is None:
        return
    cost = cell.result()
    if isinstance(cost, Cost):
        out.update(cost.attributes())
    elif isinstance(cost, float):
        out[semconv.BROKLE_COST_TOTAL_USD] = round(cost, 9)
    elif cell.request is not None:
        out[semconv.BROKLE_COST_UNPRICED] = True


def _rolled(out: dict[str, Any], cells: tuple[CostCell, ...]) -> None:
    if not cells:
        return
    total, priced, unpriced = 0.0, 0, 0
    for cell in cells:
        cost = cell.result()
        if isinstance(cost, Cost):
            total += cost.total_usd
            priced += 1
        elif isinstance(cost, float):
            total += cost
            priced += 1
        else:
            unpriced += 1
    if priced:
        out[semconv.BROKLE_ROLLUP_COST_USD] = round(total, 9)
    if unpriced:
        out[semconv.BROKLE_ROLLUP_UNPRICED_CALLS] = unpriced
