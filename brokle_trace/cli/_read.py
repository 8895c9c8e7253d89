"""Stream a JSONL traces file: tolerant of bad lines, bounded in memory, with progress.

Every command here reads the file line by line and never holds it whole. ``view`` and
``html`` read it twice: the first pass keeps one small :class:`TraceSummary` per trace (no
payloads), which is enough to filter and order the traces; the second pass picks up the
spans of the traces to show, a bounded group of traces at a time. Lines that are not a span
(bad JSON, a truncated last line after a crash, a missing field) are counted and reported,
never fatal: a viewer that refuses a file because of one torn line is no use after a crash.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import orjson

from brokle_trace import semconv

__all__ = [
    "COST_USD",
    "BadLines",
    "Filters",
    "Progress",
    "Selection",
    "TraceSummary",
    "iter_spans",
    "scan_traces",
    "select_from_args",
    "select_traces",
    "spans_of",
]

#: Attribute with the cost of an LLM call in US dollars (set by ``brokle_trace.llm``).
COST_USD = "brokle.cost.total_usd"

_REQUIRED = ("name", "trace_id", "span_id", "start_time_ns", "end_time_ns")

#: Files smaller than this read fast enough that a progress line would only flicker.
PROGRESS_MIN_BYTES = 32 * 1024 * 1024


@dataclass
class BadLines:
    """Lines of the file that are not spans: how many, and the first few reasons.

    Example:
        >>> bad = BadLines()
        >>> bad.add(3, "invalid JSON")
        >>> bad.summary()
        '1 bad line skipped (line 3: invalid JSON)'
    """

    count: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, line_no: int, reason: str) -> None:
        """Count one bad line; remember the reason of the first three."""
        self.count += 1
        if len(self.examples) < 3:
            self.examples.append(f"line {line_no}: {reason}")

    def summary(self) -> str:
        """One line for stderr, or ``""`` when every line was a span."""
        if not self.count:
            return ""
        noun = "line" if self.count == 1 else "lines"
        return f"{self.count} bad {noun} skipped ({'; '.join(self.examples)})"


class Progress:
    """A one-line ``\\r`` progress report on stderr, for files big enough to need one.

    Shown when the file is at least ``min_bytes`` long and ``stream`` is a terminal (or
    ``force`` is true); redrawn at most five times a second so it costs nothing measurable.

    Example:
        >>> import io
        >>> out = io.StringIO()
        >>> p = Progress("scan", total=100, stream=out, force=True)
        >>> p.update(50, spans=10, now=10.0); p.done()
        >>> "50%" in out.getvalue()
        True
    """

    def __init__(
        self,
        label: str,
        total: int,
        *,
        stream: TextIO | None = None,
        force: bool | None = None,
        min_bytes: int = PROGRESS_MIN_BYTES,
    ) -> None:
        self.label = label
        self.total = max(total, 1)
        self.stream = stream if stream is not None else sys.stderr
        if force is None:
            force = total >= min_bytes and self.stream.isatty()
        self.enabled = force
        self._last = 0.0
        self._drawn = False

    def update(self, done: int, *, spans: int, now: float | None = None) -> None:
        """Redraw if 0.2 s passed since the last redraw."""
        if not self.enabled:
            return
        now = time.monotonic() if now is None else now
        if now - self._last < 0.2:
            return
        self._last = now
        pct = min(100, done * 100 // self.total)
        self.stream.write(f"\r{self.label}: {pct:3d}%  {spans:,} spans ")
        self.stream.flush()
        self._drawn = True

    def done(self) -> None:
        """Clear the progress line so the report that follows starts clean."""
        if self._drawn:
            self.stream.write("\r" + " " * 60 + "\r")
            self.stream.flush()


def _check(span: Any) -> str | None:
    """Why ``span`` (a decoded line) is not a usable span, or None when it is."""
    if not isinstance(span, dict):
        return "not a JSON object"
    for key in _REQUIRED:
        if key not in span:
            return f"missing {key!r}"
    if not isinstance(span["start_time_ns"], int) or not isinstance(span["end_time_ns"], int):
        return "start_time_ns/end_time_ns are not integers"
    if not isinstance(span["trace_id"], str) or not isinstance(span["span_id"], str):
        return "trace_id/span_id are not strings"
    if not isinstance(span["name"], str):
        span["name"] = str(span["name"])
    return None


def iter_spans(
    path: Path,
    bad: BadLines,
    *,
    progress_label: str | None = None,
    progress_stream: TextIO | None = None,
    force_progress: bool | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield each span of the JSONL file as a dict, in file order, one line in memory at a time.

    Bad lines are counted in ``bad`` and skipped.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.jsonl"
        >>> _ = p.write_text('{"name": "a", "trace_id": "t", "span_id": "s", '
        ...                  '"start_time_ns": 1, "end_time_ns": 2}\\nnot json\\n')
        >>> bad = BadLines()
        >>> [s["name"] for s in iter_spans(p, bad)], bad.count
        (['a'], 1)
    """
    total = os.path.getsize(path)
    progress = Progress(
        progress_label or f"reading {path.name}",
        total,
        stream=progress_stream,
        force=force_progress,
    )
    done = 0
    spans = 0
    with path.open("rb") as fh:
        for line_no, line in enumerate(fh, 1):
            done += len(line)
            if not line.strip():
                continue
            try:
                span = orjson.loads(line)
            except orjson.JSONDecodeError:
                bad.add(line_no, "invalid JSON" + ("" if line.endswith(b"\n") else " (truncated)"))
                continue
            reason = _check(span)
            if reason is not None:
                bad.add(line_no, reason)
                continue
            spans += 1
            if spans % 1024 == 0:
                progress.update(done, spans=spans)
            yield span
    progress.done()


