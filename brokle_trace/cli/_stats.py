"""``brokle-trace stats``: calls, errors, latency percentiles, tokens and cost, with a total.

One streaming pass over the files. Per group (provider/model, span name, and with ``--by``
user, session or tag) it keeps counters; the latency tables keep the durations as 8-byte
integers in an ``array`` (exact percentiles need them all: about 16 bytes per span in all),
and one small summary per trace for the slowest traces. LLM calls are counted once each
(:mod:`brokle_trace.cli._calls`): the model table and the total never count an
``@observe_llm`` span and the client span inside it twice.
"""

from __future__ import annotations

import argparse
import heapq
import sys
from array import array
from dataclasses import dataclass, field
from typing import Any, TextIO

import orjson

from brokle_trace.cli import _read, _sources
from brokle_trace.cli._calls import Call, format_cost
from brokle_trace.cli._read import BadLines
from brokle_trace.cli._stats_tables import print_tables
from brokle_trace.cli._traces import Scanner

__all__ = ["Group", "KeyGroup", "Stats", "percentile", "run_stats"]

#: Distinct span names (users, sessions, tags) tracked one by one; beyond that they share an
#: "(other ...)" row, so a file with a unique name per span cannot grow a table without bound.
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


def _plus(total: float | int | None, value: float | int | None, sign: int) -> Any:
    if value is None:
        return total
    out = (total or 0) + sign * value
    return round(out, 12) if isinstance(out, float) else out


@dataclass
class Group:
    """Counters of one latency row: a provider/model pair, a span name, or the total."""

    calls: int = 0
    errors: int = 0
    durations: array[int] = field(default_factory=lambda: array("q"))
    input_tokens: int | None = None  # None: no span of the group recorded any
    output_tokens: int | None = None
    cost_usd: float | None = None

    def add(
        self,
        duration_ns: int,
        error: bool,
        tin: int | None,
        tout: int | None,
        cost: float | None,
        *,
        sign: int = 1,
    ) -> None:
        """Count one call (``sign=-1``: take one back, it turned out to be a container)."""
        self.calls += sign
        self.errors += sign * error
        if sign > 0:
            self.durations.append(duration_ns)
        else:
            self.durations.remove(duration_ns)
        self.input_tokens = _plus(self.input_tokens, tin, sign)
        self.output_tokens = _plus(self.output_tokens, tout, sign)
        self.cost_usd = _plus(self.cost_usd, cost, sign)

    def add_call(self, call: Call, sign: int = 1) -> None:
        """Count one LLM call."""
        self.add(
            call.duration_ns,
            call.error,
            call.input_tokens,
            call.output_tokens,
            call.cost_usd,
            sign=sign,
        )

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
class KeyGroup:
    """Counters of one ``--by`` row (a user, a session or a tag): traces, spans, calls, cost."""

    traces: set[str] = field(default_factory=set)
    spans: int = 0
    errors: int = 0
    llm_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None

    def row(self, key: str) -> dict[str, Any]:
        """The row as plain values."""
        return {
            "key": key,
            "traces": len(self.traces),
            "spans": self.spans,
            "errors": self.errors,
            "error_rate": self.errors / self.spans if self.spans else 0.0,
            "llm_calls": self.llm_calls,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": self.cost_usd,
        }


def _keys_of(span: dict[str, Any], by: str) -> list[str]:
    if by == "tag":
        tags = span.get("tags")
        return [str(t) for t in tags] if isinstance(tags, list) and tags else ["(no tag)"]
    value = span.get(f"{by}_id")
    return [str(value)] if value else [f"(no {by})"]


