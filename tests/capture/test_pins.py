"""Long strings kept by reference: same export as a copied head, memory bounded and released."""

from __future__ import annotations

import gc
import os
import threading
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import brokle_trace
from brokle_trace import SpanData
from brokle_trace._runtime import state as _state
from brokle_trace.capture import CaptureSettings, finalize, snapshot
from brokle_trace.capture._nodes import Cut, Snapshot
from brokle_trace.capture._pins import Pins
from brokle_trace.testing import InMemoryExporter
from brokle_trace.typing import ExportResult

from .strategies import secrets

PINNED = CaptureSettings(strict=True)
COPIED = CaptureSettings(max_pinned_bytes=0, strict=True)


def _pins(s: CaptureSettings) -> Pins:
    return s._compiled.pins


def test_a_long_string_is_kept_whole_and_counted_until_its_snapshot_is_freed() -> None:
    s = CaptureSettings(strict=True)
    doc = "d" * 200_000
    snap = snapshot({"doc": doc, "rows": [1, 2]}, s)
    assert isinstance(snap, Snapshot)
    assert snap.root["doc"] is doc  # type: ignore[index] # no copy on the caller's thread
    assert _pins(s).held == 200_000 and _pins(s).share(doc) is snap.pins
    del snap
    assert _pins(s).held == 0 and _pins(s).share(doc) is None  # nothing kept once it is gone


def test_the_same_string_again_shares_the_pin_and_keeps_it_counted() -> None:
    s = CaptureSettings(strict=True)
    doc = "d" * 200_000
    first = snapshot({"doc": doc}, s)
    again = [snapshot({"doc": doc}, s) for _ in range(1000)]  # a burst passing one document
    assert _pins(s).held == 200_000  # counted once
    assert all(snap.root["doc"] is doc for snap in again)  # type: ignore[union-attr,index]
    del first  # the span that counted it is exported: the others still hold the string...
    assert _pins(s).held == 200_000  # ...so it stays counted
    del again
    assert _pins(s).held == 0


def test_past_the_budget_heads_are_copied_as_before() -> None:
    s = CaptureSettings(max_pinned_bytes=300_000, strict=True)
    docs = ["a" * 200_000, "b" * 200_000]
    kept, copied = snapshot({"doc": docs[0]}, s), snapshot({"doc": docs[1]}, s)
    assert kept.root["doc"] is docs[0]  # type: ignore[union-attr,index]
    head = copied.root["doc"]  # type: ignore[union-attr,index]
    assert len(head) == s.max_string_length + s.redaction_margin  # the old call-time cut
    again = snapshot({"doc": docs[1]}, s)  # refused once: refused again, never kept uncounted
    assert again.root["doc"] is not docs[1]  # type: ignore[union-attr,index]
    assert _pins(s).held == 200_000
    # the same export either way
    assert finalize(kept, s) == {"doc": "a" * 3972 + "...[TRUNCATED: 200000 chars]"}
    assert finalize(copied, s) == {"doc": "b" * 3972 + "...[TRUNCATED: 200000 chars]"}


def test_a_top_level_string_is_pinned_too() -> None:
    s = CaptureSettings(strict=True)
    answer = "z" * 50_000
    snap = snapshot(answer, s)
    assert isinstance(snap, Snapshot) and snap.root is answer and _pins(s).held == 50_000
    again = snapshot(answer, s)
    assert isinstance(again, Snapshot) and again.pins is snap.pins  # shared, counted once
    assert finalize(snap, s) == "z" * 3973 + "...[TRUNCATED: 50000 chars]"
    assert isinstance(snapshot(answer, COPIED), Cut)


def test_non_ascii_text_counts_four_bytes_per_character() -> None:
    s = CaptureSettings(strict=True)
    snap = snapshot({"doc": "é" * 10_000}, s)
    assert _pins(s).held == 40_000
    del snap


def test_several_strings_in_one_call_are_each_counted_and_all_released() -> None:
    s = CaptureSettings(strict=True)
    docs = [chr(97 + i) * 10_000 for i in range(5)]
    # Breadth-first: "x" first, then the five; docs[1] again is no longer the last taken.
    snap = snapshot({"docs": {str(i): d for i, d in enumerate(docs)}, "x": docs[1]}, s)
    assert _pins(s).held == 6 * 10_000
    del snap
    assert _pins(s).held == 0


def test_concurrent_callers_never_exceed_the_budget_and_release_everything() -> None:
    s = CaptureSettings(max_pinned_bytes=1_000_000, strict=True)
    pins = _pins(s)
    seen: list[int] = []
    errors: list[BaseException] = []

    def caller(k: int) -> None:
        try:
            kept = []
            for i in range(300):
                kept.append(snapshot({"doc": f"{k}-{i}-" + "x" * 60_000}, s))
                seen.append(pins.held)
                if len(kept) > 20:
                    kept.pop(0)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=caller, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert max(seen) <= 1_000_000 and max(seen) > 0
    gc.collect()
    assert pins.held == 0


