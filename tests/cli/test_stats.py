"""``brokle-trace stats``: the numbers, in tables and in JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from brokle_trace.cli import main
from brokle_trace.cli._stats import percentile
from tests.cli.conftest import llm_attrs, span, tid, write_jsonl


def test_percentile_nearest_rank() -> None:
    assert percentile(list(range(1, 101)), 50) == 50
    assert percentile(list(range(1, 101)), 95) == 95
    assert percentile([1, 2], 95) == 2
    assert percentile([], 50) == 0


def _file(tmp_path: Path) -> Path:
    spans = []
    for i in range(20):  # 20 calls of gpt-4o lasting 1..20 ms, every 5th fails
        spans.append(span(i + 1, i * 2 + 1, None, "request", i * 100, i * 100 + 50))
        extra = {"status": "error"} if i % 5 == 0 else {}
        spans.append(
            span(
                i + 1,
                i * 2 + 2,
                i * 2 + 1,
                "chat",
                i * 100,
                i * 100 + i + 1,
                type="llm",
                attributes=llm_attrs("gpt-4o", "openai", 10, 5, 0.001),
                **extra,
            )
        )
    spans.append(span(99, 999, None, "slow", 5000, 5900))
    spans.append(
        span(
            99,
            998,
            999,
            "embed",
            5000,
            5001,
            type="embedding",
            attributes={"gen_ai.request.model": "text-embedding-3-small"},
        )
    )
    return write_jsonl(tmp_path / "s.jsonl", spans)


def test_json_numbers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stats", str(_file(tmp_path)), "--json", "--top", "0"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["spans"], report["traces"], report["bad_lines"]) == (42, 21, 0)
    models = {r["key"]: r for r in report["by_model"]}
    gpt = models["openai / gpt-4o"]
    assert (gpt["calls"], gpt["errors"], gpt["error_rate"]) == (20, 4, 0.2)
    assert (gpt["p50_ms"], gpt["p95_ms"], gpt["max_ms"]) == (10.0, 19.0, 20.0)
    assert (gpt["input_tokens"], gpt["output_tokens"]) == (200, 100)
    assert gpt["cost_usd"] == pytest.approx(0.02)
    emb = models["? / text-embedding-3-small"]  # no provider recorded
    assert emb["input_tokens"] is None and emb["cost_usd"] is None
    names = {r["key"]: r for r in report["by_name"]}
    assert names["request"]["calls"] == 20 and names["request"]["max_ms"] == 50.0
    slowest = report["slowest_traces"]
    assert slowest[0]["trace_id"] == tid(99) and slowest[0]["duration_ms"] == 900.0
    assert len(slowest) == 21


def test_tables(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stats", str(_file(tmp_path)), "--top", "2"]) == 0
    out = capsys.readouterr().out
    assert "42 spans in 21 traces" in out
    for title in ("By provider / model", "By span name", "Slowest traces"):
        assert title in out
    row = next(line for line in out.splitlines() if line.startswith("openai / gpt-4o"))
    assert row.split() == [
        "openai",
        "/",
        "gpt-4o",
        "20",
        "4",
        "(20.0%)",
        "10.0",
        "ms",
        "19.0",
        "ms",
        "20.0",
        "ms",
        "200",
        "100",
        "$0.0200",
    ]
    slow = out.split("Slowest traces")[1].splitlines()
    assert len([line for line in slow if line.startswith(("0", "1", "6"))]) == 2  # --top 2


def test_tables_with_rich(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("rich")
    assert main(["stats", str(_file(tmp_path)), "--color", "always"]) == 0
    out = capsys.readouterr().out
    assert "\x1b[" in out and "gpt-4o" in out


def test_empty_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "e.jsonl").write_text("garbage\n")
    assert main(["stats", str(tmp_path / "e.jsonl")]) == 1
    assert "1 bad line skipped" in capsys.readouterr().err
