"""``expand``: one step of the walk, turning any object into a leaf or a bounded container.

Both stages call it: the snapshot on the caller's thread, the worker for what the snapshot
left by reference. It returns a JSON leaf, a ``Cut`` string, or a *fresh* bounded ``list``
/ ``dict`` whose entries are still raw (the caller decides how deep to go).

Rules that keep it total and non-blocking:

* dispatch on ``type(obj)`` (a ``Mock(spec=dict)`` lies through ``__class__``), and look
  features up on the *class*, never on the instance (a ``Mock`` has every attribute);
* copy builtin containers through their C methods (``dict.copy(d)``, ``list.__iter__``),
  which neither run user code nor can observe a half-done concurrent mutation; summarise
  views, arrays and the ``collections`` wrappers the same way (their type's repr is O(n));
* never iterate, ``len()`` or ``str()`` an unknown object; ``repr`` (and an exception's own
  ``__str__``) only when its class defines one, only on the export worker (the caller's
  thread gets a ``Deferred``), never for an object holding an iterator or a stream (the repr
  could consume it), guarded against anything it raises (``BaseException`` included), and
  the result cut like any string.
"""

from __future__ import annotations

import array
import collections
import dataclasses
import datetime as dt
import enum
import io
import os
import types
import uuid
from collections import deque
from collections.abc import Callable
from decimal import Decimal
from itertools import islice
from pathlib import PurePath
from time import perf_counter_ns
from typing import Any

from brokle_trace.capture._containers import (
    copy_dict,
    fields_handler,
    h_array,
    h_chainmap,
    h_deque,
    h_dict_sub,
    h_instance_dict,
    h_list_sub,
    h_mappingproxy,
    h_set,
    h_tuple_sub,
    h_view,
    h_wrapped_data,
    namedtuple_handler,
    type_label,
)
from brokle_trace.capture._counters import increment, report
from brokle_trace.capture._encoded import Encoded, decode
from brokle_trace.capture._libraries import library_handler
from brokle_trace.capture._nodes import Ctx, Cut, CutDict, CutList, Deferred, Snapshot
from brokle_trace.capture._slow import SLOW_NS, remember, skipped_text

__all__ = ["SCALARS", "expand", "type_name"]

Handler = Callable[[Any, Ctx], object]
SCALARS = frozenset({int, float, bool, type(None)})
_OURS = frozenset({Cut, CutList, CutDict})
_HANDLERS: dict[type, Handler] = {}
_HANDLERS_MAX = 2048
_BIG_INT_BITS = 14_000  # ~4300 decimal digits: CPython's int->str limit, and plenty


#: ``cls.__qualname__`` when it is a sane string, else a generic name.
type_name = type_label


def expand(obj: object, ctx: Ctx, serialize: bool = True) -> object:
    """One bounded step: a leaf, a ``Cut``, a fresh bounded container, or a ``Deferred``."""
    t = type(obj)
    if t is str:
        s: str = obj  # type: ignore[assignment]
        return s if len(s) <= ctx.cut else Cut(s[: ctx.cut], len(s), ctx.limit)
    if t in SCALARS:
        if t is int and obj.bit_length() > _BIG_INT_BITS:  # type: ignore[attr-defined]
            return f"<int: {obj.bit_length()} bits>"  # type: ignore[attr-defined]
        return obj
    if t is dict:
        return copy_dict(obj, ctx)  # type: ignore[arg-type]
    if t is list or t is tuple:
        seq: list[Any] = obj  # type: ignore[assignment]
        if len(seq) <= ctx.c.max_items:
            return list(seq)
        out = CutList(seq[: ctx.c.max_items])  # a C-level slice: ~0.2 us for 100 items
        out.total = len(seq)
        return out
    if t in _OURS:
        return obj
    if t is Deferred:
        return expand(obj.obj, ctx) if ctx.worker else obj  # type: ignore[attr-defined]
    if t is Snapshot:
        return expand(obj.root, ctx)  # type: ignore[attr-defined]
    if t is Encoded:
        return expand(decode(obj), ctx)  # type: ignore[arg-type]
    c = ctx.c
    if serialize and (
        ctx.serializer is not None or c.serializer is not None or c.type_serializer(t) is not None
    ):
        result = _custom(obj, t, ctx)
        if result is not NotImplemented:
            return result
    handler = _HANDLERS.get(t)
    if handler is None:
        handler = _classify(t)
        if len(_HANDLERS) >= _HANDLERS_MAX:
            _HANDLERS.clear()  # e.g. Mock makes a class per instance; stay bounded
        _HANDLERS[t] = handler
    try:
        return handler(obj, ctx)
    except BaseException as exc:
        # A subclass's own methods can run inside a C copy (dict.copy() calls an overridden
        # keys()): user code, whatever it raises (a gevent/trio cancellation too) stays here,
        # on the caller's thread as on the worker.
        report("repr_errors", exc, f"reading a {type_name(t)} raised")
        return f"<{type_name(t)}: raised {type(exc).__name__}>"


