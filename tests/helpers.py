"""Small helpers for asserting span trees."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from brokle_trace import SpanData


def tree(spans: Iterable[SpanData]) -> list[Any]:
    """Nested ``(name, [children...])`` of the spans, children in start order.

    Spans whose parent is not among ``spans`` are roots.
    """
    spans = list(spans)
    ids = {s.span_id for s in spans}
    children: dict[str | None, list[SpanData]] = {}
    for s in spans:
        key = s.parent_span_id if s.parent_span_id in ids else None
        children.setdefault(key, []).append(s)

    def build(span: SpanData) -> Any:
        kids = sorted(children.get(span.span_id, []), key=lambda c: (c.start_time_ns, c.name))
        return (span.name, [build(k) for k in kids])

    roots = sorted(children.get(None, []), key=lambda c: (c.start_time_ns, c.name))
    return [build(r) for r in roots]


def by_name(spans: Iterable[SpanData], name: str) -> list[SpanData]:
    return [s for s in spans if s.name == name]


def one(spans: Iterable[SpanData], name: str) -> SpanData:
    found = by_name(spans, name)
    assert len(found) == 1, f"expected one span {name!r}, got {len(found)}"
    return found[0]


def sigint_default() -> None:
    """``preexec_fn`` for a child the test stops with SIGINT (Ctrl-C).

    A shell running a job in the background without job control starts it with SIGINT
    ignored, and a Python child inherits that (its KeyboardInterrupt handler is only
    installed when SIGINT is not ignored): such a child would never stop. Tests of Ctrl-C
    restore the default first, however the suite was started.
    """
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
