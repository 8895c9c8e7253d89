"""Nested JSON-shaped values snapshotted as bytes: the call-time shortcut for chat messages,
tool schemas and documents.

The reference snapshot (``_snapshot``) copies a nested value level by level into fresh
dicts and lists. They stay alive in the queue until the worker finalises them, so the
garbage collector walks every one of them, again and again as they age: for ten chat
messages with content parts that was ~30 µs of a 47 µs call. Here a value made only of
JSON-native builtins is checked (bounded, see below) and encoded by ``orjson`` into one
``bytes`` object, which the collector never scans; the worker decodes it into plain dicts
and lists and finalises them with the same Walker, so redaction, cuts and markers are the
reference's own.

The shortcut takes a value only when the reference snapshot would keep all of it as it
is, so decoding gives back exactly what the reference would have finalised:

* every container a ``dict`` or ``list`` (exact types: no subclasses, tuples, sets) of at
  most ``max_items`` entries, nested less than ``max_depth`` deep (so no cycles either);
* every key an exact ``str`` (left to orjson, whose strict options refuse any other key,
  a ``str`` subclass too); every leaf an exact ``str``, ``int`` within 64 bits, finite
  ``float``, ``bool`` or ``None`` (orjson writes NaN as null and refuses big ints);
* no string value longer than the snapshot's cut: long strings are pinned or cut by the
  reference snapshot exactly as before (its pins cost nothing per character), never
  encoded whole; keys are never cut at call time by either path;
* ``MAX_CHARS`` characters of keys and strings in all, at most.

The cost is bounded by the limits, not the input: the check looks at the entries of a
level only once their count (summed from ``len`` of the containers above) is within
``MAX_ENTRIES``, and the characters encoded are at most ``MAX_CHARS`` (values counted level
by level, keys in one C pass before encoding, through ``str.__len__`` so that a key's own
``__len__`` never runs); anything larger,
and anything orjson rejects (a lone surrogate), takes the reference snapshot. A container
mutated after the call is exported as it was: the bytes are the call-time state.
"""

from __future__ import annotations

import sys
from itertools import chain
from typing import Any

import orjson

__all__ = ["MAX_CHARS", "MAX_ENTRIES", "Encoded", "decode", "encode"]

#: Entries (dict items and list items, every level together) the check looks at, at most.
MAX_ENTRIES = 1024
#: Characters of keys and strings encoded, at most (~20 µs of orjson at worst).
MAX_CHARS = 64 * 1024

#: Leaves taken as they are (an int past 64 bits makes orjson raise: the reference then).
_SCALARS = frozenset({int, bool, type(None)})
#: Subclasses, dataclasses and datetimes put in by another thread since the check make
#: orjson raise (the reference snapshot then). Not everything: a NaN or infinity put in
#: meanwhile is written as null (the reference writes "NaN"), a tuple as a list, a UUID or
#: an Enum as orjson renders them; the bytes are still one call-time state, redacted whole
#: by the worker's walk, so only such a value's rendering can differ, never a redaction.
_STRICT = (
    orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
)
_dumps = orjson.dumps
_str_len = str.__len__
_loads = orjson.loads


class Encoded:
    """A snapshot taken by the shortcut: ``data`` is the value's orjson encoding, ``limit``
    the string limit it was checked for (as ``Snapshot.limit``)."""

    __slots__ = ("data", "limit")

    def __init__(self, data: bytes, limit: int) -> None:
        self.data = data
        self.limit = limit

    def __sizeof__(self) -> int:
        # What this snapshot keeps alive, for the queue's memory bound (sys.getsizeof).
        return object.__sizeof__(self) + sys.getsizeof(self.data)

    def __repr__(self) -> str:
        return f"Encoded({len(self.data)} bytes)"


def decode(snap: Encoded) -> Any:
    """The value as it was at call time, as fresh plain dicts, lists and leaves."""
    return _loads(snap.data)


def encode(root: dict[Any, Any] | list[Any], limit: int, cut: int, m: int, depth: int) -> Any:
    """``Encoded`` for a JSON-native ``root`` (a dict or list) within the bounds, else None.

    ``cut``: the longest string value the reference keeps as it is (a longer one: the
    reference); ``m``: max_items; ``depth``: max_depth.

    Example:
        >>> snap = encode({"messages": [{"role": "user", "content": "hi"}]}, 4000, 4200, 100, 10)
        >>> decode(snap)
        {'messages': [{'role': 'user', 'content': 'hi'}]}
        >>> encode({"n": float("nan")}, 4000, 4200, 100, 10) is None
        True
    """
    if (type(root) is not dict and type(root) is not list) or len(root) > m:
        return None
    try:
        return _encode(root, limit, m, cut, depth)
    except RuntimeError:  # another thread resized a dict while we read it: the reference
        return None


def _encode(root: Any, limit: int, m: int, cut: int, depth: int) -> Encoded | None:
    # Values only, one type test chain each: keys are left to orjson, which refuses any
    # key but an exact str under _STRICT (a str subclass too), and their characters are
    # counted in one C pass at the end (str.__len__: a key object's own __len__ never runs).
    entries = MAX_ENTRIES - len(root)
    chars = MAX_CHARS
    frontier: list[Any] = [root]
    dicts: list[dict[Any, Any]] = []
    level = 0
    while entries >= 0:
        following: list[Any] = []
        for node in frontier:
            if type(node) is dict:
                dicts.append(node)
                node = node.values()  # noqa: PLW2901 - read the values; one name keeps the loop short
            for v in node:
                tv = type(v)
                if tv is str:
                    n = len(v)
                    if n > cut:
                        return None
                    chars -= n
                elif tv is dict or tv is list:
                    n = len(v)
                    if n > m:
                        return None
                    entries -= n
                    following.append(v)  # not a bound method: 3.11+ specialise this call
                elif tv is float:
                    if v - v != 0.0:
                        return None
                elif tv not in _SCALARS:
                    return None
        if chars < 0:  # per level: the level's entries were bounded before it was read
            return None
        if not following:
            try:
                chars -= sum(map(_str_len, chain.from_iterable(dicts)))
            except TypeError:  # a key that is not a str: the reference
                return None
            if chars < 0:
                return None
            try:
                return Encoded(_dumps(root, option=_STRICT), limit)
            except TypeError:  # orjson.JSONEncodeError: an int past 64 bits, a lone surrogate,
                return None  # a key that is not an exact str
        level += 1
        if level >= depth:
            return None  # the reference marks the depth (and sees cycles)
        frontier = following
    return None
