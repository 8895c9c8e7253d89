"""Long strings kept by reference until export, within a byte budget.

A ``str`` cannot change after the call, so the snapshot need not copy its head: keeping
the string itself costs nothing on the caller's thread, while copying 5 KB per call costs
a fresh allocation, and in a burst page faults (measured: 1-4 us per call, more than the
rest of the snapshot). What a reference costs instead is memory: the string stays alive
while a snapshot holds it. ``Pins`` bounds that: every string kept is owned by one ``Pin``
that every snapshot holding the string refers to, and counted until the last of them is
freed (``Pin.__del__``: exported, dropped, failed or kept by the user, every path frees or
keeps the pin). Past ``budget`` the snapshot copies heads as before.

The same string passed again (a document, a system prompt, a benchmark's payload) shares
the pin of the last string taken (``last``, a weak reference: an idle process keeps
nothing alive), so it costs neither memory nor a count.

``Pin.__del__`` takes no lock: it can run inside a garbage collection started by an
allocation anywhere, including in ``take`` while the lock is held (on Python <= 3.11 even
``Lock.__exit__`` allocates). It appends the size to ``freed`` (atomic) and ``take`` settles
the account under the lock.
"""

from __future__ import annotations

import threading
import weakref
from collections import deque

__all__ = ["Pin", "Pins"]


class Pin:
    """One string counted against the budget; gives its size back when the last snapshot
    holding it is freed."""

    __slots__ = ("__weakref__", "freed", "size", "text")

    def __init__(self, text: str, freed: deque[int]) -> None:
        self.size = 0  # counted only once ``take`` has admitted it
        self.text = text
        self.freed = freed

    def __del__(self) -> None:
        try:
            if self.size:
                self.freed.append(self.size)
        except AttributeError:  # pragma: no cover - interrupted in __init__
            pass


class Pins:
    """The budget of bytes kept by reference, shared by every snapshot of one settings.

    Example:
        >>> pins = Pins(1 << 20)
        >>> doc = "x" * 200_000
        >>> pin = pins.take(doc)
        >>> pins.share(doc) is pin, pins.held
        (True, 200000)
        >>> del pin
        >>> pins.held, pins.share(doc)
        (0, None)
    """

    __slots__ = ("_held", "_taking", "budget", "freed", "last", "lock")

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self._held = 0
        #: Sizes of pins freed since ``take`` last settled the account.
        self.freed: deque[int] = deque()
        #: The pin most recently taken (weak): the same string again shares it.
        self.last: weakref.ref[Pin] | None = None
        self.lock = threading.Lock()
        #: Set on a thread while it is inside ``take`` (see there).
        self._taking = threading.local()

    @property
    def held(self) -> int:
        """Bytes counted now."""
        taking = self._taking
        taking.busy = True  # a finalizer's take() while we hold the lock must not wait
        try:
            with self.lock:
                return self._settle()
        finally:
            taking.busy = False

    def _settle(self) -> int:
        freed = self.freed
        while freed:
            self._held -= freed.popleft()
        return self._held

    def share(self, text: str) -> Pin | None:
        """The live pin of ``text`` if it is the string most recently taken."""
        ref = self.last
        pin = ref() if ref is not None else None
        return pin if pin is not None and pin.text is text else None

    def take(self, text: str) -> Pin | None:
        """A pin counting ``text``; None when the budget is spent."""
        # Memory per character: 1 for ASCII, up to 4 otherwise (assume the worst).
        size = len(text) if text.isascii() else 4 * len(text)
        pin = Pin(text, self.freed)  # before counting: an interrupted take leaks nothing
        taking = self._taking
        if getattr(taking, "busy", False):
            # A collection inside our own take() ran a finalizer that snapshots a long string
            # (3.12+ runs collections at any bytecode boundary, lock held or not): never wait
            # for the lock this thread holds; the caller copies the head instead.
            return None
        taking.busy = True
        try:
            with self.lock:
                if self._settle() + size > self.budget:
                    return None
                pin.size = size
                self._held += size
        finally:
            taking.busy = False
        self.last = weakref.ref(pin)
        return pin

    def reset(self) -> None:
        """Forget every pin (a forked child: the parent's snapshots are not its own)."""
        self.lock = threading.Lock()
        self._taking = threading.local()
        self.freed = deque()
        self._held = 0
        self.last = None
