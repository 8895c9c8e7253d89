"""An exporter that raises has not exported; a span that cannot be encoded fails alone."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pytest

import brokle_trace
from brokle_trace import SpanData, observe
from brokle_trace.typing import ExportResult
from tests.export.faults import assert_accounted


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


class ExitsOnce:
    """An exporter whose first call raises ``SystemExit`` (a library calling ``sys.exit()``
    on a fatal error) or ``KeyboardInterrupt``: then works."""

    def __init__(self, raised: BaseException, inline: bool) -> None:
        self.raised = raised
        self.export_inline = inline
        self.calls = 0
        self.exported = 0

    def export(self, spans: Sequence[SpanData]) -> ExportResult:
        self.calls += 1
        if self.calls == 1:
            raise self.raised
        self.exported += len(spans)
        return ExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


@pytest.mark.usefixtures("lenient")
@pytest.mark.parametrize("inline", [True, False])
@pytest.mark.parametrize("raised", [SystemExit(3), KeyboardInterrupt()])
def test_an_exporter_raising_systemexit_loses_its_batch_not_the_pipeline(
    raised: BaseException, inline: bool
) -> None:
    # It killed the worker (inline) or the exporter's thread: every later span was dropped
    # (or, in lossless mode, waited the whole queue_block_timeout first), never exported.
    exporter = ExitsOnce(raised, inline)
    brokle_trace.configure(
        exporter="none", exporters=[exporter], max_export_batch_size=4, exporter_timeout=2.0
    )
    for _ in range(4):
        work()
    brokle_trace.flush(3.0)
    for _ in range(8):
        work()
    assert brokle_trace.flush(3.0)
    s = brokle_trace.stats()
    assert exporter.calls >= 2 and exporter.exported == 8, (exporter.calls, s)
    assert s["exported"] == 8 and s["dropped"]["export_failed"] == 4, s
    (mine,) = s["exporters"].values()
    assert mine["last_error"].startswith(type(raised).__name__)


@pytest.mark.usefixtures("lenient")
def test_a_mask_raising_systemexit_on_the_worker_loses_its_batch_not_the_worker() -> None:
    # The mask is user code run by the export worker: SystemExit from it ended the worker,
    # so flush() failed and every later span stayed queued until shutdown dropped it.
    calls = [0]

    def mask(value: object, *args: object, **kwargs: object) -> object:
        calls[0] += 1
        if calls[0] == 1:
            raise SystemExit(2)
        return value

    exporter = ExitsOnce(RuntimeError("unused"), True)
    exporter.calls = 1  # no failure of its own
    brokle_trace.configure(exporter="none", exporters=[exporter], mask=mask)
    work(1)
    brokle_trace.flush(3.0)
    work(2)
    assert brokle_trace.flush(3.0)
    assert exporter.exported >= 1
    assert_accounted()
