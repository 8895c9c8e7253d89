"""Lists of same-shaped rows finalised a column at a time give exactly what the Walker gives."""

from __future__ import annotations

import math
from typing import Any
from unittest import mock

import orjson
from hypothesis import example, given, settings
from hypothesis import strategies as st

from brokle_trace.capture import CaptureSettings, _finalize, snapshot
from brokle_trace.capture import _counters as counters
from brokle_trace.capture import _rows as rows_module
from brokle_trace.capture._fast import INT_MAX, INT_MIN
from brokle_trace.capture._finalize import finalize_value
from tests.capture.strategies import TEXT, secrets, settings_kwargs
from tests.parity.fired import Fired, run

_KEY = "sk-proj-" + "A1b2C3d4" * 5
ROW_KEYS = st.lists(
    st.sampled_from(["id", "text", "score", "ok", "title", "api_key", "token_count", "q#2"]),
    min_size=1,
    max_size=4,
    unique=True,
)
#: One kind of value per column, as rows of data have; some columns mix kinds.
#: Half the columns are of the kinds the column path takes, so that it fires often enough
#: for the comparison to mean something (the parity test asserts it does).
COLUMN = st.sampled_from(["int", "float", "str", "bool", "none"]) | st.sampled_from(
    ["int", "bigint", "float", "nan", "str", "secret", "bool", "none", "mixed"]
)


def _cell(kind: str) -> st.SearchStrategy[Any]:
    return {
        "int": st.integers(-1000, 1000),
        "bigint": st.integers(-(1 << 70), 1 << 70),
        "float": st.floats(allow_nan=False, allow_infinity=False),
        "nan": st.floats(allow_nan=True, allow_infinity=True),
        "str": st.sampled_from(["short", "a longer text of a row", "é", ""]) | TEXT,
        "secret": secrets().map(lambda pair: pair[0]),
        "bool": st.booleans(),
        "none": st.none(),
        "mixed": st.one_of(st.integers(0, 9), st.text(max_size=5), st.none()),
    }[kind]


@st.composite
def tables(draw: st.DrawFn) -> list[dict[str, Any]]:
    keys = draw(ROW_KEYS)
    kinds = [draw(COLUMN) for _ in keys]
    # Half the tables are long enough for the column path (MIN_ROWS), half are not.
    n = draw(st.integers(1, rows_module.MIN_ROWS - 1) | st.integers(rows_module.MIN_ROWS, 14))
    out = []
    for _ in range(n):
        row = {key: draw(_cell(kind)) for key, kind in zip(keys, kinds, strict=True)}
        if draw(st.integers(0, 20)) == 0:  # now and then a row of another shape
            row = dict(reversed(row.items())) if draw(st.booleans()) else {"other": 1}
        out.append(row)
    return out


def _finalize_both(value: Any, s: CaptureSettings) -> tuple[Any, Any, dict[str, int]]:
    counters.reset_counters()
    with mock.patch.object(_finalize, "MIN_ROWS", 1 << 30):  # the Walker only
        expected = finalize_value(value, s, None, "input", "")
    walker_counts = counters.counters()
    counters.reset_counters()
    got = finalize_value(value, s, None, "input", "")
    return expected, got, {k: walker_counts[k] - counters.counters()[k] for k in walker_counts}


