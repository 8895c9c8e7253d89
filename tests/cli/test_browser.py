"""The HTML report in a real headless Chromium (Debian's package), driven over CDP.

The browser is driven through ``--remote-debugging-pipe`` by ``tests/cli/cdp.py`` (stdlib
only). Screenshots land in ``build/test-artifacts/`` (or ``$BROKLE_TEST_ARTIFACTS``) so a
person can look at them. Without Chromium these tests skip locally and fail under CI=true.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from brokle_trace.cli import main
from tests.cli.cdp import Chromium, Page, find_chromium
from tests.cli.conftest import span, write_jsonl

ARTIFACTS = Path(os.environ.get("BROKLE_TEST_ARTIFACTS",
                                Path(__file__).resolve().parents[2] / "build" / "test-artifacts"))
XSS = '</script><img src=x onerror="window.__xss=1"><b>bold</b>'


@pytest.fixture(scope="module")
def browser() -> Iterator[Chromium]:
    exe = find_chromium()
    if exe is None:
        message = "chromium is not installed (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    with Chromium(exe) as b:
        yield b


def _open(browser: Chromium, report: Path) -> Page:
    page = Page(browser)
    page.goto(report.resolve().as_uri())
    assert page.eval("window.brokleReport && window.brokleReport.ready") is True
    return page


def _bars(page: Page) -> int:
    return int(page.eval("document.querySelectorAll('#rows .bar').length"))


def test_demo_report(browser: Chromium, demo_file: Path, tmp_path: Path) -> None:
    report = tmp_path / "demo.html"
    assert main(["html", str(demo_file), "-o", str(report)]) == 0
    page = _open(browser, report)
    # One bar per span, for the trace shown first and for the other one, picked by a click.
    assert _bars(page) == 13
    page.click_selector(".trace:nth-child(2)")
    assert page.eval("document.querySelector('.trace.selected').dataset.index") == "1"
    assert _bars(page) == 13
    # Bars nest and sit where their times say: the root spans the whole width.
    widths = page.eval("[...document.querySelectorAll('#rows .bar')].map(b => b.style.width)")
    assert widths[0] == "100%"
    # A real click on the failed LLM call shows its details.
    page.click_selector("#rows .bar.error")
    details = page.eval("document.getElementById('details').innerText")
    assert details.startswith("risk-assessment")
    for expected in ("TransientProviderError", "STACK TRACE", "INPUT", "ATTRIBUTES",
                     "gen_ai.request.model"):
        assert expected in details
    assert page.eval("document.querySelector('.row.selected .label').innerText").endswith("llm")
    shot = page.screenshot(ARTIFACTS / "html-report-demo.png")
    assert shot.stat().st_size > 10_000
    assert page.console_errors() == []


def test_thousands_of_spans(browser: Chromium, tmp_path: Path) -> None:
    spans = [span(1, 1, None, "batch", 0, 5000)]
    spans += [span(1, i, 1 + (i > 100) * (i % 100 + 1), f"item-{i}", i * 0.9, i * 0.9 + 3,
                   type="llm" if i % 3 else "tool", input={"i": i})
              for i in range(2, 5001)]
    spans += [span(t, 100_000 + t, None, f"small-{t}", t, t + 1) for t in range(2, 300)]
    f = write_jsonl(tmp_path / "many.jsonl", spans)
    report = tmp_path / "many.html"
    assert main(["html", str(f), "-o", str(report), "--all"]) == 0
    started = time.monotonic()
    page = _open(browser, report)
    page.eval("window.brokleReport.selectTrace("
              "[...document.querySelectorAll('.trace')].findIndex("
              "e => e.innerText.startsWith('batch')))")
    elapsed = time.monotonic() - started
    assert _bars(page) == 5000
    assert elapsed < 10, elapsed
    page.click_selector("#rows .row:nth-child(4000) .label")
    assert "item-" in page.eval("document.querySelector('#details h2').innerText")
    page.screenshot(ARTIFACTS / "html-report-5000-spans.png")
    assert page.console_errors() == []


def test_user_data_is_shown_as_text(browser: Chromium, tmp_path: Path) -> None:
    spans = [span(1, 1, None, XSS, 0, 10, input={XSS: XSS}, metadata={"note": XSS},
                  status="error", error={"type": XSS, "message": XSS, "stacktrace": XSS}),
             span(1, 2, 1, XSS, 1, 5, attributes={XSS: XSS})]
    f = write_jsonl(tmp_path / "xss.jsonl", spans)
    report = tmp_path / "xss.html"
    assert main(["html", str(f), "-o", str(report), "--title", XSS]) == 0
    page = _open(browser, report)
    page.click_selector("#rows .bar.error")
    page.click_selector("#rows .row:nth-child(2) .bar")
    page.click_selector("#rows .row:nth-child(1) .bar")
    # Nothing of the payload became markup: no image, no <b>, no handler ran ...
    assert page.eval("document.querySelectorAll('img, b').length") == 0
    assert page.eval("typeof window.__xss") == "undefined"
    # ... and people still see it, literally.
    assert page.eval("document.querySelector('#details h2').textContent") == XSS
    assert XSS in page.eval("document.getElementById('details').innerText")
    assert page.eval("document.title") == XSS
    page.screenshot(ARTIFACTS / "html-report-xss.png")
    assert page.console_errors() == [], json.dumps(page.console_errors())
