"""The worker's fast path: the common shapes finalised without building a Walker.

A short string, a number, a flat dict of scalars and short strings, a short list of
integers: same result as the full walk (a hypothesis test compares them), a fraction of the
cost. Anything unusual returns "not done" and the caller walks.
"""

from __future__ import annotations

import re

from brokle_trace.capture._counters import increment
from brokle_trace.capture._redact import CACHE_TEXT_MAX, SHORT, marker
from brokle_trace.capture._settings import Compiled
from brokle_trace.typing import JSONValue

__all__ = [
    "INT_MAX",
    "INT_MIN",
    "JSON_BYTES_PER_CHAR",
    "NOT_LEAF",
    "clean",
    "clean_names",
    "fast",
    "fast_text",
    "leaf",
    "leaf_args",
]

_SURROGATES = re.compile("[\ud800-\udfff]")
#: orjson encodes integers in this range; others are exported as strings by the walk.
INT_MIN, INT_MAX = -(1 << 63), (1 << 64) - 1


def clean(s: str) -> str:
    """Lone surrogates (from ``"\\ud800"`` or bad decoding) cannot be encoded: same-length fix."""
    if s.isascii():
        return s
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATES.sub("\ufffd", s)
    return s


#: Flat values with at most this many entries may take the fast path.
_FLAT_MAX = 32
#: Worst-case JSON bytes per character (a control character escapes to ``\u00XX``).
JSON_BYTES_PER_CHAR = 6


def fast_text(c: Compiled, s: str, limit: int) -> tuple[str | None, int]:
    """A string within the limit, redacted, and how many secrets it had; None when it needs
    the full walk. Counting is the caller's: a shortcut that gives up later (the byte
    budget) must not count what the walk then counts again."""
    if len(s) > limit:
        return None, 0
    if not s.isascii():
        s = clean(s)
    red = c.redactor
    if red is None:
        return s, 0
    out, n = red.redact(s)
    if n and len(out) > limit:
        return None, 0
    return out, n


def fast(value: object, c: Compiled, limit: int) -> tuple[bool, JSONValue]:
    """The common shapes (a short string, a flat dict of scalars and short strings),
    without building a Walker: same result as the walk, a fraction of the cost.

    Returns (False, None) whenever anything is unusual; the caller then walks.
    """
    t = type(value)
    if (
        (t is int and INT_MIN <= value <= INT_MAX)  # type: ignore[operator]
        or (t is float and value - value == 0.0)  # type: ignore[operator]
        or t is bool
        or value is None
    ):
        return True, value  # type: ignore[return-value]
    if t is str:
        out, n = fast_text(c, value, limit)  # type: ignore[arg-type]
        if out is not None and (len(out) + 2) * JSON_BYTES_PER_CHAR <= c.max_bytes:
            if n:
                increment("redactions", n)
            return True, out
        return False, None
    if t is list and len(value) <= _FLAT_MAX and len(value) <= c.max_items:  # type: ignore[arg-type]
        items: list[JSONValue] = []
        for v in value:  # type: ignore[attr-defined]
            if (type(v) is int and INT_MIN <= v <= INT_MAX) or type(v) is bool or v is None:
                items.append(v)
            else:
                return False, None  # floats, strings, containers: the walk handles them
        if (len(items) * 22 + 2) * JSON_BYTES_PER_CHAR > c.max_bytes:
            return False, None
        return True, items
    if t is not dict or len(value) > _FLAT_MAX or len(value) > c.max_items:  # type: ignore[arg-type]
        return False, None
    red = c.redactor
    key_info = red.key_info if red is not None else None
    short = red.short_cache if red is not None else None
    result: dict[str, JSONValue] = {}
    chars = 2
    redactions = 0
    for k, v in value.items():  # type: ignore[attr-defined]
        if type(k) is not str:
            return False, None
        if key_info is not None:
            hit = key_info.get(k)
            if hit is None or hit[0] in result:  # first sight of a key: the walk caches it
                return False, None
            ks, rule = hit[0], hit[1]
            redactions += hit[2]
            if (
                rule is not None
                and type(v) is not bool
                and v is not None  # flags stay
                and not (rule == "token" and "logprob" in value)  # type: ignore[operator]
            ):
                result[ks] = marker(rule)
                redactions += 1
                chars += len(ks) + 40
                continue
        else:
            ks = k
        tv = type(v)
        if tv is str:
            # A long text kept whole by the snapshot is not hashed (it is never cached).
            seen = short.get(v) if short is not None and len(v) <= CACHE_TEXT_MAX else None
            if seen is not None and not seen[1] and len(v) <= limit and v.isascii():
                out = v  # seen before, nothing to redact: skip the call chain
            else:
                out, n = fast_text(c, v, limit)
                redactions += n
            if out is None:
                return False, None
            result[ks] = out
            chars += len(ks) + len(out) + 6
        elif (tv is int and INT_MIN <= v <= INT_MAX) or (tv is float and v - v == 0.0):
            result[ks] = v
            chars += len(ks) + 30
        elif tv is bool or v is None:
            result[ks] = v
            chars += len(ks) + 10
        else:
            return False, None
    if chars * JSON_BYTES_PER_CHAR > c.max_bytes:
        return False, None
    if redactions:
        increment("redactions", redactions)
    return True, result


