"""fork(): the child's provider works and exports only the child's spans."""

from __future__ import annotations

import multiprocessing
import os
from typing import Any

import pytest

import brokle_trace
from brokle_trace import observe
from brokle_trace._trace import provider as provider_module
from tests.export.receiver import Receiver

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")


@observe
def child_root() -> None:
    tracer = brokle_trace.tracer_provider().get_tracer("child.lib")
    with tracer.start_as_current_span("child-foreign"):
        pass


def _child(results: Any, parent_provider_id: int) -> None:
    processor = brokle_trace.span_processor()
    live_after_fork = len(processor._live)
    child_root()
    ok = brokle_trace.flush(5.0)
    s = brokle_trace.stats()
    results.put(
        {
            "ok": ok,
            "exported": s["exported"],
            "same_provider": id(brokle_trace.tracer_provider()) == parent_provider_id,
            "live_after_fork": live_after_fork,
        }
    )
    brokle_trace.shutdown(2.0)


def test_child_provider_exports_only_child_spans() -> None:
    receiver = Receiver()
    try:
        brokle_trace.configure(
            exporter="otlp",
            otlp_endpoint=receiver.url,
            schedule_delay=30,
            max_export_batch_size=100_000,
            strict=True,
        )
        tracer = brokle_trace.tracer_provider().get_tracer("parent.lib")
        with tracer.start_as_current_span("parent-queued"):
            pass
        open_span = tracer.start_span("parent-open-at-fork")  # running when the fork happens
        assert len(brokle_trace.span_processor()._live) == 1
        ctx = multiprocessing.get_context("fork")
        results = ctx.Queue()
        proc = ctx.Process(target=_child, args=(results, id(provider_module.tracer_provider())))
        proc.start()
        child = results.get(timeout=20)
        proc.join(20)
        assert proc.exitcode == 0
        assert child == {"ok": True, "exported": 2, "same_provider": True, "live_after_fork": 0}
        assert sorted(s.name for s in receiver.spans()) == ["child-foreign", "child_root"]
        spans = {s.name: s for s in receiver.spans()}
        assert spans["child-foreign"].parent_span_id == spans["child_root"].span_id
        open_span.end()
        assert brokle_trace.flush(5.0)  # the parent's spans are still the parent's to send
        names = sorted(s.name for s in receiver.spans())
        assert names == ["child-foreign", "child_root", "parent-open-at-fork", "parent-queued"]
    finally:
        brokle_trace.configure(exporter="none", strict=True)
        receiver.close()