def _custom(obj: object, t: type, ctx: Ctx) -> object:
    """Decorator serializer, then registered type serializer, then the global one."""
    context = {
        "max_string_length": ctx.limit,
        "max_items": ctx.c.max_items,
        "max_depth": ctx.c.max_depth,
        "worker": ctx.worker,
    }
    for ser in (ctx.serializer, ctx.c.type_serializer(t), ctx.c.serializer):
        if ser is None:
            continue
        try:
            result = ser(obj, context)
        except BaseException as exc:  # user code: whatever it raises stays here
            report("serializer_errors", exc, f"serializer for {type_name(t)} raised")
            return f"<{type_name(t)}: serializer raised {type(exc).__name__}>"
        if result is not NotImplemented:
            # The result goes through the same budget and redaction; not through the
            # serializers again at this level, so returning ``obj`` itself cannot loop.
            return expand(result, ctx, serialize=False)
    return NotImplemented


def _h_plain_object(obj: Any, ctx: Ctx) -> object:
    """No ``__repr__`` of its own: show its attributes, or just its type."""
    out = h_instance_dict(obj, ctx)
    return out if out else f"<{type_name(type(obj))}>"


# -- leaves ---------------------------------------------------------------------------------
def _h_bytes(obj: Any, ctx: Ctx) -> object:
    base: Any = bytes if isinstance(obj, bytes) else bytearray
    n = base.__len__(obj)
    data = bytes(base.__getitem__(obj, slice(0, ctx.cut)))
    # A cut may split a multi-byte character: drop up to 3 trailing bytes before giving up.
    for trim in range(4 if n > ctx.cut else 1):
        try:
            text = data[: len(data) - trim].decode("utf-8")
            break
        except UnicodeDecodeError:
            continue
    else:
        return f"<bytes: {n} bytes, not UTF-8>"
    if n <= ctx.cut:
        return text
    # Fewer characters than bytes were kept: the margin must still follow what is shown.
    return Cut(text, n, max(0, min(ctx.limit, len(text) - ctx.c.margin)), "bytes")


def _h_enum(obj: Any, ctx: Ctx) -> object:
    value = obj.__dict__.get("_value_")
    if type(value) in SCALARS or type(value) is str:
        return expand(value, ctx)
    return f"{type_name(type(obj))}.{obj.__dict__.get('_name_')}"


def _h_exception(obj: Any, ctx: Ctx) -> object:
    t: Any = type(obj)
    message: object
    if t.__str__ is BaseException.__str__:  # its own __str__ would be user code: use args
        args = BaseException.args.__get__(obj, t)  # type: ignore[attr-defined]
        message = "" if not args else args[0] if len(args) == 1 else list(args)
    elif not ctx.worker:
        return Deferred(obj)  # str() is read on the export worker
    else:
        message = _guarded(obj, str, "str")
    return {"type": type_name(t), "message": message}


