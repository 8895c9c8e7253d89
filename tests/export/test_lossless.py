"""Lossless mode (``on_queue_full="block"``): producers wait for room instead of dropping,
bounded by ``queue_block_timeout``; the library's own threads, flushes, forked children and
shutdown never wait."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Sequence
from typing import Any

import pytest

import brokle_trace
from brokle_trace import SpanData, observe
from brokle_trace._runtime import lifecycle
from brokle_trace._runtime.config import ConfigError
from brokle_trace.typing import ExportResult
from tests.export.faults import assert_accounted


class Slow:
    """A threaded exporter that takes ``pause`` s per batch (a collector far away)."""

    def __init__(self, pause: float = 0.002) -> None:
        self.pause = pause
        self.count = 0
        self.gate = threading.Event()
        self.gate.set()

    def export(self, spans: Sequence[SpanData]) -> ExportResult:
        self.gate.wait(30)
        time.sleep(self.pause)
        self.count += len(spans)
        return ExportResult.SUCCESS

    def shutdown(self) -> None:
        self.gate.set()


@observe
def step(i: int) -> int:
    return i


def _produce(threads: int, each: int) -> None:
    def run() -> None:
        for i in range(each):
            step(i)

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(60)


def _configure(exporter: Any, mode: str, **extra: Any) -> None:
    brokle_trace.configure(
        exporter="none",
        exporters=[exporter],
        max_queue_size=64,
        max_export_batch_size=16,
        schedule_delay=0.01,
        on_queue_full=mode,
        **extra,
    )


def test_threads_filling_the_queue_lose_nothing_when_blocking() -> None:
    slow = Slow()
    _configure(slow, "block", queue_block_timeout=30)
    _produce(threads=4, each=500)
    assert brokle_trace.flush(30)
    stats = assert_accounted()
    assert stats["dropped"]["queue_full"] == 0, stats
    assert slow.count == stats["exported"] == 2000


def test_the_same_load_drops_by_default() -> None:
    # The test above can fail: without blocking, this load overflows the queue.
    slow = Slow()
    _configure(slow, "drop")
    _produce(threads=4, each=500)
    assert brokle_trace.flush(30)
    stats = assert_accounted()
    assert stats["dropped"]["queue_full"] > 0, stats


def test_asyncio_producers_lose_nothing_when_blocking() -> None:
    slow = Slow()
    _configure(slow, "block", queue_block_timeout=30)

    @observe
    async def leaf(i: int) -> int:
        await asyncio.sleep(0)
        return i

    async def main() -> None:
        await asyncio.gather(*(leaf(i) for i in range(1500)))

    # Two event loops on two threads, each filling the queue.
    loops = [threading.Thread(target=asyncio.run, args=(main(),)) for _ in range(2)]
    for t in loops:
        t.start()
    for t in loops:
        t.join(60)
    assert brokle_trace.flush(30)
    stats = assert_accounted()
    assert stats["dropped"]["queue_full"] == 0, stats
    assert slow.count == 3000


def test_a_full_queue_waits_the_timeout_then_drops_and_counts() -> None:
    slow = Slow()
    _configure(slow, "block", queue_block_timeout=0.3)
    slow.gate.clear()  # the exporter is stuck: the queue and its slice fill and stay full
    try:
        for i in range(200):
            step(i)
            if brokle_trace.stats()["dropped"]["queue_full"]:
                break
        began = time.monotonic()
        step(-1)
        waited = time.monotonic() - began
    finally:
        slow.gate.set()
    assert 0.25 <= waited < 3.0, waited
    assert brokle_trace.flush(10)
    stats = assert_accounted()
    assert stats["dropped"]["queue_full"] >= 2


def test_shutdown_releases_a_blocked_producer() -> None:
    slow = Slow()
    _configure(slow, "block", queue_block_timeout=60)
    slow.gate.clear()
    done = threading.Event()

    def produce() -> None:
        for i in range(500):
            step(i)
        done.set()

    producer = threading.Thread(target=produce, daemon=True)
    producer.start()
    time.sleep(0.5)
    assert not done.is_set()  # blocked on the full queue
    began = time.monotonic()
    brokle_trace.shutdown(1.0)
    slow.gate.set()
    assert done.wait(5), "the producer stayed blocked after shutdown"
    assert time.monotonic() - began < 5
    stats = assert_accounted()
    assert stats["dropped"]["shutdown"] > 0, stats


class SpanInsideExport:
    """An exporter whose callback ends a span of its own (on the library's thread)."""

    export_inline = True

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.calls: list[float] = []
        self.full: list[bool] = []

    def export(self, spans: Sequence[SpanData]) -> ExportResult:
        self.gate.wait(30)
        pipeline = lifecycle.current_pipeline()
        self.full.append(len(pipeline._queue) >= pipeline._cap[0])
        began = time.monotonic()
        step(0)  # the queue is full: it must be refused at once, never waited for
        self.calls.append(time.monotonic() - began)
        return ExportResult.SUCCESS

    def shutdown(self) -> None:
        self.gate.set()


@pytest.mark.parametrize("inline", [True, False])
def test_a_span_ended_on_the_librarys_threads_never_waits(inline: bool) -> None:
    exporter = SpanInsideExport()
    if not inline:
        exporter.export_inline = False  # type: ignore[misc]
    _configure(exporter, "block", queue_block_timeout=0.5)
    for i in range(300):
        step(i)  # fills the queue while the exporter is held, until one wait times out
        if brokle_trace.stats()["dropped"]["queue_full"]:
            break
    exporter.gate.set()
    assert brokle_trace.flush(20)
    # The queue was full when the first callback ended its span: refused at once (a wait
    # would have taken the 0.5 s timeout), and counted.
    assert exporter.full[0], "the queue had room: the test checked nothing"
    assert exporter.calls and max(exporter.calls) < 0.2, exporter.calls
    assert assert_accounted()["dropped"]["queue_full"] >= 1


def test_a_forked_child_never_waits_on_its_parents_queue() -> None:
    slow = Slow()
    _configure(slow, "block", queue_block_timeout=30)
    slow.gate.clear()

    def produce() -> None:
        for i in range(300):
            step(i)

    producer = threading.Thread(target=produce, daemon=True)
    producer.start()
    time.sleep(0.3)  # the producer is blocked now
    pid = os.fork()
    if pid == 0:  # the child: its own pipeline, nothing held from the parent
        code = 1
        try:
            slow.gate.set()  # the child's copy of the exporter (its collector is fine)
            began = time.monotonic()
            for i in range(200):
                step(i)
            brokle_trace.shutdown(2.0)
            code = 0 if time.monotonic() - began < 10 else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    slow.gate.set()
    producer.join(30)
    assert os.waitstatus_to_exitcode(status) == 0
    assert brokle_trace.flush(20)
    assert assert_accounted()["dropped"]["queue_full"] == 0


def test_options_are_validated_and_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ConfigError, match="on_queue_full"):
        brokle_trace.configure(exporter="none", on_queue_full="wait")
    for bad in (0, -1, float("inf"), float("nan")):
        with pytest.raises(ConfigError, match="queue_block_timeout"):
            brokle_trace.configure(exporter="none", queue_block_timeout=bad)
    monkeypatch.setenv("BROKLE_ON_QUEUE_FULL", "block")
    monkeypatch.setenv("BROKLE_QUEUE_BLOCK_TIMEOUT", "2.5")
    brokle_trace.configure(exporter="none")
    assert lifecycle.current_pipeline().block_timeout == 2.5
