"""Rows whose cells hold a list or a dict of leaves (tags, a document's metadata) finalised
a column at a time give exactly what the Walker gives: same bytes, same counts."""

from __future__ import annotations

from typing import Any
from unittest import mock

import orjson
from hypothesis import example, given, settings
from hypothesis import strategies as st

from brokle_trace.capture import CaptureSettings, _finalize, snapshot
from brokle_trace.capture import _rows as rows_module
from brokle_trace.capture._fast import INT_MAX, INT_MIN
from brokle_trace.capture._finalize import finalize_value
from brokle_trace.capture._nodes import Snapshot
from brokle_trace.capture._snapshot import snapshot_inputs
from tests.capture.strategies import secrets, settings_kwargs
from tests.parity.fired import Fired, run
from tests.parity.test_capture_rows import _finalize_both

_KEY = "sk-proj-" + "A1b2C3d4" * 5
_PLAIN = st.one_of(
    st.sampled_from(["news", "sports", "a longer tag text", "é", "", "x" * 70]),
    st.integers(-5, 5),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
)
_LEAF = _PLAIN
#: Planted in one cell of a table now and then: leaves the Walker renders its own way.
_ODD = st.one_of(
    st.integers(2**64, 2**65),  # past 64 bits: the Walker's string
    st.floats(allow_nan=True, allow_infinity=True),
    secrets().map(lambda pair: f"key {pair[0]}"),
    st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=2),
    # Cut by every limit (the drawn ones are 64-400 characters, the default 4000), one with
    # a secret across the small limits' cut.
    st.sampled_from(["y" * 5000, "q" * 380 + " " + _KEY]),
)
_CELL_KEYS = st.sampled_from(["source", "page", "lang", "title", "s"])


def _nested(kind: str) -> st.SearchStrategy[Any]:
    return {
        "list": st.lists(_LEAF, max_size=4),
        "long": st.lists(st.integers(0, 9), min_size=8, max_size=14),  # past max_items
        "dict": st.dictionaries(_CELL_KEYS, _LEAF, max_size=3),
        "deep": st.lists(st.lists(st.integers(0, 3), max_size=2), max_size=2),
        "id": st.integers(0, 1000),
        # Columns of numbers near what JSON (orjson) can hold: 64-bit ints, finite floats,
        # and floats whose sum overflows though each is finite.
        "int": st.one_of(
            st.integers(0, 9),
            st.sampled_from([INT_MIN, INT_MAX]),
            st.sampled_from([INT_MIN - 1, INT_MAX + 1]),
        ),
        "float": st.one_of(
            st.floats(-1, 1),
            st.just(1.7e308),
            st.floats(allow_nan=True, allow_infinity=True),
        ),
        "text": st.sampled_from(["short", "doc text", f"leaked {_KEY}"]),
    }[kind]


@st.composite
def tables(draw: st.DrawFn) -> list[dict[str, Any]]:
    kinds = draw(
        st.lists(
            st.sampled_from(
                ["id", "text", "list", "list", "dict", "dict"] * 3
                + ["long", "deep", "int", "float"]
            ),
            min_size=1,
            # Up to 6 columns: a row wider than max_items (4-5 drawn) is cut when the
            # snapshot copies it, and only meta says so.
            max_size=6,
        )
    )
    keys = [f"{kind}{i}" for i, kind in enumerate(kinds)]
    n = draw(st.integers(rows_module.MIN_ROWS, 12))
    # Now and then the rows in more than one key order, or one row with a key missing (and
    # another in its place, or not): the column path must decline or agree.
    reorder = draw(st.integers(0, 3)) == 0
    out = []
    for _ in range(n):
        row = {key: draw(_nested(kind)) for key, kind in zip(keys, kinds, strict=True)}
        if reorder and draw(st.booleans()):
            row = dict(reversed(row.items()))
        out.append(row)
    if draw(st.integers(0, 5)) == 0:
        row = out[draw(st.integers(0, n - 1))]
        del row[draw(st.sampled_from(keys))]
        if draw(st.booleans()):
            row["other"] = 1
    if draw(st.integers(0, 3)) == 0:  # one odd leaf in a nested cell, if there is one
        row = out[draw(st.integers(0, n - 1))]
        cell = next((v for v in row.values() if type(v) in (list, dict) and v), None)
        if type(cell) is list:
            cell[0] = draw(_ODD)
        elif type(cell) is dict:
            if draw(st.booleans()):
                cell[next(iter(cell))] = draw(_ODD)
            else:  # a secret-named key, or two keys exported as one
                cell[draw(st.sampled_from(["password", "token", 1]))] = "v"
    if out and draw(st.integers(0, 15)) == 0:  # a cell shared with a cycle back to the list
        out[0][keys[0]] = out
    return out