def _guarded(obj: Any, fn: Callable[[Any], object], what: str) -> str:
    """``repr``/``str`` of an object whose class defines it: guarded, result cut later.

    Anything it raises is caught, ``BaseException`` included: a cancellation (gevent, trio)
    raised inside a user's ``__repr__`` must not escape into the user's code or end the
    export worker.
    """
    cls = type(obj)
    skipped = skipped_text(cls, what)
    if skipped is not None:
        increment("repr_skipped")
        return skipped
    started = perf_counter_ns()
    try:
        text = cls.__repr__(obj) if fn is repr else fn(obj)  # type: ignore[call-arg]
    except BaseException as exc:
        report("repr_errors", exc, f"{what}() of {type_name(cls)} raised")
        return f"<{type_name(cls)}: {what}() raised {type(exc).__name__}>"
    finally:
        elapsed = perf_counter_ns() - started
        if elapsed > SLOW_NS:
            remember(cls, what, elapsed)
            report(
                "slow_reprs",
                None,
                f"{what}() of {type_name(cls)} took {elapsed / 1e9:.1f} s on the export "
                "worker: not called again for that class (its objects become a placeholder)",
            )
    if type(text) is not str:
        return f"<{type_name(type(obj))}: {what}() returned {type(text).__name__}>"
    return text


#: Attribute values that make an object's repr dangerous: reading it may consume them.
_STREAMS = (types.GeneratorType, types.AsyncGeneratorType, types.CoroutineType, io.IOBase)
_STREAM_SCAN = 32


def _stream_held(obj: Any) -> bool:
    """Whether ``obj`` keeps an iterator or stream in its ``__dict__`` or slots."""
    values: list[Any] = []
    try:
        d = object.__getattribute__(obj, "__dict__")
        if type(d) is dict:
            values.extend(islice(dict.values(d), _STREAM_SCAN))
    except BaseException:
        pass
    try:
        for cls in type(obj).__mro__:
            for name in (
                cls.__dict__.get("__slots__", ())
                if isinstance(cls.__dict__.get("__slots__", ()), tuple)
                else ()
            ):
                descriptor = cls.__dict__.get(name)
                if isinstance(descriptor, types.MemberDescriptorType):
                    try:
                        values.append(descriptor.__get__(obj, cls))
                    except AttributeError:  # an unset slot
                        continue
    except BaseException:
        pass
    for value in values[: 2 * _STREAM_SCAN]:
        vt = type(value)
        if isinstance(value, _STREAMS) or any(hasattr(vt, a) for a in ("__next__", "__anext__")):
            return True
    return False


def _h_repr(obj: Any, ctx: Ctx) -> object:
    if not ctx.worker:
        return Deferred(obj)  # the user's repr runs on the export worker, never here
    if _stream_held(obj):
        return f"<{type_name(type(obj))}: holds an iterator or stream, not read>"
    return expand(_guarded(obj, repr, "repr"), ctx)


def _placeholder(label: str) -> Handler:
    def handle(obj: Any, ctx: Ctx) -> object:
        return label

    return handle


def _convert(fn: Callable[[Any], object]) -> Handler:
    def handle(obj: Any, ctx: Ctx) -> object:
        return expand(fn(obj), ctx)

    return handle


def _h_str_sub(obj: Any, ctx: Ctx) -> object:
    n = str.__len__(obj)
    if n <= ctx.cut:
        return str.__str__(obj)
    return Cut(str.__getitem__(obj, slice(0, ctx.cut)), n, ctx.limit)  # no O(n) copy


def _h_float(obj: Any, ctx: Ctx) -> object:
    return float.__float__(obj)


def _h_int(obj: Any, ctx: Ctx) -> object:
    return expand(int.__int__(obj), ctx)


