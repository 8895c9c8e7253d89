"""A list of same-shaped dicts (rows of data, retrieved documents, chat messages with
short fields) finalised a column at a time.

Walking such a list costs ~2 µs per row in the Walker, almost all of it interpreter
overhead repeated for every row. Here the checks run once per column with C-level
builtins (``map``, ``set``, ``min``/``max``), so a 100-row list costs a few µs. The result
is exactly what the Walker returns (same values, same counts, same size estimate); any row
that is not a plain dict of plain leaves with the first row's keys sends the whole list
back to the Walker, and so does a row with the first row's keys in another order when a
key is renamed (redacted): the rebuilt rows take one key order, and the byte budget's cut
depends on it. Otherwise every row is copied in its own order and its changed cells (a
redacted text, a nested cell) replaced by key.

A column may also hold a list or a dict of plain leaves in every row (tags, a document's
``metadata``): its cells are finalised as the Walker finalises them one level down (same
string rules per position: a list item goes through ``Walker.text``, a dict value through
the mapping's inline cache), all within the same one-shot checks.
"""

from __future__ import annotations

from collections import Counter, deque
from itertools import chain, repeat
from math import isfinite
from operator import itemgetter, setitem
from typing import TYPE_CHECKING, Any

import orjson

from brokle_trace.capture._fast import INT_MAX, INT_MIN
from brokle_trace.capture._redact import CACHE_TEXT_MAX

if TYPE_CHECKING:
    from brokle_trace.capture._finalize import Walker

__all__ = ["MIN_ROWS", "rows"]

#: Below this many rows the Walker's own loop is as cheap as the set-up here.
MIN_ROWS = 4

_INT = frozenset({int})
_FLOAT = frozenset({float})
_STR = frozenset({str})
_LIST = frozenset({list})
_NESTED = (_LIST, frozenset({dict}))
#: Leaves a nested cell may hold (checked per kind below).
_LEAF_KINDS = frozenset({str, int, float, bool, type(None)})
#: Columns of true/false or null: 4 in the size estimate per value, like the Walker's.
_ONE_WORD = (frozenset({bool}), frozenset({type(None)}))


def rows(walker: Walker, items: list[Any], depth: int) -> list[Any] | None:
    """``items`` (at most max_items, already sliced) finalised as the Walker would, each
    row at ``depth``; None when they are not all plain rows of one shape."""
    first = items[0]
    c = walker.ctx.c
    red = walker.redactor
    if type(first) is not dict or red is None or depth >= c.max_depth or not first:
        return None
    width = len(first)
    if width > c.max_items or set(map(type, items)) != {dict}:
        return None
    meta = walker.meta
    # A row copied (and maybe cut) at call time: the Walker knows its size. The snapshot
    # copies a level whole or not at all, and puts every dict it copies in meta, so the
    # first row answers for all of them, and for their cells (a level further down).
    # (``id`` per row cost ~530 instructions: an audit event and a new int each.)
    if meta and id(first) in meta:
        return None
    # Rows not copied at call time are the caller's, which another thread may change while
    # this reads them: every check and the output read one copy (the Walker copies too), so
    # a value put in after its column was judged is never exported unredacted.
    items = list(map(dict.copy, items))
    keys = tuple(first)
    key_info = red.key_info
    out_keys: list[str] = []
    est = 3  # per row: the mapping's braces (2) and the sequence's separator (1)
    redactions = 0
    for k in keys:
        hit = key_info.get(k) if type(k) is str else None
        if hit is None or hit[1] is not None:
            return None  # a key seen for the first time, or a secret-named one
        out_keys.append(hit[0])
        redactions += hit[2]
        est += len(hit[0]) + 4  # the key (+2) and the entry's separator (+2)
    if len(set(out_keys)) != len(out_keys):
        return None
    try:  # a row without one of the first row's keys
        columns = [list(map(itemgetter(k), items)) for k in keys]
    except KeyError:
        return None
    n = len(items)
    # Every row holds the first row's keys (so at least ``width``): one more is more in total.
    if sum(map(len, items)) != width * n:
        return None
    per_row_est = est * n
    redactions *= n
    changed: dict[int, list[Any]] = {}
    limit = walker.ctx.limit
    short = red.short_cache
    for j, column in enumerate(columns):
        kinds = frozenset(map(type, column))
        if kinds == _INT:
            if not _in_range(column):
                return None
            per_row_est += n
        elif kinds == _FLOAT:
            # A sum with a NaN or an infinity in it is never finite (one C pass, no calls);
            # a finite column may still overflow the sum: then each value is asked.
            if not isfinite(sum(column)) and not all(map(isfinite, column)):
                return None
            per_row_est += n
        elif kinds == _STR:
            mapped: dict[str, str] = {}
            found: dict[str, int] = {}
            for text in set(column):
                cached = short.get(text)
                if cached is None or len(cached[0]) > limit:
                    return None  # first sight, or over the limit: the Walker cuts it
                if cached[0] != text:
                    mapped[text] = cached[0]
                if cached[1]:
                    found[text] = cached[1]
            if found:  # counted per occurrence, like the Walker; one pass over the column
                occurrences = Counter(column)
                redactions += sum(n * occurrences[text] for text, n in found.items())
            if mapped:
                changed[j] = [mapped.get(text, text) for text in column]
            per_row_est += len("".join(changed.get(j, column))) + 2 * n  # no call per text
        elif kinds in _ONE_WORD:
            per_row_est += 4 * n
        elif kinds in _NESTED:
            cells = _cells(walker, column, depth + 1, kinds == _LIST)
            if cells is None:
                return None
            changed[j], cells_est, cells_redactions = cells
            per_row_est += cells_est
            redactions += cells_redactions
        else:
            return None
    if walker.est + per_row_est > walker.cap:
        return None  # the Walker would stop part-way: let it decide where
    renamed = out_keys != list(keys)
    if renamed and not all(map(keys.__eq__, map(tuple, items))):
        return None  # rebuilt rows take one key order: only when they all have it
    walker.est += per_row_est
    walker.redactions += redactions
    if not renamed:
        # Each row in its own key order, as walked; changed cells replaced in place.
        out = items  # our copies
        for j, new_cells in changed.items():
            deque(map(setitem, out, repeat(keys[j], n), new_cells), maxlen=0)
        return out
    values = [changed.get(j, column) for j, column in enumerate(columns)]
    return [dict(zip(out_keys, row, strict=True)) for row in zip(*values, strict=True)]


