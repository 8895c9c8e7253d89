"""The first run says where the spans went; the demo goes where the environment says."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.export.receiver import Receiver, attrs

APP = """
from brokle_trace import observe
@observe
def step(x): return x + 1
for i in range(3): step(i)
"""
MESSAGE = (
    "brokle_trace: writing spans to ./brokle_traces.jsonl — view them with: brokle-trace view\n"
)


def python(code: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("BROKLE_", "OTEL_"))}
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env={**clean, **env},
        check=True,
    )


def test_zero_configuration_says_once_where_spans_go(tmp_path: Path) -> None:
    result = python(APP, tmp_path)
    assert result.stderr == MESSAGE  # once, for three spans
    assert result.stdout == ""
    assert (tmp_path / "brokle_traces.jsonl").read_text().count("\n") == 3


def test_any_explicit_configuration_silences_it(tmp_path: Path) -> None:
    assert python(APP, tmp_path, BROKLE_QUIET="1").stderr == ""
    assert python(APP, tmp_path, BROKLE_TRACES_FILE="mine.jsonl").stderr == ""
    assert python("import brokle_trace; brokle_trace.configure()\n" + APP, tmp_path).stderr == ""


def test_demo_sends_to_otlp_when_the_environment_says_so(tmp_path: Path) -> None:
    receiver = Receiver()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "brokle_trace", "demo"],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
            check=True,
            env={
                **{k: v for k, v in os.environ.items() if not k.startswith("BROKLE_")},
                "BROKLE_EXPORTER": "otlp",
                "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
                "OTEL_SERVICE_NAME": "demo-in-phoenix",
            },
        )
        spans = receiver.spans()
    finally:
        receiver.close()
    assert len(spans) == 14
    assert sorted({s.name for s in spans})[:2] == ["demo-request", "document-analysis"]
    assert receiver.resources()[0]["service.name"] == "demo-in-phoenix"
    llm = next(s for s in spans if s.name == "summarize-section")
    assert attrs(llm.attributes)["gen_ai.request.model"] == "gpt-4o-mini"
    assert not (tmp_path / "brokle_traces.jsonl").exists()  # only where it was told
    out = result.stdout
    assert f"OTLP {receiver.url}/v1/traces: 14 spans sent" in out
    assert "└─ document-analysis" in out  # the tree, from the in-memory copy
    assert "brokle-trace view" not in out  # nothing to view locally