# -- pass 1: one small summary per trace --------------------------------------------------------


@dataclass(slots=True)
class TraceSummary:
    """What the first pass keeps of a trace: a few numbers and strings, never payloads.

    About 300 bytes per trace, so a file of 100k traces needs ~30 MB whatever its size.
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

    @property
    def duration_ns(self) -> int:
        """From the first span's start to the last span's end."""
        return self.end_ns - self.start_ns


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


def scan_traces(
    spans: Iterable[dict[str, Any]], *, keep_names: bool = False
) -> dict[str, TraceSummary]:
    """First pass: summarise every trace of ``spans`` (start, end, counts, root, user, session).

    Example:
        >>> s = {"name": "a", "trace_id": "t1", "span_id": "s", "start_time_ns": 5,
        ...      "end_time_ns": 9, "status": "error"}
        >>> t = scan_traces([s])["t1"]
        >>> (t.spans, t.errors, t.root_name, t.duration_ns)
        (1, 1, 'a', 4)
    """
    traces: dict[str, TraceSummary] = {}
    for span in spans:
        tid = span["trace_id"]
        start, end = span["start_time_ns"], span["end_time_ns"]
        t = traces.get(tid)
        if t is None:
            t = traces[tid] = TraceSummary(tid, start, end)
            if keep_names:
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
        if t.names is not None and len(t.names) < 256:
            t.names.add(span["name"])
    return traces


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


def select_from_args(args: Any, command: str, default_last: int) -> Selection | int:
    """The first pass shared by ``view`` and ``html``: the file, the filters, the newest
    traces. Returns an exit code (after saying why on stderr) when there is nothing to show.
    """
    path: Path = args.file
    if not path.is_file():
        print(f"brokle-trace {command}: no such file: {path}", file=sys.stderr)
        return 2
    filters = Filters(trace=args.trace, errors=args.errors, session=args.session,
                      user=args.user, name=args.name)
    bad = BadLines()
    traces = scan_traces(
        iter_spans(path, bad, progress_label="scanning", force_progress=args.progress),
        keep_names=args.name is not None,
    )
    # --trace alone shows every match; otherwise the newest --last (or the default).
    last = None if args.all or (args.trace and args.last is None) else (args.last or default_last)
    selected = select_traces(traces, filters, last)
    if not selected:
        what = "no traces" if not traces else f"none of the {len(traces)} traces matches"
        print(f"brokle-trace {command}: {what} in {path}", file=sys.stderr)
        if bad.count:
            print(f"brokle-trace {command}: {bad.summary()}", file=sys.stderr)
        return 1
    return Selection(traces, selected, filters, bad)


# -- pass 2: the spans of a bounded group of traces ---------------------------------------------

#: Upper bound on the spans held at once in the second pass (one trace bigger than this is
#: still held whole, alone).
MAX_SPANS_PER_GROUP = 50_000


def chunked(traces: list[TraceSummary], max_spans: int = MAX_SPANS_PER_GROUP) -> Iterator[
    list[TraceSummary]
]:
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


def attr(span: dict[str, Any], key: str) -> Any:
    """``span["attributes"][key]`` or None, whatever shape the attributes have."""
    attrs = span.get("attributes")
    return attrs.get(key) if isinstance(attrs, dict) else None


def tokens(span: dict[str, Any]) -> tuple[int | None, int | None]:
    """(input tokens, output tokens) of an LLM span, None where not recorded."""
    def num(key: str) -> int | None:
        v = attr(span, key)
        return v if isinstance(v, int) and not isinstance(v, bool) else None

    return num(semconv.GEN_AI_USAGE_INPUT_TOKENS), num(semconv.GEN_AI_USAGE_OUTPUT_TOKENS)


def cost(span: dict[str, Any]) -> float | None:
    """Cost in US dollars of an LLM span, None when not recorded."""
    v = attr(span, COST_USD)
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None
