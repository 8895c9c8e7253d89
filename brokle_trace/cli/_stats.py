"""``brokle-trace stats``: calls, error rate, latency percentiles, tokens and cost.

One streaming pass over the file. Per group (provider/model, span name) it keeps counters
and the durations as 8-byte integers in an ``array`` (exact percentiles need them all:
about 16 bytes per span in all), and one small summary per trace for the slowest traces.
"""

from __future__ import annotations

import argparse
import heapq
import sys
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

import orjson

from brokle_trace import semconv
from brokle_trace.cli import _read
from brokle_trace.cli._read import BadLines
from brokle_trace.cli._view import _rich_console, format_duration

__all__ = ["Group", "Stats", "percentile", "run_stats"]

#: Distinct span names tracked one by one; beyond that they share the "(other names)" row, so
#: a file with a unique name per span (ids in names) cannot grow the table without bound.
MAX_NAMES = 10_000


def percentile(sorted_values: array[int] | list[int], p: float) -> int:
    """Nearest-rank percentile of already sorted values (0 for none).

    Example:
        >>> percentile(list(range(1, 101)), 95), percentile([7], 50), percentile([], 50)
        (95, 7, 0)
    """
    if not sorted_values:
        return 0
    rank = max(1, -(-len(sorted_values) * p // 100))  # ceil without floats going wrong
    return sorted_values[int(rank) - 1]


@dataclass
class Group:
    """Counters of one row: a provider/model pair or a span name."""

    calls: int = 0
    errors: int = 0
    durations: array[int] = field(default_factory=lambda: array("q"))
    input_tokens: int | None = None  # None: no span of the group recorded any
    output_tokens: int | None = None
    cost_usd: float | None = None

    def add(self, span: dict[str, Any]) -> None:
        """Count one span."""
        self.calls += 1
        if span.get("status") == "error":
            self.errors += 1
        self.durations.append(max(0, span["end_time_ns"] - span["start_time_ns"]))
        i, o = _read.tokens(span)
        if i is not None:
            self.input_tokens = (self.input_tokens or 0) + i
        if o is not None:
            self.output_tokens = (self.output_tokens or 0) + o
        c = _read.cost(span)
        if c is not None:
            self.cost_usd = (self.cost_usd or 0.0) + c

    def row(self, key: str) -> dict[str, Any]:
        """The row as plain values (durations in ms)."""
        d = array("q", sorted(self.durations))
        return {
            "key": key,
            "calls": self.calls,
            "errors": self.errors,
            "error_rate": self.errors / self.calls if self.calls else 0.0,
            "p50_ms": percentile(d, 50) / 1e6,
            "p95_ms": percentile(d, 95) / 1e6,
            "max_ms": (d[-1] if d else 0) / 1e6,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": self.cost_usd,
        }


@dataclass
class Stats:
    """Aggregates of a whole file, fed one span at a time.

    Example:
        >>> s = Stats()
        >>> s.add({"name": "llm", "trace_id": "t", "span_id": "a", "start_time_ns": 0,
        ...        "end_time_ns": 2_000_000, "attributes": {"gen_ai.request.model": "m",
        ...        "gen_ai.provider.name": "p", "gen_ai.usage.input_tokens": 3}})
        >>> s.by_model["p / m"].row("p / m")["input_tokens"]
        3
    """

    spans: int = 0
    by_model: dict[str, Group] = field(default_factory=dict)
    by_name: dict[str, Group] = field(default_factory=dict)

    def add(self, span: dict[str, Any]) -> None:
        """Count one span in its model row (if it names a model) and its name row."""
        self.spans += 1
        model = _read.attr(span, semconv.GEN_AI_REQUEST_MODEL) or _read.attr(
            span, semconv.GEN_AI_RESPONSE_MODEL)
        if model:
            provider = _read.attr(span, semconv.GEN_AI_PROVIDER_NAME) or "?"
            self.by_model.setdefault(f"{provider} / {model}", Group()).add(span)
        name = span["name"]
        if name not in self.by_name and len(self.by_name) >= MAX_NAMES:
            name = "(other names)"
        self.by_name.setdefault(name, Group()).add(span)

    def feed(self, spans: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """Count each span and pass it on, so one pass also feeds the trace summaries."""
        for span in spans:
            self.add(span)
            yield span


def _rows(groups: dict[str, Group], top: int) -> list[dict[str, Any]]:
    rows = [g.row(k) for k, g in groups.items()]
    rows.sort(key=lambda r: (-r["calls"], r["key"]))
    return rows[:top] if top > 0 else rows


_COLUMNS = ("calls", "errors", "p50", "p95", "max", "tokens in", "tokens out", "cost $")


def _cells(r: dict[str, Any]) -> list[str]:
    cost = "-" if r["cost_usd"] is None else f"{r['cost_usd']:.4f}"
    return [
        f"{r['calls']:,}",
        f"{r['error_rate']:.1%}" if r["errors"] else "0",
        format_duration(int(r["p50_ms"] * 1e6)),
        format_duration(int(r["p95_ms"] * 1e6)),
        format_duration(int(r["max_ms"] * 1e6)),
        "-" if r["input_tokens"] is None else f"{r['input_tokens']:,}",
        "-" if r["output_tokens"] is None else f"{r['output_tokens']:,}",
        cost,
    ]


def _plain_table(title: str, headers: list[str], rows: list[list[str]]) -> str:
    """Columns padded to their widest cell; first column left-aligned, the rest right."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(headers)]

    def fmt(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = (c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))
        return "  ".join([first, *rest]).rstrip()

    lines = [title, fmt(headers), fmt(["-" * w for w in widths])]
    lines.extend(fmt(r) for r in rows)
    return "\n".join(lines)


def run_stats(args: argparse.Namespace, stdout: TextIO | None = None) -> int:
    """Run ``brokle-trace stats`` with parsed ``args``; returns the exit code."""
    out = stdout or sys.stdout
    path: Path = args.file
    if not path.is_file():
        print(f"brokle-trace stats: no such file: {path}", file=sys.stderr)
        return 2
    bad = BadLines()
    stats = Stats()
    traces = _read.scan_traces(stats.feed(
        _read.iter_spans(path, bad, progress_label="reading", force_progress=args.progress)))
    if not stats.spans:
        print(f"brokle-trace stats: no spans in {path}", file=sys.stderr)
        if bad.count:
            print(f"brokle-trace stats: {bad.summary()}", file=sys.stderr)
        return 1
    top = args.top
    slowest = heapq.nlargest(top if top > 0 else len(traces), traces.values(),
                             key=lambda t: t.duration_ns)
    report: dict[str, Any] = {
        "file": str(path),
        "spans": stats.spans,
        "traces": len(traces),
        "bad_lines": bad.count,
        "by_model": _rows(stats.by_model, top),
        "by_name": _rows(stats.by_name, top),
        "slowest_traces": [
            {"trace_id": t.trace_id, "root": t.root_name, "duration_ms": t.duration_ns / 1e6,
             "spans": t.spans, "errors": t.errors, "start_ns": t.start_ns}
            for t in slowest
        ],
    }
    if args.json:
        out.write(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        _print_tables(report, args.color, out)
    if bad.count:
        print(f"brokle-trace stats: {bad.summary()}", file=sys.stderr)
    return 0


def _print_tables(report: dict[str, Any], color: str, out: TextIO) -> None:
    tables: list[tuple[str, list[str], list[list[str]]]] = [
        ("By provider / model", ["provider / model", *_COLUMNS],
         [[r["key"], *_cells(r)] for r in report["by_model"]]),
        ("By span name", ["span name", *_COLUMNS],
         [[r["key"], *_cells(r)] for r in report["by_name"]]),
        ("Slowest traces", ["trace", "root span", "duration", "spans", "errors", "started"],
         [[t["trace_id"], t["root"] or "?", format_duration(int(t["duration_ms"] * 1e6)),
           str(t["spans"]), str(t["errors"]),
           datetime.fromtimestamp(t["start_ns"] / 1e9).strftime("%Y-%m-%d %H:%M:%S")]
          for t in report["slowest_traces"]]),
    ]
    head = f"{report['file']}: {report['spans']:,} spans in {report['traces']:,} traces"
    console = _rich_console(color, out)
    if console is None:
        out.write(head + "\n\n")
        for title, headers, rows in tables:
            if rows:
                out.write(_plain_table(title, headers, rows) + "\n\n")
        return
    from rich.table import Table

    console.print(head, style="bold")
    for title, headers, rows in tables:
        if not rows:
            continue
        table = Table(title=title, title_justify="left", title_style="bold")
        for i, h in enumerate(headers):
            table.add_column(h, justify="left" if i == 0 else "right",
                             no_wrap=i == 0)
        for r in rows:
            table.add_row(*r)
        console.print(table)
