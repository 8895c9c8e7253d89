"""examples/instrumentors_multi_provider.py runs offline and shows one tree."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "instrumentors_multi_provider.py"


def test_example_runs_and_shows_one_tree(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("instrumentors_multi_provider", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    spans = module.main()
    out = capsys.readouterr().out
    by_id = {s.span_id: s for s in spans}
    root = next(s for s in spans if s.name == "support-agent")
    assert {s.trace_id for s in spans} == {root.trace_id}
    llm = [s for s in spans if s.type == "llm"]
    scopes = {s.attributes["otel.scope.name"] for s in llm}
    assert scopes == {
        "openinference.instrumentation.openai",
        "opentelemetry.instrumentation.anthropic",
        "openinference.instrumentation.langchain",
    }
    failed = next(s for s in llm if s.status == "error")
    assert by_id[failed.parent_span_id].name == "answer"
    assert all(s.user_id == "user-42" for s in spans)
    assert root.attributes["brokle.rollup.llm_calls"] == 2  # the calls that reported usage
    assert root.attributes["brokle.rollup.cost_usd"] > 0
    assert "sk-proj-example" not in out and "sk-ant-api03" not in out
    assert "gpt-4o-mini" in out and "total" in out
