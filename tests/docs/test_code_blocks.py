"""Every ```python block in README.md and docs/*.md runs, page by page, in a subprocess.

Blocks of one page run in order in one namespace (like a notebook), so a page can define a
function in one block and call it in the next. Each page runs in a fresh interpreter in a
temporary working directory, so pages cannot leak configuration or files into each other or
into the repository. Tracebacks point at the Markdown file and line.

A block that must not run (it needs a real API key or server) is preceded, on the line just
before its fence, by the marker ``<!-- docs-test: skip -->`` — an HTML comment, invisible in
the built site. Use it sparingly: every use is listed by ``test_skip_marker_is_rare``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SKIP_MARKER = "<!-- docs-test: skip -->"
_FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>[\w+-]*)[^\n]*$")


def python_blocks(text: str) -> list[tuple[int, str, bool]]:
    """(first code line number, code, skipped) of each ```python block of a Markdown text."""
    blocks: list[tuple[int, str, bool]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, lang = len(m["indent"]), m["lang"]
        skipped = i > 0 and lines[i - 1].strip() == SKIP_MARKER
        start = i + 1
        j = start
        while j < len(lines) and lines[j].strip() != "```":
            j += 1
        if lang in ("python", "py"):
            code = "\n".join(line[indent:] for line in lines[start:j])
            blocks.append((start + 1, code, skipped))
        i = j + 1
    return blocks


_RUNNER = """
import sys
ns = {"__name__": "__main__"}
for path, line, code in BLOCKS:
    # Padding puts the code at its Markdown line, so a traceback names the right line.
    exec(compile("\\n" * (line - 1) + code, path, "exec"), ns)
"""


def run_page(path: Path, cwd: Path, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    """Run the page's blocks in order in a fresh interpreter inside ``cwd``."""
    blocks = [
        (str(path), line, code)
        for line, code, skipped in python_blocks(path.read_text())
        if not skipped
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BROKLE_", "OTEL_"))}
    return subprocess.run(
        [sys.executable, "-c", f"BLOCKS = {blocks!r}\n{_RUNNER}"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_page_code_runs(page: Path, tmp_path: Path) -> None:
    result = run_page(page, tmp_path)
    assert result.returncode == 0, f"{page.name}:\n{result.stderr[-3000:]}"


def test_the_runner_reports_the_failing_line(tmp_path: Path) -> None:
    page = tmp_path / "bad.md"
    page.write_text(
        "# t\n\n```python\nx = 1\n```\n\n<!-- docs-test: skip -->\n```python\n"
        "raise SystemExit(3)\n```\n\n```python\nassert x == 2\n```\n"
    )
    result = run_page(page, tmp_path)
    assert result.returncode == 1
    assert f'File "{page}", line 13' in result.stderr  # the skipped block did not run


def test_blocks_are_found() -> None:
    text = "```python\na = 1\n```\n\n- item\n\n    ```python\n    b = 2\n    ```\n```bash\nls\n```"
    assert python_blocks(text) == [(2, "a = 1", False), (8, "b = 2", False)]
    assert sum(len(python_blocks(p.read_text())) for p in PAGES) >= 20


def test_skip_marker_is_rare() -> None:
    skipped = [(p.name, line) for p in PAGES for line, _, s in python_blocks(p.read_text()) if s]
    assert len(skipped) <= 6, skipped
