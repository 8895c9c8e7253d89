"""Span and trace ids come from a private generator: the user's ``random`` is left alone."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import textwrap

import pytest

import brokle_trace
from brokle_trace import observe
from brokle_trace.testing import InMemoryExporter

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@observe
def traced() -> None:
    pass


def test_a_traced_call_does_not_move_the_users_seeded_random(memory: InMemoryExporter) -> None:
    random.seed(1234)
    expected = [random.random() for _ in range(3)]
    random.seed(1234)
    got = [random.random()]
    traced()
    traced()
    got += [random.random(), random.random()]
    assert got == expected
    assert brokle_trace.flush(2.0) and len(memory.spans) == 2


def test_seeding_random_does_not_repeat_ids(memory: InMemoryExporter) -> None:
    random.seed(1234)
    traced()
    random.seed(1234)
    traced()
    assert brokle_trace.flush(2.0)
    first, second = memory.spans
    assert first.trace_id != second.trace_id and first.span_id != second.span_id


def test_two_processes_seeding_1234_emit_different_trace_ids() -> None:
    code = textwrap.dedent(
        """
        import random
        from brokle_trace import get_current_trace_id, observe
        random.seed(1234)
        @observe
        def f():
            return get_current_trace_id()
        print(f())
        """
    )
    env = {**os.environ, "BROKLE_EXPORTER": "none", "PYTHONPATH": ROOT}
    ids = {
        subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        ).stdout.strip()
        for _ in range(2)
    }
    assert len(ids) == 2 and all(len(i) == 32 for i in ids)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_forked_child_draws_other_ids_than_its_parent(memory: InMemoryExporter) -> None:
    from brokle_trace._trace import ids as _ids

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.write(write, f"{_ids.new_trace_id():032x}".encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(read, 64).decode()
    os.close(read)
    os.close(write)
    assert child != f"{_ids.new_trace_id():032x}"
