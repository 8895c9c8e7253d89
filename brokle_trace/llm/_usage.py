"""Token usage: one normalised record, read from whatever a provider or a user hands us.

Recognised shapes (objects or their dict forms, read with ``getattr``/``dict.get`` only):

* OpenAI chat completions / completions / embeddings: ``prompt_tokens``,
  ``completion_tokens``, ``total_tokens``, ``prompt_tokens_details.cached_tokens``,
  ``completion_tokens_details.reasoning_tokens``;
* OpenAI Responses: ``input_tokens``, ``output_tokens``, ``input_tokens_details.cached_tokens``,
  ``output_tokens_details.reasoning_tokens``;
* Anthropic: ``input_tokens`` (which excludes cache reads and writes),
  ``cache_read_input_tokens``, ``cache_creation_input_tokens``, ``output_tokens``;
* Google Gemini ``usage_metadata``: ``prompt_token_count`` (+ ``tool_use_prompt_token_count``),
  ``candidates_token_count`` + ``thoughts_token_count`` (both billed as output),
  ``cached_content_token_count``;

``input_tokens`` follows the GenAI convention: it counts every input token, cached or not, so
Anthropic's three counters are summed. The cached part is reported on its own as well.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from brokle_trace import semconv

__all__ = ["Usage", "extract_usage", "find_usage", "read", "usage_object"]


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
        fields = obj.__dict__
    except Exception:
        fields = None
    if type(fields) is dict and name not in fields and not _class_has(type(obj), name):
        # Most reads are of absent names (one shape's field asked of another), and a miss on
        # a pydantic model (every SDK response) raises inside getattr: ~4 us, against ~0.1 us
        # for this check. Extra fields of such models live in __pydantic_extra__.
        extra = getattr(obj, "__pydantic_extra__", None)
        return extra.get(name) if type(extra) is dict else _getattr(obj, name)
    return _getattr(obj, name)


#: (class, name) -> whether the class itself has the attribute (a property, a method):
#: pydantic's metaclass also raises on a miss (~2 us), so the answer is kept per class.
_class_attrs: dict[tuple[type, str], bool] = {}


def _class_has(cls: type, name: str) -> bool:
    key = (cls, name)
    known = _class_attrs.get(key)
    if known is None:
        try:
            known = hasattr(cls, name)
        except Exception:
            known = False
        if len(_class_attrs) >= 4096:
            _class_attrs.clear()
        _class_attrs[key] = known
    return known


def _getattr(obj: Any, name: str) -> Any:
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
    return read(obj, name) is not None


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
    if _has(usage, "prompt_token_count") or _has(usage, "candidates_token_count"):
        return _gemini(usage, total)
    prompt = _int(read(usage, "prompt_tokens"))
    if prompt is not None or _int(read(usage, "completion_tokens")) is not None:
        # OpenAI chat/completions/embeddings: prompt_tokens already includes cached tokens.
        output = _int(read(usage, "completion_tokens"))
        cached = _int(read(read(usage, "prompt_tokens_details"), "cached_tokens"))
        reasoning = _int(read(read(usage, "completion_tokens_details"), "reasoning_tokens"))
        if prompt is not None and output is None and total is not None and total >= prompt:
            output = None if total == prompt else total - prompt
        elif (
            prompt is not None
            and output is not None
            and reasoning
            and total == prompt + output + reasoning
        ):
            # Some OpenAI-compatible APIs (xAI) leave reasoning out of completion_tokens but
            # count it in the total; output_tokens includes it (GenAI convention, billing).
            output += reasoning
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
    if total is not None:
        return Usage(None, None, total)
    return None


def _gemini(usage: Any, total: int | None) -> Usage:
    # Gemini usage_metadata: thoughts are billed as output but not in candidates_token_count;
    # tool-use prompt tokens are input; the cached content is part of the prompt.
    prompt = _int(read(usage, "prompt_token_count"))
    tool_prompt = _int(read(usage, "tool_use_prompt_token_count"))
    candidates = _int(read(usage, "candidates_token_count"))
    thoughts = _int(read(usage, "thoughts_token_count"))
    inp = None if prompt is None and tool_prompt is None else (prompt or 0) + (tool_prompt or 0)
    out = None if candidates is None and thoughts is None else (candidates or 0) + (thoughts or 0)
    cached = _int(read(usage, "cached_content_token_count"))
    return Usage(inp, out, total, cached, None, thoughts)


def usage_object(result: Any) -> Any:
    """The usage part of a whole response: its ``usage`` (or Gemini ``usage_metadata``) field,
    else ``result`` itself (it may be a bare usage object). None for plain values."""
    if result is None or isinstance(result, (str, bytes, int, float, bool, list, tuple)):
        return None
    try:
        usage = read(result, "usage")
        if usage is None:
            usage = read(result, "usage_metadata")
    except Exception:
        return None
    return result if usage is None else usage


def find_usage(result: Any) -> Usage | None:
    """The usage of a whole response: its ``usage`` (or Gemini ``usage_metadata``) field.

    Also accepts a bare usage object/dict. Cheap: two attribute reads for most results.

    Example:
        >>> from brokle_trace.llm import find_usage
        >>> find_usage({"model": "gpt-4o", "usage": {"input_tokens": 7, "output_tokens": 2}}).total
        9
    """
    return extract_usage(usage_object(result))
