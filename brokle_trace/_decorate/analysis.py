"""What decoration reads off a function, once: the names its inputs are recorded under,
its span's static facts, and its shape (sync, coroutine, generator, async generator).

Nothing here runs per call; ``observe`` turns these into the generated wrapper.
"""

from __future__ import annotations

import builtins
import functools
import inspect
import types
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from brokle_trace._decorate.codegen import Shape
from brokle_trace._decorate.codegen import binder as make_binder
from brokle_trace._decorate.steps import output_processor
from brokle_trace._trace.facts import KINDS, SpanFacts

__all__ = ["facts_for", "shape_of"]

_P = inspect.Parameter


def _signature_params(fn: Callable[..., Any]) -> list[inspect.Parameter] | None:
    """The parameters users see (``inspect.signature``): what inputs are named after."""
    try:
        return list(inspect.signature(fn).parameters.values())
    except Exception:  # none, or user code that failed (3.13 calls a __signature__ it finds)
        return None


def _same_binding(a: list[inspect.Parameter], b: list[inspect.Parameter] | None) -> bool:
    """Whether two parameter lists bind every call the same way (names, kinds, defaults)."""
    return (
        b is not None
        and len(a) == len(b)
        and all(
            x.name == y.name and x.kind is y.kind and x.default is y.default
            for x, y in zip(a, b, strict=True)
        )
    )


def _default_name(fn: Any, type: str) -> str:
    name = getattr(fn, "__name__", None)
    if isinstance(name, str) and name:
        return name
    if isinstance(fn, functools.partial):
        return _default_name(fn.func, type)
    # A callable object: its class says what it is.
    cls_name = getattr(builtins.type(fn), "__name__", None)
    return cls_name if isinstance(cls_name, str) and cls_name else type


def facts_for(
    fn: Callable[..., Any],
    *,
    name: str | Callable[..., str] | None,
    type: str,
    skip_first: bool | None,
    ignore_args: Sequence[str] | None,
    attributes: Mapping[str, Any] | None,
    code_params: list[inspect.Parameter] | None,
    **options: Any,
) -> SpanFacts:
    if type not in KINDS:
        raise ValueError(f"type must be one of {sorted(KINDS)}, got {type!r}")
    params = _signature_params(fn)
    known = params or []
    positional = [p.name for p in known if p.kind in (_P.POSITIONAL_ONLY, _P.POSITIONAL_OR_KEYWORD)]
    varargs = next((p.name for p in known if p.kind is _P.VAR_POSITIONAL), None)
    if params is None:
        varargs = "args"  # no signature to read: positional arguments are recorded as "args"
    if ignore_args and params is not None and not any(p.kind is _P.VAR_KEYWORD for p in params):
        unknown = [a for a in ignore_args if a not in {p.name for p in params}]
        if unknown:
            raise ValueError(
                f"ignore_args names {unknown[0]!r}, which is not a parameter of "
                f"{getattr(fn, '__qualname__', fn)!r} (its parameters: "
                f"{', '.join(p.name for p in params) or 'none'})"
            )
    if skip_first is None:
        skip_first = bool(positional) and positional[0] in ("self", "cls")
    if skip_first and positional:
        positional = positional[1:]
    from brokle_trace.llm import hooks_for, static_attributes_for

    if "result_hook" not in options:
        options.update(hooks_for(type, fn))
    static = static_attributes_for(type, fn)
    if static:
        attributes = {**static, **(attributes or {})}
    if options.get("process_output") is not None:
        options["result_hook"] = output_processor(options.get("result_hook"))
    name_fn = name if callable(name) else None
    if name_fn is not None and params is not None:
        _check_name_fn(fn, name_fn, positional, known)
    # The wrapper passes what its own parameters received; when those are not the
    # signature's (no code to copy, a hand-set __signature__, a functools.wraps wrapper),
    # a binder names the inputs as the signature does, defaults included.
    binder = None
    if params is not None and not _same_binding(params, code_params):
        binder = make_binder(params)
    return SpanFacts(
        name if isinstance(name, str) else _default_name(fn, type),
        type,
        param_names=tuple(positional),
        skip_first=skip_first,
        varargs=varargs,
        ignore=frozenset(ignore_args or ()),
        attributes=attributes,
        name_fn=name_fn,
        binder=binder,
        **options,
    )


def _check_name_fn(
    fn: Any, name_fn: Callable[..., Any], positional: list[str], params: list[inspect.Parameter]
) -> None:
    """``name=`` as a function is called with the arguments by name: one that cannot take
    them would fail on every call (the default name, counted), so it is refused now."""
    names = positional + [p.name for p in params if p.kind is _P.KEYWORD_ONLY]
    names += [p.name for p in params if p.kind is _P.VAR_POSITIONAL]
    try:
        inspect.signature(name_fn).bind(**dict.fromkeys(names))
    except ValueError:  # no signature to read (a builtin): the call will tell
        return
    except TypeError:
        raise TypeError(
            f"observe(name={name_fn!r:.60}) is called with the arguments of "
            f"{getattr(fn, '__qualname__', fn)!r} by name ({', '.join(names) or 'none'}), "
            "which its signature does not accept; give it those parameters or **kwargs"
        ) from None


def shape_of(fn: Callable[..., Any]) -> Shape:
    code = getattr(getattr(fn, "__func__", fn), "__code__", None)
    if not isinstance(code, types.CodeType):
        code = None  # an object whose __getattr__ answers every name (an RPC stub)
    # An instance is called through its class's __call__: that is the shape frameworks read
    # (FastAPI's is_gen_callable), so the wrapper, the proxy's __call__, must have it too.
    call = fn if inspect.isroutine(fn) or inspect.isclass(fn) else type(fn).__call__
    if inspect.isasyncgenfunction(fn) or inspect.isasyncgenfunction(call):
        return "agen"
    if code is not None and code.co_flags & inspect.CO_ITERABLE_COROUTINE:
        return "coro-gen"  # @types.coroutine: awaited, not iterated
    if inspect.isgeneratorfunction(fn) or inspect.isgeneratorfunction(call):
        return "gen"
    return "async" if _is_async(fn) else "sync"


def _is_async(fn: Callable[..., Any]) -> bool:
    """A coroutine function, or an instance whose class has ``async def __call__``.

    ``inspect`` looks at the instance only: such an object would get a sync wrapper, whose
    span ends (with the coroutine object as output) before the coroutine even starts.
    (Generators need no such care: a sync wrapper already follows a returned generator.)
    """
    if inspect.iscoroutinefunction(fn):
        return True
    if inspect.isroutine(fn) or inspect.isclass(fn):
        return False
    return inspect.iscoroutinefunction(type(fn).__call__)
