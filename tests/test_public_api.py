"""The public surface is exactly what __all__ says, documented and typed."""

from __future__ import annotations

import importlib.resources
import inspect

import brokle_trace
from brokle_trace._model import SpanData, fast_span_data


def test_all_is_sorted_and_complete() -> None:
    assert brokle_trace.__all__ == sorted(brokle_trace.__all__)
    public = {n for n in dir(brokle_trace) if not n.startswith("_")}
    modules = {n for n in public if inspect.ismodule(getattr(brokle_trace, n))}
    assert public - modules == set(brokle_trace.__all__)


def test_every_public_name_has_a_docstring_with_an_example() -> None:
    for name in brokle_trace.__all__:
        obj = getattr(brokle_trace, name)
        doc = inspect.getdoc(obj) or ""
        assert doc, f"{name} has no docstring"
        if (callable(obj) and not isinstance(obj, type)) or name in {"start_span", "trace_context"}:
            assert ">>>" in doc, f"{name} docstring has no example"


def test_package_is_typed() -> None:
    assert importlib.resources.files("brokle_trace").joinpath("py.typed").is_file()


def test_fast_span_data_equals_a_validated_record() -> None:
    fields = {
        "format_version": 1,
        "name": "n",
        "trace_id": "a" * 32,
        "span_id": "b" * 16,
        "parent_span_id": None,
        "type": "llm",
        "start_time_ns": 1,
        "end_time_ns": 5,
        "status": "ok",
        "status_message": None,
        "level": "default",
        "error": None,
        "input": {"q": [1, 2]},
        "output": "x",
        "metadata": {"m": 1},
        "tags": ["t"],
        "user_id": "u",
        "session_id": None,
        "attributes": {"gen_ai.request.model": "m"},
        "service": "svc",
        "environment": None,
        "release": None,
    }
    assert set(fields) == set(SpanData.model_fields)
    fast = fast_span_data(dict(fields))
    assert fast == SpanData.model_validate(fields)
    assert fast.model_dump() == SpanData.model_validate(fields).model_dump()


def test_a_span_exposes_no_internal_slots() -> None:
    # Everything a user reads on a Span is a documented property or method; the live state
    # (trace attributes, the OpenTelemetry context, capture slots) stays private.
    from brokle_trace import Span

    assert [slot for slot in Span.__slots__ if not slot.startswith("_")] == []
    public = {n for n in dir(Span) if not n.startswith("_")}
    for name in public:
        assert getattr(Span, name).__doc__, f"Span.{name} has no docstring"
