"""What happened to every span: exported, or dropped with a reason, and a warning that says so.

Hot-path counts (``queue_full`` under overload, ``sampled_out``) are ``itertools.count``
objects: atomic under threads, ~40 ns, no lock. The rest is counted by the worker under a
lock. Warnings are rate-limited per kind so a dead backend logs once, not per batch.
"""

from __future__ import annotations

import itertools
import threading
import time

from brokle_trace._runtime import state as _state

__all__ = ["DROP_REASONS", "Counters"]

DROP_REASONS = (
    "queue_full",
    "too_large",
    "export_failed",
    "shutdown",
    "serialize_error",
    "sampled_out",
)
_WARN_EVERY_S = 30.0


def _count_of(counter: itertools.count[int]) -> int:
    # itertools.count exposes its next value only through repr: "count(N)".
    return int(repr(counter)[6:-1])


class Counters:
    """The drop and export counters of one pipeline.

    Example:
        >>> c = Counters()
        >>> c.drop("too_large", 2); c.snapshot()["dropped"]["too_large"]
        2
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.exported = 0
        self.export_failures = 0
        self.dropped = dict.fromkeys(DROP_REASONS, 0)
        self._last_warn: dict[str, float] = {}
        self._sampled_out = itertools.count()
        self._queue_full = itertools.count()
        #: Called from the caller's thread: lock-free.
        self.count_sampled_out = self._sampled_out.__next__
        self._count_full = self._queue_full.__next__
        self._full_warned = -_WARN_EVERY_S

    def queue_full(self, depth: int) -> None:
        """One span refused by a full queue (the caller's thread: a counter and a time check)."""
        self._count_full()
        now = time.monotonic()
        if now - self._full_warned >= _WARN_EVERY_S:
            self._full_warned = now
            _state.logger.warning(
                "brokle_trace: export queue full (%d spans): dropping spans (queue_full, %d "
                "so far); raise max_queue_size/max_queue_bytes or check the exporter",
                depth,
                _count_of(self._queue_full),
            )

    def drop(self, reason: str, count: int) -> None:
        """Count ``count`` lost spans and warn (rate-limited) saying how many and why."""
        if count <= 0:
            return
        with self._lock:
            self.dropped[reason] += count
            total = dict(self.dropped)
        self.warn(
            "drop",
            "brokle_trace: dropped %d span(s) (%s); totals so far: %s",
            count,
            reason,
            {k: v for k, v in total.items() if v},
        )

    def add_exported(self, count: int) -> None:
        """Count spans every exporter delivered."""
        with self._lock:
            self.exported += count

    def add_failure(self) -> None:
        """Count one failed exporter call."""
        with self._lock:
            self.export_failures += 1

    def warn(self, kind: str, message: str, *args: object) -> None:
        """Log ``message`` unless one of this ``kind`` was logged in the last 30 s."""
        now = time.monotonic()
        with self._lock:
            if now - self._last_warn.get(kind, -_WARN_EVERY_S) < _WARN_EVERY_S:
                return
            self._last_warn[kind] = now
        _state.logger.warning(message, *args)

    def snapshot(self) -> dict[str, object]:
        """exported, export_failures and dropped (by reason), as plain values."""
        with self._lock:
            dropped = dict(self.dropped)
            exported = self.exported
            failures = self.export_failures
        dropped["sampled_out"] += _count_of(self._sampled_out)
        dropped["queue_full"] += _count_of(self._queue_full)
        return {"exported": exported, "export_failures": failures, "dropped": dropped}
