"""The worker stage: complete the snapshot, redact, cut, mask, and fit the byte budget.

Order matters and is the point of this module: every string is redacted *before* it is
cut (and the cut is made in the coordinates of the original text, so a secret that starts
before the cut is replaced whole), the mask sees redacted data, and the byte budget is
applied last so nothing can grow a value past it afterwards.
"""

from __future__ import annotations

import math
from itertools import islice
from typing import Any

import orjson

from brokle_trace.capture._counters import increment, report
from brokle_trace.capture._encoded import Encoded, decode
from brokle_trace.capture._fast import INT_MAX as _INT_MAX
from brokle_trace.capture._fast import INT_MIN as _INT_MIN
from brokle_trace.capture._fast import NOT_LEAF, fast, leaf
from brokle_trace.capture._fast import clean as _clean
from brokle_trace.capture._nodes import Ctx, Cut, CutDict, CutList, Processed, Snapshot
from brokle_trace.capture._passthrough import passthrough
from brokle_trace.capture._redact import CACHE_TEXT_MAX, SHORT, marker
from brokle_trace.capture._rows import MIN_ROWS, rows
from brokle_trace.capture._serializers import expand
from brokle_trace.capture._settings import CaptureSettings, Compiled
from brokle_trace.capture._truncate import (
    DICT_MARKER_KEY,
    depth_marker,
    dict_marker,
    fit_bytes,
    list_marker,
    string_marker,
)
from brokle_trace.capture._truncate import clean_cut as _cut
from brokle_trace.typing import JSONValue

__all__ = ["TAIL_WINDOW", "finalize_value", "redact_text_value"]

_BIG_INT_BITS = 14_000
_CONTAINERS = frozenset({dict, list, CutDict, CutList})
_LEAVES = frozenset({str, int, float, bool, type(None), Cut})


