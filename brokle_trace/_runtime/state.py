"""Process-wide mutable state the hot path reads: one place, swapped whole by ``configure``.

Everything here is read with a single attribute load; nothing here allocates per call.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from brokle_trace.capture import CaptureSettings

if TYPE_CHECKING:
    from brokle_trace._trace.span import Span

__all__ = ["UNSET", "enabled", "internal_error", "logger"]

logger = logging.getLogger("brokle_trace")


class _Unset:
    __slots__ = ()

    def __repr__(self) -> str:
        return "UNSET"


#: Marks "argument not given" where None is a meaningful value.
UNSET: Any = _Unset()
#: First item of ``span._input`` when it holds the raw (immutable) arguments.
RAW_ARGS: Any = object()

#: False turns every decorator into a plain call (a flag check and nothing else).
enabled: bool = True
#: Re-raise internal errors instead of logging them (the library's own tests).
strict: bool = False
capture_settings: CaptureSettings = CaptureSettings()
#: Strings up to this length are kept whole at call time (the limit plus the redaction
#: margin); the worker redacts, then truncates to the limit. Mirrors ``capture_settings``.
capture_cut: int = capture_settings._compiled.cut


def set_capture_settings(settings: CaptureSettings) -> None:
    """Swap the capture settings and what the hot path derives from them, together."""
    global capture_settings, capture_cut
    capture_settings = settings
    capture_cut = settings._compiled.cut
capture_inputs: bool = True
capture_outputs: bool = True

#: Spans started in this process (itertools.count: atomic under threads, ~40 ns).
started = itertools.count()


def _enqueue_unconfigured(span: Span) -> None:
    # First span of the process: build the default pipeline, then hand over.
    from brokle_trace._runtime import config as _config

    _config.ensure_configured()
    enqueue(span)


#: Hands an ended span to the export queue; replaced once the pipeline exists.
enqueue: Callable[[Span], None] = _enqueue_unconfigured

_error_lock = threading.Lock()
_error_counts: dict[str, int] = {}
_error_last_log: dict[str, float] = {}
_LOG_EVERY_S = 60.0


def internal_error(kind: str, exc: BaseException) -> None:
    """Count an internal failure and log it at most once a minute per kind.

    In strict mode the error is re-raised (the library's own tests run strict).
    """
    with _error_lock:
        _error_counts[kind] = _error_counts.get(kind, 0) + 1
        now = time.monotonic()
        should_log = now - _error_last_log.get(kind, -_LOG_EVERY_S) >= _LOG_EVERY_S
        if should_log:
            _error_last_log[kind] = now
    if should_log:
        logger.warning(
            "brokle_trace: internal error in %s (%s: %s); tracing continues, user code unaffected",
            kind,
            type(exc).__name__,
            exc,
        )
    if strict:
        raise exc


def error_counts() -> dict[str, int]:
    """A copy of the internal error counters, by kind."""
    with _error_lock:
        return dict(_error_counts)


def reset_after_fork() -> None:
    """Fresh locks in a forked child (a lock held by another thread at fork stays held)."""
    global _error_lock
    _error_lock = threading.Lock()
