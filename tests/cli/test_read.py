"""The streaming reader: bad lines, progress, bounded memory on a 100k-span file."""

from __future__ import annotations

import io
import tracemalloc
from pathlib import Path

import orjson
import pytest

from brokle_trace.cli import _read, _traces, main
from tests.cli.conftest import span, write_jsonl


def test_progress_is_drawn_and_cleared(tmp_path: Path) -> None:
    f = write_jsonl(tmp_path / "p.jsonl", [span(1, i, None, "s", i, i + 1) for i in range(1, 5000)])
    err = io.StringIO()
    spans = list(
        _read.iter_spans(
            f, _read.BadLines(), progress_label="scanning", progress_stream=err, force_progress=True
        )
    )
    assert len(spans) == 4999
    text = err.getvalue()
    assert "\rscanning:" in text and "spans" in text
    assert text.endswith("\r")  # the line is cleared for what follows


def test_progress_is_off_for_small_files_and_pipes(tmp_path: Path) -> None:
    f = write_jsonl(tmp_path / "p.jsonl", [span(1, 1, None, "s", 0, 1)])
    err = io.StringIO()  # not a terminal
    list(_read.iter_spans(f, _read.BadLines(), progress_label="x", progress_stream=err))
    assert err.getvalue() == ""


def test_groups_of_the_second_pass_are_bounded() -> None:
    traces = [_traces.TraceSummary(f"{i:032x}", i, i + 1, spans=40) for i in range(10)]
    groups = list(_traces.chunked(traces, max_spans=100))
    assert [len(g) for g in groups] == [2, 2, 2, 2, 2]
    assert [t for g in groups for t in g] == traces
    big = [_traces.TraceSummary("b" * 32, 0, 1, spans=500)]  # one trace over the bound: alone
    assert list(_traces.chunked(big + traces[:1], max_spans=100)) == [big, traces[:1]]


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """100 000 spans in 10 000 traces, each with a ~400-byte input: a ~75 MB file."""
    path = tmp_path_factory.mktemp("big") / "big.jsonl"
    payload = {"prompt": "lorem ipsum dolor sit amet " * 15}
    with path.open("wb") as fh:
        for t in range(10_000):
            lines = [span(t, t * 10 + 1, None, "request", t, t + 9, input=payload)]
            lines += [
                span(t, t * 10 + k, t * 10 + 1, f"step-{k}", t + k * 0.5, t + k, input=payload)
                for k in range(2, 11)
            ]
            fh.write(b"".join(orjson.dumps(s) + b"\n" for s in lines))
    return path


def test_view_of_100k_spans_in_bounded_memory(
    big_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    size = big_file.stat().st_size
    tracemalloc.start()
    try:
        code = main(["view", str(big_file), "--last", "3", "--no-preview"])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    out = capsys.readouterr().out
    assert code == 0 and out.count("request") == 3
    # Loading the file would take several times its size; we keep ~300 bytes per trace.
    assert peak < 12_000_000, (peak, size)
    assert size > 6 * peak
