"""Timeouts as users give them (``inf``, ``nan``, huge), made safe for the waits they reach.

``threading`` and ``socket`` waits raise ``OverflowError`` past the platform's longest wait
(``threading.TIMEOUT_MAX``, ~292 years on Linux): ``flush(math.inf)`` or
``BROKLE_SHUTDOWN_TIMEOUT=inf`` must mean "as long as it takes", not an exception that
loses the queue. Deadlines may stay infinite (float arithmetic is fine with ``inf``); only
the value handed to a wait is bounded, here.
"""

from __future__ import annotations

import threading
import time

__all__ = ["MAX_WAIT", "remaining", "wait_time"]

MAX_WAIT: float = threading.TIMEOUT_MAX


def wait_time(seconds: float) -> float:
    """``seconds`` as a wait: negative or nan is 0, inf or more than a wait can hold is
    ``MAX_WAIT``.

    Example:
        >>> wait_time(float("inf")) == MAX_WAIT, wait_time(-1.0), wait_time(float("nan"))
        (True, 0.0, 0.0)
    """
    if not seconds > 0:  # also nan
        return 0.0
    return seconds if seconds < MAX_WAIT else MAX_WAIT


def remaining(deadline: float) -> float:
    """Seconds until ``deadline`` (``time.monotonic()`` based, may be inf), as a wait."""
    return wait_time(deadline - time.monotonic())
