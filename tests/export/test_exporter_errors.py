"""An exporter that raises has not exported; a span that cannot be encoded fails alone."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pytest

import brokle_trace
from brokle_trace import SpanData, observe
from brokle_trace.typing import ExportResult


@observe
def work(x: object = None) -> object:
    return x


class RaisesAfterCounting:
    """Counts its own losses (``take_drops``, like the built-in exporters), then raises."""

    def __init__(self) -> None:
        self.calls = 0

    def export(self, spans: Sequence[SpanData]) -> ExportResult:
        self.calls += 1
        raise TypeError("encoder bug")

    def take_drops(self) -> dict[str, int]:
        return {}

    def shutdown(self) -> None:
        pass


@pytest.mark.usefixtures("lenient")
def test_an_exporter_that_raises_has_not_exported(caplog: pytest.LogCaptureFixture) -> None:
    exporter = RaisesAfterCounting()
    brokle_trace.configure(exporter="none", exporters=[exporter], max_export_batch_size=4)
    caplog.set_level(logging.WARNING, "brokle_trace")
    for _ in range(3):
        for _ in range(4):
            work()
        assert brokle_trace.flush(2.0)
    s = brokle_trace.stats()
    assert exporter.calls == 3
    assert s["exported"] == 0
    assert s["dropped"]["export_failed"] == 12
    (mine,) = s["exporters"].values()
    assert mine["exported"] == 0 and mine["dropped"]["export_failed"] == 12
    assert mine["last_error"] == "TypeError: encoder bug"
    # Logged once for the kind, with the exception type, not once per batch.
    lines = [r.getMessage() for r in caplog.records if "encoder bug" in r.getMessage()]
    assert len(lines) == 1 and "TypeError" in lines[0]
