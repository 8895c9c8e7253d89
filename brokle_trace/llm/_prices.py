"""The price table: USD per million tokens, with model-name aliases and dated variants.

Prices are the providers' public list prices for standard (non-batch, non-priority) use, as
of :data:`PRICES_AS_OF`; long-context tiers are ignored (the base tier is used). They drift:
users add or override entries with ``configure(prices={...})``, which wins over this table.

Name resolution, in order: the exact name; a user alias; the name lower-cased with a provider
prefix dropped (``openai/``, ``models/``, ``anthropic.``); then the same with a trailing date
or version stamp dropped (``-2024-08-06``, ``-20241022``, ``@20240620``, ``-0613``, ``-002``,
``-latest``, ``-v1:0``). No fuzzy or prefix matching: an unknown model gets no price rather
than a wrong one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

__all__ = ["PRICES_AS_OF", "ModelPrice", "parse_prices", "resolve_price"]

#: When the built-in table was last checked against the providers' pricing pages.
PRICES_AS_OF = "2025-11"


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


def _p(
    inp: float, out: float, cached: float | None = None, write: float | None = None
) -> ModelPrice:
    return ModelPrice(inp, out, cached, write)


# fmt: off
_TABLE: dict[str, ModelPrice] = {
    # -- OpenAI (platform.openai.com/pricing) -------------------------------------------------
    "gpt-5": _p(1.25, 10.0, 0.125),
    "gpt-5-mini": _p(0.25, 2.0, 0.025),
    "gpt-5-nano": _p(0.05, 0.40, 0.005),
    "gpt-5-chat": _p(1.25, 10.0, 0.125),
    "gpt-5.1": _p(1.25, 10.0, 0.125),
    "gpt-4.1": _p(2.0, 8.0, 0.50),
    "gpt-4.1-mini": _p(0.40, 1.60, 0.10),
    "gpt-4.1-nano": _p(0.10, 0.40, 0.025),
    "gpt-4o": _p(2.50, 10.0, 1.25),
    "gpt-4o-2024-05-13": _p(5.0, 15.0),  # the first gpt-4o snapshot kept its launch price
    "gpt-4o-mini": _p(0.15, 0.60, 0.075),
    "chatgpt-4o": _p(5.0, 15.0),
    "gpt-4-turbo": _p(10.0, 30.0),
    "gpt-4": _p(30.0, 60.0),
    "gpt-4-32k": _p(60.0, 120.0),
    "gpt-3.5-turbo": _p(0.50, 1.50),
    "gpt-3.5-turbo-16k": _p(3.0, 4.0),
    "gpt-3.5-turbo-instruct": _p(1.50, 2.0),
    "o1": _p(15.0, 60.0, 7.50),
    "o1-mini": _p(1.10, 4.40, 0.55),
    "o1-preview": _p(15.0, 60.0, 7.50),
    "o1-pro": _p(150.0, 600.0),
    "o3": _p(2.0, 8.0, 0.50),
    "o3-mini": _p(1.10, 4.40, 0.55),
    "o3-pro": _p(20.0, 80.0),
    "o4-mini": _p(1.10, 4.40, 0.275),
    "text-embedding-3-small": _p(0.02, 0.0),
    "text-embedding-3-large": _p(0.13, 0.0),
    "text-embedding-ada-002": _p(0.10, 0.0),
    # -- Anthropic (anthropic.com/pricing): cache read 0.1x input, 5-minute cache write 1.25x --
    "claude-opus-4-5": _p(5.0, 25.0, 0.50, 6.25),
    "claude-opus-4-1": _p(15.0, 75.0, 1.50, 18.75),
    "claude-opus-4": _p(15.0, 75.0, 1.50, 18.75),
    "claude-sonnet-4-5": _p(3.0, 15.0, 0.30, 3.75),
    "claude-sonnet-4": _p(3.0, 15.0, 0.30, 3.75),
    "claude-haiku-4-5": _p(1.0, 5.0, 0.10, 1.25),
    "claude-3-7-sonnet": _p(3.0, 15.0, 0.30, 3.75),
    "claude-3-5-sonnet": _p(3.0, 15.0, 0.30, 3.75),
    "claude-3-5-haiku": _p(0.80, 4.0, 0.08, 1.0),
    "claude-3-opus": _p(15.0, 75.0, 1.50, 18.75),
    "claude-3-sonnet": _p(3.0, 15.0, 0.30, 3.75),
    "claude-3-haiku": _p(0.25, 1.25, 0.03, 0.30),
    # -- Google Gemini API (ai.google.dev/pricing), prompts up to 200k tokens -----------------
    "gemini-2.5-pro": _p(1.25, 10.0, 0.125),
    "gemini-2.5-flash": _p(0.30, 2.50, 0.03),
    "gemini-2.5-flash-lite": _p(0.10, 0.40, 0.01),
    "gemini-2.0-flash": _p(0.10, 0.40, 0.025),
    "gemini-2.0-flash-lite": _p(0.075, 0.30),
    "gemini-1.5-pro": _p(1.25, 5.0, 0.3125),
    "gemini-1.5-flash": _p(0.075, 0.30, 0.01875),
    "text-embedding-004": _p(0.0, 0.0),
    "gemini-embedding-001": _p(0.15, 0.0),
    # -- Mistral (mistral.ai/pricing) ----------------------------------------------------------
    "mistral-large": _p(2.0, 6.0),
    "mistral-medium": _p(0.40, 2.0),
    "mistral-small": _p(0.10, 0.30),
    "codestral": _p(0.30, 0.90),
    "pixtral-large": _p(2.0, 6.0),
    "ministral-8b": _p(0.10, 0.10),
    "ministral-3b": _p(0.04, 0.04),
    "open-mistral-nemo": _p(0.15, 0.15),
    "mistral-embed": _p(0.10, 0.0),
    # -- Others --------------------------------------------------------------------------------
    "deepseek-chat": _p(0.28, 0.42, 0.028),
    "deepseek-reasoner": _p(0.28, 0.42, 0.028),
    "grok-4": _p(3.0, 15.0, 0.75),
    "grok-3": _p(3.0, 15.0, 0.75),
    "grok-3-mini": _p(0.30, 0.50, 0.075),
    "command-r-plus": _p(2.50, 10.0),
    "command-r": _p(0.15, 0.60),
    "command-a": _p(2.50, 10.0),
    "llama-3.3-70b-versatile": _p(0.59, 0.79),
    "llama-3.1-8b-instant": _p(0.05, 0.08),
}

#: Names the providers publish as aliases of a table entry.
_ALIASES: dict[str, str] = {
    "chatgpt-4o-latest": "chatgpt-4o",
    "gpt-4-turbo-preview": "gpt-4-turbo",
    "gpt-4-1106-preview": "gpt-4-turbo",
    "gpt-4-0125-preview": "gpt-4-turbo",
    "gpt-4-vision-preview": "gpt-4-turbo",
    "claude-opus-4-0": "claude-opus-4",
    "claude-sonnet-4-0": "claude-sonnet-4",
    "claude-3-5-sonnet-v2": "claude-3-5-sonnet",
    "claude-3-5-haiku-v1": "claude-3-5-haiku",
    "mistral-large-2": "mistral-large",
    "mistral-small-3": "mistral-small",
    "mistral-medium-3": "mistral-medium",
    "open-mistral-nemo-2407": "open-mistral-nemo",
    "gemini-pro-latest": "gemini-2.5-pro",
    "gemini-flash-latest": "gemini-2.5-flash",
    "gemini-flash-lite-latest": "gemini-2.5-flash-lite",
}
# fmt: on

_PREFIX = re.compile(r"^(?:[a-z0-9_-]+/|models/|anthropic\.|us\.anthropic\.|eu\.anthropic\.)")
_STAMP = re.compile(
    r"(?:-\d{4}-\d{2}-\d{2}|-\d{8}|@\d{8}|-\d{4}|-\d{3}|-latest|-v\d+(?::\d+)?)+$"
)


def _candidates(model: str) -> tuple[str, ...]:
    name = model.strip().lower()
    name = _PREFIX.sub("", name)
    stripped = _STAMP.sub("", name)
    return (name, stripped) if stripped != name else (name,)


@lru_cache(maxsize=1024)
def _resolve_builtin(model: str) -> ModelPrice | None:
    for cand in _candidates(model):
        price = _TABLE.get(cand)
        if price is not None:
            return price
        alias = _ALIASES.get(cand)
        if alias is not None:
            return _TABLE[alias]
    return None


def resolve_price(
    model: str | None,
    user_prices: Mapping[str, ModelPrice] | None = None,
    user_aliases: Mapping[str, str] | None = None,
) -> ModelPrice | None:
    """The price of ``model``: user entries first, then the built-in table; None if unknown.

    Example:
        >>> from brokle_trace.llm import resolve_price
        >>> resolve_price("gpt-4o-2024-08-06").input
        2.5
        >>> resolve_price("claude-3-5-sonnet-20241022").output
        15.0
        >>> resolve_price("my-private-model") is None
        True
    """
    if not model or not isinstance(model, str):
        return None
    if user_prices or user_aliases:
        for cand in (model, *_candidates(model)):
            target = user_aliases.get(cand) if user_aliases else None
            name = target if target is not None else cand
            if user_prices and name in user_prices:
                return user_prices[name]
            if target is not None:
                return _resolve_builtin(target)
    return _resolve_builtin(model)


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
