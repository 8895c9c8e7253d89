"""``snapshot``: the only stage on the caller's thread. Cheap, bounded, never raises.

It copies the value breadth-first, one whole level at a time, while the level fits in
``snapshot_budget`` entries: containers become fresh bounded copies, rich objects become
plain dicts, long strings are kept whole (they cannot change; counted against
``max_pinned_bytes``, see ``_pins``) or, past that budget, cut to the limit plus the
redaction margin. Deeper levels that do not fit stay *referenced* inside those copies and
the export worker reads them later.

A value made only of JSON-native builtins within the limits takes a shortcut first
(``_encoded``): one ``bytes`` object instead of fresh containers for the collector to walk.

Breadth-first because the shallow levels are what users mutate right after a call (a chat
``messages`` list gets the reply appended) and where big strings usually sit; a whole level
at a time so the rule is easy to state: a level is either copied at call time or not.
"""

from __future__ import annotations

from itertools import islice
from typing import Any

from brokle_trace.capture._counters import report
from brokle_trace.capture._encoded import encode
from brokle_trace.capture._nodes import Ctx, Cut, CutDict, CutList, Deferred, Snapshot
from brokle_trace.capture._pins import Pin
from brokle_trace.capture._serializers import SCALARS, expand
from brokle_trace.capture._settings import CaptureSettings

__all__ = ["snapshot_inputs", "snapshot_value"]

_CONTAINERS = frozenset({dict, list, CutDict, CutList})
_DICTS = frozenset({dict, CutDict})


def snapshot_value(
    value: object,
    settings: CaptureSettings,
    max_string_length: int | None,
    serializer: Any,
) -> object:
    """See ``brokle_trace.capture.snapshot``."""
    c = settings._compiled
    try:
        if max_string_length is None or max_string_length == c.limit:
            limit, cut = c.limit, c.cut
        else:
            limit, cut = c.string_limits(max_string_length)
        t = type(value)
        if t is str:
            s: str = value  # type: ignore[assignment]
            if len(s) <= cut:
                return s
            pin = c.pins.share(s) or c.pins.take(s)
            if pin is None:
                return Cut(s[:cut], len(s), limit)
            return Snapshot(s, serializer, {}, limit, pin)
        if t is dict and len(value) <= c.max_items:  # type: ignore[arg-type]
            # Fast path: a flat dict of short strings and numbers (most argument dicts)
            # needs nothing but a copy.
            out: dict[Any, Any] = value.copy()  # type: ignore[attr-defined]
            for v in out.values():
                tv = type(v)
                if tv is str:
                    if len(v) > cut:
                        break
                elif tv not in SCALARS:
                    break
            else:
                return out
            if serializer is None:
                snap = encode(value, limit, cut, c.max_items, c.max_depth)  # type: ignore[arg-type]
                if snap is not None:
                    return snap
            ctx = (
                c.snapshot_ctx
                if serializer is None and limit == c.limit
                else Ctx(c, limit, cut, serializer, False)
            )
            return _levels(value, out, ctx)
        if t in SCALARS:
            return value
        if t is list and serializer is None:
            snap = encode(value, limit, cut, c.max_items, c.max_depth)  # type: ignore[arg-type]
            if snap is not None:
                return snap
        ctx = (
            c.snapshot_ctx
            if serializer is None and limit == c.limit
            else Ctx(c, limit, cut, serializer, False)
        )
        return _levels(value, expand(value, ctx), ctx)
    except Exception as exc:
        if c.strict:
            raise
        report("capture_errors", exc, "snapshot failed")
        return "[CAPTURE_ERROR]"


def snapshot_inputs(
    inputs: dict[str, Any],
    settings: CaptureSettings,
    max_string_length: int | None,
    serializer: Any,
) -> object:
    """``snapshot_value`` for the arguments dict the wrapper just built: it is ours, so it
    is the snapshot's first level as is (no copy, and nothing else can refer to it)."""
    c = settings._compiled
    try:
        if len(inputs) > c.max_items:
            return snapshot_value(inputs, settings, max_string_length, serializer)
        if max_string_length is None or max_string_length == c.limit:
            limit, cut = c.limit, c.cut
        else:
            limit, cut = c.string_limits(max_string_length)
        if serializer is None:
            snap = encode(inputs, limit, cut, c.max_items, c.max_depth)
            if snap is not None:
                return snap
            if limit == c.limit:
                return _levels(inputs, inputs, c.snapshot_ctx, True)
        return _levels(inputs, inputs, Ctx(c, limit, cut, serializer, False), True)
    except Exception as exc:
        if c.strict:
            raise
        report("capture_errors", exc, "snapshot failed")
        return "[CAPTURE_ERROR]"


def _levels(value: object, root: object, ctx: Ctx, own: bool = False) -> object:
    """Copy level after level of ``root`` (already expanded from ``value``) within budget."""
    if type(root) not in _CONTAINERS:
        if ctx.serializer is not None and type(root) is Deferred:
            return Snapshot(root, ctx.serializer, {}, ctx.limit)
        return root
    # The root's origin, for cycles back to it; none for a root of our own (the arguments).
    meta: dict[int, tuple[int, int]] = {} if own else {id(root): (id(value), 0)}
    c = ctx.c
    budget = c.budget
    cut = ctx.cut
    m = c.max_items
    pins = c.pins
    held: Pin | list[Pin] | None = None
    frontier: list[Any] = [root]
    count = len(root)  # type: ignore[arg-type]
    depth = 1
    while frontier and depth < c.max_depth and count <= budget:
        budget -= count
        following: list[Any] = []
        count = 0  # entries of the next level, summed as its containers are made
        for node in frontier:
            entries = node.items() if type(node) in _DICTS else enumerate(node)
            for key, raw in entries:
                tr = type(raw)
                new: Any
                # Inline the three commonest types: a call costs more than their copy.
                if tr is str:
                    if len(raw) > cut:
                        # ``Pins.share`` inlined: the same string as the last call's
                        ref = pins.last
                        pin = ref() if ref is not None else None
                        if pin is None or pin.text is not raw:
                            pin = pins.take(raw)
                        if pin is not None:
                            if held is None:
                                held = pin
                            elif isinstance(held, list):  # a third long string: rare
                                held.append(pin)
                            else:
                                held = [held, pin]
                            continue
                        new = raw[:cut]
                        meta[id(new)] = (0, len(raw))
                        node[key] = new
                    continue
                if tr in SCALARS:
                    continue
                if tr is list or tr is dict:
                    n = len(raw)
                    if tr is list:
                        new = raw[:m]
                    else:
                        new = raw.copy() if n <= m else dict(islice(raw.items(), m))
                    meta[id(new)] = (id(raw), n)
                    node[key] = new
                    following.append(new)
                    count += len(new)
                    continue
                else:
                    new = expand(raw, ctx)
                    if new is raw:
                        continue
                    if type(new) in _CONTAINERS:
                        meta[id(new)] = (id(raw), 0)
                # Replacing a value never resizes the container being iterated.
                node[key] = new
                if type(new) in _CONTAINERS:
                    following.append(new)
                    count += len(new)
        frontier = following
        depth += 1
    return Snapshot(root, ctx.serializer, meta, ctx.limit, held)
