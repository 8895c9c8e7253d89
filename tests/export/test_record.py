"""Ended spans are queued as plain records the garbage collector can forget."""

from __future__ import annotations

import gc
from typing import Any

from brokle_trace import observe, trace_context
from brokle_trace._runtime import state as _state


def _queued(fn: Any, *args: Any) -> list[Any]:
    records: list[Any] = []
    pipeline_enqueue = _state.enqueue

    from brokle_trace._export.record import seal
    from brokle_trace._runtime import lifecycle as _lifecycle

    _lifecycle.current_pipeline()
    _state.enqueue = lambda span: records.append(seal(span))
    try:
        fn(*args)
    finally:
        _state.enqueue = pipeline_enqueue
    return records


def test_a_plain_span_record_is_untracked_before_it_could_reach_the_oldest_generation() -> None:
    @observe
    def step(text: str, n: int) -> str:
        return text * n

    gc.collect()  # decoration-time objects (the function's export view) are old by now
    (record,) = _queued(step, "ab", 2)
    # The raw-argument tuple nests one level: the collector untracks the inner tuple on one
    # pass and the outer ones on the next, i.e. before a queued record reaches generation 2.
    gc.collect()
    gc.collect()
    # Tracked records would be walked by every full collection while they wait in the queue.
    assert type(record) is tuple
    assert not gc.is_tracked(record)


def test_trace_attributes_travel_as_one_shared_tuple() -> None:
    @observe
    def child() -> None:
        return None

    @observe
    def parent() -> None:
        child()
        child()

    def run() -> None:
        with trace_context(user_id="u-1", tags=["t"]):
            parent()

    records = _queued(run)
    from brokle_trace._export.record import REC_ATTRS

    attrs = {id(r[REC_ATTRS]) for r in records}
    assert len(records) == 3 and len(attrs) == 1
    assert records[0][REC_ATTRS][:3] == ("u-1", None, ("t",))


def test_functions_decorated_per_call_leave_nothing_behind() -> None:
    import weakref

    from brokle_trace.testing import capture_spans

    refs = []
    with capture_spans() as spans:
        for i in range(3):

            @observe(name=f"inner-{i}")
            def inner() -> int:
                return 1

            inner()
            refs.append(weakref.ref(inner))
            del inner
    gc.collect()
    assert [s.name for s in spans] == ["inner-0", "inner-1", "inner-2"]
    # No registry keeps per-call decorations, or their facts, alive.
    assert all(ref() is None for ref in refs)
    from brokle_trace._trace.facts import SpanFacts

    alive = [
        o for o in gc.get_objects() if isinstance(o, SpanFacts) and o.name.startswith("inner-")
    ]
    assert alive == []
