"""Slow ``__repr__``/``__str__``: a class whose method stalled the export worker once is not
asked again.

User ``repr``s run on the export worker (never on the caller's thread). One that takes
seconds (a lazy ORM object querying its database, a client object doing a network round
trip, a huge model summary) holds the worker the whole time: every other span waits, and at
exit the bounded flush loses the ones behind it. A thread cannot be interrupted, so the first
slow call is paid; after it the class is remembered and its objects are rendered as a
placeholder naming the class and the time it took, counted as ``repr_skipped``. The cost to
every other repr is two clock reads and a weak-dictionary lookup.

Example:
    >>> class Lazy:
    ...     pass
    >>> skipped_text(Lazy, "repr") is None
    True
    >>> remember(Lazy, "repr", 2_500_000_000)
    >>> skipped_text(Lazy, "repr")
    '<Lazy: repr() skipped, it took 2.5 s once>'
"""

from __future__ import annotations

import contextlib
import weakref

from brokle_trace.capture._containers import type_label

__all__ = ["SLOW_NS", "forget_all", "remember", "skipped_text"]

#: A repr taking longer than this is slow (a worker exports ~100 000 small spans a second:
#: 0.1 s is thousands of spans' worth of waiting).
SLOW_NS = 100_000_000

# Weak keys: a class made at run time (a factory, a test) is not kept alive by this.
_slow: weakref.WeakKeyDictionary[type, dict[str, int]] = weakref.WeakKeyDictionary()


def skipped_text(cls: type, what: str) -> str | None:
    """The placeholder for an object of ``cls`` whose ``what`` (``repr``/``str``) was slow."""
    try:
        took = _slow.get(cls)
    except TypeError:  # a class that cannot be weakly referenced: never remembered
        return None
    if took is None or what not in took:
        return None
    return f"<{type_label(cls)}: {what}() skipped, it took {took[what] / 1e9:.1f} s once>"


def remember(cls: type, what: str, elapsed_ns: int) -> None:
    """Note that ``what`` of ``cls`` took ``elapsed_ns``: later objects of it are skipped."""
    with contextlib.suppress(TypeError):  # a class that cannot be weakly referenced
        _slow.setdefault(cls, {})[what] = elapsed_ns


def forget_all() -> None:
    """Ask every class again (``configure()`` and tests)."""
    _slow.clear()
