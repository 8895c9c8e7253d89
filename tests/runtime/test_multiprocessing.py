"""multiprocessing children deliver their spans: fork and forkserver children leave through
os._exit (no atexit), Pool workers are terminated; both now flush, within the exit timeout."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.export.faults import figure
from tests.export.receiver import Receiver, Reply

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

#: A user's script: Process targets, a Pool left by ``with`` (terminate()), a Pool closed
#: and joined. 300 spans each; the script itself never calls flush().
SCRIPT = textwrap.dedent(
    """
    import multiprocessing as mp, sys
    from brokle_trace import observe

    @observe
    def target_work(i):
        return i

    def target(first):
        for i in range(first, first + 100):
            target_work(i)

    @observe
    def pool_with(i):
        return i

    @observe
    def pool_closed(i):
        return i

    if __name__ == "__main__":
        ctx = mp.get_context(sys.argv[1])
        procs = [ctx.Process(target=target, args=(k * 100,)) for k in range(3)]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
        print("exit codes", [p.exitcode for p in procs], flush=True)
        if sys.argv[2] == "pools":
            with ctx.Pool(2) as pool:  # leaving the block calls pool.terminate()
                assert sum(pool.map(pool_with, range(300), chunksize=10)) == sum(range(300))
            pool = ctx.Pool(2)
            pool.map(pool_closed, range(300), chunksize=10)
            pool.close()
            pool.join()
    """
)


def run(path: Path, method: str, what: str, url: str, **env: str) -> tuple[float, str]:
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, str(path), method, what],
        env={
            **os.environ,
            "BROKLE_EXPORTER": "otlp",
            "BROKLE_OTLP_ENDPOINT": url,
            "PYTHONPATH": ROOT,
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return time.monotonic() - start, proc.stdout + proc.stderr


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "app.py"  # a real main module: forkserver and spawn import it
    path.write_text(SCRIPT)
    return path


@pytest.mark.parametrize("method", ["fork", "forkserver"])
def test_process_targets_and_pool_workers_deliver_every_span(
    method: str, script: Path, receiver: Receiver
) -> None:
    elapsed, output = run(script, method, "pools", receiver.url)
    assert "exit codes [0, 0, 0]" in output
    spans = receiver.spans()
    names = Counter(s.name for s in spans)
    figure(f"item 12: {method}", delivered=dict(names), run_s=elapsed)
    assert names == {"target_work": 300, "pool_with": 300, "pool_closed": 300}, output
    assert len({s.span_id for s in spans}) == 900  # no duplicate


def test_spawn_children_deliver_as_before(script: Path, receiver: Receiver) -> None:
    run(script, "spawn", "targets", receiver.url)
    assert Counter(s.name for s in receiver.spans()) == {"target_work": 300}


def test_a_child_against_a_dead_backend_exits_within_the_exit_timeout(script: Path) -> None:
    blackhole = Receiver([Reply(action="hang")])
    try:
        elapsed, output = run(script, "fork", "pools", blackhole.url, BROKLE_SHUTDOWN_TIMEOUT="0.5")
    finally:
        blackhole.close()
    # 3 targets and 4 pool workers, each waiting at most 0.5 s (the parent too).
    assert "exit codes [0, 0, 0]" in output
    figure("item 12: dead backend, exit timeout 0.5 s", run_s=elapsed)
    assert elapsed < 12.0, elapsed
