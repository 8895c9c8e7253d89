"""Head sampling: whole traces kept or dropped together, dropped spans cheap and counted."""

from __future__ import annotations

from typing import Any

import pytest

import brokle_trace
from brokle_trace import get_current_span, observe
from brokle_trace._trace import span as _span
from brokle_trace.propagation import extract, inject
from brokle_trace.testing import InMemoryExporter


@pytest.fixture
def mem() -> InMemoryExporter:
    return InMemoryExporter()


@pytest.fixture(autouse=True)
def _restore_rate() -> Any:
    yield
    _span.set_sample_rate(1.0)


@observe
def leaf(i: int) -> int:
    return i


@observe
def root(i: int) -> int:
    return leaf(i) + leaf(i)


def test_rate_zero_keeps_nothing_and_counts_everything(mem: InMemoryExporter) -> None:
    brokle_trace.configure(exporter="none", exporters=[mem], sample_rate=0.0)
    for i in range(10):
        root(i)
    assert brokle_trace.flush(2.0)
    assert mem.spans == []
    s = brokle_trace.stats()
    assert s["dropped"]["sampled_out"] == 30 and s["exported"] == 0


def test_whole_traces_are_kept_or_dropped_together(mem: InMemoryExporter) -> None:
    brokle_trace.configure(exporter="none", exporters=[mem], sample_rate=0.5)
    for i in range(400):
        root(i)
    assert brokle_trace.flush(5.0)
    by_trace: dict[str, int] = {}
    for s in mem.spans:
        by_trace[s.trace_id] = by_trace.get(s.trace_id, 0) + 1
    assert set(by_trace.values()) == {3}  # never a partial trace
    kept = len(by_trace)
    assert 140 <= kept <= 260
    assert brokle_trace.stats()["dropped"]["sampled_out"] == 3 * (400 - kept)


def test_sampled_out_spans_skip_output_capture_and_hooks(mem: InMemoryExporter) -> None:
    calls: list[str] = []

    def serializer(value: Any, context: Any) -> Any:
        calls.append("serialize")
        return NotImplemented

    class Thing:
        pass

    seen: list[Any] = []

    @observe(serializer=serializer, capture_inputs=False)
    def make() -> Thing:
        seen.append(get_current_span()._facts)
        return Thing()

    brokle_trace.configure(exporter="none", exporters=[mem], sample_rate=0.0)
    make()
    (facts,) = seen
    assert facts.sampled_out and not facts.capture_inputs and not facts.capture_outputs
    assert facts.result_hook is None and calls == []


def test_remote_parent_decides_on_the_trace_id(mem: InMemoryExporter) -> None:
    brokle_trace.configure(exporter="none", exporters=[mem], sample_rate=0.5)
    keep = "00-" + "f" * 16 + "0" * 16 + "-" + "1" * 16 + "-01"  # low 64 bits: 0
    drop = "00-" + "0" * 16 + "f" * 16 + "-" + "1" * 16 + "-01"  # low 64 bits: max
    with extract({"traceparent": keep}):
        root(1)
    with extract({"traceparent": drop}):
        root(2)
    assert brokle_trace.flush(2.0)
    assert {s.trace_id for s in mem.spans} == {"f" * 16 + "0" * 16}


def test_env_var_applies_to_the_default_configuration(
    mem: InMemoryExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BROKLE_SAMPLE_RATE", "0")
    brokle_trace.configure(exporter="none", exporters=[mem])
    root(1)
    assert brokle_trace.flush(2.0)
    assert mem.spans == [] and brokle_trace.stats()["dropped"]["sampled_out"] == 3


def test_inject_marks_a_sampled_out_trace_not_sampled(mem: InMemoryExporter) -> None:
    brokle_trace.configure(exporter="none", exporters=[mem], sample_rate=0.0)

    @observe
    def call() -> dict[str, str]:
        return dict(inject({}))

    assert int(call()["traceparent"][-2:], 16) & 0x01 == 0


def test_rate_one_installs_no_sampling_step(mem: InMemoryExporter) -> None:
    brokle_trace.configure(exporter="none", exporters=[mem], sample_rate=1.0)
    assert _span._sample_bound is None
    from brokle_trace._runtime import lifecycle as _lifecycle

    assert _lifecycle.current_pipeline().enqueue.__name__ == "enqueue"
