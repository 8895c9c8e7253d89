"""What a queued record keeps alive: an estimate, in bytes, for the queue's memory bound.

A record is small, but what it refers to may not be: the capture snapshot copies what the
hot-path budget allows and keeps deeper levels of the user's arguments *by reference* for
the worker to read later (``capture/_snapshot.py``). Retrieved documents the caller drops
right after the call then stay alive for as long as the record is queued. Bounding the
queue by encoded span size alone let a dead backend pin 617 MB against a 32 MiB bound.

The estimate counts what only this record keeps alive: it walks the record and counts an
object (``sys.getsizeof``) only while nothing else refers to it (its reference count is
what the walk itself accounts for), so a system prompt, a tool schema or a document the
user still holds costs nothing, and neither do interned keys, small ints or the function's
shared export view. The walk is bounded (``_BUDGET`` objects; a long container is sampled
and extrapolated), so measuring one record in 16 costs the worker well under a microsecond
per span.
"""

from __future__ import annotations

import sys
from typing import Any

from brokle_trace.capture._nodes import Cut, Deferred, Snapshot

__all__ = ["retained_bytes"]

#: Objects looked at per record, at most.
_BUDGET = 256
#: Children looked at per container; the rest are estimated from these.
_SAMPLE = 16

_getrefcount = sys.getrefcount
_getsizeof = sys.getsizeof
_SEQUENCES = (list, tuple, set, frozenset)
_LEAVES = (str, bytes, int, float, bool, type(None))


class _Holder:
    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value


def _field_count(value: Any) -> int:
    return _getrefcount(value)


def _item_count(items: Any) -> int:
    for child in items:
        return _getrefcount(child)
    return 0  # pragma: no cover - probed with one item


#: ``sys.getrefcount`` of an object held by its container alone, as ``_children`` sees it
#: (looping over the container) and as ``_field`` sees it (read from an attribute and
#: passed in): calibrated on this interpreter, whose calling convention decides them.
_ALONE_ITEM = _item_count([object()])
_probe = _Holder(object())
_ALONE_FIELD = _field_count(_probe.value)
del _probe


def retained_bytes(record: tuple[Any, ...]) -> int:
    """Bytes that would be freed with ``record``, estimated (never negative).

    Example:
        >>> docs = lambda: [str(i) * 50 for i in range(1000)]
        >>> retained_bytes((None, [docs()])) > 50_000  # only the record holds the list...
        True
        >>> kept = docs()
        >>> retained_bytes((None, [kept])) < 1000  # ...not when the caller keeps it too
        True
    """
    budget = [_BUDGET]
    # The function's export view and the trace attributes are shared by many records:
    # their reference counts say so, like anything else the caller still holds.
    return _getsizeof(record) + _children(record, budget, len(record))


def _size(obj: Any, budget: list[int]) -> int:
    budget[0] -= 1
    size = _getsizeof(obj)
    if budget[0] <= 0 or isinstance(obj, _LEAVES):
        return size
    kind = type(obj)
    if kind is Snapshot:
        return size + _field(obj.root, budget) + _field(obj.meta, budget)
    if kind is Deferred:
        return size + _field(obj.obj, budget)
    if kind is Cut:
        return size + _field(obj.head, budget)
    if isinstance(obj, dict):
        n = len(obj)
        return size + _children(obj.keys(), budget, n) + _children(obj.values(), budget, n)
    if isinstance(obj, _SEQUENCES):
        return size + _children(obj, budget, len(obj))
    inner = getattr(obj, "__dict__", None)
    if type(inner) is dict:
        n = len(inner)
        return size + _children(inner.values(), budget, n)
    return size


def _field(value: Any, budget: list[int]) -> int:
    # ``value`` is held by its attribute and this call only: the count _ALONE_FIELD sees.
    return _size(value, budget) if _getrefcount(value) <= _ALONE_FIELD else 0


def _children(items: Any, budget: list[int], length: int) -> int:
    total = 0
    looked = 0
    for child in items:
        # ``child`` is held by the container and this loop only: the count _ALONE_ITEM sees.
        if _getrefcount(child) <= _ALONE_ITEM:
            total += _size(child, budget)
        looked += 1
        if looked >= _SAMPLE or budget[0] <= 0:
            break
    if looked and length > looked:
        total += total * (length - looked) // looked
    return total
