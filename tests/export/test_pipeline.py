"""The queue and the worker: bounds, counting, isolation of bad exporters, flush/shutdown."""

from __future__ import annotations

import collections
import os
import threading
import time
from collections.abc import Sequence

import pytest

import brokle_trace
from brokle_trace import SpanData, observe
from brokle_trace._export import pacing as _pacing
from brokle_trace._export.pacing import Pacing
from brokle_trace._export.sizing import Sizing
from brokle_trace._model import span_json
from brokle_trace.exporters import JsonlExporter
from brokle_trace.testing import FunctionExporter, InMemoryExporter
from brokle_trace.typing import ExportResult
from tests.export.receiver import Receiver, Reply


@observe
def work(x: object = None) -> object:
    return x


def _exporter_bug(spans: Sequence[SpanData]) -> None:
    raise RuntimeError("exporter bug")


def Raising() -> FunctionExporter:
    return FunctionExporter(_exporter_bug)


class Hung:
    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls = 0
        self.shutdowns = 0

    def export(self, spans: Sequence[SpanData]) -> ExportResult:
        self.calls += 1
        self.release.wait(10)
        return ExportResult.SUCCESS

    def shutdown(self) -> None:
        self.shutdowns += 1
        self.release.set()


def stats() -> dict:
    return brokle_trace.stats()


def test_stats_report_every_counter(memory: InMemoryExporter) -> None:
    work()
    assert brokle_trace.flush(2.0)
    s = stats()
    assert s["exported"] == 1 and s["started"] >= 1
    assert set(s["dropped"]) == {
        "queue_full",
        "too_large",
        "export_failed",
        "shutdown",
        "serialize_error",
        "sampled_out",
        "exporter_unavailable",
    }
    for key in ("queued", "queue_depth", "export_failures", "in_flight", "exporters"):
        assert key in s


@pytest.mark.usefixtures("lenient")
def test_raising_exporter_is_isolated_and_counted() -> None:
    memory = InMemoryExporter()
    brokle_trace.configure(exporter="none", exporters=[Raising(), memory])
    for _ in range(3):
        work()
        assert brokle_trace.flush(2.0)
    assert len(memory.spans) == 3  # the healthy exporter still gets everything
    s = stats()
    assert s["export_failures"] == 3
    assert s["dropped"]["export_failed"] == 3  # not delivered to *every* exporter: counted
    assert s["internal_errors"].get("exporter FunctionExporter") == 3


def test_raising_exporter_surfaces_in_strict_mode() -> None:
    from brokle_trace._runtime import errors as _errors

    brokle_trace.configure(exporter="none", exporters=[Raising()], strict=True)
    _errors.strict = True  # set directly too: the option's routing is another module's business
    work()
    with pytest.raises(RuntimeError, match="exporter bug"):
        brokle_trace.flush(2.0)


def test_hung_exporter_times_out_and_others_keep_flowing() -> None:
    hung, memory = Hung(), InMemoryExporter()
    brokle_trace.configure(exporter="none", exporters=[hung, memory], exporter_timeout=0.2)
    work()
    start = time.monotonic()
    assert brokle_trace.flush(3.0)
    assert 0.15 <= time.monotonic() - start < 1.0
    work()  # the hung call is still running: this batch fails fast ("busy")
    start = time.monotonic()
    assert brokle_trace.flush(3.0)
    assert time.monotonic() - start < 0.15
    assert hung.calls == 1 and len(memory.spans) == 2
    hung.release.set()
    time.sleep(0.05)
    work()
    assert brokle_trace.flush(3.0)
    assert hung.calls == 2 and len(memory.spans) == 3
    s = stats()
    assert s["dropped"]["export_failed"] == 2 and s["exported"] == 1
    (hung_stats,) = [v for k, v in s["exporters"].items() if k.startswith("Hung")]
    assert hung_stats["timeouts"] == 1 and hung_stats["busy"] == 1


def test_slow_exporter_within_timeout_delivers() -> None:
    class Slow(InMemoryExporter):
        def export(self, spans: Sequence[SpanData]) -> ExportResult:
            time.sleep(0.1)
            return super().export(spans)

    slow = Slow()
    brokle_trace.configure(exporter="none", exporters=[slow], exporter_timeout=1.0)
    work()
    assert brokle_trace.flush(3.0)
    assert len(slow.spans) == 1 and stats()["dropped"]["export_failed"] == 0


def test_flush_against_a_hung_backend_returns_false_in_time(receiver: Receiver) -> None:
    receiver.replies = [Reply(action="hang")]
    brokle_trace.configure(exporter="otlp", otlp_endpoint=receiver.url, otlp_timeout=5)
    work()
    start = time.monotonic()
    assert brokle_trace.flush(timeout=0.2) is False
    elapsed = time.monotonic() - start
    assert 0.19 <= elapsed < 0.3
    start = time.monotonic()
    brokle_trace.shutdown(0.3)
    assert time.monotonic() - start < 0.6


