"""The traces of a file: pass 1 (a small summary per trace, to filter and order them) and
pass 2 (the spans of a bounded group of the chosen traces).

See :mod:`brokle_trace.cli._read` for how files are streamed; nothing here holds payloads
except pass 2, for one group of traces at a time.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from brokle_trace.cli._calls import Call, LlmCalls
from brokle_trace.cli._read import BadLines, iter_spans
from brokle_trace.cli._sources import Sources, sources_from_args

__all__ = [
    "Filters",
    "Scanner",
    "Selection",
    "TraceSummary",
    "chunked",
    "filters_from_args",
    "last_from_args",
    "resolve_trace_prefix",
    "scan_traces",
    "select_from_args",
    "select_traces",
    "spans_of",
]


# -- pass 1: one small summary per trace --------------------------------------------------------


@dataclass(slots=True)
class TraceSummary:
    """What the first pass keeps of a trace: a few numbers and strings, never payloads.

    About 400 bytes per trace, so a file of 100k traces needs ~40 MB whatever its size. The
    LLM totals count each call once (see :mod:`brokle_trace.cli._calls`).
    """

    trace_id: str
    start_ns: int
    end_ns: int
    spans: int = 0
    errors: int = 0
    root_name: str | None = None
    user_id: str | None = None
    session_id: str | None = None
    names: set[str] | None = None  # only kept when --name filters, to test membership
    llm_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None  # None: no call of the trace recorded a cost
    tags: tuple[str, ...] = ()

    @property
    def duration_ns(self) -> int:
        """From the first span's start to the last span's end."""
        return self.end_ns - self.start_ns

    def count_call(self, call: Call, sign: int = 1) -> None:
        """Add (``sign=1``) or take back (``-1``) one LLM call's numbers."""
        self.llm_calls += sign
        self.input_tokens += sign * (call.input_tokens or 0)
        self.output_tokens += sign * (call.output_tokens or 0)
        if call.cost_usd is not None:
            self.cost_usd = round((self.cost_usd or 0.0) + sign * call.cost_usd, 12)


@dataclass(frozen=True)
class Filters:
    """Which traces to show; every given filter must match (they combine with AND).

    Example:
        >>> Filters(errors=True).active
        True
    """

    trace: str | None = None  # a trace id or a unique prefix of one
    errors: bool = False  # only traces with at least one failed span
    session: str | None = None
    user: str | None = None
    name: str | None = None  # traces with a span whose name contains this (case-insensitive)

    @property
    def active(self) -> bool:
        """True when any filter is set."""
        return bool(self.trace or self.errors or self.session or self.user or self.name)

    def matches(self, t: TraceSummary) -> bool:
        """True when the trace passes every filter."""
        if self.trace and not t.trace_id.startswith(self.trace.lower()):
            return False
        if self.errors and not t.errors:
            return False
        if self.session is not None and t.session_id != self.session:
            return False
        if self.user is not None and t.user_id != self.user:
            return False
        if self.name is not None:
            needle = self.name.lower()
            return any(needle in n.lower() for n in t.names or ())
        return True


class Scanner:
    """The first pass, one span at a time: a :class:`TraceSummary` per trace.

    Example:
        >>> sc = Scanner()
        >>> _ = sc.add({"name": "a", "trace_id": "t1", "span_id": "s", "start_time_ns": 5,
        ...         "end_time_ns": 9, "status": "error"})
        >>> t = sc.traces["t1"]
        >>> (t.spans, t.errors, t.root_name, t.duration_ns)
        (1, 1, 'a', 4)
    """

    def __init__(self, *, keep_names: bool = False) -> None:
        self.traces: dict[str, TraceSummary] = {}
        self.keep_names = keep_names
        self.calls = LlmCalls()

    def add(self, span: dict[str, Any]) -> tuple[Call | None, Call | None]:
        """Count ``span`` in its trace's summary; returns the LLM call it adds and the one it
        takes back (see :meth:`LlmCalls.feed`), either None."""
        tid = span["trace_id"]
        start, end = span["start_time_ns"], span["end_time_ns"]
        t = self.traces.get(tid)
        if t is None:
            t = self.traces[tid] = TraceSummary(tid, start, end)
            if self.keep_names:
                t.names = set()
        else:
            t.start_ns = min(t.start_ns, start)
            t.end_ns = max(t.end_ns, end)
        t.spans += 1
        if span.get("status") == "error":
            t.errors += 1
        if span.get("parent_span_id") is None:
            t.root_name = span["name"]
        # Children inherit user/session from the trace context, so any span may carry them.
        t.user_id = t.user_id or span.get("user_id")
        t.session_id = t.session_id or span.get("session_id")
        tags = span.get("tags")
        if tags and isinstance(tags, list) and len(t.tags) < 32:
            new = [str(tag) for tag in tags if str(tag) not in t.tags]
            if new:  # most spans repeat their trace's tags: nothing to build
                t.tags = tuple(dict.fromkeys([*t.tags, *new]))[:32]
        if t.names is not None and len(t.names) < 256:
            t.names.add(span["name"])
        added, retracted = self.calls.feed(span)
        if added is not None:
            t.count_call(added)
        if retracted is not None:
            owner = self.traces.get(retracted.trace_id)
            if owner is not None:
                owner.count_call(retracted, -1)
        return added, retracted


