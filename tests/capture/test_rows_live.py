"""Rows the snapshot left to the worker (past ``snapshot_budget``) are the caller's own
dicts and lists: another thread may change one while the rows fast path reads it. What is
exported must be what was judged (the Walker copies each container before walking it)."""

from __future__ import annotations

from typing import Any
from unittest import mock

import orjson

from brokle_trace.capture import CaptureSettings
from brokle_trace.capture import _rows as rows_module
from brokle_trace.capture._finalize import finalize_value
from brokle_trace.capture._snapshot import snapshot_value

_KEY = "sk-proj-" + "A1b2C3d4" * 5


def _export_with_change(change: Any) -> bytes:
    s = CaptureSettings(snapshot_budget=0)  # nothing below the top copied at call time
    docs = [{"text": "plain", "tags": ["a", "b"]} for _ in range(6)]
    value = {"docs": docs, "odd": (1,)}  # a tuple: not the encoded shortcut
    finalize_value(snapshot_value(value, s, None, None), s, None, "input", "t")  # warm caches
    snap = snapshot_value(value, s, None, None)
    real = frozenset
    calls = []

    def another_thread_runs(items: Any) -> frozenset[Any]:
        calls.append(1)
        if len(calls) == 2:  # after the first column is judged, before anything is copied
            change(docs)
        return real(items)

    with mock.patch.object(rows_module, "frozenset", another_thread_runs, create=True):
        out = finalize_value(snap, s, None, "input", "t")
    assert calls, "the rows fast path did not run"
    return orjson.dumps(out)


def test_a_secret_written_into_a_judged_row_is_never_exported() -> None:
    def put(docs: list[dict[str, Any]]) -> None:
        docs[3]["text"] = _KEY

    assert _KEY.encode() not in _export_with_change(put)
