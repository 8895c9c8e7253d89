"""Long strings kept by reference until export, within a byte budget.

A ``str`` cannot change after the call, so the snapshot need not copy its head: keeping
the string itself costs nothing on the caller's thread, while copying 5 KB per call costs
a fresh allocation, and in a burst page faults (measured: 1-4 us per call, more than the
rest of the snapshot). What a reference costs instead is memory: the queue keeps the whole
string alive until the worker has exported the span. ``Pins`` bounds that: each string
taken is counted until its span is gone (``Pin.__del__``: exported, dropped or failed,
every path frees the snapshot), and past ``budget`` the snapshot copies heads as before.

The same string passed again (a document, a system prompt, a benchmark's payload) is not
counted again while the first span holding it is queued: ``last`` remembers it, and
memory-wise one more reference to it is free.
"""

from __future__ import annotations

import threading

__all__ = ["Pin", "Pins"]


class Pin:
    """One string counted against the budget; frees its share when the snapshot goes.

    Pins taken by one snapshot are chained through ``next``.
    """

    __slots__ = ("next", "pins", "size", "text")

    def __init__(self, pins: Pins, text: str, size: int, following: Pin | None) -> None:
        self.pins = pins
        self.text = text
        self.size = size
        self.next = following

    def __del__(self) -> None:
        pins = self.pins
        with pins.lock:
            pins.held -= self.size
            if pins.last is self.text:
                # Later calls with this string must count it again: the span that counted
                # it is gone, and an idle process should not keep the string alive.
                pins.last = None


class Pins:
    """The budget of bytes kept by reference, shared by every snapshot of one settings.

    Example:
        >>> pins = Pins(1 << 20)
        >>> doc = "x" * 200_000
        >>> pin = pins.take(doc, None)
        >>> pins.held, pins.last is doc
        (200000, True)
        >>> del pin
        >>> pins.held, pins.last
        (0, None)
    """

    __slots__ = ("budget", "held", "last", "lock")

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.held = 0
        #: The string most recently counted: a call passing it again takes no new pin.
        self.last: str | None = None
        # Taken by callers' threads and by whichever thread frees a snapshot; nothing
        # inside it can free a Pin (only ints and a str change hands), so no re-entry.
        self.lock = threading.Lock()

    def take(self, text: str, following: Pin | None) -> Pin | None:
        """Count ``text`` (chained to ``following``); None when the budget is spent."""
        # Memory per character: 1 for ASCII, up to 4 otherwise (assume the worst).
        size = len(text) if text.isascii() else 4 * len(text)
        with self.lock:
            if self.held + size > self.budget:
                return None
            self.held += size
            self.last = text
        return Pin(self, text, size, following)
