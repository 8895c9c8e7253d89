"""Capture never blocks, consumes or escapes: containers and views summarised by type and
size, user ``__repr__``/``__str__`` run on the export worker, and whatever they raise kept
out of both the user's code and the worker."""

from __future__ import annotations

import array
import collections
import threading
import time
import tracemalloc
import types
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import brokle_trace
from brokle_trace import observe
from brokle_trace.capture import CaptureSettings, counters, finalize, reset_counters, snapshot
from brokle_trace.testing import capture_spans

S = CaptureSettings(strict=True)
M = S.max_items


def capture(value: Any) -> Any:
    out = finalize(snapshot(value, S), S)
    orjson.dumps(out)
    return out


def _timed_snapshot(value: Any) -> tuple[float, int, Any]:
    """(seconds, peak bytes allocated, snapshot) of one call-time snapshot."""
    tracemalloc.start()
    try:
        start = time.perf_counter()
        snap = snapshot(value, S)
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return elapsed, peak, snap


_BIG = 1_000_000


@pytest.fixture(scope="module")
def big() -> dict[int, float]:
    return dict.fromkeys(range(_BIG), 1.5)


@pytest.mark.parametrize(
    "make",
    [
        lambda d: array.array("d", bytes(8 * _BIG)),
        lambda d: d.values(),
        lambda d: d.keys(),
        lambda d: d.items(),
        lambda d: collections.OrderedDict.fromkeys(range(100_000)).keys(),
        lambda d: collections.ChainMap(d, {"extra": 1}),
        lambda d: types.MappingProxyType(d),
        lambda d: collections.UserList(range(_BIG)),
        lambda d: collections.UserDict(d),
    ],
    ids=[
        "array",
        "dict_values",
        "dict_keys",
        "dict_items",
        "odict_keys",
        "ChainMap",
        "mappingproxy",
        "UserList",
        "UserDict",
    ],
)
def test_big_containers_and_views_cost_what_small_ones_do(make: Any, big: dict[int, float]) -> None:
    value = make(big)
    elapsed, peak, snap = _timed_snapshot(value)
    # Hundreds of ms and of MB when repr() ran on the caller's thread.
    assert elapsed < 0.02, f"{elapsed * 1000:.0f} ms on the caller's thread"
    assert peak < 2_000_000, f"{peak / 1e6:.1f} MB allocated on the caller's thread"
    start = time.perf_counter()
    out = finalize(snap, S)
    assert time.perf_counter() - start < 0.2  # bounded on the worker too
    text = orjson.dumps(out).decode()
    assert len(text) < 20_000
    assert "TRUNCATED" in text or "ChainMap" in text


def test_views_and_arrays_are_summarised_as_their_items() -> None:
    d = {"a": 1, "b": 2}
    assert capture(d.keys()) == ["a", "b"]
    assert capture(d.values()) == [1, 2]
    assert capture(d.items()) == [["a", 1], ["b", 2]]
    assert capture(array.array("i", [1, 2, 3])) == [1, 2, 3]
    assert capture(collections.ChainMap({"a": 1}, {"b": 2})) == {
        "type": "ChainMap",
        "maps": [{"a": 1}, {"b": 2}],
    }
    assert capture(types.MappingProxyType({"a": 1})) == {"a": 1}
    assert capture(collections.UserList([1, 2])) == [1, 2]
    assert capture(collections.UserDict({"token": "x"})) == {"token": "[REDACTED:token]"}
    assert capture(collections.UserString("hello")) == "hello"


class SlowRepr:
    calls: list[str] = []

    def __repr__(self) -> str:
        SlowRepr.calls.append(threading.current_thread().name)
        time.sleep(0.3)
        return "slow but done"


def test_a_slow_repr_runs_on_the_worker_not_on_the_callers_thread() -> None:
    @observe
    def handle(obj: object) -> str:
        return "ok"

    SlowRepr.calls = []
    with capture_spans() as spans:
        start = time.perf_counter()
        assert handle(SlowRepr()) == "ok"
        assert time.perf_counter() - start < 0.15
    assert spans[0].input == {"obj": "slow but done"}
    assert SlowRepr.calls and threading.main_thread().name not in SlowRepr.calls


