"""Request parameters (temperature, max tokens, ...) as GenAI ``gen_ai.request.*`` attributes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from brokle_trace import semconv

__all__ = ["known_request_names", "request_attributes"]

# Argument names used by the OpenAI and Anthropic SDKs (and most hand-written wrappers).
_NUMERIC: dict[str, str] = {
    "temperature": semconv.GEN_AI_REQUEST_TEMPERATURE,
    "top_p": semconv.GEN_AI_REQUEST_TOP_P,
    "top_k": semconv.GEN_AI_REQUEST_TOP_K,
    "max_tokens": semconv.GEN_AI_REQUEST_MAX_TOKENS,
    "max_completion_tokens": semconv.GEN_AI_REQUEST_MAX_TOKENS,
    "max_output_tokens": semconv.GEN_AI_REQUEST_MAX_TOKENS,
    "frequency_penalty": semconv.GEN_AI_REQUEST_FREQUENCY_PENALTY,
    "presence_penalty": semconv.GEN_AI_REQUEST_PRESENCE_PENALTY,
    "seed": semconv.GEN_AI_REQUEST_SEED,
    "n": semconv.GEN_AI_REQUEST_CHOICE_COUNT,
}
_STOP = ("stop", "stop_sequences")


def request_attributes(args: Mapping[str, Any], *, with_model: bool = True) -> dict[str, Any]:
    """The ``gen_ai.request.*`` attributes for the call arguments in ``args``.

    Example:
        >>> request_attributes({"model": "gpt-4o", "temperature": 0.2, "stop": "END"})
        {'gen_ai.request.model': 'gpt-4o', 'gen_ai.request.temperature': 0.2, \
'gen_ai.request.stop_sequences': ['END']}
    """
    attrs: dict[str, Any] = {}
    if with_model:
        model = args.get("model")
        if isinstance(model, str) and model:
            attrs[semconv.GEN_AI_REQUEST_MODEL] = model
    for name, key in _NUMERIC.items():
        value = args.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            attrs[key] = value
    for name in _STOP:
        stop = args.get(name)
        if isinstance(stop, str):
            attrs[semconv.GEN_AI_REQUEST_STOP_SEQUENCES] = [stop]
        elif isinstance(stop, (list, tuple)) and all(isinstance(s, str) for s in stop):
            attrs[semconv.GEN_AI_REQUEST_STOP_SEQUENCES] = list(stop)[:16]
    stream = args.get("stream")
    if stream is True:
        attrs[semconv.GEN_AI_REQUEST_STREAM] = True
    return attrs


def known_request_names() -> frozenset[str]:
    """The argument names :func:`request_attributes` records (``model`` included).

    Example:
        >>> "temperature" in known_request_names()
        True
    """
    return _KNOWN


_KNOWN = frozenset({"model", "stream", *_NUMERIC, *_STOP})
