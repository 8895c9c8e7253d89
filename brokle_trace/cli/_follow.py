"""``brokle-trace view --follow``: the traces of a file as they arrive, like ``tail -f``.

First the newest traces already in the file (as ``view`` shows them), then each new trace
once it is complete. Spans are written as they end, children before their parent, so a
trace is complete when its root span has arrived (plus a short grace period for spans that
end with it on other threads) or when nothing new came for it for a while (a trace whose
root is in another process). A span that arrives after its trace was printed is shown under
a ``(continued)`` header. Ctrl-C stops; traces still waiting are printed first.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, TextIO

from brokle_trace.cli import _sources, _view
from brokle_trace.cli._read import BadLines
from brokle_trace.cli._tail import Tail, complete_end, parse_lines
from brokle_trace.cli._traces import Filters, Scanner, TraceSummary, filters_from_args

__all__ = ["Follower", "run_follow"]

#: After the root span arrived, wait this long for spans that end with it.
GRACE_S = 0.3
#: A trace without its root is shown once no span came for it for this long.
IDLE_S = 2.0
#: Traces waiting at once; past that the oldest is shown as it is.
MAX_PENDING = 10_000


@dataclass
class _Pending:
    spans: list[_view.ViewSpan] = field(default_factory=list)
    root_at: float | None = None
    last_at: float = 0.0


class Follower:
    """Collects arriving spans per trace; says which traces are complete enough to show.

    Example:
        >>> f = Follower(Filters(), preview_chars=0)
        >>> f.add({"name": "root", "trace_id": "t", "span_id": "a", "start_time_ns": 0,
        ...        "end_time_ns": 1}, now=0.0)
        >>> [t.trace_id for t, _, _ in f.due(now=1.0)]
        ['t']
    """

    def __init__(
        self, filters: Filters, preview_chars: int, *, grace: float = GRACE_S, idle: float = IDLE_S
    ) -> None:
        self.filters = filters
        self.preview_chars = preview_chars
        self.grace, self.idle = grace, idle
        self.scanner = Scanner(keep_names=filters.name is not None)
        self.pending: OrderedDict[str, _Pending] = OrderedDict()
        self.shown: OrderedDict[str, None] = OrderedDict()  # printed already: late spans continue

    def add(self, span: dict[str, Any], now: float) -> None:
        """Take one arriving span."""
        tid = span["trace_id"]
        self.scanner.add(span)
        p = self.pending.get(tid)
        if p is None:
            p = self.pending[tid] = _Pending()
        p.spans.append(_view.slim(span, self.preview_chars))
        p.last_at = now
        if span.get("parent_span_id") is None:
            p.root_at = now

    def due(
        self, now: float, *, everything: bool = False
    ) -> list[tuple[TraceSummary, list[_view.ViewSpan], str]]:
        """The traces to show now (all of them with ``everything``): (summary, spans, note)."""
        ready = [
            tid
            for tid, p in self.pending.items()
            if everything
            or (p.root_at is not None and now - p.root_at >= self.grace)
            or now - p.last_at >= self.idle
        ]
        extra = len(self.pending) - len(ready) - MAX_PENDING
        if extra > 0:
            ready += [tid for tid in self.pending if tid not in ready][:extra]
        out = []
        for tid in ready:
            p = self.pending.pop(tid)
            summary = self.scanner.traces.pop(tid)
            note = " (continued)" if tid in self.shown else ""
            self.shown[tid] = None
            if len(self.shown) > MAX_PENDING:
                self.shown.popitem(last=False)
            if self.filters.matches(summary):
                out.append((summary, p.spans, note))
        return out


def run_follow(
    args: argparse.Namespace,
    stdout: TextIO | None = None,
    *,
    poll_s: float = 0.2,
    stop: threading.Event | None = None,
) -> int:
    """Run ``brokle-trace view --follow``; returns 0 when stopped (Ctrl-C or ``stop``)."""
    out = stdout or sys.stdout
    found = _sources.sources_from_args(args, "view", keep_missing=True)
    assert not isinstance(found, int)  # keep_missing: a file not there yet is waited for
    stops = {a: complete_end(a) for a in found.actives}
    sources = _sources.Sources(found.paths, found.actives, stops)
    tails = [Tail(a, stops[a]) for a in sources.actives]
    console = _view.rich_console(args.color, out)
    preview_chars = 0 if args.no_preview else args.preview_chars
    follower = Follower(filters_from_args(args), preview_chars)
    bad = BadLines()
    stop = stop or threading.Event()
    try:  # Ctrl-C at any point, even while the traces already there are printed, stops here
        if any(p.is_file() and p.stat().st_size for p in sources.paths):
            _view.run_view(args, out, sources=sources, quiet_empty=True)
        names = ", ".join(str(a) for a in sources.actives)
        print(f"brokle-trace view: following {names} (Ctrl-C stops)", file=sys.stderr, flush=True)
        while not stop.is_set():
            now = time.monotonic()
            for tail in tails:
                for span in parse_lines(tail.read(), bad, "new line"):
                    follower.add(span, now)
            for t, spans, note in follower.due(now):
                _view.print_trace(out, console, t, spans, args, note=note)
            stop.wait(poll_s)
    except KeyboardInterrupt:
        pass
    finally:
        for tail in tails:
            tail.close()
    for t, spans, note in follower.due(time.monotonic(), everything=True):
        _view.print_trace(out, console, t, spans, args, note=note)
    if bad.count:
        print(f"brokle-trace view: {bad.summary()}", file=sys.stderr)
    return 0
