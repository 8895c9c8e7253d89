"""The hot-path snapshot: limits, markers, what is copied when, and bounded cost."""

from __future__ import annotations

import threading
from typing import Any

import orjson
import pytest

from brokle_trace.capture import CaptureSettings, _snapshot, finalize, snapshot
from brokle_trace.capture._nodes import Cut, Snapshot

S = CaptureSettings(strict=True)


@pytest.fixture
def reference(monkeypatch: pytest.MonkeyPatch) -> None:
    """The level-by-level snapshot: JSON-native values otherwise take the bytes shortcut
    (``_encoded``, which copies all of them and has its own tests in tests/parity)."""
    monkeypatch.setattr(_snapshot, "encode", lambda *args: None)


def capture(value: Any, s: CaptureSettings = S, **kw: Any) -> Any:
    return finalize(snapshot(value, s, **kw), s, **kw)


def test_flat_dicts_and_short_strings_take_the_fast_path() -> None:
    args = {"text": "x" * 100, "n": 1, "f": 0.5, "b": True, "none": None}
    snap = snapshot(args, S)
    assert snap == args and snap is not args  # a plain copy, nothing else
    assert snapshot("x" * 100, S) == "x" * 100


def test_long_strings_past_the_pin_budget_are_cut_at_call_time_to_limit_plus_margin() -> None:
    s = CaptureSettings(max_pinned_bytes=0, strict=True)
    big = "y" * 200_000
    snap = snapshot(big, s, max_string_length=100)
    assert isinstance(snap, Cut) and len(snap.head) == 100 + s.redaction_margin
    out = finalize(snap, s, max_string_length=100)
    marker = "...[TRUNCATED: 200000 chars]"
    assert out == "y" * (100 - len(marker)) + marker


def test_long_strings_within_the_pin_budget_are_kept_whole_and_cut_by_the_worker() -> None:
    s = CaptureSettings(strict=True)
    big = "y" * 200_000
    snap = snapshot(big, s, max_string_length=100)
    assert isinstance(snap, Snapshot) and snap.root is big  # no copy on the caller's thread
    out = finalize(snap, s, max_string_length=100)
    marker = "...[TRUNCATED: 200000 chars]"
    assert out == "y" * (100 - len(marker)) + marker


def test_limits_and_markers() -> None:
    s = CaptureSettings(max_items=3, max_depth=2, max_string_length=64, strict=True)
    assert capture(list(range(10)), s) == [0, 1, "[TRUNCATED: 8 more of 10 items]"]
    assert capture({str(i): i for i in range(5)}, s) == {
        "0": 0,
        "1": 1,
        "[TRUNCATED]": "[TRUNCATED: 3 more of 5 keys]",
    }
    assert capture([[[1]]], s) == [["[TRUNCATED: list at max depth]"]]
    assert capture({"a": {"b": {"c": 1}}}, s) == {"a": {"b": "[TRUNCATED: dict at max depth]"}}
    assert capture(list(range(3)), s) == [0, 1, 2]  # exactly max_items: untouched


def test_bytes_and_utf8_are_cut_on_character_boundaries() -> None:
    s = CaptureSettings(max_string_length=64, strict=True)
    out = capture("é" * 10_000, s)
    assert out.startswith("é" * 10) and out.endswith("...[TRUNCATED: 10000 chars]")
    out = capture(("€" * 10_000).encode(), s)
    assert out.endswith("...[TRUNCATED: 30000 bytes]") and "\ufffd" not in out


def test_max_bytes_is_exact_and_markers_count() -> None:
    s = CaptureSettings(max_bytes=1000, strict=True)
    value = {f"k{i}": "v" * 300 for i in range(50)}
    out = capture(value, s)
    assert len(orjson.dumps(out)) <= 1000
    assert out["[TRUNCATED]"].endswith("of 50 keys]")


def test_capture_is_idempotent_on_truncated_values() -> None:
    s = CaptureSettings(max_items=4, max_string_length=64, max_bytes=400, strict=True)
    once = capture({"l": list(range(100)), "s": "z" * 1000, "d": {i: i for i in range(9)}}, s)
    assert capture(once, s) == once


