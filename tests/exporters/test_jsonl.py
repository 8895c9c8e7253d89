"""The JSONL exporter: whole lines, rotation, and counted failures on bad paths or full disks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import brokle_trace
from brokle_trace import SpanData, observe
from brokle_trace.exporters import JsonlExporter
from brokle_trace.typing import ExportResult


def spans(n: int, payload: int = 10) -> list[SpanData]:
    return [
        SpanData(
            name=f"s{i}",
            trace_id=f"{1:032x}",
            span_id=f"{i + 1:016x}",
            start_time_ns=1,
            end_time_ns=2,
            input="x" * payload,
        )
        for i in range(n)
    ]


def read(path: Path) -> list[SpanData]:
    return [SpanData.model_validate_json(line) for line in path.read_bytes().splitlines()]


def test_lines_round_trip(tmp_path: Path) -> None:
    exp = JsonlExporter(tmp_path / "deep" / "t.jsonl")
    batch = spans(3)
    assert exp.export(batch) is ExportResult.SUCCESS
    exp.shutdown()
    assert read(tmp_path / "deep" / "t.jsonl") == batch


def test_rotation_keeps_backups_and_whole_lines(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    exp = JsonlExporter(path, max_bytes=2_000, backups=2)
    for _ in range(10):
        assert exp.export(spans(3, payload=200)) is ExportResult.SUCCESS
    exp.shutdown()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["t.jsonl", "t.jsonl.1", "t.jsonl.2"]
    for p in tmp_path.iterdir():
        assert p.stat().st_size <= 2_000
        assert all(s.name.startswith("s") for s in read(p))  # every line parses
    assert exp.rotations >= 3


def test_unwritable_path_fails_counted_with_a_clear_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    exp = JsonlExporter(blocker / "t.jsonl")  # a path *under a file*: cannot exist
    assert exp.export(spans(4)) is ExportResult.FAILURE
    assert exp.take_drops() == {"export_failed": 4}
    assert str(blocker / "t.jsonl") in caplog.text


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_full_disk_fails_counted(caplog: pytest.LogCaptureFixture) -> None:
    exp = JsonlExporter("/dev/full")
    assert exp.export(spans(2)) is ExportResult.FAILURE
    assert exp.take_drops() == {"export_failed": 2}
    assert "No space left" in caplog.text
    exp.shutdown()


@pytest.mark.usefixtures("lenient")
def test_full_disk_reaches_the_pipeline_counters() -> None:
    if not os.path.exists("/dev/full"):
        pytest.skip("needs /dev/full")
    brokle_trace.configure(exporter="jsonl", traces_file="/dev/full", traces_file_max_bytes=0)

    @observe
    def step() -> None:
        pass

    step()
    step()
    assert brokle_trace.flush(2.0)
    s = brokle_trace.stats()
    assert s["dropped"]["export_failed"] == 2 and s["exported"] == 0


def test_partial_write_counts_only_the_lost_lines() -> None:
    lines = [11, 22, 33]  # three 11-byte lines: where each one ends
    assert JsonlExporter._lost_lines(lines, 0) == 3
    assert JsonlExporter._lost_lines(lines, 11) == 2
    assert JsonlExporter._lost_lines(lines, 15) == 2
    assert JsonlExporter._lost_lines(lines, 33) == 0


# -- the file the user sees --------------------------------------------------------------


@pytest.mark.parametrize("how", ["deleted", "moved"])
def test_a_file_deleted_or_moved_by_another_process_is_reopened(how: str, tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    brokle_trace.configure(exporter="jsonl", traces_file=path)

    @observe
    def step(i: int) -> int:
        return i

    for i in range(500):
        step(i)
    assert brokle_trace.flush(5.0)
    if how == "deleted":
        path.unlink()
    else:  # logrotate's default: rename, and the writer should start a new file
        path.rename(tmp_path / "t.jsonl.1")
    for i in range(1_000):
        step(i)
    assert brokle_trace.flush(5.0)
    assert len(read(path)) == 1_000  # at the configured path, not into an unlinked inode
    if how == "moved":
        assert len(read(tmp_path / "t.jsonl.1")) == 500
    assert brokle_trace.stats()["exported"] == 1_500


_FULL_DISK = r"""
import os, resource, signal, sys
from brokle_trace import SpanData
from brokle_trace.exporters import JsonlExporter
from brokle_trace._model import span_json
path = sys.argv[1]
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails with EFBIG instead
def batch(first):
    return [SpanData(name=f"s{first + i}", trace_id="1" * 32, span_id=f"{first + i + 1:016x}",
                     start_time_ns=1, end_time_ns=2, input="x" * 300) for i in range(10)]
exporter = JsonlExporter(path)
step = len(span_json(batch(0)[0])) * 11 // 2  # the 6th line of the batch is cut in the middle
soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, (step, hard))  # "the disk is full" past step bytes
print(exporter.export(batch(0)).value, exporter.take_drops())
resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))  # space freed
print(exporter.export(batch(10)).value, exporter.take_drops())
"""


def test_after_a_full_disk_a_cut_line_is_never_merged_with_the_next(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = tmp_path / "t.jsonl"
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", _FULL_DISK, str(path)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(root)},
    ).stdout.splitlines()
    assert out[0] == "failure {'export_failed': 5}"
    assert out[1] == "success {}"
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b""  # the file ends with a whole line
    parsed, cut = [], []
    for line in lines[:-1]:
        try:
            parsed.append(SpanData.model_validate_json(line).name)
        except ValueError:
            cut.append(line)
    assert parsed == [f"s{i}" for i in range(5)] + [f"s{i}" for i in range(10, 20)]
    assert len(cut) == 1 and not cut[0].endswith(b"}")  # the cut line stands alone


@pytest.mark.parametrize("with_memory", [False, True])  # lines straight from records, or SpanData
def test_a_lone_surrogate_in_a_span_name_is_written_replaced(
    with_memory: bool, tmp_path: Path
) -> None:
    from brokle_trace import get_current_span
    from brokle_trace.testing import InMemoryExporter

    path = tmp_path / "t.jsonl"
    extra = [InMemoryExporter()] if with_memory else []
    brokle_trace.configure(exporter="jsonl", traces_file=path, exporters=extra)

    @observe
    def step(i: int) -> None:
        if i == 2:
            get_current_span().update(name=os.fsdecode(b"report-\xe9.csv"))

    for i in range(5):
        step(i)
    assert brokle_trace.flush(5.0)
    assert sorted(s.name for s in read(path)) == sorted(["step"] * 4 + ["report-\ufffd.csv"])
    assert brokle_trace.stats()["exported"] == 5
