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

__all__ = ["PRICED", "Plan", "foreign_type", "llm_facts", "plan_of", "price", "price_request"]

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


_KIND_TABLES = (
    (semconv.OPENINFERENCE_SPAN_KIND, semconv.TYPE_BY_OPENINFERENCE_KIND),
    (semconv.GEN_AI_OPERATION_NAME, semconv.TYPE_BY_GEN_AI_OPERATION),
    (semconv.TRACELOOP_SPAN_KIND, semconv.TYPE_BY_TRACELOOP_KIND),
)
#: A flattened message attribute: its key, the message's index, the path inside it.
_Entry = tuple[str, int, tuple[str, ...]]


class Plan:
    """Which of a span's attribute names each convention reads, decided once per set of
    names: spans of one instrumentor call repeat theirs, so the table's ~40 names are not
    looked up, nor every name parsed as a flattened message, on each span. Only names are
    decided here; values are read from the span each time (``None`` and ``""`` skipped)."""

    __slots__ = ("fields", "flat", "kinds")

    def __init__(self, keys: tuple[str, ...]) -> None:
        present = frozenset(keys)
        #: (name, table) of the span-kind names present, in the order they are checked
        self.kinds = tuple((k, t) for k, t in _KIND_TABLES if k in present)
        #: field -> the names present that carry it, first match first
        self.fields = {
            field: tuple(k for k in names if k in present)
            for field, names in semconv.FOREIGN_FIELDS.items()
        }
        #: "input"/"output" -> the flattened messages of the first convention that has any
        self.flat: dict[str, tuple[_Entry, ...]] = {}
        for in_prefix, out_prefix in semconv.FOREIGN_MESSAGE_PREFIXES:
            for field, prefix in (("input", in_prefix), ("output", out_prefix)):
                if field not in self.flat:
                    entries = _entries(keys, prefix)
                    if entries:
                        self.flat[field] = entries


def _entries(keys: tuple[str, ...], prefix: str) -> tuple[_Entry, ...]:
    out: list[_Entry] = []
    for key in keys:
        if not key.startswith(prefix):
            continue
        index, _, rest = key[len(prefix) :].partition(".")
        if not index.isdecimal() or not rest:
            continue
        if rest.startswith("message."):
            rest = rest[8:]
        out.append((key, int(index), tuple(rest.split("."))))
    return tuple(out)


_plans: dict[tuple[str, ...], Plan] = {}
_PLANS_MAX = 1024


def plan_of(attrs: Mapping[str, Any]) -> Plan:
    """The ``Plan`` of ``attrs``' names (cached by the names, in their order)."""
    keys = tuple(attrs)
    plan = _plans.get(keys)
    if plan is None:
        if len(_plans) >= _PLANS_MAX:
            _plans.clear()
        plan = _plans[keys] = Plan(keys)
    return plan


def foreign_type(attributes: Any, plan: Plan | None = None) -> str:
    """Our span type for a third-party span's attributes (see the ``TYPE_BY_*`` tables).

    Example:
        >>> foreign_type({"openinference.span.kind": "RETRIEVER"})
        'retrieval'
        >>> foreign_type({"gen_ai.operation.name": "chat"}), foreign_type({})
        ('llm', 'span')
    """
    for key, table in (plan or plan_of(attributes)).kinds:
        value = attributes[key]
        if isinstance(value, str):
            found = table.get(value) or table.get(value.lower()) or table.get(value.upper())
            if found is not None:
                return found
    return "span"


def _first(attrs: Mapping[str, Any], field: str, plan: Plan | None = None) -> Any:
    for key in (plan or plan_of(attrs)).fields[field]:
        value = attrs[key]
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
    if isinstance(value, str) and value.isdecimal():
        return int(value)
    return None


