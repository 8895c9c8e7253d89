"""What happened to every span: exported, or dropped with a reason, and a warning that says so.

Hot-path counts (``queue_full`` under overload, ``sampled_out``) are ``itertools.count``
objects: atomic under threads, ~40 ns, no lock. The rest is counted by the worker under a
lock. Warnings are rate-limited per kind so a dead backend logs once, not per batch.
"""

from __future__ import annotations

import itertools
import threading
import time

from brokle_trace._runtime import errors as _errors
from brokle_trace._runtime.state import count_of

__all__ = ["DROP_REASONS", "Counters"]

DROP_REASONS = (
    "queue_full",
    "too_large",
    "export_failed",
    "shutdown",
    "serialize_error",
    "sampled_out",
    "exporter_unavailable",
)
_WARN_EVERY_S = 30.0


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
        self._warnings = _errors.RateLimiter(_WARN_EVERY_S)
        self._sampled_out = itertools.count()
        self._queue_full = itertools.count()
        #: Called from the caller's thread: lock-free.
        self.count_sampled_out = self._sampled_out.__next__
        self._count_full = self._queue_full.__next__
        self._full_warned = -_WARN_EVERY_S

    def queue_full(self, depth: int) -> None:
        """One span refused by a full queue (the caller's thread: a counter and a time check).

        Lock-free on purpose, unlike :class:`RateLimiter`: a full queue means every caller
        comes through here, and a rare duplicate warning costs less than a shared lock.
        """
        self._count_full()
        now = time.monotonic()
        if now - self._full_warned >= _WARN_EVERY_S:
            self._full_warned = now
            _errors.logger.warning(
                "brokle_trace: export queue full (%d spans): dropping spans (queue_full, %d "
                "so far); raise max_queue_size/max_queue_bytes or check the exporter",
                depth,
                count_of(self._queue_full),
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
        self._warnings.warn(kind, message, *args)

    def snapshot(self) -> dict[str, object]:
        """exported, export_failures and dropped (by reason), as plain values."""
        with self._lock:
            dropped = dict(self.dropped)
            exported = self.exported
            failures = self.export_failures
        dropped["sampled_out"] += count_of(self._sampled_out)
        dropped["queue_full"] += count_of(self._queue_full)
        return {"exported": exported, "export_failures": failures, "dropped": dropped}
