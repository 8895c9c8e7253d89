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
grow with the number of spans. Each span record carries what its waterfall row shows (model,
tokens, cost; retrieval index and document count; tool name), so the page never digs through
attributes to draw a row. ``brokle-trace serve`` sends the same records as the file grows.
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

from brokle_trace import semconv
from brokle_trace.cli import _read, _traces
from brokle_trace.cli._calls import model_of, number
from brokle_trace.cli._read import BadLines
from brokle_trace.cli._traces import TraceSummary

__all__ = ["run_html", "script_safe_json", "span_record", "trace_record", "write_report"]

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


def _row_facts(span: dict[str, Any]) -> dict[str, Any]:
    """What the span's waterfall row shows besides its name and duration."""
    attrs = span.get("attributes")
    attrs = attrs if isinstance(attrs, dict) else {}
    facts: dict[str, Any] = {}
    model = model_of(span)
    if model:
        facts["model"] = model
    tin = number(attrs.get(semconv.GEN_AI_USAGE_INPUT_TOKENS))
    tout = number(attrs.get(semconv.GEN_AI_USAGE_OUTPUT_TOKENS))
    cost = number(attrs.get(semconv.BROKLE_COST_TOTAL_USD))
    if tin is not None:
        facts["tin"] = tin
    if tout is not None:
        facts["tout"] = tout
    if cost is not None:
        facts["cost"] = cost
    if attrs.get(semconv.BROKLE_ROLLUP_LLM_CALLS) and (model or span.get("type") == "llm"):
        facts["container"] = True  # the call below it is the one counted
    kind = span.get("type")
    if kind == "retrieval" or semconv.GEN_AI_DATA_SOURCE_ID in attrs:
        index = attrs.get(semconv.GEN_AI_DATA_SOURCE_ID)
        if index:
            facts["index"] = str(index)
        docs = number(attrs.get(semconv.BROKLE_RETRIEVAL_DOCUMENT_COUNT))
        output = span.get("output")
        if docs is None and kind == "retrieval" and isinstance(output, list):
            docs = len(output)
        if docs is not None:
            facts["docs"] = int(docs)
    tool = attrs.get(semconv.GEN_AI_TOOL_NAME)
    if tool or kind == "tool":
        facts["tool"] = str(tool or span["name"])
    return facts


def span_record(span: dict[str, Any], trace: int | str, limit: int) -> dict[str, Any]:
    """The span as the page needs it: times in µs since the epoch (doubles hold those to a
    quarter of a µs; epoch nanoseconds would lose precision), payloads cut to ``limit``;
    ``trace`` is the trace's index in the report (or its id, in ``serve``'s updates).

    Example:
        >>> r = span_record({"name": "n", "trace_id": "t", "span_id": "s", "type": "tool",
        ...                  "start_time_ns": 1_500, "end_time_ns": 4_500}, 0, 100)
        >>> (r["start"], r["dur"], r["tool"])
        (1.5, 3.0, 'n')
    """
    error = span.get("error")
    return {
        "trace": trace,
        "id": span["span_id"],
        "parent": span.get("parent_span_id"),
        "name": span["name"],
        "type": span.get("type") or "span",
        "start": span["start_time_ns"] / 1e3,
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
        **_row_facts(span),
    }


def trace_record(t: TraceSummary) -> dict[str, Any]:
    """A trace as the page's trace list and header show it, totals included.

    Example:
        >>> trace_record(TraceSummary("a" * 32, 1_000, 3_000, spans=2))["duration_us"]
        2.0
    """
    return {
        "id": t.trace_id,
        "root": t.root_name,
        "start_us": t.start_ns / 1e3,
        "duration_us": t.duration_ns / 1e3,
        "spans": t.spans,
        "errors": t.errors,
        "user": t.user_id,
        "session": t.session_id,
        "tags": list(t.tags),
        "llm_calls": t.llm_calls,
        "input_tokens": t.input_tokens,
        "output_tokens": t.output_tokens,
        "cost_usd": t.cost_usd,
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
    live: dict[str, Any] | None = None,
) -> int:
    """Write the report for the ``selected`` traces, taking their spans from the iterable
    ``spans`` (other traces' spans are skipped as they stream by). Returns the spans written.
    ``live`` (``serve``) tells the page where to ask for the spans that arrive later.

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

    # A served page asks its own server for updates; a report file may fetch nothing at all.
    connect = "; connect-src 'self'" if live else ""

    def fill(part: str) -> bytes:
        return (
            part.replace("{{TITLE}}", safe_title)
            .replace("{{NONCE}}", nonce)
            .replace("{{CONNECT}}", connect)
            .encode()
        )

    index = {t.trace_id: i for i, t in enumerate(selected)}
    out.write(fill(head))
    out.write(b'<script type="application/json" id="brokle-data">{"note":')
    out.write(script_safe_json(note))
    out.write(b',"live":')
    out.write(script_safe_json(live))
    out.write(b',"traces":')
    out.write(script_safe_json([trace_record(t) for t in selected]))
    out.write(b',"spans":[')
    written = 0
    for span in spans:
        hit = index.get(span["trace_id"])
        if hit is None:
            continue
        if written:
            out.write(b",\n")
        out.write(script_safe_json(span_record(span, hit, max_field_chars)))
        written += 1
    out.write(b"]}</script>\n")
    out.write(fill(tail))
    return written


def run_html(args: argparse.Namespace) -> int:
    """Run ``brokle-trace html`` with parsed ``args``; returns the exit code."""
    chosen = _traces.select_from_args(args, "html", _DEFAULT_LAST)
    if isinstance(chosen, int):
        return chosen
    sources = chosen.sources
    traces, selected, filters, bad = chosen.traces, chosen.selected, chosen.filters, chosen.bad
    matching = len(_traces.select_traces(traces, filters, None))
    note = f"newest {len(selected)} of {matching} traces" if len(selected) < matching else ""
    output: Path = args.output
    tmp = output.with_name(output.name + ".tmp")
    # Written to a temporary file, then renamed: a report is never left half-written.
    with tmp.open("wb") as fh:
        written = write_report(
            fh,
            _read.iter_spans(
                sources, BadLines(), progress_label="writing", force_progress=args.progress
            ),
            selected,
            title=args.title or f"brokle-trace: {sources.actives[0].name}",
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
