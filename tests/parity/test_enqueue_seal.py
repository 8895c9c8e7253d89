"""The hot path's inlined record equals ``seal``'s, for every kind of span."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

import brokle_trace
from brokle_trace import observe, trace_context, update_current_span
from brokle_trace._export.record import seal
from brokle_trace._runtime import lifecycle as _lifecycle
from brokle_trace._runtime import state as _state


@observe
def plain(text: str, n: int = 1) -> str:
    return text * n


@observe
def keyword(*, items: list[int]) -> int:
    update_current_span(metadata={"k": 1})
    return len(items)


@observe
def failing(x: int) -> None:
    raise ValueError(x)


def _calls() -> None:
    plain("a")
    plain("a", n=2)
    keyword(items=[1, 2])
    with trace_context(user_id="u", tags=["t"]):
        plain("b")
    with contextlib.suppress(ValueError):
        failing(3)


@pytest.mark.parametrize("sample_rate", [1.0, 0.999])
def test_the_queued_record_is_seals(sample_rate: float) -> None:
    brokle_trace.configure(exporter="none", schedule_delay=60, sample_rate=sample_rate, strict=True)
    pipeline = _lifecycle.current_pipeline()
    spans: list[Any] = []
    sealed: list[Any] = []
    real = _state.enqueue

    def spy(span: Any) -> None:
        # Sealed as it is handed over: an ended span lets go of its input and output.
        spans.append(span)
        sealed.append(seal(span))
        real(span)

    _state.enqueue = spy
    try:
        _calls()
    finally:
        _state.enqueue = real
    queued = [item for item in pipeline._queue if type(item) is tuple]
    kept = [span for span in spans if not span._facts.sampled_out]
    assert len(spans) == 5
    assert len(queued) == len(kept) >= (5 if sample_rate == 1.0 else 1)
    kept_records = [r for r, s in zip(sealed, spans, strict=True) if not s._facts.sampled_out]
    assert queued == kept_records
