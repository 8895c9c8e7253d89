"""How a third-party span's attributes read in our terms: type, usage, model, input/output.

The conventions instrumentors speak (OpenInference, OpenTelemetry GenAI, OpenLLMetry) are
read here through one table (``semconv.FOREIGN_FIELDS`` and the ``TYPE_BY_*`` maps), both by
the processor on the caller's thread (what to price under a running ancestor) and by the
export worker (``_export.foreign``'s conversion).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from brokle_trace import semconv
from brokle_trace.llm._usage import Usage

__all__ = ["PRICED", "foreign_type", "llm_facts", "price"]

#: Key of the record's ``extra`` saying usage and cost were done on the caller's thread.
PRICED = "\x00priced"
_INT_FIELDS = (
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cache_read_tokens",
    "cache_creation_tokens",
    "reasoning_tokens",
)


def foreign_type(attributes: Any) -> str:
    """Our span type for a third-party span's attributes (see the ``TYPE_BY_*`` tables).

    Example:
        >>> foreign_type({"openinference.span.kind": "RETRIEVER"})
        'retrieval'
        >>> foreign_type({"gen_ai.operation.name": "chat"}), foreign_type({})
        ('llm', 'span')
    """
    for key, table in (
        (semconv.OPENINFERENCE_SPAN_KIND, semconv.TYPE_BY_OPENINFERENCE_KIND),
        (semconv.GEN_AI_OPERATION_NAME, semconv.TYPE_BY_GEN_AI_OPERATION),
        (semconv.TRACELOOP_SPAN_KIND, semconv.TYPE_BY_TRACELOOP_KIND),
    ):
        value = attributes.get(key)
        if isinstance(value, str):
            found = table.get(value) or table.get(value.lower()) or table.get(value.upper())
            if found is not None:
                return found
    return "span"


def _first(attrs: Mapping[str, Any], field: str) -> Any:
    for key in semconv.FOREIGN_FIELDS[field]:
        value = attrs.get(key)
        if value is not None and value != "":
            return value
    return None


def _count(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def llm_facts(attrs: Mapping[str, Any]) -> tuple[Usage | None, str | None]:
    """The usage a span's attributes report (any convention), and the model to price it by.

    Example:
        >>> usage, model = llm_facts({"llm.token_count.prompt": 6,
        ...                           "llm.token_count.completion": 3,
        ...                           "llm.model_name": "gpt-4o-mini-2024-07-18"})
        >>> usage.input_tokens, usage.output_tokens, model
        (6, 3, 'gpt-4o-mini-2024-07-18')
    """
    counts = [_count(_first(attrs, field)) for field in _INT_FIELDS]
    model = _first(attrs, "response_model") or _first(attrs, "request_model")
    model = model if isinstance(model, str) else None
    if counts[0] is None and counts[1] is None:
        return None, model
    return Usage(*counts), model


def _flattened(attrs: Mapping[str, Any], prefix: str) -> list[Any] | None:
    """``prefix.0.message.role = ..`` style attributes back into a list of messages."""
    items: dict[int, dict[str, Any]] = {}
    for key, value in attrs.items():
        if not key.startswith(prefix):
            continue
        index, _, rest = key[len(prefix) :].partition(".")
        if not index.isdigit() or not rest:
            continue
        if rest.startswith("message."):
            rest = rest[8:]
        node = items.setdefault(int(index), {})
        parts = rest.split(".")
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[parts[-1]] = value
    if not items:
        return None
    return [items[i] for i in sorted(items)]


def _io(attrs: Mapping[str, Any], field: str) -> Any:
    # Kept as the instrumentor wrote it (JSON text, mostly): text redaction finds secrets in
    # JSON text too, at a fraction of the cost of parsing and walking it.
    value = _first(attrs, field)
    if value is not None:
        return value
    for in_prefix, out_prefix in semconv.FOREIGN_MESSAGE_PREFIXES:
        messages = _flattened(attrs, in_prefix if field == "input" else out_prefix)
        if messages is not None:
            return messages
    return None


def _ours(attrs: Mapping[str, Any], span_type: str) -> dict[str, Any]:
    """Our normalised attributes for a foreign span (GenAI names), from any convention."""
    out: dict[str, Any] = {}
    request_model = _first(attrs, "request_model")
    response_model = _first(attrs, "response_model")
    provider = _first(attrs, "provider")
    if isinstance(request_model, str):
        out[semconv.GEN_AI_REQUEST_MODEL] = request_model
    if isinstance(response_model, str):
        out[semconv.GEN_AI_RESPONSE_MODEL] = response_model
    if isinstance(provider, str):
        out[semconv.GEN_AI_PROVIDER_NAME] = provider.lower()
    operation = semconv.OPERATION_BY_TYPE.get(span_type)
    if operation is not None and semconv.GEN_AI_OPERATION_NAME not in attrs:
        out[semconv.GEN_AI_OPERATION_NAME] = operation
    return out


def price(node: Any, raw: Mapping[str, Any], start_ns: int, extra: dict[str, Any]) -> None:
    """An LLM span's usage attributes and the cost cell to price it by, rolled up.

    As for our own LLM spans (``llm._record``), the caller's thread only says what to
    price: the cell is priced by the export worker (``llm._deferred.finish``), here for
    this span and, through the roll-up, for each running ancestor (ours and theirs).
    ``node``: the running third-party span (``_trace.processor``), or None in the worker
    (nothing left running to roll up to).
    """
    from brokle_trace.llm._deferred import CostCell, deferred_of
    from brokle_trace.llm._record import _roll_up

    extra[PRICED] = True
    usage, model = llm_facts(raw)
    if usage is None:
        return
    extra.update(usage.attributes())
    provider = _first(raw, "provider")
    cell = CostCell()
    cell.request = (
        (model, _first(raw, "request_model")),
        provider.lower() if isinstance(provider, str) else None,
        usage,
        None,
        start_ns,
    )
    deferred_of(extra).own = cell
    if node is not None:
        at = node._attributes if hasattr(node, "_attributes") else {}
        node._attributes = at
        ext: dict[str, Any] = {}
        node._extra = ext
        _roll_up(node, ext, at, usage, cell)