class Walker:
    """One depth-first pass over a snapshot (or any value), producing JSON."""

    __slots__ = (
        "cap",
        "ctx",
        "est",
        "meta",
        "path",
        "redactions",
        "redactor",
        "snap_limit",
        "truncations",
    )

    def __init__(self, ctx: Ctx, meta: dict[int, tuple[int, int]], snap_limit: int) -> None:
        self.ctx = ctx
        self.redactor = ctx.c.redactor
        self.meta = meta
        self.snap_limit = snap_limit
        self.path: set[int] = set()
        # Stop expanding once the output is surely over budget: bounds the worker's work
        # too. The estimate never exceeds the real encoded size, so a value that already
        # fits the budget is never cut by it (idempotence).
        self.cap = 2 * ctx.c.max_bytes + 1024
        self.est = 0
        self.redactions = 0
        self.truncations = 0

    def flush_counts(self) -> None:
        if self.redactions:
            increment("redactions", self.redactions)
        if self.truncations:
            increment("truncations", self.truncations)

    # -- strings ------------------------------------------------------------------------
    def text(self, s: str, cut: Cut | None = None) -> str:
        """Redact then cut one string; ``cut`` describes a head cut at call time."""
        limit = self.ctx.limit
        red = self.redactor
        if cut is None and red is not None and len(s) <= SHORT:
            hit = red.short_cache.get(s)
            if hit is not None and len(hit[0]) <= limit:
                self.redactions += hit[1]
                self.est += len(hit[0]) + 2
                return hit[0]
        if cut is None and len(s) > self.ctx.cut:  # a long string only the worker reached
            cut = Cut(s[: self.ctx.cut], len(s), limit)
            s = cut.head
        s = _clean(s)
        if cut is None and len(s) <= limit:
            if red is None:
                out = s
            else:
                out, n = red.redact(s)
                self.redactions += n
                if len(out) > limit:  # markers longer than what they replaced
                    mark = string_marker(len(s))
                    out = _cut(out, limit - len(mark)) + mark
                    self.truncations += 1
            self.est += len(out) + 2
            return out
        total, unit, safe = (
            (len(s), "chars", limit) if cut is None else (cut.total, cut.unit, cut.safe)
        )
        mark = string_marker(total, unit)
        keep = max(0, min(limit - len(mark), safe))
        if red is None:
            out = s[:keep]
        else:
            out, n = red.redact(s, keep)
            self.redactions += n
            out = _cut(out, keep)
        self.truncations += 1
        out += mark
        self.est += len(out) + 2
        return out

    def key(self, k: object, depth: int) -> tuple[str, str | None]:
        """The exported key text, and the key rule that makes its value secret."""
        t = type(k)
        red = self.redactor
        if t is str:
            ks: str = k  # type: ignore[assignment]
            if red is not None:
                hit = red.key_info.get(ks)
                if hit is not None:  # keys repeat in every row of a list: ~20x cheaper
                    self.redactions += hit[2]
                    self.est += len(hit[0]) + 2
                    return hit[0], hit[1]
        elif t is bool:
            ks = "true" if k else "false"
        elif k is None:
            ks = "null"
        else:
            converted = self.walk(k, self.ctx.c.max_depth - 1)  # a tuple key, but no deeper
            ks = converted if type(converted) is str else orjson.dumps(converted).decode()
        if red is None:
            return self.text(ks), None
        rule = red.key_rule(ks)
        before = self.redactions
        text = self.text(ks)
        if t is str and len(ks) <= SHORT and len(text) <= SHORT:  # fits every string limit
            red.remember_key(ks, text, rule, self.redactions - before)
        return text, rule

    # -- any value ----------------------------------------------------------------------
    def walk(self, obj: object, depth: int) -> JSONValue:
        t = type(obj)
        meta = self.meta
        if t is str:
            s: str = obj  # type: ignore[assignment]
            if meta:
                info = meta.get(id(s))
                if info is not None:  # a head cut at call time
                    return self.text(s, Cut(s, info[1], self.snap_limit))
            return self.text(s)
        if t is int:
            self.est += 1
            i: int = obj  # type: ignore[assignment]
            if _INT_MIN <= i <= _INT_MAX:
                return i
            # orjson refuses ints past 64 bits; str() of a huge int is quadratic
            if i.bit_length() > _BIG_INT_BITS:
                return f"<int: {i.bit_length()} bits>"
            return self.text(str(i))
        if t is float:
            self.est += 1
            f: float = obj  # type: ignore[assignment]
            if f - f == 0.0:
                return f
            # JSON has no NaN/Infinity and orjson would silently write null
            return "NaN" if math.isnan(f) else ("Infinity" if f > 0 else "-Infinity")
        if t is bool or obj is None:
            self.est += 4
            return obj  # type: ignore[return-value]
        if t is Cut:
            cut: Cut = obj  # type: ignore[assignment]
            return self.text(cut.head, cut)
        if t is Encoded:  # a generator's item taken by the shortcut
            return self.walk(decode(obj), depth)  # type: ignore[arg-type]
        if t is Snapshot:  # one inside a value (a generator's items): keep what it knew
            inner: Snapshot = obj  # type: ignore[assignment]
            if inner.meta:
                self.meta = {**meta, **inner.meta} if meta else inner.meta
            return self.walk(inner.root, depth)
        if t is dict and len(obj) <= self.ctx.c.max_items:  # type: ignore[arg-type]
            node: object = obj.copy()  # type: ignore[attr-defined]
        else:
            node = expand(obj, self.ctx)
        tn = type(node)
        if tn in _CONTAINERS:
            info = meta.get(id(obj)) if meta else None
            if info is None:
                return self.container(node, id(obj), 0, depth)
            return self.container(node, info[0], info[1], depth)
        if tn in _LEAVES:
            return self.walk(node, depth)
        return f"<{tn.__name__}>"  # pragma: no cover - expand returns leaves or containers

    def container(self, node: Any, origin: int, total: int, depth: int) -> JSONValue:
        """``total``: the original size when a copy made at call time was cut (else 0)."""
        is_dict = isinstance(node, dict)
        if depth >= self.ctx.c.max_depth:
            self.truncations += 1
            self.est += 30
            return depth_marker("dict" if is_dict else "list")
        if origin in self.path:
            self.est += 9
            return "[CYCLE]"
        self.path.add(origin)
        try:
            if is_dict:
                return self.mapping(node, max(total, len(node)), depth)
            return self.sequence(node, max(total, len(node)), depth)
        finally:
            self.path.discard(origin)

    def sequence(self, node: list[Any], total: int, depth: int) -> JSONValue:
        if type(node) is CutList:
            total = node.total
        m = self.ctx.c.max_items
        self.est += 2
        out: list[JSONValue] | None = None
        if len(node) >= MIN_ROWS and type(node[0]) is dict:
            out = rows(self, node[:m], depth + 1)
        if out is None:
            out = []
            # islice: handlers may return summaries longer than max_items; never walk past it
            for item in islice(node, m):
                if self.est > self.cap:
                    break
                out.append(self.walk(item, depth + 1))
                self.est += 1
        total = max(total, len(node))
        if out and self.redactor is not None and type(out[0]) is list:
            self._pairs(out)
        if len(out) < total:
            del out[m - 1 :]
            out.append(list_marker(total - len(out), total))
            self.truncations += 1
        return out

    def _pairs(self, out: list[JSONValue]) -> None:
        """A list of ``[name, value]`` pairs is a mapping (ASGI and WSGI headers, httpx's
        ``headers.raw``, ``getheaders()``, form fields): a value under a secret-naming name
        is redacted as a dict's would be (``["x-api-key", "..."]``, ``["cookie", "..."]``)."""
        red = self.redactor
        assert red is not None
        if not all(type(p) is list and len(p) == 2 and type(p[0]) is str for p in out):
            return  # not a list of pairs: leave it as it is
        for pair in out:
            value = pair[1]  # type: ignore[index]
            rule = red.key_rule(pair[0])  # type: ignore[arg-type,index]
            if rule is not None and type(value) is not bool and value is not None:  # flags stay
                pair[1] = text = marker(rule)  # type: ignore[index]
                self.redactions += 1
                self.est += len(text)

    def mapping(self, node: dict[Any, Any], total: int, depth: int) -> JSONValue:
        if type(node) is CutDict:
            total = node.total
        m = self.ctx.c.max_items
        self.est += 2
        out: dict[str, JSONValue] = {}
        total = max(total, len(node))
        red = self.redactor
        key_info = red.key_info if red is not None else {}
        short = red.short_cache if red is not None else {}
        limit = self.ctx.limit
        for k, v in islice(node.items(), m):
            if self.est > self.cap:
                break
            hit = key_info.get(k) if type(k) is str else None
            if hit is not None:  # inline Walker.key's cache hit: once per key of every row
                ks, rule = hit[0], hit[1]
                self.redactions += hit[2]
                self.est += len(ks) + 2
            else:
                ks, rule = self.key(k, depth)
            tv = type(v)
            # A bool or None under a secret-naming key is a flag ("private": true,
            # "api_key": null), never a secret: shown as it is. So is the "token" of a
            # logprobs entry ({"token": "Hello", "logprob": -0.3}).
            if (
                rule is not None
                and tv is not bool
                and v is not None
                and not (rule == "token" and "logprob" in node)
            ):
                text = marker(rule)
                value: JSONValue = text
                self.redactions += 1
                self.est += len(text) + 2
            # Inline the leaves every row of data is made of; the call costs more than them.
            elif (tv is int and _INT_MIN <= v <= _INT_MAX) or (tv is float and v - v == 0.0):
                value = v
                self.est += 1
            elif (
                tv is str
                and len(v) <= CACHE_TEXT_MAX  # never hash a long text kept whole
                and (cached := short.get(v)) is not None
                and len(cached[0]) <= limit
            ):
                value = cached[0]
                self.redactions += cached[1]
                self.est += len(value) + 2
            else:
                value = self.walk(v, depth + 1)
            if ks in out:  # "1" and 1, or two redacted keys: keep both
                n = 2
                while f"{ks}#{n}" in out:
                    n += 1
                ks = f"{ks}#{n}"
            out[ks] = value
            self.est += 2
        if len(out) < total:
            while len(out) > m - 1:
                out.popitem()
            out[DICT_MARKER_KEY] = dict_marker(total - len(out), total)
            self.truncations += 1
        return out