# -- classification (once per type) ---------------------------------------------------------
_LEAF_CONVERTERS: tuple[tuple[type, Callable[[Any], object]], ...] = (
    (dt.datetime, lambda o: o.isoformat()),
    (dt.date, lambda o: o.isoformat()),
    (dt.time, lambda o: o.isoformat()),
    (dt.timedelta, lambda o: o.total_seconds()),
    (Decimal, str),
    (uuid.UUID, str),
    (PurePath, os.fspath),
    (complex, complex.__repr__),
    (range, range.__repr__),
)
_STREAM_TYPES = (types.GeneratorType, types.CoroutineType, types.AsyncGeneratorType, io.IOBase)


_VIEWS: tuple[type, ...] = (type({}.keys()), type({}.values()), type({}.items()))
#: Lazy query objects whose repr runs a database query: never read, on any thread.
_LAZY_QUERIES = frozenset(
    {("django.db.models.query", "QuerySet"), ("django.db.models.query", "RawQuerySet")}
)


def _classify(t: type) -> Handler:
    try:
        return _classify_unguarded(t)
    except BaseException:
        # A metaclass that raises on attribute lookup: don't touch its instances at all.
        return _placeholder(f"<{type_name(t)}>")


def _classify_unguarded(t: type) -> Handler:
    if issubclass(t, enum.Enum):
        return _h_enum
    optional = library_handler(t, expand)
    if optional is not None:
        return optional
    if issubclass(t, str):
        return _h_str_sub
    if issubclass(t, int):
        return _h_int
    if issubclass(t, float):
        return _h_float
    if issubclass(t, (bytes, bytearray)):
        return _h_bytes
    if issubclass(t, memoryview):
        return lambda o, ctx: f"<memoryview: {memoryview.__getattribute__(o, 'nbytes')} bytes>"
    for cls, fn in _LEAF_CONVERTERS:
        if issubclass(t, cls):
            return _convert(fn)
    if issubclass(t, dict):
        return h_dict_sub
    if issubclass(t, tuple):
        fields = t.__dict__.get("_fields")
        if isinstance(fields, tuple) and all(type(f) is str for f in fields):
            return namedtuple_handler(fields)
        return h_tuple_sub
    if issubclass(t, list):
        return h_list_sub
    if issubclass(t, (set, frozenset)):
        return h_set
    if issubclass(t, deque):
        return h_deque
    if issubclass(t, _VIEWS):
        return h_view
    if issubclass(t, array.array):
        return h_array
    if issubclass(t, collections.ChainMap):
        return h_chainmap
    if issubclass(t, (collections.UserDict, collections.UserList, collections.UserString)):
        return h_wrapped_data
    if t is types.MappingProxyType:
        return h_mappingproxy
    if any((getattr(c, "__module__", ""), c.__name__) in _LAZY_QUERIES for c in t.__mro__):
        return _placeholder(f"<{type_name(t)}: not evaluated>")
    if issubclass(t, BaseException):
        return _h_exception
    if issubclass(t, _STREAM_TYPES) or any(
        hasattr(t, a) for a in ("__next__", "__anext__", "__aiter__")
    ):
        # Iterators, generators, files, streams: reading them would consume the user's data.
        return _placeholder(f"<{type_name(t)}: not consumed>")
    if issubclass(t, type):
        return lambda o, ctx: f"<class {type_name(o)}>"
    if issubclass(t, (types.FunctionType, types.BuiltinFunctionType, types.MethodType)):
        return lambda o, ctx: f"<function {type_name(o)}>"
    if issubclass(t, types.ModuleType):
        return lambda o, ctx: f"<module {o.__name__}>"
    if dataclasses.is_dataclass(t):
        return fields_handler(tuple(f.name for f in dataclasses.fields(t)))
    attrs_fields = getattr(t, "__attrs_attrs__", None)
    if isinstance(attrs_fields, tuple):
        return fields_handler(tuple(a.name for a in attrs_fields))
    if t.__repr__ is object.__repr__:
        return _h_plain_object
    return _h_repr
