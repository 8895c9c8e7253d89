"""Stream a JSONL traces file: tolerant of bad lines, bounded in memory, with progress.

Every command reads its files (see :mod:`brokle_trace.cli._sources`) line by line and never
holds them whole; :mod:`brokle_trace.cli._traces` builds the two passes of ``view`` and
``html`` on :func:`iter_spans`. Lines that are not a span
(bad JSON, a truncated last line after a crash, a missing field) are counted and reported,
never fatal: a viewer that refuses a file because of one torn line is no use after a crash.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import orjson

from brokle_trace import semconv
from brokle_trace.cli._sources import Sources

__all__ = ["COST_USD", "BadLines", "Progress", "attr", "check", "cost", "iter_spans", "tokens"]

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

    def add(self, line_no: int, reason: str, where: str = "line") -> None:
        """Count one bad line; remember the reason of the first three."""
        self.count += 1
        if len(self.examples) < 3:
            self.examples.append(f"{where} {line_no}: {reason}")

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


def check(span: Any) -> str | None:
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
    sources: Sources | Path,
    bad: BadLines,
    *,
    progress_label: str | None = None,
    progress_stream: TextIO | None = None,
    force_progress: bool | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield each span of the files as a dict, in file order, one line in memory at a time.

    Bad lines are counted in ``bad`` and skipped (named by file when there are several). A
    file that vanished since it was listed (rotated away meanwhile) is skipped.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.jsonl"
        >>> _ = p.write_text('{"name": "a", "trace_id": "t", "span_id": "s", '
        ...                  '"start_time_ns": 1, "end_time_ns": 2}\\nnot json\\n')
        >>> bad = BadLines()
        >>> [s["name"] for s in iter_spans(p, bad)], bad.count
        (['a'], 1)
    """
    if isinstance(sources, Path):
        sources = Sources((sources,))
    first = sources.paths[0] if sources.paths else Path("-")
    progress = Progress(
        progress_label or f"reading {first.name}",
        sources.total_bytes(),
        stream=progress_stream,
        force=force_progress,
    )
    done = 0
    spans = 0
    several = len(sources.paths) > 1
    for path in sources.paths:
        where = f"{sources.label(path)} line" if several else "line"
        stop = sources.stops.get(path)
        try:
            fh = path.open("rb")
        except FileNotFoundError:
            continue
        with fh:
            read = 0
            for line_no, line in enumerate(fh, 1):
                if stop is not None and read + len(line) > stop:
                    break
                read += len(line)
                done += len(line)
                if not line.strip():
                    continue
                try:
                    span = orjson.loads(line)
                except orjson.JSONDecodeError:
                    cut = "" if line.endswith(b"\n") else " (truncated)"
                    bad.add(line_no, "invalid JSON" + cut, where)
                    continue
                reason = check(span)
                if reason is not None:
                    bad.add(line_no, reason, where)
                    continue
                spans += 1
                if spans % 1024 == 0:
                    progress.update(done, spans=spans)
                yield span
    progress.done()


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
