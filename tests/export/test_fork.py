"""Real fork() (multiprocessing, gunicorn --preload style): the child starts clean."""

from __future__ import annotations

import multiprocessing
import os
from typing import Any

import pytest

import brokle_trace
from brokle_trace import observe
from brokle_trace._runtime import lifecycle as _lifecycle
from tests.export.receiver import Receiver

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")


@observe
def parent_queued() -> None:
    pass


@observe
def warmup() -> None:
    pass


@observe
def child_work(i: int) -> int:
    return i


def _child(results: Any) -> None:
    pipeline = _lifecycle.current_pipeline()
    child_work(1)
    child_work(2)
    ok = brokle_trace.flush(5.0)
    s = brokle_trace.stats()
    results.put(
        {
            "ok": ok,
            "exported": s["exported"],
            "dropped": sum(s["dropped"].values()),
            "fresh": pipeline is not PARENT_PIPELINE[0],
        }
    )
    brokle_trace.shutdown(2.0)


PARENT_PIPELINE: list[Any] = [None]


def test_child_starts_clean_and_never_reexports_the_parents_queue(receiver: Receiver) -> None:
    # The worker must not drain during the test: a long timer and a batch size never reached.
    brokle_trace.configure(
        exporter="otlp",
        otlp_endpoint=receiver.url,
        schedule_delay=30,
        max_export_batch_size=100_000,
    )
    warmup()
    assert brokle_trace.flush(5.0)  # the worker thread and the connection now exist
    for _ in range(5):
        parent_queued()
    PARENT_PIPELINE[0] = _lifecycle.current_pipeline()
    assert PARENT_PIPELINE[0].queue_depth == 5

    ctx = multiprocessing.get_context("fork")
    results = ctx.Queue()
    proc = ctx.Process(target=_child, args=(results,))
    proc.start()
    child = results.get(timeout=20)
    proc.join(20)
    assert proc.exitcode == 0
    assert child == {"ok": True, "exported": 2, "dropped": 0, "fresh": True}

    names = [s.name for s in receiver.spans()]
    assert sorted(names) == ["child_work", "child_work", "warmup"]  # no parent span re-sent

    assert brokle_trace.flush(5.0)  # the parent's queue is still the parent's to send
    names = [s.name for s in receiver.spans()]
    assert names.count("parent_queued") == 5 and names.count("child_work") == 2


def _child_jsonl(path: str, results: Any) -> None:
    for i in range(50):
        child_work(i)
    results.put(brokle_trace.flush(5.0))
    brokle_trace.shutdown(2.0)


def test_forked_children_append_whole_lines_to_one_file(tmp_path: Any) -> None:
    path = tmp_path / "t.jsonl"
    brokle_trace.configure(exporter="jsonl", traces_file=path, max_export_batch_size=7)
    warmup()
    assert brokle_trace.flush(2.0)
    ctx = multiprocessing.get_context("fork")
    results = ctx.Queue()
    procs = [ctx.Process(target=_child_jsonl, args=(str(path), results)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(20)
        assert p.exitcode == 0
    assert [results.get(timeout=5) for _ in procs] == [True] * 4
    lines = path.read_bytes().splitlines()
    assert len(lines) == 1 + 4 * 50
    spans = [brokle_trace.SpanData.model_validate_json(line) for line in lines]
    assert len({s.span_id for s in spans}) == len(spans)  # no repeated ids across processes


def _in_child_within(seconds: float, work: Any) -> int:
    """Run ``work`` on a thread of the forked child: 0 if it finished within ``seconds``."""
    import threading

    done = threading.Event()

    def run() -> None:
        work()
        done.set()

    threading.Thread(target=run, daemon=True).start()
    return 0 if done.wait(seconds) else 1


def test_a_fork_while_the_worker_counts_a_redaction_leaves_the_child_able_to_count() -> None:
    from brokle_trace import capture
    from brokle_trace.capture import _counters

    def work() -> None:
        capture.counters()
        _counters.report("capture_errors", None, "in the child")

    # The worker holds these for every redaction it counts and every error it reports.
    with _counters._lock, _counters._reports._lock:
        pid = os.fork()
        if pid == 0:  # the child: its worker must be able to count (and report) again
            code = 1
            try:
                code = _in_child_within(2.0, work)
            finally:
                os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0


def test_a_fork_while_llm_usage_is_counted_leaves_the_child_able_to_count() -> None:
    from brokle_trace import observe_llm
    from brokle_trace.llm import _cost, _record

    @observe
    def agent() -> Any:
        return answer()

    @observe_llm(model="no-such-model-anywhere")
    def answer() -> Any:
        return {"text": "hi", "usage": {"prompt_tokens": 3, "completion_tokens": 2}}

    def work() -> None:
        agent()  # rolls usage up to agent (_record._lock)
        brokle_trace.stats()  # reads the unpriced counts (_cost._lock)

    # Another thread is rolling usage up, the worker is counting an unpriced model.
    with _cost._lock, _record._lock:
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = _in_child_within(2.0, work)
            finally:
                os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
