"""``brokle-trace view``: the traces of a JSONL file as trees in the terminal.

Colour comes from ``rich`` when it is installed (``pip install brokle-trace[view]``) and the
output is a terminal; piped output, or no ``rich``, gets the same tree as plain text. Memory
is bounded as :mod:`brokle_trace.cli._read` describes: one small summary per trace, plus the
slim spans (previews, not payloads) of at most ``MAX_SPANS_PER_GROUP`` spans at a time.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

import orjson

from brokle_trace import semconv
from brokle_trace.cli import _read
from brokle_trace.cli._read import BadLines, TraceSummary

__all__ = ["ViewSpan", "format_duration", "preview", "render_plain", "run_view", "slim"]


@dataclass(slots=True)
class ViewSpan:
    """The part of a span the tree shows: a few short strings and numbers, never payloads."""

    name: str
    type: str
    span_id: str
    parent_span_id: str | None
    start_ns: int
    end_ns: int
    error: str | None
    model: str | None
    input_tokens: int | None
    output_tokens: int | None
    cost_usd: float | None
    input_preview: str
    output_preview: str


def preview(value: Any, limit: int) -> str:
    """One line of at most ``limit`` characters for an input or output value.

    Example:
        >>> preview({"q": "hello\\nworld"}, 40)
        '{"q":"hello\\\\nworld"}'
        >>> preview("x" * 50, 10)
        'xxxxxxxxx…'
    """
    if value is None or value == {}:  # {}: a call without arguments says nothing
        return ""
    if isinstance(value, str):
        text = " ".join(value.split())
    else:
        try:
            text = orjson.dumps(value).decode()
        except TypeError:
            text = repr(value)
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


def format_duration(ns: int) -> str:
    """A duration for people: µs, ms or s.

    Example:
        >>> format_duration(1_500), format_duration(27_200_000), format_duration(3_400_000_000)
        ('1.5 µs', '27.2 ms', '3.40 s')
    """
    if ns < 1_000_000:
        return f"{ns / 1e3:.1f} µs"
    if ns < 1_000_000_000:
        return f"{ns / 1e6:.1f} ms"
    return f"{ns / 1e9:.2f} s"


def slim(span: dict[str, Any], preview_chars: int = 60) -> ViewSpan:
    """Reduce a decoded JSONL span to a :class:`ViewSpan` (the payloads become previews)."""
    error: str | None = None
    if span.get("status") == "error":
        raw = span.get("error")
        err: dict[str, Any] = raw if isinstance(raw, dict) else {}
        kind = str(err.get("type") or "error")
        message = span.get("status_message") or err.get("message") or ""
        error = preview(f"{kind}: {message}" if message else kind, 100)
    model = _read.attr(span, semconv.GEN_AI_REQUEST_MODEL) or _read.attr(
        span, semconv.GEN_AI_RESPONSE_MODEL
    )
    in_tok, out_tok = _read.tokens(span)
    return ViewSpan(
        name=span["name"],
        type=str(span.get("type") or "span"),
        span_id=span["span_id"],
        parent_span_id=span.get("parent_span_id"),
        start_ns=span["start_time_ns"],
        end_ns=span["end_time_ns"],
        error=error,
        model=str(model) if model else None,
        input_tokens=in_tok,
        output_tokens=out_tok,
        cost_usd=_read.cost(span),
        input_preview=preview(span.get("input"), preview_chars) if preview_chars else "",
        output_preview=preview(span.get("output"), preview_chars) if preview_chars else "",
    )


def walk(spans: list[ViewSpan]) -> Iterator[tuple[int, bool, list[bool], ViewSpan]]:
    """Depth-first over the trace: (depth, is_last_child, last-flags of ancestors, span).

    Spans whose parent is not in the file (a remote caller, a lost span) are shown as roots.
    Iterative, so a very deep trace cannot hit the recursion limit.
    """
    ids = {s.span_id for s in spans}
    children: dict[str | None, list[ViewSpan]] = {}
    for s in spans:
        parent = s.parent_span_id if s.parent_span_id in ids else None
        children.setdefault(parent, []).append(s)
    for kids in children.values():
        kids.sort(key=lambda s: (s.start_ns, s.span_id), reverse=True)  # popped in order
    roots = children.get(None, [])
    stack: list[tuple[ViewSpan, int, bool, list[bool]]] = [
        (r, 0, i == 0, []) for i, r in enumerate(roots)
    ]
    while stack:
        span, depth, last, lasts = stack.pop()
        yield depth, last, lasts, span
        kids = children.get(span.span_id, [])
        child_lasts = [*lasts, last] if depth else []
        stack.extend((k, depth + 1, i == 0, child_lasts) for i, k in enumerate(kids))


def _facts(span: ViewSpan) -> list[tuple[str, str]]:
    """(text, style) pieces of a span's line after its name; styles are rich style names."""
    parts: list[tuple[str, str]] = []
    if span.type != "span":
        parts.append((f"[{span.type}]", _TYPE_STYLE.get(span.type, "white")))
    parts.append((format_duration(span.end_ns - span.start_ns), "yellow"))
    if span.error:
        parts.append((f"ERROR {span.error}", "bold red"))
    if span.model:
        parts.append((span.model, "cyan"))
    if span.input_tokens is not None or span.output_tokens is not None:
        i = "?" if span.input_tokens is None else f"{span.input_tokens:,}"
        o = "?" if span.output_tokens is None else f"{span.output_tokens:,}"
        parts.append((f"{i}→{o} tok", "magenta"))
    if span.cost_usd is not None:
        parts.append((f"${span.cost_usd:.4f}", "green"))
    return parts