def test_full_queue_drops_and_counts(caplog: pytest.LogCaptureFixture) -> None:
    hung = Hung()
    brokle_trace.configure(
        exporter="none",
        exporters=[hung],
        max_queue_size=10,
        max_export_batch_size=5,
        exporter_timeout=5,
    )
    for _ in range(100):
        work()
    s = stats()
    assert s["dropped"]["queue_full"] >= 80
    assert "queue_full" in caplog.text
    hung.release.set()
    assert brokle_trace.flush(3.0)
    s = stats()
    assert s["exported"] + s["dropped"]["queue_full"] == 100


def test_byte_bound_lowers_the_count_limit_for_big_spans(memory: InMemoryExporter) -> None:
    brokle_trace.configure(
        exporter="none", exporters=[memory], max_queue_bytes=1_000_000, max_queue_size=100_000
    )
    for _ in range(64):
        work("x" * 3900)
    assert brokle_trace.flush(2.0)
    size = len(span_json(memory.spans[0]))
    assert size > 3900
    limit = stats()["queue_limit"]
    # The limit follows the measured size: ~1 MB / (size + overhead), not 100 000.
    assert 1_000_000 // (size + 2048) <= limit <= 1_000_000 // size


def test_shutdown_is_idempotent_and_thread_safe() -> None:
    class Counting(InMemoryExporter):
        shutdowns = 0

        def shutdown(self) -> None:
            type(self).shutdowns += 1

    exporter = Counting()
    brokle_trace.configure(exporter="none", exporters=[exporter])
    work()
    results: list[bool] = []
    threads = [
        threading.Thread(target=lambda: results.append(brokle_trace.shutdown(2.0)))
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [True] * 4
    assert Counting.shutdowns == 1 and len(exporter.spans) == 1
    work()  # ended after shutdown: counted, not silently lost
    assert stats()["dropped"]["shutdown"] == 1
    assert brokle_trace.shutdown(1.0) is True


def test_shutdown_with_a_hung_exporter_is_bounded_and_counts_the_rest() -> None:
    hung = Hung()
    brokle_trace.configure(exporter="none", exporters=[hung], max_export_batch_size=2)
    for _ in range(5):
        work()
    brokle_trace.flush(0.05)
    start = time.monotonic()
    assert brokle_trace.shutdown(0.3) is False
    assert time.monotonic() - start < 0.6
    s = stats()
    assert s["dropped"]["shutdown"] + s["exported"] + s["dropped"]["export_failed"] == 5
    assert s["dropped"]["shutdown"] >= 3


def test_burst_of_20000_spans_is_exported_in_full(receiver: Receiver) -> None:
    # Default queue and batch settings; only the destination is given.
    brokle_trace.configure(exporter="otlp", otlp_endpoint=receiver.url)

    @observe
    def tight(i: int) -> int:
        return i

    for i in range(20_000):
        tight(i)
    assert brokle_trace.flush(60.0)
    s = stats()
    assert s["exported"] == 20_000, s
    assert sum(s["dropped"].values()) == 0
    assert len(receiver.spans()) == 20_000


def test_file_and_otlp_at_once(receiver: Receiver, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "t.jsonl"
    brokle_trace.configure(
        exporter=["jsonl", "otlp"], traces_file=path, otlp_endpoint=receiver.url, strict=True
    )
    work()
    work()
    assert brokle_trace.flush(3.0)
    assert len(path.read_text().splitlines()) == 2 and len(receiver.spans()) == 2


def test_exporter_calls_are_not_traced_by_otel_instrumentations() -> None:
    from opentelemetry import context

    seen: list[object] = []

    def probe(spans: Sequence[SpanData]) -> None:
        seen.append(context.get_value(context._SUPPRESS_INSTRUMENTATION_KEY))
        seen.append(context.get_value("suppress_http_instrumentation"))

    brokle_trace.configure(exporter="none", exporters=[FunctionExporter(probe)])
    work()
    assert brokle_trace.flush(2.0)
    assert seen == [True, True]


class Recording:
    """Records each batch's size and the thread that exported it."""

    def __init__(self, inline: bool) -> None:
        self.export_inline = inline
        self.batches: list[int] = []
        self.times: list[float] = []
        self.threads: set[str] = set()

    def export(self, spans: Sequence[SpanData]) -> ExportResult:
        self.batches.append(len(spans))
        self.times.append(time.monotonic())
        self.threads.add(threading.current_thread().name)
        return ExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


@pytest.fixture
def gil_releasing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every wake-up counts as prompt: the worker treats each burst as one from a thread
    that releases the GIL often (whether one does also depends on the OS scheduler)."""
    monkeypatch.setattr(_pacing, "_GIL_HELD_S", 1e9)


@pytest.fixture
def gil_holding(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every wake-up counts as late: the worker exports as spans come, as it did always."""
    monkeypatch.setattr(_pacing, "_GIL_HELD_S", 0.0)


@pytest.mark.usefixtures("gil_holding")
def test_under_load_only_whole_batches_are_exported_until_a_flush() -> None:
    rec = Recording(inline=True)
    brokle_trace.configure(
        exporter="none", exporters=[rec], max_export_batch_size=10, schedule_delay=30.0, strict=True
    )
    for _ in range(35):
        work()
    _wait_for(rec, 30)
    time.sleep(0.05)  # a worker that drained partial batches would have sent the rest now
    assert rec.batches == [10, 10, 10]
    assert brokle_trace.flush(2.0)
    assert rec.batches == [10, 10, 10, 5]


def test_the_schedule_delay_exports_a_partial_batch_without_a_flush() -> None:
    rec = Recording(inline=True)
    brokle_trace.configure(
        exporter="none", exporters=[rec], max_export_batch_size=10, schedule_delay=0.05, strict=True
    )
    for _ in range(3):
        work()
    _wait_for(rec, 3)
    assert rec.batches == [3]


def _burst(seconds: float, pause: float = 0.001) -> tuple[int, float]:
    """10 spans, then a GIL release (``pause``) like an event loop's select(), for ``seconds``:
    ~10 batches of 10 per 20 ms tick, and a queue far below half of its limit. Returns the
    spans made and when the burst started."""
    n = 0
    start = time.monotonic()
    end = start + seconds
    while time.monotonic() < end:
        for _ in range(10):
            work()
        n += 10
        if pause:
            time.sleep(pause)
    return n, start


def _wait_for(rec: Recording, n: int) -> None:
    deadline = time.monotonic() + 5
    while sum(rec.batches) < n and time.monotonic() < deadline:
        time.sleep(0.01)


@pytest.mark.usefixtures("gil_releasing")
def test_a_burst_is_exported_when_it_ends() -> None:
    rec = Recording(inline=True)
    brokle_trace.configure(
        exporter="none", exporters=[rec], max_export_batch_size=10, schedule_delay=0.02, strict=True
    )
    pipeline = brokle_trace._runtime.lifecycle.current_pipeline()
    drains: list[float] = []
    drain = pipeline._drain

    def counted(full_only: bool = False) -> None:
        drains.append(time.monotonic())
        drain(full_only)

    pipeline._drain = counted  # type: ignore[method-assign]
    made, start = _burst(0.4)  # ~20 ticks, each seeing far more than a batch arrive; under 1 s
    end = time.monotonic()
    _wait_for(rec, made)
    assert sum(rec.batches) == made  # all of it, without a flush
    # No export while it ran, unless the machine stalled the burst for a whole tick (a
    # tick that sees less than a batch arrive takes it for a trickle): then once.
    assert len([t for t in drains if start <= t < end]) <= 1
    assert drains  # and the export came after it


def test_a_burst_that_holds_the_gil_is_exported_as_it_runs() -> None:
    # Not patched: plain CPU-bound code really makes the worker wait the switch interval.
    rec = Recording(inline=True)
    brokle_trace.configure(
        exporter="none", exporters=[rec], max_export_batch_size=10, schedule_delay=0.02, strict=True
    )
    made, _ = _burst(0.3, pause=0)
    assert len(rec.batches) >= 10  # whole batches while it ran, memory recycled
    _wait_for(rec, made)
    assert sum(rec.batches) == made


@pytest.mark.usefixtures("gil_releasing")
def test_a_half_full_queue_is_exported_even_during_a_burst() -> None:
    rec = Recording(inline=True)
    brokle_trace.configure(
        exporter="none",
        exporters=[rec],
        max_export_batch_size=10,
        max_queue_size=400,  # half full at 200 queued spans
        schedule_delay=30.0,  # no tick: only the hot path's wake-up can start the export
        strict=True,
    )
    for _ in range(30):  # 300 spans with GIL releases: a burst the worker waits out...
        for _ in range(10):
            work()
        time.sleep(0.001)
    _wait_for(rec, 200)
    assert sum(rec.batches) >= 200  # ...until the high-water mark
    assert brokle_trace.flush(2.0)
    assert stats()["exported"] == 300


@pytest.mark.usefixtures("gil_releasing")
def test_a_long_burst_is_still_exported_after_a_second() -> None:
    rec = Recording(inline=True)
    brokle_trace.configure(
        exporter="none", exporters=[rec], max_export_batch_size=10, schedule_delay=0.02, strict=True
    )
    _, start = _burst(1.6)
    assert rec.times  # the deferral is bounded even while spans keep coming...
    assert rec.times[0] - start >= 0.9  # ...by max(schedule_delay, 1 s)
    assert brokle_trace.flush(5.0)


def test_due_weighs_rate_lateness_fill_and_age() -> None:
    sizing = Sizing(max_queue=400, max_queue_bytes=1 << 20, batch=10, max_batch_bytes=1 << 20)
    queue: collections.deque[int] = collections.deque()
    pacing = Pacing(sizing, queue, threading.Event(), batch=10, delay=0.02)
    assert not pacing.due(n=100, late=0.0)  # 100 new spans, the GIL handed over: wait
    assert pacing.due(n=5, late=0.0)  # a trickle: export
    assert pacing.due(n=100, late=0.005)  # the GIL held for the switch interval: export
    assert pacing.due(n=200, late=0.0)  # half full: export
    pacing.waited(100)
    assert pacing.next_wake == [200]  # the hot path now wakes the worker at half full
    assert pacing.due(n=105, late=0.0)  # 5 more since the last look: the burst is over
    pacing._exported -= 1.1
    assert pacing.due(n=150, late=0.0)  # a second without export: export anyway
    queue.extend(range(12))
    pacing.exported()
    assert pacing.next_wake == [10]
    assert pacing._wake.is_set()  # 12 queued, past the new mark: no wake-up is missed


@pytest.mark.parametrize("inline", [True, False])
def test_exporters_that_never_block_run_on_the_export_worker(inline: bool) -> None:
    rec = Recording(inline=inline)
    brokle_trace.configure(exporter="none", exporters=[rec], strict=True)
    work()
    assert brokle_trace.flush(2.0)
    (thread,) = rec.threads
    assert (thread == "brokle-trace-export") is inline


def test_jsonl_to_a_fifo_keeps_a_thread_of_its_own(tmp_path) -> None:  # type: ignore[no-untyped-def]
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert JsonlExporter(tmp_path / "new.jsonl").export_inline
    assert not JsonlExporter(fifo).export_inline


def test_a_flush_in_the_middle_of_queued_spans_exports_them_in_order_once() -> None:
    # The worker is held in an inline export while spans, a flush and more spans queue up
    # behind it: the batch it then takes holds the flush's marker in the middle. The flush
    # must return once what came before it is out, and nothing after it may be lost,
    # duplicated or reordered.
    gate = threading.Event()
    entered = threading.Event()
    seen: list[int] = []

    def held(spans: Sequence[SpanData]) -> None:
        entered.set()
        gate.wait(10)
        seen.extend(s.output for s in spans)

    brokle_trace.configure(exporter="none", exporters=[FunctionExporter(held, export_inline=True)])
    work(0)
    threading.Thread(target=brokle_trace.flush, args=(10.0,), daemon=True).start()
    assert entered.wait(10)  # the worker holds span 0 in the export
    for i in range(1, 6):
        work(i)
    flushed: list[bool] = []
    flusher = threading.Thread(target=lambda: flushed.append(brokle_trace.flush(10.0)))
    flusher.start()
    time.sleep(0.2)  # the flush's marker is queued behind spans 1-5
    for i in range(6, 11):
        work(i)
    gate.set()
    flusher.join(15)
    assert flushed == [True]
    assert brokle_trace.flush(10.0)
    assert seen == list(range(11))
    assert stats()["exported"] == 11


def test_a_flush_that_races_shutdown_returns_when_shutdown_is_done() -> None:
    # flush() on one thread while shutdown() runs on another: its marker is queued after
    # the worker's last look at the queue, so nothing will ever pass it. It waited out its
    # whole timeout (forever, with timeout=inf), then said False.
    from brokle_trace._export.lanes import Marker
    from brokle_trace._runtime.lifecycle import current_pipeline

    brokle_trace.configure(exporter="none", exporters=[InMemoryExporter()])
    work(1)
    assert brokle_trace.flush(5.0)
    pipeline = current_pipeline()
    real_stop = pipeline._stop
    results: list[tuple[bool, float]] = []

    def flush_late() -> None:
        started = time.monotonic()
        results.append((pipeline.flush(5.0), time.monotonic() - started))

    def stop(worker: threading.Thread | None, deadline: float) -> bool:
        if worker is not None:
            worker.join(5)  # the worker's final drain is over
        late = threading.Thread(target=flush_late)
        late.start()
        for _ in range(500):
            if any(type(item) is Marker for item in list(pipeline._queue)):
                break
            time.sleep(0.01)
        ok = real_stop(worker, deadline)
        late_threads.append(late)
        return ok

    late_threads: list[threading.Thread] = []
    pipeline._stop = stop  # type: ignore[method-assign]
    assert pipeline.shutdown(5.0)
    late_threads[0].join(10)
    ((flushed, took),) = results
    assert took < 2.0, took  # not the 5 s timeout
    assert flushed  # nothing was lost: the shutdown exported everything
