"""docs/capture.md lists every built-in redaction rule, from the rule table itself.

The tables between ``<!-- rules:NAME -->`` markers are what ``render`` makes of the table in
``brokle_trace/capture``; when a rule is added or changed, the failing assertion prints the
block to paste.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from brokle_trace.capture import CaptureSettings, redact_text
from brokle_trace.capture._rules import (
    BUILTIN_KEY_RULES,
    BUILTIN_SHAPE_RULES,
    BUILTIN_TOKEN_RULES,
    BUILTIN_VALUE_RULES,
    ID_PREFIXES,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "capture.md"
_S = CaptureSettings()


def _code(text: str, limit: int = 44) -> str:
    text = text.replace("\n", "\\n")
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return f"`{text}`"


def render(name: str) -> str:
    if name == "keys":
        rows = ["| rule | keys like |", "|---|---|"]
        rows += [
            f"| `{r.name}` | {', '.join(f'`{e}`' for e in r.examples)} |" for r in BUILTIN_KEY_RULES
        ]
    elif name == "values":
        rows = ["| rule (families it names) | example | becomes |", "|---|---|---|"]
        for r in BUILTIN_VALUE_RULES:
            families = f" ({', '.join(f'`{f}`' for f in r.families)})" if r.families else ""
            rows.append(
                f"| `{r.name}`{families} | {_code(r.example, 60)} | "
                f"{_code(redact_text(r.example, _S), 60)} |"
            )
    elif name == "tokens":
        rows = ["| family | starts with | fake example |", "|---|---|---|"]
        rows += [
            f"| `{r.name}` | {', '.join(f'`{p}`' for p in r.prefixes)} | {_code(r.example)} |"
            for r in BUILTIN_TOKEN_RULES
        ]
    elif name == "shapes":
        rows = [
            "| rule | length | class changes | entropy (bits/char) | fake example |",
            "|---|---|---|---|---|",
        ]
        for r in BUILTIN_SHAPE_RULES:
            bits = f"≥ min({r.entropy} × log2(n), {r.entropy_cap})" if r.entropy else "—"
            rows.append(
                f"| `{r.name}` | {r.min_length}–{r.max_length} | "
                f"≥ {r.min_changes:.0%} | {bits} | {_code(r.example)} |"
            )
    elif name == "ids":
        rows = [", ".join(f"`{p}`" for p in ID_PREFIXES)]
    else:  # pragma: no cover
        raise KeyError(name)
    return "\n".join(rows)


@pytest.mark.parametrize("name", ["keys", "values", "tokens", "shapes", "ids"])
def test_the_page_lists_every_rule_of_the_table(name: str) -> None:
    text = DOC.read_text()
    m = re.search(rf"<!-- rules:{name} -->\n(.*?)\n<!-- /rules:{name} -->", text, re.S)
    assert m is not None, f"docs/capture.md has no <!-- rules:{name} --> block"
    expected = render(name)
    assert m.group(1) == expected, f"paste into docs/capture.md:\n{expected}"