_TYPE_STYLE = {
    "llm": "bright_magenta",
    "retrieval": "bright_blue",
    "tool": "bright_yellow",
    "embedding": "bright_cyan",
    "agent": "bright_green",
    "chain": "blue",
}


def _preview_line(span: ViewSpan) -> str:
    parts = []
    if span.input_preview:
        parts.append(f"in: {span.input_preview}")
    if span.output_preview:
        parts.append(f"out: {span.output_preview}")
    return "  ".join(parts)


def _header(t: TraceSummary) -> str:
    when = datetime.fromtimestamp(t.start_ns / 1e9).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    bits = [f"trace {t.trace_id}", when, format_duration(t.duration_ns), f"{t.spans} spans"]
    if t.errors:
        bits.append(f"{t.errors} error{'s' if t.errors > 1 else ''}")
    if t.user_id:
        bits.append(f"user={t.user_id}")
    if t.session_id:
        bits.append(f"session={t.session_id}")
    return "  ".join(bits)


def render_plain(t: TraceSummary, spans: list[ViewSpan], max_spans: int = 0) -> str:
    """One trace as plain text: a header line, then the tree (``max_spans`` 0: no limit).

    Example:
        >>> t = TraceSummary("ab" * 16, 0, 2_000_000, spans=1)
        >>> s = ViewSpan("root", "span", "1" * 16, None, 0, 2_000_000, None, None, None,
        ...              None, None, '"hi"', "")
        >>> print(render_plain(t, [s]).splitlines()[1])
        root  2.0 ms
    """
    lines = [_header(t)]
    for n, (depth, last, lasts, span) in enumerate(walk(spans)):
        if max_spans and n >= max_spans:
            lines.append(f"… {len(spans) - n} more spans (--max-spans 0 shows all)")
            break
        guide = "".join("   " if done else "│  " for done in lasts)
        branch = ("└─ " if last else "├─ ") if depth else ""
        facts = "  ".join(text for text, _ in _facts(span))
        lines.append(f"{guide}{branch}{span.name}  {facts}")
        more = _preview_line(span)
        if more:
            cont = guide + (("   " if last else "│  ") if depth else "")
            lines.append(f"{cont}   {more}")
    return "\n".join(lines)


def _render_rich(console: Any, t: TraceSummary, spans: list[ViewSpan], max_spans: int) -> None:
    from rich.text import Text
    from rich.tree import Tree

    top = Tree(Text(_header(t), style="bold", no_wrap=True, overflow="ellipsis"),
               guide_style="dim")
    nodes: dict[str, Any] = {}
    for n, (depth, _last, _lasts, span) in enumerate(walk(spans)):
        if max_spans and n >= max_spans:
            top.add(Text(f"… {len(spans) - n} more spans (--max-spans 0 shows all)", "dim"))
            break
        label = Text(no_wrap=True, overflow="ellipsis")
        label.append(span.name, style="bold red" if span.error else "bold")
        for text, style in _facts(span):
            label.append("  ")
            label.append(text, style=style)
        more = _preview_line(span)
        if more:
            label.append("\n" + more, style="dim")
        parent = nodes.get(span.parent_span_id or "") if depth else None
        nodes[span.span_id] = (parent or top).add(label)
    console.print(top)
    console.print()


def _rich_console(color: str, stream: TextIO) -> Any | None:
    """A rich Console when colour is wanted and possible, else None (plain text)."""
    if color == "never" or (color == "auto" and (os.environ.get("NO_COLOR") or not
                                                 stream.isatty())):
        return None
    try:
        from rich.console import Console
    except ImportError:
        if color == "always":
            print("brokle-trace: colour needs `pip install brokle-trace[view]`; plain text",
                  file=sys.stderr)
        return None
    return Console(file=stream, force_terminal=color == "always" or None, highlight=False,
                   soft_wrap=False)


def run_view(args: argparse.Namespace, stdout: TextIO | None = None) -> int:
    """Run ``brokle-trace view`` with parsed ``args``; returns the exit code."""
    out = stdout or sys.stdout
    chosen = _read.select_from_args(args, "view", 20)
    if isinstance(chosen, int):
        return chosen
    path: Path = args.file
    selected, bad = chosen.selected, chosen.bad
    console = _rich_console(args.color, out)
    preview_chars = 0 if args.no_preview else args.preview_chars
    for group in _read.chunked(selected):
        spans = _read.spans_of(
            lambda: _read.iter_spans(path, BadLines(), progress_label="reading",
                                     force_progress=args.progress),
            group,
            lambda s: slim(s, preview_chars),
        )
        for t in group:
            if console is not None:
                _render_rich(console, t, spans[t.trace_id], args.max_spans)
            else:
                out.write(render_plain(t, spans[t.trace_id], args.max_spans) + "\n\n")
        del spans  # before the next group's pass: only one group is ever held
    matching = len(_read.select_traces(chosen.traces, chosen.filters, None))
    if len(selected) < matching:
        print(f"showing the {len(selected)} newest of {matching} traces (--last N, --all)",
              file=sys.stderr)
    if bad.count:
        print(f"brokle-trace view: {bad.summary()}", file=sys.stderr)
    out.flush()
    return 0
