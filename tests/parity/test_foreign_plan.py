"""The conventions read through a cached ``Plan`` of a span's attribute names
(``_export.foreign_conventions``) give exactly what the naive reading gives (every table
name looked up, every name parsed as a flattened message, on each span): for any
attributes (Hypothesis), and on the spans the real instrumentors write (the benchmark's),
where the plans are reused from span to span (``fired``)."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brokle_trace import semconv
from brokle_trace._export import foreign_conventions as fc
from brokle_trace.llm._usage import Usage
from tests.parity.fired import Fired, run

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))


# -- the reference: the reading as it was before plans (naive, per span) ----------------------
def _first(attrs: Mapping[str, Any], field: str) -> Any:
    for key in semconv.FOREIGN_FIELDS[field]:
        value = attrs.get(key)
        if value is not None and value != "":
            return value
    return None


def ref_type(attributes: Mapping[str, Any]) -> str:
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


def _flattened(attrs: Mapping[str, Any], prefix: str) -> list[Any] | None:
    items: dict[int, dict[str, Any]] = {}
    for key, value in attrs.items():
        if not key.startswith(prefix):
            continue
        index, _, rest = key[len(prefix) :].partition(".")
        if not index.isdecimal() or not rest:
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


def ref_io(attrs: Mapping[str, Any], field: str) -> Any:
    value = _first(attrs, field)
    if value is not None:
        return value
    for in_prefix, out_prefix in semconv.FOREIGN_MESSAGE_PREFIXES:
        messages = _flattened(attrs, in_prefix if field == "input" else out_prefix)
        if messages is not None:
            return messages
    return None


def ref_facts(attrs: Mapping[str, Any]) -> tuple[Usage | None, str | None]:
    counts = [_count(_first(attrs, field)) for field in fc._INT_FIELDS]
    model = _first(attrs, "response_model") or _first(attrs, "request_model")
    model = model if isinstance(model, str) else None
    if counts[0] is None and counts[1] is None:
        return None, model
    return Usage(*counts), model


_count = fc._count


def ref_ours(attrs: Mapping[str, Any], span_type: str) -> dict[str, Any]:
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


# -- the property ------------------------------------------------------------------------------
_NAMES = sorted(
    {name for names in semconv.FOREIGN_FIELDS.values() for name in names}
    | {semconv.OPENINFERENCE_SPAN_KIND, semconv.GEN_AI_OPERATION_NAME}
    | {semconv.TRACELOOP_SPAN_KIND, "llm.input_messages.x.message.role", "gen_ai.prompt."}
)
_FLAT = st.builds(
    lambda prefix, index, path: f"{prefix}{index}.{path}",
    st.sampled_from([p for pair in semconv.FOREIGN_MESSAGE_PREFIXES for p in pair]),
    st.sampled_from(["0", "1", "12", "x", ""]),
    st.sampled_from(
        ["message.role", "message.content", "role", "content", "message.tool_calls.0.id", ""]
    ),
)
_KEYS = st.sampled_from(_NAMES) | _FLAT | st.text(max_size=10)
_VALUES = st.one_of(
    st.none(),
    st.just(""),
    st.sampled_from(["LLM", "chain", "chat", "workflow", "gpt-4o", "OpenAI", "12", "x"]),
    st.integers(-3, 10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.text(max_size=8),
)
_ATTRS = st.dictionaries(_KEYS, _VALUES, max_size=16)


def _same(attrs: dict[str, Any]) -> bool:
    """Whether every reading agrees; True when the plan decided something (a name present)."""
    plan = fc.plan_of(attrs)
    span_type = fc.foreign_type(attrs, plan)
    assert span_type == ref_type(attrs)
    assert fc.llm_facts(attrs, plan) == ref_facts(attrs)
    assert fc._ours(attrs, span_type, plan) == ref_ours(attrs, span_type)
    for field in ("input", "output"):
        assert fc._io(attrs, field, plan) == ref_io(attrs, field)
    # Without a plan given, each reading makes (or finds) its own: the same answers.
    assert fc.foreign_type(attrs) == span_type and fc._io(attrs, "input") == ref_io(attrs, "input")
    assert fc.plan_of(dict(attrs)) is plan  # cached by the names
    return bool(plan.kinds or plan.flat or any(plan.fields.values()))


def _property(fired: Fired) -> None:
    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(_ATTRS)
    def prop(attrs: dict[str, Any]) -> None:
        fired.example(_same(attrs))

    prop()


def test_planned_reading_equals_the_naive_one() -> None:
    run(_property, min_share=0.5)


def test_the_instrumentors_spans_reuse_their_plans() -> None:
    import bench_foreign

    from tests.instrumentors.test_openai import unwrap_leftovers

    try:
        spans = bench_foreign.record_real_spans()
    finally:
        unwrap_leftovers()  # OpenLLMetry's uninstrument() leaves wrappers: the next tests'
        # calls would open spans on the benchmark's provider, under which theirs would nest
    rows = bench_foreign.variants(spans, 3)
    fc._plans.clear()
    fired = Fired()
    for replay in rows:
        for attrs in replay:
            before = len(fc._plans)
            decided = _same(attrs)
            fired.example(decided and len(fc._plans) == before)  # a plan found, not made
    assert fired.tried == 3 * len(spans)
    # Each span shape is planned once (first replay) and found on the next two.
    assert fired.fired == 2 * len(spans)