def test_a_pin_freed_by_a_collection_inside_take_does_not_deadlock() -> None:
    # A traced call that raised, its exception kept: traceback -> frame -> span -> snapshot
    # -> pin is cyclic garbage, collected by whatever allocation comes next -- on Python
    # <= 3.11 even the argument tuple of Lock.__exit__ inside take(). Releasing a pin must
    # not wait for the lock its own thread holds. The collection is placed at each of the
    # next few allocations in turn (a locking release deadlocks at one of them).
    s = CaptureSettings(strict=True)
    pins = _pins(s)
    hold: list[tuple[int, int, int]] = []

    class Finalizer:
        def __del__(self) -> None:  # runs in the first collection: leaves a pin in garbage
            box: list[Any] = [snapshot({"doc": "h" * 10_000}, s)]
            box.append(box)
            del box
            hold.extend((i, i, -i) for i in range(3000))  # no free 3-tuples left

    def attempt(offset: int, done: threading.Event) -> None:
        old = gc.get_threshold()
        gc.disable()
        f = Finalizer()
        f.self = f  # type: ignore[attr-defined]
        del f
        gc.set_threshold(gc.get_count()[0] + offset)
        gc.enable()
        try:
            pins.take("n" * 10_000)
        finally:
            gc.set_threshold(*old)
        done.set()

    for offset in range(1, 9):
        done = threading.Event()
        threading.Thread(target=attempt, args=(offset, done), daemon=True).start()
        assert done.wait(20), f"deadlocked with a collection at allocation {offset}"
    gc.collect()
    assert pins.held == 0


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is POSIX-only")
def test_a_forked_child_starts_with_its_own_budget() -> None:
    brokle_trace.configure(exporter="none", strict=True)
    pins = _state.capture_settings._compiled.pins
    kept = [snapshot({"doc": f"{i}" + "p" * 100_000}, _state.capture_settings) for i in range(3)]
    assert pins.held > 300_000
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through its exit code
        ok = pins.held == 0 and pins.take("c" * 100_000) is not None
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0  # the parent's pins are not the child's
    assert pins.held > 300_000
    del kept


# -- same bytes exported with and without references ---------------------------------------
_LONG = st.one_of(
    st.integers(5_100, 20_000).map(lambda n: "w " * (n // 2)),
    st.integers(5_100, 20_000).map(lambda n: "é" * n),
)


@st.composite
def _with_long_strings(draw: st.DrawFn) -> tuple[Any, str]:
    secret, body = draw(secrets())
    pad = draw(st.integers(3_880, 4_010))  # the secret straddles the cut (3972), or nearly
    planted = "a " * (pad // 2) + secret + " " + "z" * draw(st.integers(100, 20_000))
    shared = draw(_LONG)  # the same object in several places: counted once
    leaves = [planted, shared, shared, draw(_LONG), "short", 1]
    tree: Any = draw(
        st.recursive(
            st.sampled_from(leaves),
            lambda inner: st.one_of(
                st.lists(inner, max_size=4),
                st.dictionaries(st.text("abc", max_size=3), inner, max_size=4),
            ),
            max_leaves=8,
        )
    )
    return {"a": tree, "planted": planted, "shared": shared}, body


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=_with_long_strings(), budget=st.integers(0, 80))
def test_pinned_and_copied_strings_export_the_same_bytes(
    case: tuple[Any, str], budget: int
) -> None:
    value, body = case
    pinned = CaptureSettings(snapshot_budget=budget, strict=True)
    copied = CaptureSettings(snapshot_budget=budget, max_pinned_bytes=0, strict=True)
    out = finalize(snapshot(value, pinned), pinned)
    assert out == finalize(snapshot(value, copied), copied)
    text = repr(out)
    assert not any(body[i : i + 8] in text for i in range(len(body) - 7))
    assert _pins(pinned).held == 0  # the snapshot is gone: freed by reference counting


# -- through the pipeline ----------------------------------------------------------------------
class _Gate(InMemoryExporter):
    """Holds the first batch until released, so the queue fills and drops."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def export(self, spans: Sequence[SpanData]) -> ExportResult:
        self.release.wait(5)
        return super().export(spans)


def test_exported_and_dropped_spans_both_release_their_strings() -> None:
    gate = _Gate()
    brokle_trace.configure(exporter="none", exporters=[gate], max_queue_size=5, strict=True)
    pins = _state.capture_settings._compiled.pins

    @brokle_trace.observe
    def summarize(doc: str) -> int:
        return len(doc)

    for i in range(50):
        summarize(f"{i}" + "q" * 100_000)
    assert pins.held >= 5 * 100_000  # the queued ones, and the batch at the exporter
    gate.release.set()
    assert brokle_trace.flush(5)
    assert brokle_trace.stats()["dropped"]["queue_full"] > 0  # some were dropped...
    assert 0 < len(gate.spans) < 50  # ...and some exported, cut by the worker
    assert gate.spans[0].input == {"doc": "0" + "q" * 3971 + "...[TRUNCATED: 100001 chars]"}
    assert pins.held == 0  # both paths gave their strings back


def test_a_snapshot_taken_for_a_smaller_limit_keeps_it_when_finalized() -> None:
    s = CaptureSettings(strict=True)
    big = "y" * 200_000
    out = finalize(snapshot({"a": big}, s, max_string_length=100), s)
    assert out == {"a": "y" * 72 + "...[TRUNCATED: 200000 chars]"}


def test_snapshots_inside_a_value_keep_the_original_sizes() -> None:
    # A generator's items are snapshotted one by one and exported as a list of snapshots.
    for s in (PINNED, COPIED):
        items = [snapshot("a" * 10_000, s), snapshot({"t": "b" * 20_000}, s)]
        assert finalize(items, s, field="output") == [
            "a" * 3973 + "...[TRUNCATED: 10000 chars]",
            {"t": "b" * 3973 + "...[TRUNCATED: 20000 chars]"},
        ]