def test_nested_rows_equal_the_walk() -> None:
    @settings(max_examples=300, deadline=None)
    # The default limits, or the same with a snapshot budget that stops above the rows (as
    # S4n's 1000 rows do), or small limits that cut everywhere.
    @given(
        table=tables(),
        kwargs=st.one_of(st.just({}), st.just({"snapshot_budget": 4}), settings_kwargs()),
        wrap=st.booleans(),
    )
    @example(
        table=[{"id": i, "tags": ["news", f"t{i % 3}"]} for i in range(8)], kwargs={}, wrap=False
    )
    @example(
        table=[{"id": i, "meta": {"source": f"use {_KEY}", "page": i}} for i in range(6)],
        kwargs={},
        wrap=True,
    )
    @example(  # S4n's shape (run.py): beside a long string, rows with a 2-tag list
        table=[
            {"id": i, "text": "short", "score": 0.5, "tags": ["news", f"t{i % 7}"]}
            for i in range(120)
        ],
        kwargs={},
        wrap=True,
    )
    @example(  # rows wider than max_items, copied and cut by the snapshot: meta's to tell
        table=[{"a": i, "b": "x", "c": [1], "d": {"s": 2}, "e": 3} for i in range(6)],
        kwargs={"max_items": 4},
        wrap=False,
    )
    def prop(fired: Fired, table: list[dict[str, Any]], kwargs: dict[str, Any], wrap: bool) -> None:
        s = CaptureSettings(**kwargs)
        # Wrapped as run.py's S4 payload (a long string beside the rows): the snapshot then
        # keeps the rows by reference below copied levels (meta not empty) when they are
        # over its budget, and copies them (cut to max_items) when they are not.
        value: Any = {"payload": {"text": "x" * 6000, "items": table}} if wrap else table
        finalize_value(value, s, None, "input", "")  # the caches the column path relies on
        took: list[bool] = []
        real = rows_module.rows

        def spy(*args: Any) -> Any:
            result = real(*args)
            took.append(
                result is not None and any(type(v) in (list, dict) for v in result[0].values())
            )
            return result

        candidates = [value, snapshot(value, s)]
        if wrap:
            candidates.append(snapshot_inputs({"payload": value["payload"]}, s, None, None))
        last = 0
        for candidate in candidates:
            last = len(took)
            with mock.patch.object(_finalize, "rows", spy):
                expected, got, count_diff = _finalize_both(candidate, s)
            assert orjson.dumps(got) == orjson.dumps(expected)
            assert count_diff == dict.fromkeys(count_diff, 0)
        fired.example(any(took))
        if type(candidates[-1]) is Snapshot and candidates[-1].meta:
            under_meta.example(any(took[last:]))

    under_meta = Fired()  # examples whose last candidate was a snapshot with copied levels
    run(prop, min_share=0.15)
    # The column path also fires below levels the snapshot copied (rows kept by reference).
    assert under_meta.fired >= max(1, under_meta.tried // 100), (under_meta.fired, under_meta.tried)


def test_s4n_takes_the_column_path_under_the_snapshot() -> None:
    # run.py's S4n call as the decorator snapshots it: the long string pinned, the rows
    # list cut at call time, the rows themselves referenced (one level past the budget).
    s = CaptureSettings()
    payload = {
        "text": "x" * 200_000,
        "items": [
            {"id": i, "text": "short", "score": 0.5, "tags": ["news", f"t{i % 7}"]}
            for i in range(1000)
        ],
    }
    finalize_value({"payload": payload}, s, None, "input", "")  # the caches
    snap = snapshot_inputs({"payload": payload}, s, None, None)
    assert type(snap) is Snapshot and snap.meta
    calls: list[bool] = []
    real = rows_module.rows

    def spy(*args: Any) -> Any:
        result = real(*args)
        calls.append(result is not None)
        return result

    with mock.patch.object(_finalize, "rows", spy):
        expected, got, count_diff = _finalize_both(snap, s)
    assert calls == [True]
    assert orjson.dumps(got) == orjson.dumps(expected)
    assert count_diff == dict.fromkeys(count_diff, 0)
    items = got["payload"]["items"]
    assert len(items) == 100 and items[-1] == "[TRUNCATED: 901 more of 1000 items]"
    assert items[0] == payload["items"][0]


def test_rows_copied_at_call_time_take_the_walker() -> None:
    # Copied (and cut to max_items) by the snapshot: only the Walker knows their size.
    s = CaptureSettings(max_items=4)
    table = [{"a": i, "b": "x", "c": [1], "d": 2, "e": 3} for i in range(4)]
    snap = snapshot({"items": table}, s)
    assert type(snap) is Snapshot and id(snap.root["items"][0]) in snap.meta  # type: ignore[index]
    calls: list[bool] = []
    real = rows_module.rows

    def spy(*args: Any) -> Any:
        result = real(*args)
        calls.append(result is not None)
        return result

    with mock.patch.object(_finalize, "rows", spy):
        expected, got, _ = _finalize_both(snap, s)
    assert not any(calls)
    assert orjson.dumps(got) == orjson.dumps(expected)


def test_rows_with_a_tag_list_take_the_column_path() -> None:
    s = CaptureSettings()
    table = [{"id": i, "text": "short", "tags": ["news", f"t{i % 7}"]} for i in range(100)]
    finalize_value(table, s, None, "input", "")
    calls: list[bool] = []
    real = rows_module.rows

    def spy(*args: Any) -> Any:
        result = real(*args)
        calls.append(result is not None)
        return result

    with mock.patch.object(_finalize, "rows", spy):
        out = finalize_value(table, s, None, "input", "")
    assert calls == [True]
    assert out == table
    assert out[0]["tags"] is not table[0]["tags"]  # fresh cells: later changes not exported
