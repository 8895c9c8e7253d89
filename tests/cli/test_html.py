"""``brokle-trace html``: the file it writes (the browser tests look at it rendered)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from brokle_trace.cli import main
from brokle_trace.cli._html import script_safe_json
from tests.cli.conftest import span, three_traces, tid, write_jsonl

XSS = '</script><img src=x onerror="window.__xss=1"><!--'


def _data(report: Path) -> dict[str, Any]:
    text = report.read_text()
    m = re.search(r'<script type="application/json" id="brokle-data">(.*?)</script>', text, re.S)
    assert m is not None
    data: dict[str, Any] = json.loads(m.group(1))
    return data


def test_script_safe_json_round_trips() -> None:
    value = {"a": XSS, "b": "&amp; <b> \u2028"}
    raw = script_safe_json(value)
    assert b"<" not in raw and b">" not in raw and b"&" not in raw
    assert json.loads(raw) == value


def test_report_of_the_demo(
    demo_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report.html"
    assert main(["html", str(demo_file), "-o", str(out)]) == 0
    assert "2 traces, 28 spans" in capsys.readouterr().out
    text = out.read_text()
    assert "http://" not in text and "https://" not in text  # self-contained, no network
    data = _data(out)
    assert len(data["traces"]) == 2 and len(data["spans"]) == 28
    root = next(s for s in data["spans"] if s["parent"] is None and s["trace"] == 0)
    assert root["name"] == "demo-request"
    assert root["start"] == data["traces"][0]["start_us"]  # µs since the epoch
    assert data["traces"][0]["start_us"] > data["traces"][1]["start_us"]  # newest first
    assert data["live"] is None


def test_user_data_cannot_break_out(tmp_path: Path) -> None:
    spans = [
        span(
            1,
            1,
            None,
            XSS,
            0,
            10,
            input={XSS: XSS},
            metadata={"m": XSS},
            error={"type": XSS, "message": XSS, "stacktrace": XSS},
            status="error",
        )
    ]
    f = write_jsonl(tmp_path / "x.jsonl", spans)
    out = tmp_path / "x.html"
    assert main(["html", str(f), "-o", str(out), "--title", XSS]) == 0
    text = out.read_text()
    assert "<img" not in text
    assert text.count("</script>") == 2  # the data block's and the page script's
    assert "&lt;/script&gt;&lt;img" in text  # the title, escaped
    assert _data(out)["spans"][0]["name"] == XSS  # the data itself is intact


def test_filters_limits_and_cutting(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spans = [*three_traces(), span(4, 41, None, "huge", 400, 401, input="x" * 5000)]
    f = write_jsonl(tmp_path / "f.jsonl", spans)
    out = tmp_path / "f.html"
    assert main(["html", str(f), "-o", str(out), "--errors"]) == 0
    assert [t["id"] for t in _data(out)["traces"]] == [tid(2)]
    assert main(["html", str(f), "-o", str(out), "--last", "1", "--max-field-chars", "100"]) == 0
    data = _data(out)
    assert "newest 1 of 4 traces" in data["note"]
    assert data["spans"][0]["input"].startswith('"xxx')
    assert data["spans"][0]["input"].endswith(
        "… [cut by brokle-trace html: 5,002 bytes in the file]"
    )
    assert not list(tmp_path.glob("*.tmp"))
    assert main(["html", str(f), "-o", str(out), "--user", "nobody"]) == 1
    assert "none of the 4 traces matches" in capsys.readouterr().err