#: What ``leaf`` returns for a value that needs the full finaliser.
NOT_LEAF: object = object()


def leaf(value: object, c: Compiled) -> object:
    """``value`` itself when finalising it would return it unchanged, else ``NOT_LEAF``.

    For the worker's commonest values (a number, a short text seen before with nothing to
    redact), checked inline by the caller before paying for ``finalize_value``. Only valid
    without a mask and with the default string limit (the caller checks both).
    """
    t = type(value)
    if t is int:
        return value if INT_MIN <= value <= INT_MAX else NOT_LEAF  # type: ignore[operator]
    if t is str:
        red = c.redactor
        s: str = value  # type: ignore[assignment]
        hit = red.short_cache.get(s) if red is not None and len(s) <= CACHE_TEXT_MAX else None
        if (
            hit is not None
            and not hit[1]
            and len(s) <= c.limit
            and s.isascii()
            and (len(s) + 2) * JSON_BYTES_PER_CHAR <= c.max_bytes
        ):
            return s
        return NOT_LEAF
    if t is float:
        return value if value - value == 0.0 else NOT_LEAF  # type: ignore[operator]
    if t is bool or value is None:
        return value
    return NOT_LEAF


def leaf_args(names: tuple[str, ...], args: tuple[object, ...], c: Compiled) -> object:
    """``dict(zip(names, args))`` when finalising it would return it unchanged (every
    value a ``leaf``, the names known clean by ``clean_names``), else ``NOT_LEAF``."""
    if len(args) > len(names) or len(args) > c.max_items:
        return NOT_LEAF
    short = c.redactor.short_cache  # type: ignore[union-attr] # clean_names saw a redactor
    limit = c.limit
    # Each entry as if its name had the longest clean length (SHORT): an upper bound.
    chars = 2 + len(args) * (SHORT + 30)
    for value in args:  # the checks of ``leaf``, inlined: this runs for most spans
        t = type(value)
        if t is int:
            if not INT_MIN <= value <= INT_MAX:  # type: ignore[operator]
                return NOT_LEAF
        elif t is str:
            text: str = value  # type: ignore[assignment]
            hit = short.get(text)
            if hit is None or hit[1] or len(text) > limit or not text.isascii():
                return NOT_LEAF
            chars += len(text)
        elif t is float:
            if value - value != 0.0:  # type: ignore[operator]
                return NOT_LEAF
        elif t is not bool and value is not None:
            return NOT_LEAF
    if chars * JSON_BYTES_PER_CHAR > c.max_bytes:
        return NOT_LEAF
    return dict(zip(names, args))  # noqa: B905 - len(args) <= len(names) checked above


def clean_names(names: tuple[str, ...], c: Compiled) -> bool:
    """True when none of ``names`` is a secret-named key or holds anything to redact, so
    a dict keyed by them is exported with the same keys (``leaf_args`` may be used)."""
    red = c.redactor
    if red is None or c.mask is not None:
        return False
    for name in names:
        if len(name) > SHORT or red.key_rule(name) is not None:
            return False
        if red.redact(name) != (name, 0):
            return False
    return True