def _in_range(column: list[int]) -> bool:
    """Whether every int of ``column`` is within [INT_MIN, INT_MAX]: exactly the ints orjson
    writes (it refuses the others), found by one C pass instead of ``min`` and ``max``."""
    try:
        orjson.dumps(column)
    except TypeError:
        return False
    return True


def _cells(
    walker: Walker, column: list[Any], depth: int, lists: bool
) -> tuple[list[Any], int, int] | None:
    """A column of lists (``lists``) or dicts of plain leaves, each cell at ``depth``,
    finalised as the Walker would: (fresh cells, size estimate, redactions), or None."""
    c = walker.ctx.c
    if lists:  # the caller's lists, maybe changing: judge and export one copy
        column = list(map(list.copy, column))
    if depth >= c.max_depth or max(map(len, column)) > c.max_items:
        return None  # a depth marker or a cut: the Walker's
    # Copied at call time? Not when their rows were not (``rows`` asked meta).
    red = walker.redactor
    assert red is not None  # rows() checked
    short = red.short_cache
    limit = walker.ctx.limit
    n = len(column)
    est = 2 * n  # each cell's brackets
    redactions = 0
    if lists:
        flat = list(chain.from_iterable(column))
        kinds = set(map(type, flat))
        if not kinds <= _LEAF_KINDS:
            return None
        mapped: dict[str, str] = {}
        adjust: list[str] = []  # texts exported otherwise, or counted as redactions
        for v in set(flat) if flat else ():
            tv = type(v)
            if tv is str:
                # Walker.text: the cached redaction of a text within the limit (longer ones
                # are cut there, even when the redacted text would fit).
                cached = short.get(v)
                if cached is None or len(v) > limit or len(cached[0]) > limit:
                    return None
                if cached[0] != v:
                    mapped[v] = cached[0]
                if cached[0] != v or cached[1]:
                    adjust.append(v)
            elif tv is int:
                if not INT_MIN <= v <= INT_MAX:
                    return None
            elif tv is float and not isfinite(v):
                return None
        est += len(flat)  # each item's separator
        if kinds == _STR:  # tags: one C-level pass per question
            est += len("".join(flat)) + 2 * len(flat)
            if adjust:
                occurrences = Counter(flat)
                for v in adjust:
                    text, count = short[v]
                    est += (len(text) - len(v)) * occurrences[v]
                    redactions += count * occurrences[v]
        else:
            for v in flat:
                tv = type(v)
                if tv is str:
                    cached = short[v]
                    redactions += cached[1]
                    est += len(cached[0]) + 2
                elif tv is int or tv is float:
                    est += 1
                else:
                    est += 4
        if mapped:
            get = mapped.get
            return (
                [[get(v, v) if type(v) is str else v for v in cell] for cell in column],
                est,
                redactions,
            )
        return column, est, redactions
    key_info = red.key_info
    out: list[Any] = []
    for cell in column:
        new: dict[str, Any] = {}
        for k, v in cell.items():
            hit = key_info.get(k) if type(k) is str else None
            if hit is None or hit[1] is not None or hit[0] in new:
                return None  # first sight, a secret-named key, or two keys exported as one
            ks = hit[0]
            redactions += hit[2]
            est += len(ks) + 4  # the key (+2) and the entry's separator (+2)
            tv = type(v)
            if (tv is int and INT_MIN <= v <= INT_MAX) or (tv is float and isfinite(v)):
                est += 1
            elif tv is str:
                # The mapping's inline cache: any cached text whose redaction fits.
                cached = short.get(v) if len(v) <= CACHE_TEXT_MAX else None
                if cached is None or len(cached[0]) > limit:
                    return None
                redactions += cached[1]
                est += len(cached[0]) + 2
                new[ks] = cached[0]
                continue
            elif tv is bool or v is None:
                est += 4
            else:
                return None
            new[ks] = v
        out.append(new)
    return out, est, redactions
