"""Usage x price = cost; unknown models get no cost (never a made-up zero) and are counted.

The user's prices (``configure(prices=...)``, ``BROKLE_PRICES``) win; every other price comes
from genai-prices (``_source``).
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from brokle_trace import semconv
from brokle_trace.llm import _source
from brokle_trace.llm._prices import ModelPrice, parse_prices, resolve_override
from brokle_trace.llm._usage import Usage

__all__ = ["Cost", "compute_cost", "count_unpriced", "price_of", "unpriced_models", "user_prices"]

#: ``brokle.cost.prices_as_of`` of a price given by the user.
USER_PRICES = "configure(prices)"

_PER_TOKEN = 1e-6


@dataclass(frozen=True)
class Cost:
    """The cost of one call in USD, split into input and output.

    ``model`` is the id the price was found under (genai-prices' model id, or the name of your
    ``configure(prices=...)`` entry); ``prices_as_of`` says which prices those were (the
    genai-prices release, or ``configure(prices)``). Both are None for a cost set by hand.

    Example:
        >>> from brokle_trace.llm import Cost
        >>> Cost(input_usd=0.002, output_usd=0.001).total_usd
        0.003
    """

    input_usd: float
    output_usd: float
    model: str | None = None
    prices_as_of: str | None = None

    @property
    def total_usd(self) -> float:
        """Input plus output, rounded to a billionth of a dollar (float noise removed)."""
        return round(self.input_usd + self.output_usd, 9)

    def attributes(self) -> dict[str, Any]:
        """The span attributes for this cost."""
        attrs: dict[str, Any] = {
            semconv.BROKLE_COST_INPUT_USD: round(self.input_usd, 9),
            semconv.BROKLE_COST_OUTPUT_USD: round(self.output_usd, 9),
            semconv.BROKLE_COST_TOTAL_USD: self.total_usd,
        }
        if self.model is not None:
            attrs[semconv.BROKLE_COST_MODEL] = self.model
        if self.prices_as_of is not None:
            attrs[semconv.BROKLE_COST_PRICES_AS_OF] = self.prices_as_of
        return attrs


def price_cost(price: ModelPrice, usage: Usage, model: str | None = None) -> Cost:
    """Apply a user's ``price`` to ``usage``: cached reads and cache writes at their own rates."""
    inp = usage.input_tokens or 0
    cached = min(usage.cache_read_tokens or 0, inp)
    written = min(usage.cache_creation_tokens or 0, inp - cached)
    fresh = inp - cached - written
    cached_rate = price.cached_input if price.cached_input is not None else price.input
    write_rate = price.cache_write if price.cache_write is not None else price.input
    input_usd = (fresh * price.input + cached * cached_rate + written * write_rate) * _PER_TOKEN
    # Reasoning tokens are billed as output tokens and already counted in output_tokens.
    output_usd = (usage.output_tokens or 0) * price.output * _PER_TOKEN
    return Cost(input_usd, output_usd, model, USER_PRICES if model is not None else None)


_lock = threading.Lock()
_unpriced: Counter[str] = Counter()
_user: tuple[dict[str, ModelPrice], dict[str, str]] = ({}, {})


def _after_fork_in_child() -> None:
    # The export worker counts unpriced models under _lock: a fork while it held the lock
    # would leave it held forever in the child (its worker, and stats(), blocked on it).
    global _lock
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):  # pragma: no branch - POSIX
    os.register_at_fork(after_in_child=_after_fork_in_child)


def set_user_prices(raw: dict[str, object] | None) -> None:
    """Install the prices given to ``configure(prices=...)`` (called by the lifecycle)."""
    global _user
    _user = parse_prices(raw or None)


def user_prices() -> tuple[dict[str, ModelPrice], dict[str, str]]:
    """The prices and aliases given to ``configure(prices=...)``, parsed once per configure."""
    return _user


def price_of(
    models: Iterable[str | None],
    provider: str | None,
    usage: Usage,
    raw: Any = None,
    when_ns: int | None = None,
) -> Cost | None:
    """The cost of ``usage``: the first of ``models`` the user priced, else genai-prices'.

    Loads genai-prices on first use (~0.2 s): tracing calls this on the export worker only.
    """
    names = [m for m in models if isinstance(m, str) and m]
    prices, aliases = user_prices()
    if prices or aliases:
        for name in names:
            entry = resolve_override(name, prices, aliases)
            if isinstance(entry, ModelPrice):
                return price_cost(entry, usage, name)
            if isinstance(entry, str):
                names = [entry]  # an alias of a model genai-prices knows
                break
    found = _source.price(names, provider, usage, raw, when_ns)
    if found is None:
        return None
    # A repeated request gets the same answer object from the source's memo: its Cost is
    # kept with it (immutable, so shared), keyed by the answer's identity.
    known = _costs.get(id(found))
    if known is not None and known[0] is found:
        return known[1]
    inp, out, model_id, as_of = found
    cost = Cost(float(inp), float(out), model_id, as_of)
    if len(_costs) >= _COSTS_MAX:
        _costs.clear()
    _costs[id(found)] = (found, cost)  # holds ``found`` so its id stays valid
    return cost


_costs: dict[int, tuple[Any, Cost]] = {}
_COSTS_MAX = 4096


def count_unpriced(model: str | None) -> None:
    """Count one call of ``model`` that could not be priced (see :func:`unpriced_models`)."""
    # The name is whatever the caller passed as model=, and stats() shows it: redacted like
    # an exported span name.
    from brokle_trace import capture
    from brokle_trace._runtime import state

    name = capture.redact_text(model, state.capture_settings, field="name") if model else ""
    with _lock:
        _unpriced[name or "<no model>"] += 1


def compute_cost(
    model: str | None,
    usage: Usage | None,
    *,
    provider: str | None = None,
    count: bool = True,
) -> Cost | None:
    """The cost of ``usage`` on ``model`` (at ``provider``), or None when it has no known price.

    Your ``configure(prices=...)`` entries win; every other price comes from genai-prices'
    bundled snapshot (loaded on first use, ~0.2 s; spans are priced on the export worker, so
    tracing never waits for it). A model without a price is counted (see
    :func:`unpriced_models`) so a gap shows up instead of reading as free.

    Example:
        >>> from brokle_trace.llm import Usage, compute_cost
        >>> cost = compute_cost("gpt-4o-mini", Usage(input_tokens=1_000_000, output_tokens=0))
        >>> cost.total_usd, cost.model
        (0.15, 'gpt-4o-mini')
        >>> compute_cost("llama-3.1-8b-instant", Usage(input_tokens=10**6, output_tokens=0),
        ...              provider="groq").total_usd
        0.05
    """
    if usage is None or (usage.input_tokens is None and usage.output_tokens is None):
        return None
    cost = price_of((model,), provider, usage)
    if cost is None and count:
        count_unpriced(model)
    return cost


def unpriced_models() -> dict[str, int]:
    """How many calls per model name could not be priced in this process.

    Example:
        >>> from brokle_trace.llm import unpriced_models
        >>> isinstance(unpriced_models(), dict)
        True
    """
    with _lock:
        return dict(_unpriced)