def llm_facts(
    attrs: Mapping[str, Any], plan: Plan | None = None
) -> tuple[Usage | None, str | None]:
    """The usage a span's attributes report (any convention), and the model to price it by.

    Example:
        >>> usage, model = llm_facts({"llm.token_count.prompt": 6,
        ...                           "llm.token_count.completion": 3,
        ...                           "llm.model_name": "gpt-4o-mini-2024-07-18"})
        >>> usage.input_tokens, usage.output_tokens, model
        (6, 3, 'gpt-4o-mini-2024-07-18')
    """
    plan = plan or plan_of(attrs)
    fields = plan.fields
    counts: list[int | None] = []
    for field in _INT_FIELDS:  # _count(_first(attrs, field, plan)), inlined: most are absent
        found = None
        for key in fields[field]:
            value = attrs[key]
            if value is not None and value != "":
                found = _count(value)
                break
        counts.append(found)
    model = _first(attrs, "response_model", plan) or _first(attrs, "request_model", plan)
    model = model if isinstance(model, str) else None
    if counts[0] is None and counts[1] is None:
        return None, model
    return Usage(*counts), model


def _flattened(attrs: Mapping[str, Any], entries: tuple[_Entry, ...]) -> list[Any]:
    """``prefix.0.message.role = ..`` style attributes back into a list of messages."""
    items: dict[int, dict[str, Any]] = {}
    for key, index, parts in entries:
        node = items.setdefault(index, {})
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[parts[-1]] = attrs[key]
    return [items[i] for i in sorted(items)]


def _io(attrs: Mapping[str, Any], field: str, plan: Plan | None = None) -> Any:
    # Kept as the instrumentor wrote it (JSON text, mostly): text redaction finds secrets in
    # JSON text too, at a fraction of the cost of parsing and walking it.
    plan = plan or plan_of(attrs)
    value = _first(attrs, field, plan)
    if value is not None:
        return value
    entries = plan.flat.get(field)
    return None if entries is None else _flattened(attrs, entries)


def _ours(attrs: Mapping[str, Any], span_type: str, plan: Plan | None = None) -> dict[str, Any]:
    """Our normalised attributes for a foreign span (GenAI names), from any convention."""
    plan = plan or plan_of(attrs)
    out: dict[str, Any] = {}
    request_model = _first(attrs, "request_model", plan)
    response_model = _first(attrs, "response_model", plan)
    provider = _first(attrs, "provider", plan)
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


#: (CostCell, deferred_of, _roll_up), imported at the first priced span: an import
#: statement in ``price`` itself costs ~1 us a call, and the LLM package loads only if needed.
_llm_parts: tuple[Any, Any, Any] | None = None


def _load_llm_parts() -> tuple[Any, Any, Any]:
    global _llm_parts
    from brokle_trace.llm._deferred import CostCell, deferred_of
    from brokle_trace.llm._record import _roll_up

    _llm_parts = (CostCell, deferred_of, _roll_up)
    return _llm_parts


def price_request(
    raw: Mapping[str, Any], start_ns: int, extra: dict[str, Any], plan: Plan | None = None
) -> tuple[tuple[str | None, ...], str | None, Usage, None, int] | None:
    """An LLM span's usage attributes (into ``extra``) and what to price it by (a
    ``CostCell``'s request), or None when it reports no usage."""
    plan = plan or plan_of(raw)
    usage, model = llm_facts(raw, plan)
    if usage is None:
        return None
    extra.update(usage.attributes())
    provider = _first(raw, "provider", plan)
    return (
        (model, _first(raw, "request_model", plan)),
        provider.lower() if isinstance(provider, str) else None,
        usage,
        None,
        start_ns,
    )


def price(
    node: Any,
    raw: Mapping[str, Any],
    start_ns: int,
    extra: dict[str, Any],
    plan: Plan | None = None,
) -> None:
    """An LLM span's usage attributes and the cost cell to price it by, rolled up.

    As for our own LLM spans (``llm._record``), the caller's thread only says what to
    price: the cell is priced by the export worker (``llm._deferred.finish``), here for
    this span and, through the roll-up, for each running ancestor (ours and theirs).
    ``node``: the running third-party span (``_trace.processor``), or None in the worker
    (nothing left running to roll up to).
    """
    cost_cell, deferred_of, roll_up = _llm_parts or _load_llm_parts()
    extra[PRICED] = True
    request = price_request(raw, start_ns, extra, plan)
    if request is None:
        return
    usage = request[2]
    cell = cost_cell()
    cell.request = request
    deferred_of(extra).own = cell
    if node is not None:
        at = node._attributes if hasattr(node, "_attributes") else {}
        node._attributes = at
        ext: dict[str, Any] = {}
        node._extra = ext
        roll_up(node, ext, at, usage, cell)