class LazyStream:
    """A lazy object whose repr materialises its stream (as some ORM query sets do)."""

    def __init__(self, source: Iterator[int]) -> None:
        self._source = source

    def __repr__(self) -> str:
        return repr(list(self._source))

    def __iter__(self) -> Iterator[int]:
        return self._source


def test_an_object_whose_repr_would_consume_its_stream_is_not_consumed() -> None:
    @observe
    def total(rows: LazyStream) -> int:
        return sum(rows)

    with capture_spans() as spans:
        assert total(LazyStream(iter([1, 2, 3]))) == 6  # was 0: repr ate the stream
    assert spans[0].input["rows"].startswith("<LazyStream")
    assert spans[0].output == 6


class Cancelled(BaseException):
    """gevent/trio-style cancellation: not an Exception."""


class CancelsInRepr:
    def __repr__(self) -> str:
        raise Cancelled


class CancelsInStr(Exception):
    def __str__(self) -> str:
        raise Cancelled


def test_a_base_exception_from_a_user_repr_neither_escapes_nor_kills_the_worker(
    lenient: None,
) -> None:
    ran: list[int] = []

    @observe
    def handle(obj: object) -> int:
        ran.append(1)
        return 1

    reset_counters()
    with capture_spans() as spans:
        assert handle(CancelsInRepr()) == 1
        assert handle({"nested": [CancelsInRepr()]}) == 1
    assert ran == [1, 1]  # the user's function ran
    assert spans[0].input == {"obj": "<CancelsInRepr: repr() raised Cancelled>"}
    assert counters()["repr_errors"] >= 2
    # The worker is alive: later spans are still exported.
    with capture_spans() as later:
        assert handle("plain") == 1
    assert [s.input for s in later] == [{"obj": "plain"}]
    assert brokle_trace.flush(5.0)


class CancelsInKeys(dict):  # type: ignore[type-arg]
    """A dict subclass whose overridden methods cancel: ``dict.copy()`` calls ``keys()``."""

    def keys(self) -> Any:
        raise Cancelled

    def __iter__(self) -> Any:
        raise Cancelled


def test_a_base_exception_from_a_container_subclass_method_does_not_replace_the_call(
    lenient: None,
) -> None:
    ran: list[object] = []

    @observe
    def handle(obj: object) -> int:
        ran.append(obj)
        return 1

    headers = CancelsInKeys(host="example.com")
    reset_counters()
    with capture_spans() as spans:
        assert handle(headers) == 1  # raised Cancelled before: the function never ran
        assert handle([headers]) == 1
    assert ran == [headers, [headers]]
    assert spans[0].input == {"obj": "<CancelsInKeys: raised Cancelled>"}
    assert spans[1].input == {"obj": ["<CancelsInKeys: raised Cancelled>"]}
    assert counters()["repr_errors"] >= 2


def test_an_exception_value_whose_str_raises_a_base_exception(lenient: None) -> None:
    @observe
    def report(error: Exception) -> str:
        return "reported"

    with capture_spans() as spans:
        assert report(CancelsInStr("x")) == "reported"
    assert spans[0].input["error"]["type"] == "CancelsInStr"
    assert "raised Cancelled" in spans[0].input["error"]["message"]


def test_a_raised_exception_whose_str_raises_a_base_exception_is_still_what_the_caller_gets(
    lenient: None,
) -> None:
    error = CancelsInStr("boom")

    @observe
    def fail() -> None:
        raise error

    with capture_spans() as spans, pytest.raises(CancelsInStr) as info:
        fail()
    assert info.value is error
    assert spans[0].status == "error" and spans[0].error is not None
    assert spans[0].error.type == "CancelsInStr"


class SlowStr(Exception):
    def __str__(self) -> str:
        time.sleep(0.3)
        return "slow message"


def test_an_exception_value_with_a_slow_str_is_read_on_the_worker() -> None:
    @observe
    def keep(error: Exception) -> str:
        return "kept"

    with capture_spans() as spans:
        start = time.perf_counter()
        keep(SlowStr())
        assert time.perf_counter() - start < 0.15
    assert spans[0].input["error"] == {"type": "SlowStr", "message": "slow message"}


