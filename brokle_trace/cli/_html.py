"""``brokle-trace html``: one self-contained HTML report (trace list + waterfall) of a file.

The page is ``_assets/report.html`` with the spans embedded as JSON in a
``<script type="application/json">`` block; the page's script builds the waterfall of one
trace at a time, when it is selected, so thousands of spans cost one ``JSON.parse``. No
network: no CDN, no fonts, and a Content-Security-Policy that allows nothing remote.

Span names, inputs and outputs are user data. They reach the page only (1) inside the JSON
block, where ``<``, ``>`` and ``&`` are written as ``\\u003c``-style escapes so no text can
close the block, and (2) through ``textContent`` in the script. The CSP admits only the
report's own script (a per-report nonce), so even an injected handler would not run.

The report is written while the file is read (second pass), span by span, so memory does not
grow with the number of spans.
"""

from __future__ import annotations

import argparse
import html
import os
import secrets
import sys
from importlib import resources
from pathlib import Path
from typing import IO, Any

import orjson

from brokle_trace.cli import _read
from brokle_trace.cli._read import BadLines, TraceSummary

__all__ = ["run_html", "script_safe_json", "write_report"]

_DATA_MARKER = "<!--DATA-->"
_DEFAULT_LAST = 500


def script_safe_json(value: Any) -> bytes:
    """JSON that can sit inside a ``<script>`` element: no ``<``, ``>`` or ``&`` left raw.

    Those three characters only ever occur inside JSON strings, where their ``\\uXXXX``
    escapes mean the same thing to ``JSON.parse``.

    Example:
        >>> script_safe_json({"name": "</script><b>"})
        b'{"name":"\\\\u003c/script\\\\u003e\\\\u003cb\\\\u003e"}'
    """
    raw = orjson.dumps(value)
    return raw.replace(b"<", b"\\u003c").replace(b">", b"\\u003e").replace(b"&", b"\\u0026")


def _cut(value: Any, limit: int) -> Any:
    """``value``, or a string of its first ``limit`` JSON characters when it is longer."""
    if value is None or not limit:
        return value
    raw = orjson.dumps(value)
    if len(raw) <= limit:
        return value
    text = raw[:limit].decode("utf-8", "ignore")
    return f"{text}… [cut by brokle-trace html: {len(raw):,} bytes in the file]"


def _span_record(span: dict[str, Any], trace: int, t0: int, limit: int) -> dict[str, Any]:
    """The span as the page needs it: times as µs from the trace's start (JS numbers are
    doubles, so epoch nanoseconds would lose precision), payloads cut to ``limit``."""
    error = span.get("error")
    return {
        "trace": trace,
        "id": span["span_id"],
        "parent": span.get("parent_span_id"),
        "name": span["name"],
        "type": span.get("type") or "span",
        "start": (span["start_time_ns"] - t0) / 1e3,
        "dur": max(0, span["end_time_ns"] - span["start_time_ns"]) / 1e3,
        "status": span.get("status") or "ok",
        "status_message": span.get("status_message"),
        "level": span.get("level"),
        "error": {
            "type": str(error.get("type")),
            "message": _cut(str(error.get("message")), limit),
            "stacktrace": _cut(error.get("stacktrace"), limit),
        }
        if isinstance(error, dict)
        else None,
        "input": _cut(span.get("input"), limit),
        "output": _cut(span.get("output"), limit),
        "metadata": _cut(span.get("metadata"), limit),
        "attributes": _cut(span.get("attributes"), limit),
        "tags": span.get("tags") or [],
        "user_id": span.get("user_id"),
        "session_id": span.get("session_id"),
        "service": span.get("service"),
        "environment": span.get("environment"),
        "release": span.get("release"),
    }


def _trace_record(t: TraceSummary) -> dict[str, Any]:
    return {
        "id": t.trace_id,
        "root": t.root_name,
        "start_ms": t.start_ns / 1e6,
        "duration_us": t.duration_ns / 1e3,
        "spans": t.spans,
        "errors": t.errors,
        "user": t.user_id,
        "session": t.session_id,
    }


def _template() -> str:
    return resources.files("brokle_trace.cli").joinpath("_assets/report.html").read_text("utf-8")


def write_report(
    out: IO[bytes],
    spans: Any,
    selected: list[TraceSummary],
    *,
    title: str,
    note: str = "",
    max_field_chars: int = 20_000,
) -> int:
    """Write the report for the ``selected`` traces, taking their spans from the iterable
    ``spans`` (other traces' spans are skipped as they stream by). Returns the spans written.

    Example:
        >>> import io
        >>> buf = io.BytesIO()
        >>> t = TraceSummary("a" * 32, 0, 10, spans=1, root_name="root")
        >>> s = {"name": "root", "trace_id": "a" * 32, "span_id": "b" * 16,
        ...      "start_time_ns": 0, "end_time_ns": 10}
        >>> write_report(buf, [s], [t], title="demo")
        1
        >>> b'id="brokle-data"' in buf.getvalue()
        True
    """
    head, tail = _template().split(_DATA_MARKER)
    nonce = secrets.token_urlsafe(16)
    safe_title = html.escape(title, quote=True)

    def fill(part: str) -> bytes:
        return part.replace("{{TITLE}}", safe_title).replace("{{NONCE}}", nonce).encode()

    index = {t.trace_id: (i, t.start_ns) for i, t in enumerate(selected)}
    out.write(fill(head))
    out.write(b'<script type="application/json" id="brokle-data">{"note":')
    out.write(script_safe_json(note))
    out.write(b',"traces":')
    out.write(script_safe_json([_trace_record(t) for t in selected]))
    out.write(b',"spans":[')
    written = 0
    for span in spans:
        hit = index.get(span["trace_id"])
        if hit is None:
            continue
        if written:
            out.write(b",\n")
        out.write(script_safe_json(_span_record(span, hit[0], hit[1], max_field_chars)))
        written += 1
    out.write(b"]}</script>\n")
    out.write(fill(tail))
    return written


def run_html(args: argparse.Namespace) -> int:
    """Run ``brokle-trace html`` with parsed ``args``; returns the exit code."""
    chosen = _read.select_from_args(args, "html", _DEFAULT_LAST)
    if isinstance(chosen, int):
        return chosen
    path: Path = args.file
    traces, selected, filters, bad = chosen.traces, chosen.selected, chosen.filters, chosen.bad
    matching = len(_read.select_traces(traces, filters, None))
    note = f"newest {len(selected)} of {matching} traces" if len(selected) < matching else ""
    output: Path = args.output
    tmp = output.with_name(output.name + ".tmp")
    # Written to a temporary file, then renamed: a report is never left half-written.
    with tmp.open("wb") as fh:
        written = write_report(
            fh,
            _read.iter_spans(path, BadLines(), progress_label="writing",
                             force_progress=args.progress),
            selected,
            title=args.title or f"brokle-trace: {path.name}",
            note=note,
            max_field_chars=args.max_field_chars,
        )
    os.replace(tmp, output)
    size = output.stat().st_size / 1e6
    print(f"wrote {output}: {len(selected)} traces, {written} spans ({size:.1f} MB)")
    if note:
        print(f"brokle-trace html: {note} (--last N, --all)", file=sys.stderr)
    if bad.count:
        print(f"brokle-trace html: {bad.summary()}", file=sys.stderr)
    return 0
