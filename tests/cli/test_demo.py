"""The main job: `brokle-trace demo` runs the pipeline, writes JSONL and prints the tree."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from brokle_trace import SpanData


def test_demo_writes_the_trace_and_prints_its_tree(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "brokle_trace", "demo", "--file", str(tmp_path / "d.jsonl")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=tmp_path,
    ).stdout
    spans = [SpanData.model_validate_json(line) for line in (tmp_path / "d.jsonl").open()]
    names = [s.name for s in spans]
    assert names.count("summarize-section") == 4
    assert names.count("risk-assessment") == 2
    assert len({s.trace_id for s in spans}) == 1
    failed = [s for s in spans if s.status == "error"]
    assert [s.name for s in failed] == ["risk-assessment"]
    root = next(s for s in spans if s.parent_span_id is None)
    assert root.name == "demo-request"
    assert root.user_id == "demo-user" and root.session_id == "demo-session"
    # The printed tree: the root first, its children indented under it.
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("demo-request"))
    assert lines[start + 1].startswith("└─ document-analysis")
    assert any("ERROR TransientProviderError" in line for line in lines)
    assert sum("summarize-section" in line for line in lines) == 4
    # LLM steps show their usage and cost, recorded from the (fake) provider's response.
    llm_lines = [line for line in lines if "summarize-section" in line]
    assert all("tokens=" in line and "cost=$" in line for line in llm_lines)
    llm = next(s for s in spans if s.name == "summarize-section")
    assert llm.attributes["gen_ai.usage.output_tokens"] == 24