# -- property: the caller's thread never runs a user repr -----------------------------------------


class Probe:
    """Records the thread every repr of it runs on."""

    seen: list[str] = []

    def __init__(self, n: int) -> None:
        self.n = n

    def __repr__(self) -> str:
        Probe.seen.append(threading.current_thread().name)
        return f"Probe({self.n})"


_leaves = st.one_of(st.integers(), st.text(max_size=5), st.builds(Probe, st.integers(0, 9)))
_values = st.recursive(
    _leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.dictionaries(st.text(max_size=3), inner, max_size=5),
        st.lists(inner, max_size=5).map(tuple),
        st.dictionaries(st.text(max_size=3), inner, max_size=5).map(lambda d: d.values()),
        st.lists(st.integers(-5, 5), max_size=5).map(lambda xs: array.array("i", xs)),
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(_values)
def test_snapshot_never_calls_a_user_repr_and_finalize_always_gives_json(value: Any) -> None:
    Probe.seen = []
    snap = snapshot(value, S)
    assert Probe.seen == []  # nothing ran on the caller's thread
    out = finalize(snap, S)
    orjson.dumps(out)
    assert all(name == threading.current_thread().name for name in Probe.seen)


class LazyRecord:
    """A lazy ORM-style object: its repr does a round trip (here, a sleep)."""

    calls = 0

    def __repr__(self) -> str:
        LazyRecord.calls += 1
        time.sleep(0.12)
        return "<LazyRecord loaded>"


class SlowStrError(Exception):
    def __str__(self) -> str:
        time.sleep(0.12)
        return "slow message"


def test_a_class_whose_repr_stalled_the_worker_once_is_not_asked_again() -> None:
    from brokle_trace.capture import _slow

    @observe
    def handle(obj: object) -> int:
        return 1

    _slow.forget_all()
    LazyRecord.calls = 0
    reset_counters()
    started = time.perf_counter()
    with capture_spans() as spans:
        for _ in range(5):
            assert handle(LazyRecord()) == 1
        assert handle({"rows": [LazyRecord(), LazyRecord()]}) == 1
    elapsed = time.perf_counter() - started
    assert LazyRecord.calls == 1  # seven objects, one slow call
    assert elapsed < 0.12 * 3  # before: 0.84 s of worker time
    assert spans[0].input == {"obj": "<LazyRecord loaded>"}
    placeholder = "<LazyRecord: repr() skipped, it took 0.1 s once>"
    assert [s.input for s in spans[1:5]] == [{"obj": placeholder}] * 4
    assert spans[5].input == {"obj": {"rows": [placeholder, placeholder]}}
    assert counters()["slow_reprs"] == 1
    assert counters()["repr_skipped"] == 6
    _slow.forget_all()


def test_a_fast_repr_of_the_same_shape_is_always_called() -> None:
    from brokle_trace.capture import _slow

    @observe
    def handle(obj: object) -> int:
        return 1

    _slow.forget_all()
    reset_counters()
    with capture_spans() as spans:
        for n in range(3):
            handle(Probe(n))
    assert [s.input for s in spans] == [{"obj": f"Probe({n})"} for n in range(3)]
    assert counters()["repr_skipped"] == counters()["slow_reprs"] == 0


def test_a_slow_exception_str_is_remembered_separately_from_repr() -> None:
    from brokle_trace.capture import _slow

    _slow.forget_all()
    reset_counters()
    first = capture(SlowStrError())
    second = capture(SlowStrError())
    assert "slow message" in orjson.dumps(first).decode()
    assert "str() skipped" in orjson.dumps(second).decode()
    assert counters()["slow_reprs"] == 1
    assert _slow.skipped_text(SlowStrError, "repr") is None  # only str() was slow
    _slow.forget_all()


def test_configure_asks_a_slow_class_again() -> None:
    from brokle_trace.capture import _slow

    _slow.remember(LazyRecord, "repr", 200_000_000)
    assert _slow.skipped_text(LazyRecord, "repr") is not None
    brokle_trace.configure(exporter="none", strict=True)
    assert _slow.skipped_text(LazyRecord, "repr") is None