def test_rows_equal_the_walk() -> None:
    @settings(max_examples=400, deadline=None)
    @given(table=tables(), kwargs=settings_kwargs(), wrap=st.booleans())
    @example(table=[{"id": i, "text": "short"} for i in range(8)], kwargs={}, wrap=False)
    # The int and float columns' one-pass checks at their edges: the 64-bit bounds and one
    # past them; a NaN, an infinity; finite floats whose sum overflows.
    @example(table=[{"n": v} for v in [0, INT_MIN, INT_MAX, 7]], kwargs={}, wrap=False)
    @example(table=[{"n": v} for v in [0, INT_MIN, INT_MAX + 1, 7]], kwargs={}, wrap=False)
    @example(table=[{"n": v} for v in [0, INT_MIN - 1, INT_MAX, 7]], kwargs={}, wrap=False)
    @example(table=[{"x": v} for v in [0.5, math.nan, 1.0, 2.0]], kwargs={}, wrap=True)
    @example(table=[{"x": v} for v in [0.5, -math.inf, 1.0, 2.0]], kwargs={}, wrap=False)
    @example(table=[{"x": v} for v in [1.7e308, 1.7e308, -1.0, 2.0]], kwargs={}, wrap=False)
    @example(  # rebuilt rows (a redaction) with one row's keys in another order, then cut
        table=[
            {"a": "s", "b": "x " + _KEY, "c": "s"},
            {"c": "q" * 9, "b": "x " + _KEY, "a": "p" * 9},
            *[{"a": "p" * 9, "b": "x " + _KEY, "c": "q" * 9}] * 3,
        ],
        kwargs={"max_bytes": 256},
        wrap=False,
    )
    def prop(fired: Fired, table: list[dict[str, Any]], kwargs: dict[str, Any], wrap: bool) -> None:
        s = CaptureSettings(**kwargs)
        value: Any = {"payload": {"items": table}} if wrap else table
        # The first pass fills the key and text caches the column path relies on.
        finalize_value(value, s, None, "input", "")
        took: list[bool] = []
        real = rows_module.rows

        def spy(*args: Any) -> Any:
            result = real(*args)
            took.append(result is not None)
            return result

        for candidate in (value, snapshot(value, s)):
            with mock.patch.object(_finalize, "rows", spy):
                expected, got, count_diff = _finalize_both(candidate, s)
            assert orjson.dumps(got) == orjson.dumps(expected)  # key order included
            assert count_diff == dict.fromkeys(count_diff, 0)
        fired.example(any(took))

    # The drawn limits are small (max_items 1-10, to exercise every cut), and a table cut
    # below MIN_ROWS, or a snapshot of one, takes the walker: ~8 % of examples take the
    # column path (18-44 of 402 in ten runs): the floor is 2 %.
    run(prop, min_share=0.02)


def test_the_column_path_is_taken_for_rows_of_data() -> None:
    s = CaptureSettings()
    table = [{"id": i, "text": "short", "score": 0.5, "ok": True} for i in range(50)]
    finalize_value(table, s, None, "input", "")
    calls = []
    real = rows_module.rows

    def spy(*args: Any) -> Any:
        result = real(*args)
        calls.append(result is not None)
        return result

    with mock.patch.object(_finalize, "rows", spy):
        out = finalize_value(table, s, None, "input", "")
    assert calls == [True]
    assert out == table
    assert out[0] is not table[0]  # copies: a later change to the user's rows is not exported


def test_secret_values_in_a_column_are_redacted_and_counted() -> None:
    s = CaptureSettings()
    key = "sk-proj-" + "A1b2C3d4" * 5
    table = [{"id": i, "note": f"use {key}" if i % 2 else "fine"} for i in range(10)]
    finalize_value(table, s, None, "input", "")  # caches
    counters.reset_counters()
    out = finalize_value(table, s, None, "input", "")
    assert key not in orjson.dumps(out).decode()
    assert out[1]["note"] == "use [REDACTED:openai_key]"
    assert counters.counters()["redactions"] == 5


def test_secret_named_column_falls_back_to_the_walker() -> None:
    s = CaptureSettings()
    table = [{"id": i, "password": "hunter2"} for i in range(10)]
    finalize_value(table, s, None, "input", "")
    out = finalize_value(table, s, None, "input", "")
    assert all(row["password"] == "[REDACTED:password]" for row in out)  # type: ignore[index]


@settings(max_examples=200, deadline=None)
@given(table=tables(), kwargs=settings_kwargs())
def test_rows_keep_the_walkers_size_estimate(
    table: list[dict[str, Any]], kwargs: dict[str, Any]
) -> None:
    # The estimate decides where a walk over budget stops: it must not depend on the path.
    s = CaptureSettings(**kwargs)
    c = s._compiled
    finalize_value(table, s, None, "input", "")
    with mock.patch.object(_finalize, "MIN_ROWS", 1 << 30):
        reference = _finalize.Walker(c.worker_ctx, {}, c.limit)
        expected = reference.walk(table, 0)
    walker = _finalize.Walker(c.worker_ctx, {}, c.limit)
    assert walker.walk(table, 0) == expected
    assert (walker.est, walker.redactions, walker.truncations) == (
        reference.est,
        reference.redactions,
        reference.truncations,
    )