def scan_traces(
    spans: Iterable[dict[str, Any]], *, keep_names: bool = False
) -> dict[str, TraceSummary]:
    """First pass: summarise every trace of ``spans`` (start, end, counts, root, user, session,
    LLM calls, tokens, cost).

    Example:
        >>> s = {"name": "a", "trace_id": "t1", "span_id": "s", "start_time_ns": 5,
        ...      "end_time_ns": 9, "status": "error"}
        >>> t = scan_traces([s])["t1"]
        >>> (t.spans, t.errors, t.root_name, t.duration_ns)
        (1, 1, 'a', 4)
    """
    scanner = Scanner(keep_names=keep_names)
    for span in spans:
        scanner.add(span)
    return scanner.traces


def select_traces(
    traces: dict[str, TraceSummary], filters: Filters, last: int | None
) -> list[TraceSummary]:
    """The traces that pass ``filters``, newest first, at most ``last`` of them (None: all).

    Example:
        >>> a, b = TraceSummary("a", 1, 2), TraceSummary("b", 5, 6)
        >>> [t.trace_id for t in select_traces({"a": a, "b": b}, Filters(), None)]
        ['b', 'a']
    """
    chosen = [t for t in traces.values() if filters.matches(t)]
    chosen.sort(key=lambda t: (t.start_ns, t.trace_id), reverse=True)
    return chosen if last is None or last <= 0 else chosen[:last]


@dataclass
class Selection:
    """What ``view`` and ``html`` show: every trace seen, the chosen ones, the bad lines."""

    traces: dict[str, TraceSummary]
    selected: list[TraceSummary]
    filters: Filters
    bad: BadLines
    sources: Sources


def filters_from_args(args: Any) -> Filters:
    """The trace filters of a ``view``/``html``/``serve`` command line."""
    return Filters(
        trace=args.trace, errors=args.errors, session=args.session, user=args.user, name=args.name
    )


def last_from_args(args: Any, default_last: int) -> int | None:
    """How many of the newest traces to show (None: all)."""
    # --trace alone shows every match; otherwise the newest --last (or the default).
    return None if args.all or (args.trace and args.last is None) else (args.last or default_last)


def select_from_args(
    args: Any,
    command: str,
    default_last: int,
    sources: Sources | None = None,
    *,
    quiet_empty: bool = False,
) -> Selection | int:
    """The first pass shared by ``view`` and ``html``: the files, the filters, the newest
    traces. Returns an exit code (after saying why on stderr) when there is nothing to show.
    """
    if sources is None:
        found = sources_from_args(args, command)
        if isinstance(found, int):
            return found
        sources = found
    filters = filters_from_args(args)
    bad = BadLines()
    traces = scan_traces(
        iter_spans(sources, bad, progress_label="scanning", force_progress=args.progress),
        keep_names=args.name is not None,
    )
    selected = select_traces(traces, filters, last_from_args(args, default_last))
    if not selected and quiet_empty:
        return 1
    if not selected:
        what = "no traces" if not traces else f"none of the {len(traces)} traces matches"
        print(f"brokle-trace {command}: {what} in {sources.describe()}", file=sys.stderr)
        if bad.count:
            print(f"brokle-trace {command}: {bad.summary()}", file=sys.stderr)
        return 1
    return Selection(traces, selected, filters, bad, sources)


# -- pass 2: the spans of a bounded group of traces ---------------------------------------------

#: Upper bound on the spans held at once in the second pass (one trace bigger than this is
#: still held whole, alone).
MAX_SPANS_PER_GROUP = 50_000


def chunked(
    traces: list[TraceSummary], max_spans: int = MAX_SPANS_PER_GROUP
) -> Iterator[list[TraceSummary]]:
    """Split the selected traces into groups of at most ``max_spans`` spans, in order."""
    group: list[TraceSummary] = []
    size = 0
    for t in traces:
        if group and size + t.spans > max_spans:
            yield group
            group, size = [], 0
        group.append(t)
        size += t.spans
    if group:
        yield group


def spans_of(
    read: Callable[[], Iterable[dict[str, Any]]],
    group: list[TraceSummary],
    slim: Callable[[dict[str, Any]], Any],
) -> dict[str, list[Any]]:
    """Second pass for one group: ``trace_id -> [slim(span), ...]`` for the group's traces.

    ``slim`` reduces each span to what the caller shows, so payloads are dropped as read.
    """
    wanted: dict[str, list[Any]] = {t.trace_id: [] for t in group}
    for span in read():
        bucket = wanted.get(span["trace_id"])
        if bucket is not None:
            bucket.append(slim(span))
    return wanted


def resolve_trace_prefix(traces: dict[str, TraceSummary], prefix: str) -> list[str]:
    """Trace ids that start with ``prefix`` (so users can paste the first few characters)."""
    p = prefix.lower()
    return [tid for tid in traces if tid.startswith(p)]
