"""The library's own voice: its logger, internal-error counting, and one rate limiter.

Bottom of the import graph (imports nothing from the package), so every stage can report
through it without pulling in configuration or the pipeline.
"""

from __future__ import annotations

import logging
import threading
import time

__all__ = [
    "RateLimiter",
    "error_counts",
    "internal_error",
    "logger",
    "reset_after_fork",
    "reset_counts",
]

logger = logging.getLogger("brokle_trace")

#: Re-raise internal errors instead of logging them (the library's own tests run strict).
strict: bool = False


class RateLimiter:
    """Says yes to a kind at most once per ``every`` seconds (thread-safe, no allocation).

    Example:
        >>> limit = RateLimiter(60.0)
        >>> limit.allow("dns"), limit.allow("dns"), limit.allow("disk")
        (True, False, True)
    """

    __slots__ = ("_every", "_last", "_lock")

    def __init__(self, every: float) -> None:
        self._every = every
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def allow(self, kind: str = "") -> bool:
        """True if nothing of ``kind`` was allowed in the last ``every`` seconds."""
        now = time.monotonic()
        with self._lock:
            last = self._last.get(kind)
            if last is not None and now - last < self._every:
                return False
            self._last[kind] = now
            return True

    def warn(self, kind: str, message: str, *args: object) -> None:
        """``logger.warning(message, *args)`` unless ``kind`` was logged too recently."""
        if self.allow(kind):
            logger.warning(message, *args)

    def after_fork(self) -> None:
        """A fresh lock in a forked child (one held by another thread at fork stays held)."""
        self._lock = threading.Lock()


_errors = RateLimiter(60.0)
_error_lock = threading.Lock()
_error_counts: dict[str, int] = {}


def internal_error(kind: str, exc: BaseException, detail: str | None = None) -> None:
    """Count an internal failure and log it at most once a minute per kind.

    ``detail`` replaces ``str(exc)`` in the log line (a caller that redacted it). In strict
    mode the error is re-raised (the library's own tests run strict).
    """
    with _error_lock:
        _error_counts[kind] = _error_counts.get(kind, 0) + 1
    _errors.warn(
        kind,
        "brokle_trace: internal error in %s (%s: %s); tracing continues, user code unaffected",
        kind,
        type(exc).__name__,
        exc if detail is None else detail,
    )
    if strict:
        raise exc


def error_counts() -> dict[str, int]:
    """A copy of the internal error counters, by kind."""
    with _error_lock:
        return dict(_error_counts)


def reset_counts() -> None:
    """Zero the internal error counters (``configure()`` starts every counter afresh)."""
    with _error_lock:
        _error_counts.clear()


def reset_after_fork() -> None:
    """Fresh locks in a forked child (a lock held by another thread at fork stays held)."""
    global _error_lock
    _error_lock = threading.Lock()
    _errors.after_fork()
