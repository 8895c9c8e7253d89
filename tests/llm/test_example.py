"""The multi-provider agent example runs offline and shows the fallback as sibling spans."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "multi_provider_agent.py"


def test_multi_provider_agent_example(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("multi_provider_agent", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    spans = module.main()
    out = capsys.readouterr().out
    by_name = {s.name: s for s in spans}
    root = by_name["support-agent"]
    failed = by_name["chat claude-sonnet-4-5-20250929"]
    fallback = by_name["chat gpt-4o"]
    assert failed.status == "error" and fallback.status == "ok"
    assert failed.parent_span_id == fallback.parent_span_id == by_name["answer"].span_id
    assert root.attributes["brokle.rollup.llm_calls"] == 2
    assert root.attributes["brokle.rollup.cost_usd"] > 0
    assert "ERROR 529 overloaded_error" in out
    assert "total:" in out and "gpt-4o-mini" in out
