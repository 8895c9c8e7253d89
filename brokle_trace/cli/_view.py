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
from datetime import datetime
from typing import Any, TextIO

import orjson

from brokle_trace import semconv
from brokle_trace.cli import _read, _traces
from brokle_trace.cli._calls import format_cost
from brokle_trace.cli._read import BadLines
from brokle_trace.cli._sources import Sources
from brokle_trace.cli._traces import TraceSummary
from brokle_trace.cli._tree import Hidden, ViewSpan, error_path, walk

__all__ = [
    "Hidden",
    "ViewSpan",
    "format_duration",
    "preview",
    "render_plain",
    "run_view",
    "slim",
    "totals_text",
]


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
        detail=_detail(span),
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


def _detail(span: dict[str, Any]) -> str:
    bits = []
    index = _read.attr(span, semconv.GEN_AI_DATA_SOURCE_ID)
    if index:
        bits.append(str(index))
    docs = _read.attr(span, semconv.BROKLE_RETRIEVAL_DOCUMENT_COUNT)
    if isinstance(docs, int) and not isinstance(docs, bool):
        bits.append(f"{docs} doc{'s' if docs != 1 else ''}")
    tool = _read.attr(span, semconv.GEN_AI_TOOL_NAME)
    if tool and tool != span["name"]:
        bits.append(f"tool {tool}")
    return "  ".join(bits)


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
        parts.append((format_cost(span.cost_usd), "green"))
    if span.detail:
        parts.append((span.detail, "bright_blue"))
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


def totals_text(t: TraceSummary) -> str:
    """A trace's LLM totals: ``5 LLM calls  221→120 tok  $0.00050`` (empty without calls).

    Example:
        >>> t = TraceSummary("a" * 32, 0, 1, llm_calls=2, input_tokens=70, output_tokens=48,
        ...                  cost_usd=0.0000391)
        >>> totals_text(t)
        '2 LLM calls  70→48 tok  $0.000039'
    """
    if not t.llm_calls:
        return ""
    bits = [f"{t.llm_calls} LLM call{'s' if t.llm_calls != 1 else ''}"]
    if t.input_tokens or t.output_tokens:
        bits.append(f"{t.input_tokens:,}→{t.output_tokens:,} tok")
    if t.cost_usd is not None:
        bits.append(format_cost(t.cost_usd))
    return "  ".join(bits)


def _header(t: TraceSummary, note: str = "") -> str:
    when = datetime.fromtimestamp(t.start_ns / 1e9).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    bits = [
        f"trace {t.trace_id}{note}",
        when,
        format_duration(t.duration_ns),
        f"{t.spans} span{'s' if t.spans != 1 else ''}",
    ]
    totals = totals_text(t)
    if totals:
        bits.append(totals)
    if t.errors:
        bits.append(f"{t.errors} error{'s' if t.errors > 1 else ''}")
    if t.user_id:
        bits.append(f"user={t.user_id}")
    if t.session_id:
        bits.append(f"session={t.session_id}")
    return "  ".join(bits)


def _hidden_text(h: Hidden) -> str:
    return f"… {h.spans} span{'s' if h.spans != 1 else ''} without errors"


def render_plain(
    t: TraceSummary,
    spans: list[ViewSpan],
    max_spans: int = 0,
    *,
    errors_only: bool = False,
    note: str = "",
) -> str:
    """One trace as plain text: a header line, then the tree (``max_spans`` 0: no limit).

    ``errors_only`` expands only the paths to failed spans; the rest of each level is
    summed up as ``… N spans without errors``.

    Example:
        >>> t = TraceSummary("ab" * 16, 0, 2_000_000, spans=1)
        >>> s = ViewSpan("root", "span", "1" * 16, None, 0, 2_000_000, None, None, None,
        ...              None, None, '"hi"', "")
        >>> print(render_plain(t, [s]).splitlines()[1])
        root  2.0 ms
    """
    lines = [_header(t, note)]
    keep = error_path(spans) if errors_only else None
    shown = 0
    for n, (depth, last, lasts, span) in enumerate(walk(spans, keep)):
        if max_spans and n >= max_spans:
            lines.append(f"… {len(spans) - shown} more spans (--max-spans 0 shows all)")
            break
        guide = "".join("   " if done else "│  " for done in lasts)
        branch = ("└─ " if last else "├─ ") if depth else ""
        if isinstance(span, Hidden):
            lines.append(f"{guide}{branch}{_hidden_text(span)}")
            shown += span.spans
            continue
        shown += 1
        facts = "  ".join(text for text, _ in _facts(span))
        lines.append(f"{guide}{branch}{span.name}  {facts}")
        more = _preview_line(span)
        if more:
            cont = guide + (("   " if last else "│  ") if depth else "")
            lines.append(f"{cont}   {more}")
    return "\n".join(lines)


