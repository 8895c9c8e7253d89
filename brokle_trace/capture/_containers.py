"""Bounded copies of containers: the builtins, their subclasses, views, arrays and the
``collections`` wrappers, each read through its C methods and cut at ``max_items``.

A container's repr (and for a ``ChainMap`` its ``len``) costs O(n): these return its first
items (a ``CutList`` / ``CutDict`` remembering the original size) instead, never running
user code.
"""

from __future__ import annotations

import array
import gc
from collections import deque
from collections.abc import Callable
from itertools import islice
from typing import Any

from brokle_trace.capture._nodes import Ctx, Cut, CutDict, CutList

__all__ = [
    "copy_dict",
    "copy_seq",
    "fields_handler",
    "h_array",
    "h_chainmap",
    "h_deque",
    "h_dict_sub",
    "h_instance_dict",
    "h_list_sub",
    "h_mappingproxy",
    "h_set",
    "h_tuple_sub",
    "h_view",
    "h_wrapped_data",
    "instance_field",
    "namedtuple_handler",
    "type_label",
]

Handler = Callable[[Any, Ctx], object]


def type_label(cls: Any) -> str:
    """``cls.__qualname__`` when it is a sane string, else a generic name."""
    try:
        name = cls.__qualname__
    except BaseException:  # a metaclass property: user code, whatever it raises
        return "object"
    return name[:100] if isinstance(name, str) else "object"


def copy_dict(d: dict[Any, Any], ctx: Ctx) -> dict[Any, Any]:
    n = dict.__len__(d)
    m = ctx.c.max_items
    if n <= m:
        return dict.copy(d)
    out = CutDict(islice(dict.items(d), m))
    out.total = n
    return out


def copy_seq(obj: object, n: int, it: Any, ctx: Ctx) -> list[Any]:
    m = ctx.c.max_items
    if n <= m:
        return list(it)
    out = CutList(islice(it, m))
    out.total = n
    return out


def h_dict_sub(obj: Any, ctx: Ctx) -> object:
    return copy_dict(obj, ctx)


def h_list_sub(obj: Any, ctx: Ctx) -> object:
    return copy_seq(obj, list.__len__(obj), list.__iter__(obj), ctx)


def h_tuple_sub(obj: Any, ctx: Ctx) -> object:
    return copy_seq(obj, tuple.__len__(obj), tuple.__iter__(obj), ctx)


def h_deque(obj: Any, ctx: Ctx) -> object:
    return copy_seq(obj, deque.__len__(obj), deque.__iter__(obj), ctx)


def h_set(obj: Any, ctx: Ctx) -> object:
    base: Any = frozenset if isinstance(obj, frozenset) else set
    items = copy_seq(obj, base.__len__(obj), base.__iter__(obj), ctx)
    # Sets have no order; sort what we kept when that is cheap and total, for stable output.
    if items and (all(type(x) is str for x in items) or all(type(x) is int for x in items)):
        items.sort()
    return items


def namedtuple_handler(fields: tuple[str, ...]) -> Handler:
    def handle(obj: Any, ctx: Ctx) -> object:
        pairs = zip(fields, tuple.__iter__(obj), strict=False)  # a subclass may add fields
        if len(fields) <= ctx.c.max_items:
            return dict(pairs)
        out = CutDict(islice(pairs, ctx.c.max_items))
        out.total = len(fields)
        return out

    return handle


def fields_handler(names: tuple[str, ...]) -> Handler:
    """Dataclasses and attrs classes: read the declared fields, nothing else."""

    def handle(obj: Any, ctx: Ctx) -> object:
        m = ctx.c.max_items
        out: dict[str, Any] = {} if len(names) <= m else CutDict()
        for name in names[:m]:
            try:
                out[name] = object.__getattribute__(obj, name)
            except AttributeError:  # init=False field never set
                continue
        if isinstance(out, CutDict):
            out.total = len(names)
        return out

    return handle


def h_view(obj: Any, ctx: Ctx) -> object:
    """A dict's keys/values/items (or an OrderedDict's): its first items and its size."""
    try:
        return copy_seq(obj, len(obj), iter(obj), ctx)  # C-level for the builtin views
    except RuntimeError:  # the dict changed size while we read it (another thread)
        return f"<{type_label(type(obj))}: changed while read>"


def h_array(obj: Any, ctx: Ctx) -> object:
    m = ctx.c.max_items
    n = array.array.__len__(obj)
    head = array.array.tolist(array.array.__getitem__(obj, slice(0, m)))
    if n <= m:
        return head
    out = CutList(head)
    out.total = n
    return out


def h_chainmap(obj: Any, ctx: Ctx) -> object:
    # Its size and its repr walk every map; its maps are what it is.
    maps = instance_field(obj, "maps")
    if type(maps) is not list:
        return f"<{type_label(type(obj))}>"
    return {"type": type_label(type(obj)), "maps": copy_seq(maps, len(maps), iter(maps), ctx)}


def h_wrapped_data(obj: Any, ctx: Ctx) -> object:
    """UserDict / UserList / UserString: their ``data``, as the builtin it is."""
    data = instance_field(obj, "data")
    if type(data) is dict:
        return copy_dict(data, ctx)
    if type(data) is list:
        return copy_seq(data, len(data), iter(data), ctx)
    if type(data) is str:
        return data if len(data) <= ctx.cut else Cut(data[: ctx.cut], len(data), ctx.limit)
    return f"<{type_label(type(obj))}>"


def h_mappingproxy(obj: Any, ctx: Ctx) -> object:
    # Its underlying mapping is reachable only through the collector's view of it; read it
    # when it is a plain dict (a class namespace, a frozen config), else name the type.
    referents = gc.get_referents(obj)
    if len(referents) == 1 and type(referents[0]) is dict:
        return copy_dict(referents[0], ctx)
    return "<mappingproxy>"


def instance_field(obj: Any, name: str) -> Any:
    """``obj.__dict__[name]`` read without ``getattr`` (no descriptors, no user code)."""
    try:
        d = object.__getattribute__(obj, "__dict__")
    except BaseException:
        return None
    return d.get(name) if type(d) is dict else None


def h_instance_dict(obj: Any, ctx: Ctx) -> object:
    """Pydantic (v1 and v2) keep their fields in ``__dict__``: read it, call nothing."""
    try:
        d = object.__getattribute__(obj, "__dict__")
    except AttributeError:
        d = None
    if type(d) is not dict:
        return f"<{type_label(type(obj))}>"
    return copy_dict(d, ctx)