def test_per_call_limit_is_honoured_and_floored() -> None:
    assert len(capture("a" * 5000, max_string_length=1000)) == 1000
    assert len(capture("a" * 5000, max_string_length=10)) == 64  # floor: room for the marker


# -- what is copied at call time, what the worker reads later --------------------------------
def test_top_levels_are_copied_at_call_time() -> None:
    messages = [{"role": "user", "content": "hi"}]
    snap = snapshot({"messages": messages, "opts": {"t": 1}}, S)
    messages.append({"role": "assistant", "content": "later"})
    messages[0]["content"] = "edited"
    assert finalize(snap, S) == {"messages": [{"role": "user", "content": "hi"}], "opts": {"t": 1}}


@pytest.mark.usefixtures("reference")
def test_levels_beyond_the_budget_are_read_by_the_worker() -> None:
    s = CaptureSettings(snapshot_budget=2, strict=True)
    rows = [{"id": 1}, {"id": 2}, {"id": 3}]
    snap = snapshot({"rows": rows}, s)
    rows.append({"id": 4})  # the list itself was copied: not seen
    rows[0]["id"] = 100  # its dicts (3 entries > budget left) are referenced: seen
    assert finalize(snap, s) == {"rows": [{"id": 100}, {"id": 2}, {"id": 3}]}


@pytest.mark.usefixtures("reference")
def test_budget_zero_copies_only_the_top_container() -> None:
    s = CaptureSettings(snapshot_budget=0, strict=True)
    inner = [1]
    snap = snapshot({"a": inner}, s)
    inner.append(2)
    assert finalize(snap, s) == {"a": [1, 2]}


def test_big_string_past_the_pin_budget_is_not_kept_alive_by_the_snapshot() -> None:
    s = CaptureSettings(max_pinned_bytes=100_000, strict=True)
    snap = snapshot({"payload": {"text": "q" * 200_000, "items": list(range(1000))}}, s)
    assert isinstance(snap, Snapshot)
    text = snap.root["payload"]["text"]  # type: ignore[attr-defined,index]
    assert len(text) == S.max_string_length + S.redaction_margin
    assert len(snap.root["payload"]["items"]) == S.max_items  # type: ignore[attr-defined,index]


def test_concurrent_mutation_while_the_worker_reads_never_raises() -> None:
    s = CaptureSettings(snapshot_budget=0, strict=True)
    shared: dict[str, Any] = {"rows": [{"i": i} for i in range(200)]}
    stop = threading.Event()

    def mutate() -> None:
        n = 0
        while not stop.is_set():
            shared["rows"].append({"i": n})
            shared["rows"].pop(0)
            shared[f"k{n % 50}"] = n
            shared.pop(f"k{(n + 25) % 50}", None)
            n += 1

    thread = threading.Thread(target=mutate)
    thread.start()
    try:
        for _ in range(300):
            out = capture({"shared": shared}, s)
            assert isinstance(out, dict)
            orjson.dumps(out)
    finally:
        stop.set()
        thread.join()


@pytest.mark.usefixtures("reference")
@pytest.mark.parametrize("n", [10, 10_000, 1_000_000])
def test_snapshot_work_is_bounded_by_the_limits_not_the_input(n: int) -> None:
    # A counting iterable would show it: copies touch at most max_items entries.
    big_list = list(range(n))
    snap = snapshot({"l": big_list}, S)
    assert len(snap.root["l"]) == min(n, S.max_items)  # type: ignore[attr-defined,index]


def test_snapshot_never_raises_even_on_internal_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    from brokle_trace.capture import _snapshot

    def boom(*a: Any) -> Any:
        raise RuntimeError("bug")

    monkeypatch.setattr(_snapshot, "expand", boom)
    lenient = CaptureSettings()
    assert snapshot({"x": object()}, lenient) == "[CAPTURE_ERROR]"
    with pytest.raises(RuntimeError):
        snapshot({"x": object()}, S)  # strict mode re-raises for the library's own tests