def render_rich(
    console: Any,
    t: TraceSummary,
    spans: list[ViewSpan],
    max_spans: int,
    *,
    errors_only: bool = False,
    note: str = "",
) -> None:
    """One trace printed on a rich ``console``: the same content as :func:`render_plain`."""
    from rich.text import Text
    from rich.tree import Tree

    top = Tree(
        Text(_header(t, note), style="bold", no_wrap=True, overflow="ellipsis"), guide_style="dim"
    )
    keep = error_path(spans) if errors_only else None
    shown = 0
    parents: list[Any] = []  # the node of the last item at each depth
    for n, (depth, _last, _lasts, span) in enumerate(walk(spans, keep)):
        if max_spans and n >= max_spans:
            top.add(Text(f"… {len(spans) - shown} more spans (--max-spans 0 shows all)", "dim"))
            break
        del parents[depth:]
        parent_node = parents[depth - 1] if depth else top
        if isinstance(span, Hidden):
            parents.append(parent_node.add(Text(_hidden_text(span), style="dim")))
            shown += span.spans
            continue
        shown += 1
        label = Text(no_wrap=True, overflow="ellipsis")
        label.append(span.name, style="bold red" if span.error else "bold")
        for text, style in _facts(span):
            label.append("  ")
            label.append(text, style=style)
        more = _preview_line(span)
        if more:
            label.append("\n" + more, style="dim")
        parents.append(parent_node.add(label))
    console.print(top)
    console.print()


def rich_console(color: str, stream: TextIO) -> Any | None:
    """A rich Console when colour is wanted and possible, else None (plain text)."""
    if color == "never" or (
        color == "auto" and (os.environ.get("NO_COLOR") or not stream.isatty())
    ):
        return None
    try:
        from rich.console import Console
    except ImportError:
        if color == "always":
            print(
                "brokle-trace: colour needs `pip install brokle-trace[view]`; plain text",
                file=sys.stderr,
            )
        return None
    return Console(
        file=stream, force_terminal=color == "always" or None, highlight=False, soft_wrap=False
    )


def print_trace(
    out: TextIO,
    console: Any | None,
    t: TraceSummary,
    spans: list[ViewSpan],
    args: argparse.Namespace,
    *,
    note: str = "",
) -> None:
    """One trace, as a rich tree on ``console`` or as plain text on ``out``."""
    if console is not None:
        render_rich(console, t, spans, args.max_spans, errors_only=args.errors, note=note)
    else:
        out.write(
            render_plain(t, spans, args.max_spans, errors_only=args.errors, note=note) + "\n\n"
        )
        out.flush()


def run_view(
    args: argparse.Namespace,
    stdout: TextIO | None = None,
    *,
    sources: Sources | None = None,
    quiet_empty: bool = False,
) -> int:
    """Run ``brokle-trace view`` with parsed ``args``; returns the exit code.

    ``sources`` replaces the files of ``args`` (``--follow`` passes them with stop offsets);
    ``quiet_empty`` says nothing when no trace matches (``--follow`` waits for some).
    """
    out = stdout or sys.stdout
    chosen = _traces.select_from_args(args, "view", 20, sources, quiet_empty=quiet_empty)
    if isinstance(chosen, int):
        return chosen
    selected, bad, sources = chosen.selected, chosen.bad, chosen.sources
    console = rich_console(args.color, out)
    preview_chars = 0 if args.no_preview else args.preview_chars
    for group in _traces.chunked(selected):
        spans = _traces.spans_of(
            lambda: _read.iter_spans(
                sources, BadLines(), progress_label="reading", force_progress=args.progress
            ),
            group,
            lambda s: slim(s, preview_chars),
        )
        for t in group:
            print_trace(out, console, t, spans[t.trace_id], args)
        del spans  # before the next group's pass: only one group is ever held
    matching = len(_traces.select_traces(chosen.traces, chosen.filters, None))
    if len(selected) < matching:
        print(
            f"showing the {len(selected)} newest of {matching} traces (--last N, --all)",
            file=sys.stderr,
        )
    if bad.count:
        print(f"brokle-trace view: {bad.summary()}", file=sys.stderr)
    out.flush()
    return 0
