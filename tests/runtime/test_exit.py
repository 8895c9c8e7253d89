"""The end of a process: spans still open are ended and exported once; OTLP gets a fair
chance at exit, and the exit log says what was lost and why."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest

import brokle_trace
from brokle_trace import observe
from brokle_trace._runtime import exit as _exit
from brokle_trace.exporters import OTLPExporter
from tests.export.faults import figure
from tests.export.receiver import Receiver, Reply, attrs

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run(code: str, endpoint: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env={
            **os.environ,
            "BROKLE_EXPORTER": "otlp",
            "BROKLE_OTLP_ENDPOINT": endpoint,
            "PYTHONPATH": ROOT,
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


# -- 13. spans open at exit -----------------------------------------------------------------


def test_spans_still_open_at_exit_are_ended_and_exported(receiver: Receiver) -> None:
    proc = run(
        """
        import threading, time
        from brokle_trace import observe, stats

        @observe
        def background():  # a daemon thread inside a traced call when the script ends
            started.set()
            time.sleep(60)

        @observe
        def stream():  # a generator nobody finished
            yield 1
            yield 2

        started = threading.Event()
        threading.Thread(target=background, daemon=True).start()
        started.wait()
        g = stream()
        next(g)

        @observe
        def main():
            return 1
        main()
        """,
        receiver.url,
    )
    assert proc.returncode == 0, proc.stderr
    spans = {s.name: s for s in receiver.spans()}
    assert sorted(spans) == ["background", "main", "stream"], proc.stderr
    for name in ("background", "stream"):
        # (Over OTLP a status message goes with an error status only: the attribute says it.)
        assert attrs(spans[name].attributes)["brokle.unfinished"] is True
    assert "brokle.unfinished" not in attrs(spans["main"].attributes)
    assert "lost" not in proc.stderr, proc.stderr  # none counted as "shutdown"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_fork_inside_an_open_span_exports_it_once(receiver: Receiver) -> None:
    brokle_trace.configure(exporter="otlp", otlp_endpoint=receiver.url)

    @observe
    def child_work() -> int:
        return 2

    @observe
    def handler() -> int:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child returns through this span too
            child_work()
            return 0
        os.waitpid(pid, 0)
        return pid

    if handler() == 0:  # pragma: no cover - the child, once out of the span
        brokle_trace.flush(5.0)
        os._exit(0)
    assert brokle_trace.flush(5.0)
    spans = receiver.spans()
    ids = [s.span_id for s in spans]
    assert sorted(s.name for s in spans) == ["child_work", "handler"]
    assert len(set(ids)) == 2  # the parent's span, once; the child's nested under it
    by_name = {s.name: s for s in spans}
    assert by_name["child_work"].parent_span_id == by_name["handler"].span_id


def test_an_open_span_ended_at_exit_is_not_ended_again_by_its_thread() -> None:
    from brokle_trace._trace import span as _span

    queued: list[object] = []
    claims = _exit.Claims(queued.append)
    facts = brokle_trace._trace.facts.SpanFacts("job")
    live = _span.begin(facts)
    assert claims.end_open(iter([live])) == 1
    _span.end(live)  # what its own thread does a moment later
    claims.enqueue(live)
    assert queued == [live]  # once
    assert live._status_message == _exit.UNFINISHED


# -- 14. a fair chance for OTLP at exit -----------------------------------------------------


def test_the_exit_flush_honours_the_otlp_retry_schedule() -> None:
    # Two 503s asking for a second each: the OTLP SDK would deliver; a 2 s exit did not.
    collector = Receiver(
        [Reply(503, {"Retry-After": "1"}), Reply(503, {"Retry-After": "1"}), Reply(200)]
    )
    try:
        start = time.monotonic()
        proc = run(
            """
            from brokle_trace import observe
            @observe
            def job(): return 1
            for _ in range(5): job()
            """,
            collector.url,
        )
        elapsed = time.monotonic() - start
    finally:
        collector.close()
    assert proc.returncode == 0, proc.stderr
    assert len(collector.spans()) == 5, proc.stderr
    figure("item 14: exit with two 503s (Retry-After: 1)", delivered=5, exit_s=elapsed)
    assert elapsed < 8.0


def test_the_exit_timeout_fits_the_exporters() -> None:
    otlp = OTLPExporter("http://localhost:4318", timeout=30.0, environ={})
    quick = OTLPExporter("http://localhost:4318", timeout=3.0, environ={})
    assert _exit.exit_timeout(None, []) == 2.0  # local exporters only
    assert _exit.exit_timeout(None, [otlp]) == 10.0  # capped: container stop grace periods
    assert _exit.exit_timeout(None, [quick]) == 3.0  # the OTLP timeout, if smaller
    assert _exit.exit_timeout(0.5, [otlp]) == 0.5  # shutdown_timeout, when set, decides


def test_the_exit_log_counts_delivered_and_lost_with_the_cause(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.export.receiver import closed_port

    brokle_trace.configure(
        exporter=["otlp"], otlp_endpoint=f"http://127.0.0.1:{closed_port()}", otlp_timeout=0.3
    )

    @observe
    def job() -> None:
        pass

    for _ in range(3):
        job()
    brokle_trace.shutdown(1.0)
    (line,) = [r.getMessage() for r in caplog.records if "lost" in r.getMessage()]
    assert "0 span(s) delivered, 3 lost (export_failed: 3)" in line
    assert "OTLPExporter: 3 lost (export_failed: 3), last error: connection refused" in line
