"""``view --follow`` (a real process tailing a growing, rotating file, bounded in time) and
``view --errors`` (only the paths to the failures)."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from brokle_trace.cli import main
from tests.cli.conftest import span, tid, write_jsonl
from tests.cli.test_serve import append, trace
from tests.helpers import sigint_default


class Lines:
    """stdout of a process, line by line, each read bounded by a deadline."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        self.proc, self.buf = proc, b""
        self.sel = selectors.DefaultSelector()
        self.sel.register(proc.stdout, selectors.EVENT_READ)
        os.set_blocking(proc.stdout.fileno(), False)

    def until(self, text: str, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while text.encode() not in self.buf:
            left = deadline - time.monotonic()
            assert left > 0, f"no {text!r} in time; got:\n{self.buf.decode()}"
            if self.sel.select(timeout=left):
                assert self.proc.stdout is not None
                self.buf += self.proc.stdout.read() or b""
        return self.buf.decode()


def test_follow_prints_new_traces_as_they_arrive(tmp_path: Path) -> None:
    f = write_jsonl(tmp_path / "app.jsonl", trace(1))
    proc = subprocess.Popen(
        [sys.executable, "-m", "brokle_trace", "view", "--follow", str(f), "--no-preview"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=sigint_default,  # noqa: PLW1509 - one signal reset, before exec
    )
    try:
        out = Lines(proc)
        out.until("request-1")  # what was there already
        started = time.monotonic()
        append(f, trace(2, error=True))
        text = out.until("request-2")
        latency = time.monotonic() - started
        assert latency < 3, latency  # root arrived: shown after a short grace period
        block = text.split(f"trace {tid(2)}")[1]
        assert "1 LLM call" in block and "1 error" in block and "ERROR TimeoutError" in block
        # A span without its root (a remote parent) shows once its trace went quiet; a late
        # span of a trace already shown comes under "(continued)".
        append(f, [span(7, 71, 99, "remote-child", 7000, 7001)])
        out.until("remote-child")
        append(f, [span(2, 29, 21, "late", 2009, 2010)])
        out.until(f"trace {tid(2)} (continued)")
        # Rotation: the old file's last lines, then the new file from its start.
        append(f, trace(3)[:1])
        os.replace(f, f.with_name(f.name + ".1"))
        append(f, trace(3)[1:])
        text = out.until("request-3")
        assert text.count("request-3") == 1
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert b"Traceback" not in err and b"following" in err


def test_follow_waits_for_a_file_not_there_yet(tmp_path: Path) -> None:
    f = tmp_path / "later.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "brokle_trace", "view", "-f", str(f), "--errors"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=sigint_default,  # noqa: PLW1509 - one signal reset, before exec
    )
    try:
        out = Lines(proc)
        time.sleep(0.5)
        append(f, trace(1))  # no error: not shown with --errors
        append(f, trace(2, error=True))
        text = out.until("request-2")
        assert "request-1" not in text
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err


def test_errors_expands_only_the_paths_to_failures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    failed = {"status": "error", "error": {"type": "RateLimitError", "message": "429"}}
    spans = [span(1, 1, None, "batch", 0, 100)]
    for c in range(3):  # three chunks of 10 steps; chunk 1 has two failed steps
        chunk = 10 + c
        spans.append(span(1, chunk, 1, f"chunk-{c}", c * 30, c * 30 + 29))
        spans += [
            span(
                1,
                100 * chunk + k,
                chunk,
                f"step-{c}-{k}",
                c * 30 + k,
                c * 30 + k + 1,
                **(failed if c == 1 and k in (3, 7) else {}),
            )
            for k in range(10)
        ]
    spans.append(span(2, 2, None, "fine", 200, 201))
    f = write_jsonl(tmp_path / "e.jsonl", spans)
    assert main(["view", str(f), "--errors", "--no-preview"]) == 0
    out = capsys.readouterr().out
    lines = out.strip().splitlines()
    assert lines[0].startswith(f"trace {tid(1)}") and "2 errors" in lines[0]
    assert [line.strip(" │├└─") for line in lines[1:]] == [
        "batch  100.0 ms",
        "… 11 spans without errors",
        "chunk-1  29.0 ms",
        "… 3 spans without errors",
        "step-1-3  1.0 ms  ERROR RateLimitError: 429",
        "… 3 spans without errors",
        "step-1-7  1.0 ms  ERROR RateLimitError: 429",
        "… 2 spans without errors",
        "… 11 spans without errors",
    ]
    assert tid(2) not in out  # a trace without errors is not shown at all
    pytest.importorskip("rich")
    assert main(["view", str(f), "--errors", "--no-preview", "--color", "always"]) == 0
    rich_out = capsys.readouterr().out
    assert "3 spans without errors" in rich_out and "step-1-7" in rich_out
    assert "step-1-1" not in rich_out
