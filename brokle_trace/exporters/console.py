"""Print each finished trace as an indented tree, when its root span ends."""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import TextIO

from brokle_trace._model import SpanData
from brokle_trace.typing import ExportResult

__all__ = ["ConsoleExporter", "format_tree"]

_MAX_PENDING_TRACES = 1000


def _duration(ns: int) -> str:
    ms = ns / 1e6
    return f"{ms:.1f} ms" if ms < 1000 else f"{ms / 1000:.2f} s"


def _line(span: SpanData) -> str:
    parts = [span.name]
    if span.type != "span":
        parts.append(f"[{span.type}]")
    parts.append(_duration(span.duration_ns))
    if span.status == "error":
        err = span.error.type if span.error else "error"
        parts.append(f"ERROR {err}: {span.status_message or ''}".rstrip(": "))
    attrs = span.attributes
    model = attrs.get("gen_ai.response.model") or attrs.get("gen_ai.request.model")
    if model:
        parts.append(f"model={model}")
    tokens_in = attrs.get("gen_ai.usage.input_tokens")
    tokens_out = attrs.get("gen_ai.usage.output_tokens")
    if tokens_in is not None or tokens_out is not None:
        parts.append(f"tokens={tokens_in or 0}→{tokens_out or 0}")
    cost = attrs.get("brokle.cost.total_usd")
    if isinstance(cost, (int, float)):
        parts.append(f"cost=${cost:.6f}")
    return "  ".join(parts)


def format_tree(spans: Iterable[SpanData]) -> str:
    """Render spans as trees (one per root), children in start order.

    Example:
        >>> print(format_tree([]))
        <BLANKLINE>
    """
    spans = list(spans)
    by_parent: dict[str | None, list[SpanData]] = {}
    ids = {s.span_id for s in spans}
    for s in spans:
        parent = s.parent_span_id if s.parent_span_id in ids else None
        by_parent.setdefault(parent, []).append(s)
    for children in by_parent.values():
        children.sort(key=lambda s: (s.start_time_ns, s.span_id))
    lines: list[str] = []

    def walk(span: SpanData, prefix: str, last: bool, root: bool) -> None:
        branch = "" if root else ("└─ " if last else "├─ ")
        lines.append(f"{prefix}{branch}{_line(span)}")
        kids = by_parent.get(span.span_id, [])
        child_prefix = prefix if root else prefix + ("   " if last else "│  ")
        for i, kid in enumerate(kids):
            walk(kid, child_prefix, i == len(kids) - 1, False)

    for root in by_parent.get(None, []):
        walk(root, "", True, True)
    return "\n".join(lines)


class ConsoleExporter:
    """Writes each trace as a tree to ``stream`` (stderr by default) once its root ends.

    Example:
        >>> from brokle_trace import configure
        >>> configure(exporter="console")
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream
        self._pending: OrderedDict[str, list[SpanData]] = OrderedDict()
        self._lock = threading.Lock()

    def export(self, spans: Sequence[SpanData]) -> ExportResult:
        out: list[str] = []
        with self._lock:
            for span in spans:
                group = self._pending.setdefault(span.trace_id, [])
                group.append(span)
                if span.parent_span_id is None or span.attributes.get("brokle.remote_parent"):
                    out.append(format_tree(self._pending.pop(span.trace_id)))
            while len(self._pending) > _MAX_PENDING_TRACES:
                self._pending.popitem(last=False)
        if out:
            stream = self._stream or sys.stderr
            stream.write("\n".join(out) + "\n")
            stream.flush()
        return ExportResult.SUCCESS

    def shutdown(self) -> None:
        with self._lock:
            rest = [s for group in self._pending.values() for s in group]
            self._pending.clear()
        if rest:
            (self._stream or sys.stderr).write(format_tree(rest) + "\n")
