"""LLM, retrieval, tool and embedding spans: usage, cost, streaming, client wrappers.

* usage extraction from OpenAI, Anthropic, Gemini and plain dict results (``_usage``);
* cost from genai-prices' bundled snapshot (``_source``), priced on the export worker
  (``_deferred``), overridable with ``configure(prices=...)`` (``_prices``, ``_cost``);
* streaming: time to first chunk, chunk count, joined text, usage from final chunks
  (``_stream``);
* retrieval documents, tool and embedding facts (``_retrieval``, ``_hooks``);
* ``wrap_openai`` / ``wrap_anthropic`` (``_openai``, ``_anthropic``), which import nothing
  from the SDKs;
* ``summarize(spans)``: calls, errors, tokens, cost and latency per provider and model.

Nothing here runs for plain ``span`` spans: the core asks :func:`hooks_for` once per decorated
function and gets no hooks for them.

Example:
    >>> from brokle_trace.llm import Usage, compute_cost
    >>> compute_cost("gpt-4o", Usage(input_tokens=1000, output_tokens=500)).total_usd
    0.0075
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from brokle_trace._trace import span as _span_module
from brokle_trace.llm._cost import Cost, compute_cost, unpriced_models
from brokle_trace.llm._hooks import hooks_for, static_attributes_for
from brokle_trace.llm._prices import ModelPrice
from brokle_trace.llm._record import apply_llm_update
from brokle_trace.llm._source import prices_as_of
from brokle_trace.llm._usage import Usage, extract_usage, find_usage

if TYPE_CHECKING:
    from brokle_trace.llm._anthropic import wrap_anthropic
    from brokle_trace.llm._openai import wrap_openai
    from brokle_trace.llm._summary import ModelStats, Summary, summarize

__all__ = [
    "Cost",
    "ModelPrice",
    "ModelStats",
    "Summary",
    "Usage",
    "apply_llm_update",
    "compute_cost",
    "extract_usage",
    "find_usage",
    "hooks_for",
    "prices_as_of",
    "static_attributes_for",
    "summarize",
    "unpriced_models",
    "update_current_llm",
    "wrap_anthropic",
    "wrap_openai",
]

# Span.update(model=..., usage=...) lands here (the span tree does not import this layer).
_span_module.llm_update = apply_llm_update

_LAZY = {
    "wrap_openai": "brokle_trace.llm._openai",
    "wrap_anthropic": "brokle_trace.llm._anthropic",
    "summarize": "brokle_trace.llm._summary",
    "Summary": "brokle_trace.llm._summary",
    "ModelStats": "brokle_trace.llm._summary",
}


def __getattr__(name: str) -> Any:
    # The wrappers and the report are imported on first use: decorating a function (which
    # imports this package for its hooks) stays cheap.
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'brokle_trace.llm' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


def update_current_llm(
    *,
    model: str | None = None,
    provider: str | None = None,
    usage: Any = None,
    cost_usd: Any = None,
    completion_start_time: Any = None,
    **request: Any,
) -> None:
    """Set LLM facts on the current span by hand: model, provider, usage, cost, first-token
    time.

    Extra keyword arguments are request parameters (``temperature=``, ``max_tokens=``,
    ``top_p=``, ``stop=``, ...) recorded as ``gen_ai.request.*``; one that is not a known
    request parameter is logged (never silently dropped). Never raises.

    Example:
        >>> from brokle_trace import observe_llm, update_current_llm
        >>> @observe_llm(name="answer", provider="acme")
        ... def answer(q: str) -> str:
        ...     update_current_llm(model="acme-1", usage={"input_tokens": 9, "output_tokens": 3},
        ...                        temperature=0.1)
        ...     return "42"
        >>> answer("meaning of life?")
        '42'
    """
    from brokle_trace import semconv
    from brokle_trace._runtime import errors as _errors
    from brokle_trace._trace import span as _span
    from brokle_trace.llm._params import known_request_names, request_attributes

    span = _span.current_span()
    if span is None:
        _errors.internal_error("update_current_llm", RuntimeError("called outside of any span"))
        return
    try:
        if provider is not None:
            span.update(attributes={semconv.GEN_AI_PROVIDER_NAME: str(provider)})
        if request:
            attrs = request_attributes(request)
            if attrs:
                span.update(attributes=attrs)
            unknown = sorted(set(request) - known_request_names())
            if unknown:
                _errors.internal_error(
                    "update_current_llm",
                    TypeError(f"update_current_llm() got unknown fields {unknown}: ignored"),
                )
        span.update(
            model=model,
            usage=usage,
            cost_usd=cost_usd,
            completion_start_time=completion_start_time,
        )
    except Exception as exc:
        _errors.internal_error("update_current_llm", exc)
