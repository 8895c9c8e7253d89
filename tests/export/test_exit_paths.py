"""Spans reach the backend however the process ends: subprocesses with zero configuration
(only BROKLE_* variables) and no flush() call."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from tests.export.receiver import Receiver, attrs, closed_port

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run(
    code: str, endpoint: str, env_extra: dict[str, str] | None = None, **kwargs: object
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "BROKLE_EXPORTER": "otlp",
        "BROKLE_OTLP_ENDPOINT": endpoint,
        "PYTHONPATH": ROOT,
        **(env_extra or {}),
    }
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        **kwargs,  # type: ignore[arg-type]
    )


def names(receiver: Receiver) -> list[str]:
    return sorted(s.name for s in receiver.spans())


def test_script_that_ends_without_flush(receiver: Receiver) -> None:
    proc = run(
        """
        from brokle_trace import observe
        @observe
        def step(i): return i
        for i in range(3): step(i)
        """,
        receiver.url,
    )
    assert proc.returncode == 0, proc.stderr
    assert names(receiver) == ["step"] * 3


def test_sys_exit_inside_a_span(receiver: Receiver) -> None:
    proc = run(
        """
        import sys
        from brokle_trace import observe
        @observe
        def main(): sys.exit(3)
        main()
        """,
        receiver.url,
    )
    assert proc.returncode == 3
    (span,) = receiver.spans()
    assert span.name == "main"


def test_unhandled_exception_at_top_level(receiver: Receiver) -> None:
    proc = run(
        """
        from brokle_trace import observe
        @observe
        def main(): raise RuntimeError("boom")
        main()
        """,
        receiver.url,
    )
    assert proc.returncode == 1 and "RuntimeError: boom" in proc.stderr
    (span,) = receiver.spans()
    assert span.status.code == span.status.STATUS_CODE_ERROR
    assert attrs(span.events[0].attributes)["exception.type"] == "RuntimeError"


def test_sigterm_with_a_handler(receiver: Receiver) -> None:
    code = textwrap.dedent(
        """
        import signal, sys, time
        from brokle_trace import observe
        signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
        @observe
        def done(): pass
        @observe
        def serve():
            done()
            print("ready", flush=True)
            time.sleep(30)
        serve()
        """
    )
    env = {
        **os.environ,
        "BROKLE_EXPORTER": "otlp",
        "BROKLE_OTLP_ENDPOINT": receiver.url,
        "PYTHONPATH": ROOT,
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=15) == 0
    assert names(receiver) == ["done", "serve"]


def test_dead_backend_never_hangs_the_exit() -> None:
    start = time.monotonic()
    proc = run(
        """
        from brokle_trace import observe, stats
        import atexit
        @observe
        def step(): pass
        step()
        """,
        f"http://127.0.0.1:{closed_port()}",
        env_extra={"OTEL_EXPORTER_OTLP_TIMEOUT": "2000"},
    )
    elapsed = time.monotonic() - start
    assert proc.returncode == 0
    # Bounded by the exit timeout (the OTLP timeout, 2 s here, capped at 10 s) plus
    # interpreter start-up.
    assert elapsed < 7.0
    # The exit log says what was lost and why: the real cause, not "shutdown".
    assert "1 lost" in proc.stderr and "connection refused" in proc.stderr, proc.stderr


def test_serverless_flush_on_root_end(receiver: Receiver) -> None:
    # os._exit skips atexit, like a frozen serverless container: only flush=True saves it.
    proc = run(
        """
        import os
        from brokle_trace import observe
        @observe
        def inner(): return 1
        @observe(flush=True)
        def handler(event): return inner()
        handler({})
        os._exit(0)
        """,
        receiver.url,
    )
    assert proc.returncode == 0, proc.stderr
    assert names(receiver) == ["handler", "inner"]


@pytest.mark.parametrize("flush", [False])
def test_without_flush_on_end_os_exit_loses_spans(receiver: Receiver, flush: bool) -> None:
    # The control for the test above: proves the flush is what delivered.
    proc = run(
        """
        import os
        from brokle_trace import observe
        @observe
        def handler(event): return 1
        handler({})
        os._exit(0)
        """,
        receiver.url,
    )
    assert proc.returncode == 0
    assert names(receiver) == []
