"""The clock every span reads its start and end times from.

One module attribute, read at call time by every reader (span starts and ends, generator
steps, stream chunks, the exit flush), so ``brokle_trace.testing.deterministic`` swaps it in
one place. Its own module so that the modules reading it import nothing of each other.

Example:
    >>> from brokle_trace._trace import clock
    >>> clock.time_ns() > 0
    True
"""

from __future__ import annotations

import time

__all__ = ["time_ns"]

time_ns = time.time_ns
