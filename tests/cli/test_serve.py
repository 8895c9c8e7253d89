"""``brokle-trace serve``: a real server process, a real HTTP client and the browser, while an
application appends (and rotates) the file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.cli.cdp import Chromium
from tests.cli.conftest import llm_attrs, span, write_jsonl
from tests.cli.test_browser import ARTIFACTS, browser, open_report, rows, wait_for
from tests.helpers import sigint_default

__all__ = ["browser"]  # the module-scoped Chromium fixture, shared with the report tests


def trace(n: int, *, error: bool = False) -> list[dict[str, Any]]:
    """A small request trace numbered ``n`` (children first, as the exporter writes them)."""
    base = 1000.0 * n
    failed = {"status": "error", "error": {"type": "TimeoutError", "message": "slow"}}
    return [
        span(
            n,
            n * 10 + 2,
            n * 10 + 1,
            "chat",
            base + 1,
            base + 8,
            type="llm",
            attributes=llm_attrs("gpt-4o-mini", "openai", 100, 20, 0.0000270),
            **(failed if error else {}),
        ),
        span(n, n * 10 + 1, None, f"request-{n}", base, base + 10, user_id="u1"),
    ]


def append(path: Path, spans: list[dict[str, Any]]) -> None:
    # One write of whole lines, as the JSONL exporter does.
    with path.open("ab") as fh:
        fh.write(b"".join(orjson.dumps(s) + b"\n" for s in spans))


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path, subprocess.Popen[str]]]:
    f = write_jsonl(tmp_path / "live.jsonl", trace(1) + trace(2))
    proc = subprocess.Popen(
        [sys.executable, "-m", "brokle_trace", "serve", str(f), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=sigint_default,  # noqa: PLW1509 - one signal reset, before exec
        text=True,
        cwd=tmp_path,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("brokle-trace serve: http://127.0.0.1:"), line
    url = line.split()[2]
    try:
        yield url, f, proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)


def get(url: str) -> tuple[int, bytes, str]:
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.status, r.read(), r.headers["Content-Type"]


def updates_until(url: str, since: int, want: int, timeout: float = 10.0) -> dict[str, Any]:
    """Poll /api/updates like the page does until ``want`` spans came after ``since``."""
    deadline = time.monotonic() + timeout
    got: dict[str, Any] = {"spans": [], "traces": [], "seq": since}
    while len(got["spans"]) < want:
        assert time.monotonic() < deadline, got
        status, body, kind = get(f"{url}api/updates?since={got['seq']}")
        assert status == 200 and kind == "application/json"
        answer = json.loads(body)
        got["spans"] += answer["spans"]
        got["traces"] += answer["traces"]
        got["seq"] = answer["seq"]
        time.sleep(0.05)
    return got


def test_http_page_and_updates_while_the_file_grows_and_rotates(
    served: tuple[str, Path, subprocess.Popen[str]],
) -> None:
    url, f, proc = served
    status, page, kind = get(url)
    assert status == 200 and kind == "text/html; charset=utf-8"
    text = page.decode()
    assert "connect-src 'self'" in text and "http://" not in text.split("<!DOCTYPE html>")[1][:2000]
    data = json.loads(text.split('id="brokle-data">')[1].split("</script>")[0])
    assert [t["root"] for t in data["traces"]] == ["request-2", "request-1"]
    assert data["live"]["seq"] == 0
    # Spans appended by the application come back as page records with their trace's totals.
    append(f, trace(3, error=True))
    got = updates_until(url, 0, 2)
    assert [s["name"] for s in got["spans"]] == ["chat", "request-3"]
    assert got["spans"][0]["model"] == "gpt-4o-mini" and got["spans"][0]["cost"] == 0.000027
    latest = got["traces"][-1]
    assert (latest["root"], latest["errors"], latest["llm_calls"], latest["input_tokens"]) == (
        "request-3",
        1,
        1,
        100,
    )
    # The exporter rotates: x.jsonl -> x.jsonl.1, a new x.jsonl. Spans written to the old
    # file just before the rename and to the new one after both arrive, once each.
    append(f, trace(4)[:1])
    os.replace(f, f.with_name(f.name + ".1"))
    append(f, trace(4)[1:] + trace(5))
    got = updates_until(url, got["seq"], 4)
    assert sorted(s["name"] for s in got["spans"]) == ["chat", "chat", "request-4", "request-5"]
    # A fresh page reads the rotated part too: every trace, each span once.
    data = json.loads(get(url)[1].decode().split('id="brokle-data">')[1].split("</script>")[0])
    assert len(data["traces"]) == 5 and len(data["spans"]) == 10
    # A page far behind (or from an older server) is told to reload.
    assert json.loads(get(f"{url}api/updates?since=999")[1]) == {"reset": True, "seq": 6}
    with pytest.raises(urllib.error.HTTPError):
        get(url + "nothing-here")
    # Another site's name for 127.0.0.1 (DNS rebinding) gets nothing.
    rebound = urllib.request.Request(url, headers={"Host": "attacker.example:80"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(rebound, timeout=10)
    assert refused.value.code == 403
    # Ctrl-C stops it, quietly.
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "stopped" in out and "Traceback" not in err


def test_browser_page_updates_live(
    browser: Chromium, served: tuple[str, Path, subprocess.Popen[str]]
) -> None:
    url, f, proc = served
    page = open_report(browser, url)
    assert page.eval("window.brokleReport.traces()") == 2
    assert page.eval("document.getElementById('live').innerText").startswith("● live")
    append(f, trace(3, error=True))
    wait_for(page, "window.brokleReport.traces() === 3")
    names = page.eval("[...document.querySelectorAll('.trace .t-name')].map(e => e.innerText)")
    assert names[0].startswith("request-3") and "1 err" in names[0]
    page.click_selector(".trace:first-child")
    wait_for(page, "document.getElementById('wf-totals').innerText.startsWith('1 LLM call')")
    assert (
        rows(page)[1].startswith("!chat")
        and "gpt-4o-mini · 100→20 tok · $0.000027" in rows(page)[1]
    )
    # More spans for the trace on screen: its waterfall grows where it is.
    append(f, [span(3, 39, 31, "late-tool", 3009, 3009.5, type="tool")])
    wait_for(page, "window.brokleReport.visibleRows() === 3")
    page.screenshot(ARTIFACTS / "serve-live.png")
    # The server stops: the page says so instead of failing silently.
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=30)
    wait_for(page, "document.getElementById('live').innerText.startsWith('○')")
    assert page.console_errors() == [] or all(
        "Failed to fetch" in e or "ERR_CONNECTION" in e for e in page.console_errors()
    )
