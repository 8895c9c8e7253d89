"""Capture counters and rate-limited error reports.

Increments take a lock: they happen on the export worker (redactions, truncations) and,
rarely, on callers' threads (a serializer or ``repr`` that raised), so exact counts cost a
few tens of nanoseconds only where something noteworthy happened.
"""

from __future__ import annotations

import logging
import os
import threading

from brokle_trace._runtime.errors import RateLimiter

__all__ = ["COUNTER_NAMES", "counters", "increment", "report", "reset_counters"]

_log = logging.getLogger("brokle_trace.capture")

#: Every counter ``counters()`` returns, always present (zero until something happens).
COUNTER_NAMES: tuple[str, ...] = (
    "redactions",
    "truncations",
    "mask_errors",
    "serializer_errors",
    "repr_errors",
    "repr_skipped",
    "slow_reprs",
    "capture_errors",
    "callback_errors",
)

_lock = threading.Lock()
_counts: dict[str, int] = dict.fromkeys(COUNTER_NAMES, 0)
_reports = RateLimiter(60.0)


def _after_fork_in_child() -> None:
    # The export worker increments under _lock all the time (every redaction): a fork while
    # it held the lock would leave it held forever, and the child's worker blocked on it.
    global _lock
    _lock = threading.Lock()
    _reports.after_fork()


if hasattr(os, "register_at_fork"):  # pragma: no branch - POSIX
    os.register_at_fork(after_in_child=_after_fork_in_child)


def increment(name: str, n: int = 1) -> None:
    """Add ``n`` to counter ``name``."""
    with _lock:
        _counts[name] = _counts.get(name, 0) + n


def counters() -> dict[str, int]:
    """A snapshot of the capture counters, for ``stats()``.

    Example:
        >>> from brokle_trace.capture import counters
        >>> sorted(counters())[:2]
        ['callback_errors', 'capture_errors']
    """
    with _lock:
        return dict(_counts)


def reset_counters() -> None:
    """Zero every counter (tests, or a process that wants per-interval numbers).

    Example:
        >>> from brokle_trace.capture import counters, reset_counters
        >>> reset_counters(); counters()["redactions"]
        0
    """
    with _lock:
        for name in list(_counts):
            _counts[name] = 0


def report(kind: str, exc: BaseException | None = None, what: str = "") -> None:
    """Count ``kind`` and log it at most once a minute per kind (never the value itself)."""
    increment(kind)
    if not _reports.allow(kind):
        return
    # Only the exception *type*: its message may quote the very secret we are protecting.
    detail = type(exc).__name__ if exc is not None else ""
    _log.warning(
        "brokle_trace capture: %s %s %s (counted; logged at most once a minute)", kind, what, detail
    )
