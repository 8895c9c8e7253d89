"""docs/configuration.md lists every setting: a new option fails this test until documented."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from brokle_trace import capture
from brokle_trace._runtime.config import Settings

ROOT = Path(__file__).resolve().parents[2]
PAGE = (ROOT / "docs" / "configuration.md").read_text()


def test_every_setting_has_its_variable_and_option() -> None:
    missing = [
        name
        for name in Settings.model_fields
        if f"`{name}`" not in PAGE
        or (name != "exporters" and f"`BROKLE_{name.upper()}`" not in PAGE)
    ]
    assert not missing, f"document these in docs/configuration.md: {missing}"


def test_every_capture_option_is_listed() -> None:
    names = [f.name for f in dataclasses.fields(capture.CaptureSettings) if f.init]
    missing = [name for name in names if f"| `{name}` |" not in PAGE]
    assert not missing, f"document these in docs/configuration.md: {missing}"


def test_every_otel_variable_the_code_reads_is_listed() -> None:
    used = set()
    for path in (ROOT / "brokle_trace").rglob("*.py"):
        used |= set(re.findall(r"\bOTEL_[A-Z_]+[A-Z]\b", path.read_text()))
    missing = sorted(v for v in used if f"`{v}`" not in PAGE)
    assert not missing, f"document these in docs/configuration.md: {missing}"
