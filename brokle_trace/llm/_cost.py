"""Usage x price = cost; unknown models get no cost (never a made-up zero) and are counted."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass

from brokle_trace import semconv
from brokle_trace.llm._prices import ModelPrice, parse_prices, resolve_price
from brokle_trace.llm._usage import Usage

__all__ = ["Cost", "compute_cost", "unpriced_models", "user_prices"]

_PER_TOKEN = 1e-6


@dataclass(frozen=True)
class Cost:
    """The cost of one call in USD, split into input and output.

    Example:
        >>> from brokle_trace.llm import Cost
        >>> Cost(input_usd=0.002, output_usd=0.001).total_usd
        0.003
    """

    input_usd: float
    output_usd: float

    @property
    def total_usd(self) -> float:
        """Input plus output, rounded to a billionth of a dollar (float noise removed)."""
        return round(self.input_usd + self.output_usd, 9)

    def attributes(self) -> dict[str, float]:
        """The span attributes for this cost."""
        return {
            semconv.BROKLE_COST_INPUT_USD: round(self.input_usd, 9),
            semconv.BROKLE_COST_OUTPUT_USD: round(self.output_usd, 9),
            semconv.BROKLE_COST_TOTAL_USD: self.total_usd,
        }


def price_cost(price: ModelPrice, usage: Usage) -> Cost:
    """Apply ``price`` to ``usage``: cached reads and cache writes at their own rates."""
    inp = usage.input_tokens or 0
    cached = min(usage.cache_read_tokens or 0, inp)
    written = min(usage.cache_creation_tokens or 0, inp - cached)
    fresh = inp - cached - written
    cached_rate = price.cached_input if price.cached_input is not None else price.input
    write_rate = price.cache_write if price.cache_write is not None else price.input
    input_usd = (fresh * price.input + cached * cached_rate + written * write_rate) * _PER_TOKEN
    # Reasoning tokens are billed as output tokens and already counted in output_tokens.
    output_usd = (usage.output_tokens or 0) * price.output * _PER_TOKEN
    return Cost(input_usd, output_usd)


_lock = threading.Lock()
_unpriced: Counter[str] = Counter()
_user: tuple[dict[str, ModelPrice], dict[str, str]] = ({}, {})


def set_user_prices(raw: dict[str, object] | None) -> None:
    """Install the prices given to ``configure(prices=...)`` (called by the lifecycle)."""
    global _user
    _user = parse_prices(raw or None)


def user_prices() -> tuple[dict[str, ModelPrice], dict[str, str]]:
    """The prices and aliases given to ``configure(prices=...)``, parsed once per configure."""
    return _user


def compute_cost(model: str | None, usage: Usage | None, *, count: bool = True) -> Cost | None:
    """The cost of ``usage`` on ``model``, or None when the model has no known price.

    A model without a price is counted (see :func:`unpriced_models`) so a gap in the table
    shows up instead of reading as free.

    Example:
        >>> from brokle_trace.llm import Usage, compute_cost
        >>> compute_cost("gpt-4o-mini", Usage(input_tokens=1_000_000, output_tokens=0)).total_usd
        0.15
    """
    if usage is None or (usage.input_tokens is None and usage.output_tokens is None):
        return None
    prices, aliases = user_prices()
    price = resolve_price(model, prices, aliases)
    if price is None:
        if not count:
            return None
        with _lock:
            _unpriced[model or "<no model>"] += 1
        return None
    return price_cost(price, usage)


def unpriced_models() -> dict[str, int]:
    """How many calls per model name could not be priced in this process.

    Example:
        >>> from brokle_trace.llm import unpriced_models
        >>> isinstance(unpriced_models(), dict)
        True
    """
    with _lock:
        return dict(_unpriced)