@dataclass
class Stats:
    """Aggregates of whole files, fed one span at a time.

    Example:
        >>> s = Stats()
        >>> s.add({"name": "llm", "trace_id": "t", "span_id": "a", "start_time_ns": 0,
        ...        "end_time_ns": 2_000_000, "attributes": {"gen_ai.request.model": "m",
        ...        "gen_ai.provider.name": "p", "gen_ai.usage.input_tokens": 3}})
        >>> s.by_model["p / m"].row("p / m")["input_tokens"], s.total.calls
        (3, 1)
    """

    by: tuple[str, ...] = ()
    spans: int = 0
    errors: int = 0
    scanner: Scanner = field(default_factory=Scanner)
    total: Group = field(default_factory=Group)
    by_model: dict[str, Group] = field(default_factory=dict)
    by_name: dict[str, Group] = field(default_factory=dict)
    by_key: dict[str, dict[str, KeyGroup]] = field(default_factory=dict)
    # The --by keys of the calls that may still be taken back (see LlmCalls.window).
    _call_keys: dict[tuple[str, str], dict[str, list[str]]] = field(default_factory=dict)

    def add(self, span: dict[str, Any]) -> None:
        """Count one span in its name row, its ``--by`` rows and, if a call, its model row."""
        self.spans += 1
        error = span.get("status") == "error"
        self.errors += error
        added, retracted = self.scanner.add(span)
        name = span["name"]
        if name not in self.by_name and len(self.by_name) >= MAX_NAMES:
            name = "(other names)"
        i, o = _read.tokens(span)
        self.by_name.setdefault(name, Group()).add(
            max(0, span["end_time_ns"] - span["start_time_ns"]), error, i, o, _read.cost(span)
        )
        keys = {by: _keys_of(span, by) for by in self.by}
        for by, values in keys.items():
            for key in values:
                g = self._key_group(by, key)
                g.traces.add(span["trace_id"])
                g.spans += 1
                g.errors += error
        if retracted is not None:
            self._count_call(
                retracted, -1, self._call_keys.pop((retracted.trace_id, retracted.span_id), {})
            )
        if added is not None:
            self._count_call(added, 1, keys)
            if self.by:  # remembered while the call may still be taken back
                self._call_keys[(added.trace_id, added.span_id)] = keys
                if len(self._call_keys) > self.scanner.calls.window:
                    del self._call_keys[next(iter(self._call_keys))]

    def _key_group(self, by: str, key: str) -> KeyGroup:
        table = self.by_key.setdefault(by, {})
        if key not in table and len(table) >= MAX_NAMES:
            key = f"(other {by}s)"
        return table.setdefault(key, KeyGroup())

    def _count_call(self, call: Call, sign: int, keys: dict[str, list[str]]) -> None:
        self.total.add_call(call, sign)
        group = self.by_model.setdefault(call.key, Group())
        group.add_call(call, sign)
        if not group.calls:
            del self.by_model[call.key]
        for by, values in keys.items():
            for key in values:
                g = self._key_group(by, key)
                g.llm_calls += sign
                g.input_tokens += sign * (call.input_tokens or 0)
                g.output_tokens += sign * (call.output_tokens or 0)
                g.cost_usd = _plus(g.cost_usd, call.cost_usd, sign)


def _rows(groups: dict[str, Any], top: int, sort: str) -> list[dict[str, Any]]:
    rows = [g.row(k) for k, g in groups.items()]
    rows.sort(key=lambda r: (-r[sort], r["key"]))
    return rows[:top] if top > 0 else rows


def run_stats(args: argparse.Namespace, stdout: TextIO | None = None) -> int:
    """Run ``brokle-trace stats`` with parsed ``args``; returns the exit code."""
    out = stdout or sys.stdout
    sources = _sources.sources_from_args(args, "stats")
    if isinstance(sources, int):
        return sources
    bad = BadLines()
    stats = Stats(by=tuple(dict.fromkeys(args.by)))
    for span in _read.iter_spans(
        sources, bad, progress_label="reading", force_progress=args.progress
    ):
        stats.add(span)
    if not stats.spans:
        print(f"brokle-trace stats: no spans in {sources.describe()}", file=sys.stderr)
        if bad.count:
            print(f"brokle-trace stats: {bad.summary()}", file=sys.stderr)
        return 1
    report = build_report(stats, sources, bad, args.top)
    if args.json:
        out.write(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        print_tables(report, args.color, out)
    out.flush()
    if bad.count:
        print(f"brokle-trace stats: {bad.summary()}", file=sys.stderr)
    return 0


def build_report(
    stats: Stats, sources: _sources.Sources, bad: BadLines, top: int
) -> dict[str, Any]:
    """Everything ``stats`` prints, as plain values (what ``--json`` writes)."""
    traces = stats.scanner.traces
    slowest = heapq.nlargest(
        top if top > 0 else len(traces), traces.values(), key=lambda t: t.duration_ns
    )
    total = stats.total.row("total")
    report: dict[str, Any] = {
        "file": str(sources.actives[0] if sources.actives else sources.paths[0]),
        "files": [str(p) for p in sources.paths],
        "spans": stats.spans,
        "traces": len(traces),
        "errors": stats.errors,
        "error_rate": stats.errors / stats.spans,
        "bad_lines": bad.count,
        "total": total,
        "by_model": _rows(stats.by_model, top, "calls"),
        "by_name": _rows(stats.by_name, top, "calls"),
        "slowest_traces": [
            {
                "trace_id": t.trace_id,
                "root": t.root_name,
                "duration_ms": t.duration_ns / 1e6,
                "spans": t.spans,
                "errors": t.errors,
                "llm_calls": t.llm_calls,
                "input_tokens": t.input_tokens,
                "output_tokens": t.output_tokens,
                "cost_usd": t.cost_usd,
                "start_ns": t.start_ns,
            }
            for t in slowest
        ],
    }
    for by in stats.by:
        report[f"by_{by}"] = _rows(stats.by_key.get(by, {}), top, "traces")
    report["summary"] = _summary_line(report)
    return report


def _summary_line(r: dict[str, Any]) -> str:
    t = r["total"]
    bits = [
        f"{r['spans']:,} spans in {r['traces']:,} traces",
        f"{r['errors']:,} error{'s' if r['errors'] != 1 else ''} ({r['error_rate']:.1%})",
    ]
    if t["calls"]:
        bits.append(f"{t['calls']:,} LLM call{'s' if t['calls'] != 1 else ''}")
        if t["input_tokens"] is not None or t["output_tokens"] is not None:
            bits.append(f"{t['input_tokens'] or 0:,}→{t['output_tokens'] or 0:,} tokens")
        if t["cost_usd"] is not None:
            bits.append(format_cost(t["cost_usd"]))
    return " · ".join(bits)
