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
from brokle_trace.capture._finalize import finalize_value
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
)
_CELL_KEYS = st.sampled_from(["source", "page", "lang", "title", "s"])


def _nested(kind: str) -> st.SearchStrategy[Any]:
    return {
        "list": st.lists(_LEAF, max_size=4),
        "long": st.lists(st.integers(0, 9), min_size=8, max_size=14),  # past max_items
        "dict": st.dictionaries(_CELL_KEYS, _LEAF, max_size=3),
        "deep": st.lists(st.lists(st.integers(0, 3), max_size=2), max_size=2),
        "id": st.integers(0, 1000),
        "text": st.sampled_from(["short", "doc text", f"leaked {_KEY}"]),
    }[kind]


@st.composite
def tables(draw: st.DrawFn) -> list[dict[str, Any]]:
    kinds = draw(
        st.lists(
            st.sampled_from(["id", "text", "list", "list", "dict", "dict"] * 3 + ["long", "deep"]),
            min_size=1,
            max_size=4,
        )
    )
    keys = [f"{kind}{i}" for i, kind in enumerate(kinds)]
    n = draw(st.integers(rows_module.MIN_ROWS, 12))
    out = []
    for _ in range(n):
        row = {key: draw(_nested(kind)) for key, kind in zip(keys, kinds, strict=True)}
        if draw(st.integers(0, 25)) == 0:  # now and then a row in another key order
            row = dict(reversed(row.items()))
        out.append(row)
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
    @given(table=tables(), kwargs=st.one_of(st.just({}), settings_kwargs()), wrap=st.booleans())
    @example(
        table=[{"id": i, "tags": ["news", f"t{i % 3}"]} for i in range(8)], kwargs={}, wrap=False
    )
    @example(
        table=[{"id": i, "meta": {"source": f"use {_KEY}", "page": i}} for i in range(6)],
        kwargs={},
        wrap=True,
    )
    def prop(fired: Fired, table: list[dict[str, Any]], kwargs: dict[str, Any], wrap: bool) -> None:
        s = CaptureSettings(**kwargs)
        value: Any = {"payload": {"items": table}} if wrap else table
        finalize_value(value, s, None, "input", "")  # the caches the column path relies on
        took: list[bool] = []
        real = rows_module.rows

        def spy(*args: Any) -> Any:
            result = real(*args)
            took.append(
                result is not None and any(type(v) in (list, dict) for v in result[0].values())
            )
            return result

        for candidate in (value, snapshot(value, s)):
            with mock.patch.object(_finalize, "rows", spy):
                expected, got, count_diff = _finalize_both(candidate, s)
            assert orjson.dumps(got) == orjson.dumps(expected)
            assert count_diff == dict.fromkeys(count_diff, 0)
        fired.example(any(took))

    run(prop, min_share=0.15)


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
