"""The per-type hooks the core calls on decorated functions (chosen once, at decoration time).

All hooks are cheap (a handful of attribute reads) and total: the core counts anything that
escapes, but nothing here should raise on an unexpected value.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from brokle_trace import semconv
from brokle_trace._trace.inputs import captured_inputs
from brokle_trace.llm._params import request_attributes
from brokle_trace.llm._record import record
from brokle_trace.llm._retrieval import documents_of
from brokle_trace.llm._stream import Reducer, on_end, on_item, set_output
from brokle_trace.llm._usage import extract_usage, read, usage_object

if TYPE_CHECKING:
    from brokle_trace._trace.span import Span

__all__ = ["hooks_for", "static_attributes_for"]

_PLAIN = (str, bytes, int, float, bool, list, tuple)
_QUERY_KEYS = ("query", "q", "question", "search_query", "query_text", "text", "prompt", "input")
_EMBED_INPUT_KEYS = ("input", "inputs", "texts", "documents", "text", "content")
_TOOL_CALL_ID_KEYS = ("tool_call_id", "call_id")


def _inputs(span: Span) -> Mapping[str, Any] | None:
    # The captured arguments: only there when input capture is on for this span. Hooks get
    # no live arguments, so this bounded copy is what we read; cut strings are skipped.
    return captured_inputs(span)


def _params_from_inputs(span: Span) -> None:
    inp = _inputs(span)
    if not inp:
        return
    static = span._facts.attributes
    has_model = bool(static and semconv.GEN_AI_REQUEST_MODEL in static)
    attrs = request_attributes(inp, with_model=not has_model)
    if attrs:
        span.update(attributes=attrs)


def llm_result(span: Span, result: Any) -> None:
    """A decorated LLM function returned: request parameters, model, usage and cost."""
    _params_from_inputs(span)
    if result is None or isinstance(result, _PLAIN):
        return
    raw = usage_object(result)
    usage = extract_usage(raw)
    model = read(result, "model")
    if usage is not None or isinstance(model, str):
        record(span, model=model if isinstance(model, str) else None, usage=usage, raw=raw)


def llm_stream_end(span: Span) -> None:
    """A decorated LLM generator finished: parameters, chunk count, joined output."""
    _params_from_inputs(span)
    on_end(span)


def embedding_result(span: Span, result: Any) -> None:
    """An embedding call returned: model, usage, input count, dimensions; vectors summarised."""
    inp = _inputs(span)
    if inp:
        for key in _EMBED_INPUT_KEYS:
            value = inp.get(key)
            if isinstance(value, str):
                span.set_attribute(semconv.BROKLE_EMBEDDING_INPUT_COUNT, 1)
                break
            if isinstance(value, (list, tuple)):
                span.set_attribute(semconv.BROKLE_EMBEDDING_INPUT_COUNT, len(value))
                break
        model = inp.get("model")
        if isinstance(model, str) and not (
            span._facts.attributes and semconv.GEN_AI_REQUEST_MODEL in span._facts.attributes
        ):
            span.set_attribute(semconv.GEN_AI_REQUEST_MODEL, model)
    summary = summarize_vectors(result)
    if summary is not None:
        count, dims = summary
        if dims:
            span.set_attribute(semconv.GEN_AI_EMBEDDINGS_DIMENSION_COUNT, dims)
        set_output(span, {"embeddings": count, "dimensions": dims})
    if result is None or isinstance(result, _PLAIN):
        return
    raw = usage_object(result)
    usage = extract_usage(raw)
    model = read(result, "model")
    if usage is not None or isinstance(model, str):
        record(span, model=model if isinstance(model, str) else None, usage=usage, raw=raw)


def summarize_vectors(result: Any) -> tuple[int, int] | None:
    """(number of vectors, dimensions) of an embedding result, or None if not one."""
    data = read(result, "data") if not isinstance(result, (list, tuple)) else result
    if data is None:
        data = read(result, "embeddings")
    if not isinstance(data, (list, tuple)) or not data:
        return None
    first = data[0]
    vector = read(first, "embedding") if not isinstance(first, (list, tuple)) else first
    if vector is None:
        vector = read(first, "values")  # Gemini ContentEmbedding
    if isinstance(vector, (list, tuple)) and (not vector or isinstance(vector[0], (int, float))):
        return len(data), len(vector)
    return None


def retrieval_result(span: Span, result: Any) -> None:
    """A retrieval step returned: query text, document count, normalised documents."""
    inp = _inputs(span)
    if inp:
        query = next((inp[k] for k in _QUERY_KEYS if isinstance(inp.get(k), str)), None)
        if query is None:
            query = next((v for v in inp.values() if isinstance(v, str)), None)
        if query is not None:
            span.set_attribute(semconv.GEN_AI_RETRIEVAL_QUERY_TEXT, query[:1000])
        top_k = inp.get("top_k")
        if isinstance(top_k, int) and not isinstance(top_k, bool):
            # The call's own top_k: what was really asked for (the decorator's is a default).
            span.set_attribute(semconv.GEN_AI_REQUEST_TOP_K, top_k)
    found = documents_of(result)
    if found is None:
        return
    count, docs = found
    span.set_attribute(semconv.BROKLE_RETRIEVAL_DOCUMENT_COUNT, count)
    set_output(span, docs)


def tool_result(span: Span, result: Any) -> None:
    """A tool returned: its name (and call id when one was passed)."""
    attrs: dict[str, Any] = {semconv.GEN_AI_TOOL_NAME: span.name}
    inp = _inputs(span)
    if inp:
        for key in _TOOL_CALL_ID_KEYS:
            value = inp.get(key)
            if isinstance(value, str):
                attrs[semconv.GEN_AI_TOOL_CALL_ID] = value
                break
    span.update(attributes=attrs)


def static_attributes_for(span_type: str, fn: Any) -> dict[str, Any]:
    """Attributes of ``fn``'s spans known at decoration time (a tool's description and
    parameter schema); empty for other types."""
    if span_type == "tool":
        from brokle_trace.llm._tools import tool_attributes

        return tool_attributes(fn)
    return {}


def hooks_for(span_type: str, fn: Any, reducer: Reducer | None = None) -> dict[str, Any]:
    """The hooks for a decorated function of ``span_type`` (empty for plain spans).

    ``reducer`` (LLM generators): turns the yielded items into the span's output instead of
    joining their text.
    """
    if span_type == "llm":
        item = functools.partial(on_item, reducer=reducer) if reducer is not None else on_item
        return {"result_hook": llm_result, "item_hook": item, "stream_end_hook": llm_stream_end}
    if span_type == "embedding":
        return {"result_hook": embedding_result}
    if span_type == "retrieval":
        return {"result_hook": retrieval_result}
    if span_type == "tool":
        return {"result_hook": tool_result}
    return {}