def finalize_value(
    value: object,
    settings: CaptureSettings,
    max_string_length: int | None,
    field: str,
    span_name: str,
) -> JSONValue:
    """``finalize`` and ``redact_value``: walk, mask, fit. Never raises (unless strict)."""
    c = settings._compiled
    if type(value) is Processed:  # shaped by the user's process_inputs / process_outputs
        from brokle_trace.capture._process import finalize_processed

        return finalize_processed(value, settings, max_string_length, field, span_name)
    if type(value) is str and max_string_length is None and c.mask is None:
        # The commonest value of all, already redacted once: a text seen before (a prompt,
        # a template, a repeated answer). One cache lookup, no call chain.
        done = leaf(value, c)
        if done is not NOT_LEAF:
            return done  # type: ignore[return-value]
    try:
        limit, cut = c.string_limits(max_string_length)
        if c.mask is None:
            done, result = fast(value, c, limit)
            if done:
                return result
        serializer, meta, root, snap_limit = None, {}, value, limit
        if type(value) is Encoded:
            root, snap_limit = decode(value), value.limit
            if passthrough(value, c, max_string_length) is not None:
                return root  # type: ignore[no-any-return]  # nothing to redact or cut
            if snap_limit < limit:  # as for a Snapshot, below
                limit, cut = c.string_limits(snap_limit)
        elif type(value) is Snapshot:
            root, serializer, meta, snap_limit = (
                value.root,
                value.serializer,
                value.meta,
                value.limit,
            )
            if snap_limit < limit:
                # Taken for a smaller limit: honour it for the strings kept whole, as the
                # heads it cut already do.
                limit, cut = c.string_limits(snap_limit)
        ctx = (
            c.worker_ctx
            if serializer is None and limit == c.limit
            else Ctx(c, limit, cut, serializer, True)
        )
        walker = Walker(ctx, meta, snap_limit)
        out = walker.walk(root, 0)
        if c.mask is not None:
            out = _mask(out, c, walker, field, span_name)
        out, cut_bytes = fit_bytes(out, c.max_bytes)
        walker.truncations += cut_bytes
        walker.flush_counts()
        return out
    except Exception as exc:
        if c.strict:
            raise
        report("capture_errors", exc, f"finalize of {field!r} failed")
        return "[CAPTURE_ERROR]"  # fail closed: never the raw value


