"""Prices given by the user: ``configure(prices={...})`` and ``BROKLE_PRICES``.

Every other price comes from the maintained source (``_source``: genai-prices' bundled
snapshot); these entries win over it (enterprise discounts, self-hosted or private models).
There is no hand-written table here: a copy of data a maintained library ships goes stale.

An entry maps a model name to its prices in USD per million tokens, or to another model's
name (an alias, which may name a model of the maintained source). Names match exactly, then
lower-cased with a router prefix dropped (``openai/``, ``models/``, ``anthropic.``), then with
a trailing date or version stamp dropped (``-2024-08-06``, ``-20241022``, ``@20240620``,
``-0613``, ``-002``, ``-latest``, ``-v1:0``): an entry for ``acme-1`` also prices
``acme-1-2025-01-01``. No fuzzy or prefix matching beyond that.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["ModelPrice", "name_candidates", "parse_prices", "resolve_override"]


@dataclass(frozen=True)
class ModelPrice:
    """Per-million-token prices in USD for one model.

    ``cached_input`` is the price of input tokens read from the provider's cache (None: same
    as ``input``); ``cache_write`` the price of tokens written to it (None: same as
    ``input``).

    Example:
        >>> from brokle_trace.llm import ModelPrice
        >>> ModelPrice(input=2.5, output=10.0, cached_input=1.25).output
        10.0
    """

    input: float
    output: float
    cached_input: float | None = None
    cache_write: float | None = None


_PREFIX = re.compile(r"^(?:[a-z0-9_-]+/|models/|anthropic\.|us\.anthropic\.|eu\.anthropic\.)")
_STAMP = re.compile(r"(?:-\d{4}-\d{2}-\d{2}|-\d{8}|@\d{8}|-\d{4}|-\d{3}|-latest|-v\d+(?::\d+)?)+$")


def name_candidates(model: str) -> tuple[str, ...]:
    """``model`` lower-cased with a router prefix dropped, then also without a date stamp."""
    name = model.strip().lower()
    name = _PREFIX.sub("", name)
    stripped = _STAMP.sub("", name)
    return (name, stripped) if stripped != name else (name,)


def resolve_override(
    model: str | None,
    user_prices: Mapping[str, ModelPrice],
    user_aliases: Mapping[str, str],
) -> ModelPrice | str | None:
    """The user's entry for ``model``: its price, the model an alias names, or None.

    Example:
        >>> prices, aliases = parse_prices({"acme-1": {"input": 1, "output": 2},
        ...                                 "my-deployment": "gpt-4o"})
        >>> resolve_override("acme-1-2025-01-01", prices, aliases).output
        2.0
        >>> resolve_override("my-deployment", prices, aliases)
        'gpt-4o'
        >>> resolve_override("gpt-4o", prices, aliases) is None
        True
    """
    if not model or not isinstance(model, str) or not (user_prices or user_aliases):
        return None
    for cand in (model, *name_candidates(model)):
        price = user_prices.get(cand)
        if price is not None:
            return price
        target = user_aliases.get(cand)
        if target is not None:
            # An alias of another user entry resolves here; of anything else, at the source.
            return user_prices.get(target, target)
    return None


def parse_prices(value: Any) -> tuple[dict[str, ModelPrice], dict[str, str]]:
    """Validate the ``configure(prices=...)`` option into (prices, aliases).

    Each entry maps a model name to either a dict with ``input`` and ``output`` (USD per
    million tokens; optional ``cached_input``, ``cache_write``), a :class:`ModelPrice`, or a
    string naming another model (an alias). Raises ValueError naming the bad entry.

    Example:
        >>> prices, aliases = parse_prices({"acme-1": {"input": 1, "output": 2},
        ...                                 "acme-1-fast": "acme-1"})
        >>> prices["acme-1"].output, aliases["acme-1-fast"]
        (2.0, 'acme-1')
    """
    if value is None:
        return {}, {}
    if not isinstance(value, Mapping):
        raise ValueError("prices must be a mapping of model name -> {'input': .., 'output': ..}")
    prices: dict[str, ModelPrice] = {}
    aliases: dict[str, str] = {}
    for name, entry in value.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"prices: model names must be non-empty strings, got {name!r}")
        if isinstance(entry, str):
            aliases[name] = entry
        elif isinstance(entry, ModelPrice):
            prices[name] = entry
        elif isinstance(entry, Mapping):
            prices[name] = _price_from_mapping(name, entry)
        else:
            raise ValueError(
                f"prices[{name!r}]: expected a dict like {{'input': 2.5, 'output': 10}}, "
                f"a ModelPrice or an alias string, got {type(entry).__name__}"
            )
    return prices, aliases


_PRICE_KEYS = ("input", "output", "cached_input", "cache_write")


def _price_from_mapping(name: str, entry: Mapping[str, Any]) -> ModelPrice:
    unknown = set(entry) - set(_PRICE_KEYS)
    if unknown:
        raise ValueError(
            f"prices[{name!r}]: unknown keys {sorted(unknown)}; use {list(_PRICE_KEYS)}"
        )
    if "input" not in entry or "output" not in entry:
        raise ValueError(f"prices[{name!r}]: 'input' and 'output' (USD per 1M tokens) are needed")
    values: dict[str, float | None] = {}
    for key in _PRICE_KEYS:
        raw = entry.get(key)
        if raw is None:
            values[key] = None
            continue
        if isinstance(raw, bool) or not isinstance(raw, (int, float)) or raw < 0:
            raise ValueError(f"prices[{name!r}][{key!r}] must be a number >= 0, got {raw!r}")
        values[key] = float(raw)
    return ModelPrice(
        input=values["input"] or 0.0,
        output=values["output"] or 0.0,
        cached_input=values["cached_input"],
        cache_write=values["cache_write"],
    )
