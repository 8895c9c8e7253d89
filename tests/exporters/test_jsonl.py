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