def _mask(out: JSONValue, c: Compiled, walker: Walker, field: str, span: str) -> JSONValue:
    assert c.mask is not None
    try:
        masked = c.mask(out, {"field": field, "span": span})
    except Exception as exc:
        report("mask_errors", exc, f"mask raised on {field!r}")
        return marker("mask_error")
    # The mask's result is user data again: bound it, make it JSON, redact it.
    again = Walker(walker.ctx, {}, walker.ctx.limit)
    result = again.walk(masked, 0)
    walker.redactions += again.redactions
    walker.truncations += again.truncations
    return result


#: A tail-kept text longer than this is redacted from its last this-many characters (60x a
#: stack trace's 16 000): the redacted part always reaches far behind the kept tail.
TAIL_WINDOW = 1_000_000


def _tail(text: str, walker: Walker, limit: int) -> str:
    """Redact the whole text, then keep its end: a secret straddling the cut is gone whole."""
    total = len(text)
    s = _clean(text[-TAIL_WINDOW:])
    red = walker.redactor
    if red is not None:
        s, n = red.redact(s)
        walker.redactions += n
    if len(s) <= limit:
        return s
    mark = string_marker(total)[3:] + "...\n"  # "[TRUNCATED: N chars]...\n"
    cut = len(s) - max(0, limit - len(mark))
    opening = s.rfind("[REDACTED:", max(0, cut - 64), cut)
    if opening >= 0 and s.find("]", opening) >= cut:  # never start inside a marker
        cut = s.find("]", opening) + 1
    walker.truncations += 1
    return mark + s[cut:]


def redact_text_value(
    text: object,
    settings: CaptureSettings,
    field: str,
    max_length: int | None,
    keep: str = "head",
) -> str:
    """``redact_text``: one free-text string, redacted and bounded. Never raises."""
    c = settings._compiled
    try:
        limit = max(c.max_bytes if max_length is None else max_length, 64)
        walker = Walker(Ctx(c, limit, limit + c.margin, None, True), {}, limit)
        if type(text) is not str:
            converted = walker.walk(text, 0)
            text = converted if type(converted) is str else orjson.dumps(converted).decode()
        out = _tail(text, walker, limit) if keep == "tail" else walker.text(text)
        if c.mask is not None:
            try:
                masked = c.mask(out, {"field": field, "span": ""})
            except Exception as exc:
                report("mask_errors", exc, f"mask raised on {field!r}")
                masked = marker("mask_error")
            out = walker.text(masked) if type(masked) is str else marker("mask_error")
        walker.flush_counts()
        return out
    except Exception as exc:
        if c.strict:
            raise
        report("capture_errors", exc, f"redact_text of {field!r} failed")
        return "[CAPTURE_ERROR]"
