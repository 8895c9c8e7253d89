"""OTLP bodies encoded ahead for a lane that is behind (``prepare_batch`` on the worker, then
``send_prepared`` on the lane) deliver exactly what ``export`` delivers, and the pipeline
really takes that path when the exporter falls behind."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

import brokle_trace
from brokle_trace import get_current_span, observe
from brokle_trace._model import PreparedBatch
from brokle_trace.exporters.otlp import OTLPExporter
from brokle_trace.testing import InMemoryExporter
from brokle_trace.typing import ExportResult
from tests.export.receiver import Receiver


@pytest.fixture
def receivers() -> Iterator[tuple[Receiver, Receiver]]:
    a, b = Receiver(), Receiver()
    yield a, b
    a.close()
    b.close()


class HeldBack(OTLPExporter):
    """Its sends wait for ``gate`` (the collector is slow); counts what came via ``export``."""

    gate = threading.Event()
    via_export = 0

    def send_prepared(self, prepared: PreparedBatch) -> ExportResult:
        self.gate.wait(10)
        return super().send_prepared(prepared)

    def export(self, spans):  # type: ignore[no-untyped-def]
        type(self).via_export += len(spans)
        return super().export(spans)

    @property
    def prepares_batches(self) -> bool:  # export() is overridden only to count
        return True


@observe
def step(i: int, text: str) -> int:
    if i % 7 == 3:
        get_current_span().update(metadata={"i": i, "tags": ["a", "b"]}, level="warning")
    return i


def test_bodies_encoded_ahead_deliver_what_export_delivers(
    receivers: tuple[Receiver, Receiver],
) -> None:
    ahead_receiver, direct_receiver = receivers
    memory = InMemoryExporter()
    brokle_trace.configure(exporter="none", exporters=[memory], max_export_batch_size=50)
    for i in range(400):
        step(i, "x" * (i % 300))
    assert brokle_trace.flush(5.0)
    spans = list(memory.spans)

    ahead = OTLPExporter(ahead_receiver.url, max_request_bytes=20_000, environ={})
    for first in range(0, len(spans), 50):
        prepared = ahead.prepare_batch(spans[first : first + 50])
        assert ahead.send_prepared(prepared) is ExportResult.SUCCESS
    direct = OTLPExporter(direct_receiver.url, max_request_bytes=20_000, environ={})
    for first in range(0, len(spans), 50):
        assert direct.export(spans[first : first + 50]) is ExportResult.SUCCESS

    def decoded(receiver: Receiver) -> list[bytes]:
        return sorted(span.SerializeToString() for span in receiver.spans())

    assert decoded(ahead_receiver) == decoded(direct_receiver)
    assert len(decoded(ahead_receiver)) == 400


def test_a_lane_that_is_behind_holds_encoded_bodies() -> None:
    collector = Receiver()
    exporter = HeldBack(collector.url, environ={})
    brokle_trace.configure(exporter="none", exporters=[exporter], max_export_batch_size=20)
    HeldBack.gate.clear()
    try:
        for i in range(200):
            step(i, "y")
        brokle_trace.flush(0.3)  # the lane is held back: batches pile up in its slice
        HeldBack.gate.set()
        assert brokle_trace.flush(5.0)
        assert len(collector.spans()) == 200
    finally:
        HeldBack.gate.set()
        collector.close()
    # The first batch went as SpanData through export() (the lane was idle); those behind it
    # were encoded ahead by the worker: the shortcut fired for most of them.
    assert HeldBack.via_export <= 40, HeldBack.via_export
