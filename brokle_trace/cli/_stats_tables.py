"""The tables of ``brokle-trace stats``: plain text (pipes, no ``rich``) or rich tables.

Every number cell is formatted here, once, so the plain and the rich output agree: errors as
``count (rate)`` in every table, costs with enough significant digits (``$0.000019``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TextIO

from brokle_trace.cli._calls import format_cost
from brokle_trace.cli._view import format_duration, rich_console

__all__ = ["errors_cell", "plain_table", "print_tables"]

_LATENCY = ("calls", "errors", "p50", "p95", "max", "tokens in", "tokens out", "cost")
_BY_KEY = ("traces", "spans", "errors", "LLM calls", "tokens in", "tokens out", "cost")


def errors_cell(errors: int, rate: float) -> str:
    """The one error column: count and rate.

    Example:
        >>> errors_cell(4, 0.2), errors_cell(0, 0.0)
        ('4 (20.0%)', '0 (0.0%)')
    """
    return f"{errors:,} ({rate:.1%})"


def _num(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _cost(value: float | None) -> str:
    return "-" if value is None else format_cost(value)


def _latency_cells(r: dict[str, Any]) -> list[str]:
    return [
        f"{r['calls']:,}",
        errors_cell(r["errors"], r["error_rate"]),
        format_duration(int(r["p50_ms"] * 1e6)),
        format_duration(int(r["p95_ms"] * 1e6)),
        format_duration(int(r["max_ms"] * 1e6)),
        _num(r["input_tokens"]),
        _num(r["output_tokens"]),
        _cost(r["cost_usd"]),
    ]


def _key_cells(r: dict[str, Any]) -> list[str]:
    return [
        f"{r['traces']:,}",
        f"{r['spans']:,}",
        errors_cell(r["errors"], r["error_rate"]),
        f"{r['llm_calls']:,}",
        f"{r['input_tokens']:,}",
        f"{r['output_tokens']:,}",
        _cost(r["cost_usd"]),
    ]


def plain_table(
    title: str, headers: list[str], rows: list[list[str]], total: list[str] | None = None
) -> str:
    """Columns padded to their widest cell; first column left-aligned, the rest right; the
    ``total`` row under a rule.

    Example:
        >>> print(plain_table("T", ["k", "n"], [["a", "1"]], ["total", "1"]))
        T
        k      n
        -----  -
        a      1
        -----  -
        total  1
    """
    every = [*rows, *([total] if total else [])]
    widths = [
        max(len(h), *(len(r[i]) for r in every)) if every else len(h) for i, h in enumerate(headers)
    ]

    def fmt(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = (c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))
        return "  ".join([first, *rest]).rstrip()

    rule = fmt(["-" * w for w in widths])
    lines = [title, fmt(headers), rule]
    lines.extend(fmt(r) for r in rows)
    if total:
        lines += [rule, fmt(total)]
    return "\n".join(lines)


Table = tuple[str, list[str], list[list[str]], list[str] | None]


def _tables(report: dict[str, Any]) -> list[Table]:
    total = report["total"]
    tables: list[Table] = [
        (
            "By provider / model (each LLM call once)",
            ["provider / model", *_LATENCY],
            [[r["key"], *_latency_cells(r)] for r in report["by_model"]],
            ["total", *_latency_cells(total)] if total["calls"] else None,
        ),
        (
            "By span name",
            ["span name", *_LATENCY],
            [[r["key"], *_latency_cells(r)] for r in report["by_name"]],
            None,
        ),
    ]
    for by in ("user", "session", "tag"):
        rows = report.get(f"by_{by}")
        if rows is not None:
            tables.append(
                (f"By {by}", [by, *_BY_KEY], [[r["key"], *_key_cells(r)] for r in rows], None)
            )
    tables.append(
        (
            "Slowest traces",
            ["trace", "root span", "duration", "spans", "errors", "LLM calls", "cost", "started"],
            [
                [
                    t["trace_id"],
                    t["root"] or "?",
                    format_duration(int(t["duration_ms"] * 1e6)),
                    f"{t['spans']:,}",
                    f"{t['errors']:,}",
                    f"{t['llm_calls']:,}",
                    _cost(t["cost_usd"]),
                    datetime.fromtimestamp(t["start_ns"] / 1e9).strftime("%Y-%m-%d %H:%M:%S"),
                ]
                for t in report["slowest_traces"]
            ],
            None,
        )
    )
    return tables


def print_tables(report: dict[str, Any], color: str, out: TextIO) -> None:
    """Write the report's head line and tables to ``out`` (rich tables on a terminal)."""
    files = report["files"]
    more = len(files) - 1
    name = report["file"] if not more else f"{report['file']} (+{more} file{'s' * (more > 1)})"
    head = f"{name}: {report['summary']}"
    tables = _tables(report)
    console = rich_console(color, out)
    if console is None:
        out.write(head + "\n\n")
        for title, headers, rows, total in tables:
            if rows:
                out.write(plain_table(title, headers, rows, total) + "\n\n")
        return
    from rich.table import Table as RichTable

    console.print(head, style="bold", highlight=False)
    for title, headers, rows, total in tables:
        if not rows:
            continue
        table = RichTable(title=title, title_justify="left", title_style="bold")
        for i, h in enumerate(headers):
            table.add_column(h, justify="left" if i == 0 else "right", no_wrap=i == 0)
        for r in rows:
            table.add_row(*r)
        if total:
            table.add_section()
            table.add_row(*total, style="bold")
        console.print(table)
