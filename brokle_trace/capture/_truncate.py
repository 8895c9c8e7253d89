"""Truncation markers and the exact byte budget.

Markers are part of the budget: a string cut to ``max_string_length`` *including* its marker,
a list cut to ``max_items`` *including* its marker entry, a field cut to ``max_bytes``
*including* every marker. That is what makes capture idempotent: capturing a captured value
changes nothing.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from brokle_trace.typing import JSONValue

__all__ = [
    "DICT_MARKER_KEY",
    "clean_cut",
    "depth_marker",
    "dict_marker",
    "field_marker",
    "fit_bytes",
    "list_marker",
    "string_marker",
]

DICT_MARKER_KEY = "[TRUNCATED]"
_OPEN = "[REDACTED:"
_STRING_MARK = re.compile(r"\.\.\.\[TRUNCATED: (\d+) (chars|bytes)\]\Z")
_LIST_MARK = re.compile(r"\[TRUNCATED: (\d+) more of (\d+) items\]\Z")
_DICT_MARK = re.compile(r"\[TRUNCATED: (\d+) more of (\d+) keys\]\Z")


def string_marker(total: int, unit: str = "chars") -> str:
    """Appended to a cut string: says it was cut and how long the original was."""
    return f"...[TRUNCATED: {total} {unit}]"


def list_marker(omitted: int, total: int) -> str:
    """The last entry of a cut list."""
    return f"[TRUNCATED: {omitted} more of {total} items]"


def dict_marker(omitted: int, total: int) -> str:
    """The value under ``DICT_MARKER_KEY`` in a cut dict."""
    return f"[TRUNCATED: {omitted} more of {total} keys]"


def depth_marker(kind: str) -> str:
    """Replaces a container nested deeper than ``max_depth``."""
    return f"[TRUNCATED: {kind} at max depth]"


def field_marker(size: int, max_bytes: int) -> str:
    """Replaces a whole field when nothing of it fits in ``max_bytes``."""
    return f"[TRUNCATED: {size} bytes over the {max_bytes}-byte limit]"


def clean_cut(text: str, keep: int) -> str:
    """``text[:keep]``, moved back to before a redaction marker the cut would split."""
    if len(text) <= keep:
        return text
    head = text[:keep]
    start = head.rfind("[")
    if start != -1:
        tail = head[start:]
        # a marker cut anywhere, even inside "[REDACTED:" itself
        if "]" not in tail and (tail.startswith(_OPEN) or _OPEN.startswith(tail)):
            return head[:start]
    return head


def _size(value: Any) -> int:
    return len(orjson.dumps(value))


def fit_bytes(value: JSONValue, max_bytes: int) -> tuple[JSONValue, bool]:
    """Cut ``value`` so ``len(orjson.dumps(value)) <= max_bytes``; say whether it cut.

    Deterministic: keeps a prefix of every list and dict in order and cuts the first entry
    that does not fit (recursively), then adds a marker with the original counts.
    """
    size = _size(value)
    if size <= max_bytes:
        return value, False
    fitted = _fit(value, max_bytes)
    if fitted is None:
        return field_marker(size, max_bytes), True
    return fitted[0], True


def _fit(value: Any, budget: int) -> tuple[Any, int] | None:
    size = _size(value)
    if size <= budget:
        return value, size
    t = type(value)
    if t is str:
        return _fit_str(value, budget)
    if t is list:
        return _fit_list(value, budget)
    if t is dict:
        return _fit_dict(value, budget)
    return None


def _fit_str(s: str, budget: int) -> tuple[str, int] | None:
    base, total, unit = s, len(s), "chars"
    m = _STRING_MARK.search(s)
    if m is not None:
        base, total, unit = s[: m.start()], int(m.group(1)), m.group(2)
    mark = string_marker(total, unit)
    # Never longer (in chars) than before, so the string limit still holds afterwards.
    hi = min(len(base), len(s) - len(mark))
    if hi < 0 or _size(mark) > budget:
        return None
    lo = 0
    while lo < hi:  # largest prefix whose encoding fits; encoding is monotonic in the prefix
        mid = (lo + hi + 1) // 2
        if _size(base[:mid] + mark) <= budget:
            lo = mid
        else:
            hi = mid - 1
    out = clean_cut(base, lo) + mark
    return out, _size(out)


def _fit_list(items: list[Any], budget: int) -> tuple[list[Any], int] | None:
    total = len(items)
    if items and type(items[-1]) is str:
        m = _LIST_MARK.match(items[-1])
        if m is not None:
            items, total = items[:-1], int(m.group(2))
    reserve = _size(list_marker(total, total)) + 1
    if 2 + reserve > budget:
        return None
    out: list[Any] = []
    used = 2
    for i, item in enumerate(items):
        sep = 1 if out else 0
        size = _size(item)
        complete = i == len(items) - 1 and len(items) == total
        if used + sep + size + (0 if complete else reserve) <= budget:
            out.append(item)
            used += sep + size
            continue
        partial = _fit(item, budget - used - sep - reserve)
        if partial is not None:
            out.append(partial[0])
            used += sep + partial[1]
        break
    omitted = total - len(out)
    if omitted > 0:
        mark = list_marker(omitted, total)
        used += (1 if out else 0) + _size(mark)
        out.append(mark)
    return out, used


def _fit_dict(d: dict[str, Any], budget: int) -> tuple[dict[str, Any], int] | None:
    entries = list(d.items())
    total = len(entries)
    if entries and entries[-1][0] == DICT_MARKER_KEY and type(entries[-1][1]) is str:
        m = _DICT_MARK.match(entries[-1][1])
        if m is not None:
            entries, total = entries[:-1], int(m.group(2))
    reserve = _size({DICT_MARKER_KEY: dict_marker(total, total)}) - 2 + 1
    if 2 + reserve > budget:
        return None
    out: dict[str, Any] = {}
    used = 2
    for i, (key, item) in enumerate(entries):
        sep = 1 if out else 0
        key_size = _size(key) + 1
        size = _size(item)
        complete = i == len(entries) - 1 and len(entries) == total
        if used + sep + key_size + size + (0 if complete else reserve) <= budget:
            out[key] = item
            used += sep + key_size + size
            continue
        partial = _fit(item, budget - used - sep - key_size - reserve)
        if partial is not None:
            out[key] = partial[0]
            used += sep + key_size + partial[1]
        break
    omitted = total - len(out)
    if omitted > 0:
        mark = dict_marker(omitted, total)
        used += (1 if out else 0) + _size({DICT_MARKER_KEY: mark}) - 2
        out[DICT_MARKER_KEY] = mark
    return out, used
