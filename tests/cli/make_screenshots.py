"""Take the screenshots of docs/viewer.md: ``python -m tests.cli.make_screenshots``.

Every picture is a real run: the demo traced twice, the commands run on its file, the HTML
report and ``serve`` in headless Chromium, the terminal output rendered by rich (the same
colours a terminal shows) and photographed in the same browser.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.cli.cdp import Chromium, Page, find_chromium
from tests.cli.conftest import large_file

DOCS = Path(__file__).resolve().parents[2] / "docs" / "img"
CLI = [sys.executable, "-m", "brokle_trace"]


def shoot(page: Page, name: str, *, element: str | None = None) -> None:
    params: dict[str, object] = {"format": "png"}
    if element:  # just that element, however tall
        box = page.eval(
            f"(() => {{ const r = document.querySelector('{element}')"
            ".getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; })()"
        )
        params["clip"] = {"x": box[0], "y": box[1], "width": box[2], "height": box[3], "scale": 1}
        params["captureBeyondViewport"] = True
    data = page.send("Page.captureScreenshot", params)["data"]
    DOCS.mkdir(parents=True, exist_ok=True)
    (DOCS / name).write_bytes(base64.b64decode(data))
    print("wrote", DOCS / name)


def terminal(browser: Chromium, work: Path, name: str, args: list[str], width: int) -> None:
    """``brokle-trace ARGS`` with colours, rendered by rich into a page and photographed."""
    ansi = subprocess.run(
        [*CLI, *args, "--color", "always"],
        capture_output=True,
        text=True,
        check=True,
        cwd=work,
        env={**os.environ, "COLUMNS": str(width)},
    ).stdout
    from rich.console import Console
    from rich.text import Text

    console = Console(record=True, width=width, file=open(os.devnull, "w"))  # noqa: SIM115
    console.print(f"$ brokle-trace {' '.join(args)}", style="bold")
    console.print(Text.from_ansi(ansi))
    page_file = work / f"{name}.html"
    page_file.write_text(console.export_html(inline_styles=True))
    page = Page(browser, width=1600, height=1200)
    page.goto(page_file.as_uri())
    page.eval(
        "(() => { const p = document.querySelector('pre');"
        " p.style.cssText += ';display:inline-block;margin:0;padding:10px 14px;"
        "background:#1e1e24;color:#ddd;overflow:visible;font-size:13px'; })()"
    )
    shoot(page, name, element="pre")


def main() -> None:
    exe = find_chromium()
    assert exe, "apt-get install chromium"
    with tempfile.TemporaryDirectory() as tmp, Chromium(exe, 1400, 900) as browser:
        work = Path(tmp)
        for _ in range(2):
            subprocess.run([*CLI, "demo"], check=True, cwd=work, capture_output=True)
        demo = work / "brokle_traces.jsonl"
        terminal(browser, work, "view.png", ["view", "--last", "1", "--preview-chars", "50"], 170)
        terminal(browser, work, "view-errors.png", ["view", "--errors", "--last", "1"], 170)
        terminal(browser, work, "stats.png", ["stats", "--by", "user", "--top", "6"], 130)

        subprocess.run(
            [*CLI, "html", str(demo), "-o", str(work / "r.html")], check=True, capture_output=True
        )
        page = Page(browser)
        page.send("Page.bringToFront")
        page.goto((work / "r.html").as_uri())
        page.click_selector("#rows .row:nth-child(7) .label")  # a summarize-section call
        shoot(page, "html-report.png")
        page.click_selector("#f-errors")
        page.click_selector("#next-error")
        shoot(page, "html-errors.png")
        page.click_selector("#f-errors")
        page.click_selector("#rows .row:nth-child(6) .label")  # knowledge-search
        shoot(page, "html-documents.png")

        big = large_file(work / "large.jsonl")
        subprocess.run(
            [*CLI, "html", str(big), "-o", str(work / "big.html"), "--all"],
            check=True,
            capture_output=True,
        )
        page = Page(browser)
        page.send("Page.bringToFront")
        page.goto((work / "big.html").as_uri() + f"#{1:032x}")
        page.click_selector("#next-error")
        page.click_selector("#next-error")
        shoot(page, "html-50000-spans.png")

        server = subprocess.Popen(
            [*CLI, "serve", str(demo), "--port", "0"], stdout=subprocess.PIPE, text=True, cwd=work
        )
        try:
            assert server.stdout is not None
            url = server.stdout.readline().split()[2]
            page = Page(browser)
            page.send("Page.bringToFront")
            page.goto(url)
            subprocess.run([*CLI, "demo"], check=True, cwd=work, capture_output=True)
            deadline = time.monotonic() + 10
            while page.eval("window.brokleReport.traces()") < 3:
                assert time.monotonic() < deadline
                time.sleep(0.1)
            page.click_selector(".trace:first-child")
            page.click_selector("#rows .row:nth-child(13) .label")  # the failed call
            time.sleep(1.2)  # one more poll, so the live indicator shows its time
            shoot(page, "serve.png")
        finally:
            server.terminate()
            server.wait(timeout=10)
        print(json.dumps(sorted(p.name for p in DOCS.glob("*.png"))))


if __name__ == "__main__":
    main()
