"""Token usage: one normalised record, read from whatever a provider or a user hands us.

Recognised shapes (objects or their dict forms, read with ``getattr``/``dict.get`` only):

* OpenAI chat completions / completions / embeddings: ``prompt_tokens``,
  ``completion_tokens``, ``total_tokens``, ``prompt_tokens_details.cached_tokens``,
  ``completion_tokens_details.reasoning_tokens``;
* OpenAI Responses: ``input_tokens``, ``output_tokens``, ``input_tokens_details.cached_tokens``,
  ``output_tokens_details.reasoning_tokens``;
* Anthropic: ``input_tokens`` (which excludes cache reads and writes),
  ``cache_read_input_tokens``, ``cache_creation_input_tokens``, ``output_tokens``;
* Google Gemini ``usage_metadata``: ``prompt_token_count``, ``candidates_token_count``, ...

``input_tokens`` follows the GenAI convention: it counts every input token, cached or not, so
Anthropic's three counters are summed. The cached part is reported on its own as well.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from brokle_trace import semconv

__all__ = ["Usage", "extract_usage", "find_usage", "read"]


@dataclass(frozen=True)
class Usage:
    """Token counts of one LLM call; a field is None when the provider did not say.

    Example:
        >>> from brokle_trace.llm import Usage
        >>> Usage(input_tokens=10, output_tokens=5).total
        15
    """

    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_creation_tokens: int | None = None
    reasoning_tokens: int | None = None

    @property
    def total(self) -> int | None:
        """``total_tokens`` if given, else input + output (None if neither is known)."""
        if self.total_tokens is not None:
            return self.total_tokens
        if self.input_tokens is None and self.output_tokens is None:
            return None
        return (self.input_tokens or 0) + (self.output_tokens or 0)

    def merged(self, later: Usage) -> Usage:
        """This usage with every field ``later`` knows replaced (streams report in parts)."""
        values = {
            f.name: getattr(later, f.name)
            if getattr(later, f.name) is not None
            else getattr(self, f.name)
            for f in fields(self)
        }
        return Usage(**values)

    def attributes(self) -> dict[str, int]:
        """The span attributes for this usage (GenAI names; only the known counts)."""
        attrs: dict[str, int] = {}
        for key, value in (
            (semconv.GEN_AI_USAGE_INPUT_TOKENS, self.input_tokens),
            (semconv.GEN_AI_USAGE_OUTPUT_TOKENS, self.output_tokens),
            (semconv.BROKLE_USAGE_TOTAL_TOKENS, self.total),
            (semconv.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, self.cache_read_tokens),
            (semconv.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS, self.cache_creation_tokens),
            (semconv.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, self.reasoning_tokens),
        ):
            if value is not None:
                attrs[key] = value
        return attrs


def read(obj: Any, name: str) -> Any:
    """``obj.name`` or ``obj[name]`` for mappings; None when absent. Never raises."""
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return obj.get(name)
    try:
        return getattr(obj, name, None)
    except Exception:
        return None


def _int(value: Any) -> int | None:
    # bool is an int subclass but never a token count.
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _has(obj: Any, name: str) -> bool:
    if isinstance(obj, Mapping):
        return name in obj
    try:
        return hasattr(obj, name)
    except Exception:
        return False


def _first(obj: Any, *names: str) -> int | None:
    for name in names:
        value = _int(read(obj, name))
        if value is not None:
            return value
    return None


def extract_usage(usage: Any) -> Usage | None:
    """Normalise one usage object or dict (the ``usage`` field itself) into a :class:`Usage`.

    Returns None when nothing recognisable is there.

    Example:
        >>> from brokle_trace.llm import extract_usage
        >>> extract_usage({"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15})
        Usage(input_tokens=12, output_tokens=3, total_tokens=15, cache_read_tokens=None, \
cache_creation_tokens=None, reasoning_tokens=None)
    """
    if usage is None or isinstance(usage, (str, bytes, int, float)):
        return None
    if isinstance(usage, Usage):
        return usage
    try:
        return _extract(usage)
    except Exception:
        return None


def _extract(usage: Any) -> Usage | None:
    total = _first(usage, "total_tokens", "total_token_count")
    anthropic_read = _int(read(usage, "cache_read_input_tokens"))
    anthropic_write = _int(read(usage, "cache_creation_input_tokens"))
    prompt = _first(usage, "prompt_tokens", "prompt_token_count")
    if prompt is not None or _int(read(usage, "completion_tokens")) is not None:
        # OpenAI chat/completions/embeddings: prompt_tokens already includes cached tokens.
        output = _int(read(usage, "completion_tokens"))
        cached = _int(read(read(usage, "prompt_tokens_details"), "cached_tokens"))
        reasoning = _int(read(read(usage, "completion_tokens_details"), "reasoning_tokens"))
        if prompt is not None and output is None and total is not None and total >= prompt:
            output = None if total == prompt else total - prompt
        return Usage(prompt, output, total, cached, None, reasoning)
    inp = _int(read(usage, "input_tokens"))
    out = _int(read(usage, "output_tokens"))
    if _has(usage, "cache_read_input_tokens") or _has(usage, "cache_creation_input_tokens"):
        # Anthropic: input_tokens excludes the cache; the GenAI total includes it.
        if inp is not None:
            inp = inp + (anthropic_read or 0) + (anthropic_write or 0)
        reasoning = _int(read(read(usage, "output_tokens_details"), "reasoning_tokens"))
        return Usage(inp, out, total, anthropic_read, anthropic_write, reasoning)
    if inp is not None or out is not None:
        # OpenAI Responses, or any {input_tokens, output_tokens} dict.
        cached = _int(read(read(usage, "input_tokens_details"), "cached_tokens"))
        reasoning = _int(read(read(usage, "output_tokens_details"), "reasoning_tokens"))
        return Usage(inp, out, total, cached, None, reasoning)
    candidates = _int(read(usage, "candidates_token_count"))
    if candidates is not None or total is not None:
        # Gemini usage_metadata (prompt_token_count handled above when present).
        return Usage(
            None,
            candidates,
            total,
            _int(read(usage, "cached_content_token_count")),
            None,
            _int(read(usage, "thoughts_token_count")),
        )
    return None


def find_usage(result: Any) -> Usage | None:
    """The usage of a whole response: its ``usage`` (or Gemini ``usage_metadata``) field.

    Also accepts a bare usage object/dict. Cheap: two attribute reads for most results.

    Example:
        >>> from brokle_trace.llm import find_usage
        >>> find_usage({"model": "gpt-4o", "usage": {"input_tokens": 7, "output_tokens": 2}}).total
        9
    """
    if result is None or isinstance(result, (str, bytes, int, float, bool, list, tuple)):
        return None
    try:
        usage = read(result, "usage")
        if usage is None:
            usage = read(result, "usage_metadata")
        if usage is not None:
            return extract_usage(usage)
        return extract_usage(result)
    except Exception:
        return None
