"""Signature-exact wrappers, generated once per decorated function.

A generic ``def wrapper(*args, **kwargs)`` packs a tuple and a dict on every call and reaches
the user's function through ``CALL_FUNCTION_EX``, which CPython cannot inline: that alone is
2-3x the cost of a bare call, so "tracing disabled" could never be "a flag check and nothing
else". Here the wrapper gets the function's own parameter list (same names, kinds and default
objects), so arguments bind exactly as they would on the function itself, and the call to it
is an ordinary, inlinable Python call.

The wrapper body exists once, as the templates below; only the parameter list and the
argument lists change. Anything unusual (no signature, a signature that is not the code's own,
a parameter named like our internals) gets the generic parameter list ``*args, **kwargs`` in
the same template. The generated source is registered in ``linecache`` (as attrs does), so
a traceback through a wrapper shows its real lines.
"""

from __future__ import annotations

import inspect
import itertools
import keyword
import linecache
from collections.abc import Callable
from types import CodeType
from typing import Any

__all__ = ["exact_wrapper", "generic_wrapper"]

_PREFIX = "_bt_"

_SYNC = """\
def {name}({params}):
    if not _bt_state.enabled:
        return _bt_fn({call})
    _bt_span = _bt_start(_bt_facts, {args}, {kwargs})
    if _bt_span is None:
        return _bt_fn({call})
    _bt_token = _bt_set(_bt_span)
    try:
        _bt_result = _bt_fn({call})
    except BaseException as _bt_exc:
        _bt_fail(_bt_span, _bt_token, _bt_exc)
        raise
    return _bt_finish(_bt_span, _bt_token, _bt_result)
"""

_ASYNC = """\
async def {name}({params}):
    if not _bt_state.enabled:
        return await _bt_fn({call})
    _bt_span = _bt_start(_bt_facts, {args}, {kwargs})
    if _bt_span is None:
        return await _bt_fn({call})
    _bt_token = _bt_set(_bt_span)
    try:
        _bt_result = await _bt_fn({call})
    except BaseException as _bt_exc:
        _bt_fail(_bt_span, _bt_token, _bt_exc)
        raise
    return _bt_finish(_bt_span, _bt_token, _bt_result)
"""


def _parts(fn: Callable[..., Any]) -> tuple[str, str, str, str] | None:
    """(params, call, args-tuple expr, kwargs expr) for ``fn``, or None to fall back."""
    try:
        params = list(inspect.signature(fn, follow_wrapped=False).parameters.values())
    except (TypeError, ValueError):
        return None
    P = inspect.Parameter
    decl: list[str] = []
    call: list[str] = []
    positional: list[str] = []
    keyword_only: list[str] = []
    varargs = varkw = None
    seen_positional_only = False
    star_written = False
    for i, p in enumerate(params):
        name = p.name
        if not name.isidentifier() or keyword.iskeyword(name) or name.startswith(_PREFIX):
            return None
        default = "" if p.default is P.empty else f"=_bt_defaults[{i}]"
        if p.kind is P.POSITIONAL_ONLY:
            seen_positional_only = True
            decl.append(name + default)
            positional.append(name)
            continue
        if seen_positional_only:
            decl.append("/")
            seen_positional_only = False
        if p.kind is P.POSITIONAL_OR_KEYWORD:
            decl.append(name + default)
            positional.append(name)
        elif p.kind is P.VAR_POSITIONAL:
            decl.append("*" + name)
            varargs = name
            star_written = True
        elif p.kind is P.KEYWORD_ONLY:
            if not star_written:
                decl.append("*")
                star_written = True
            decl.append(name + default)
            keyword_only.append(name)
        else:  # VAR_KEYWORD
            decl.append("**" + name)
            varkw = name
    if seen_positional_only:
        decl.append("/")
    call = list(positional)
    if varargs:
        call.append("*" + varargs)
    call += [f"{k}={k}" for k in keyword_only]
    if varkw:
        call.append("**" + varkw)
    args = "(" + "".join(p + ", " for p in positional) + ")"
    if varargs:
        args = f"{args} + {varargs}"
    if keyword_only or varkw:
        entries = [f"{k!r}: {k}" for k in keyword_only]
        if varkw:
            entries.append("**" + varkw)
        kwargs = "{" + ", ".join(entries) + "}"
    else:
        kwargs = "None"
    return ", ".join(decl), ", ".join(call), args, kwargs


#: The generic parameter list: what any callable accepts, bound by the callee itself.
_GENERIC = ("*_bt_args, **_bt_kwargs", "*_bt_args, **_bt_kwargs", "_bt_args", "_bt_kwargs")
_serial = itertools.count(1)
#: Compiled wrappers by (label, source). Decorating the same function again (a closure
#: decorated on every request) reuses the code object and its one linecache entry, so neither
#: grows with the number of decorations, only with the number of distinct functions; compiling
#: is also most of the cost of decorating. Past the cap, wrappers still compile but leave no
#: source behind (their tracebacks show no line, which is all that is lost).
_compiled: dict[tuple[str, str], CodeType] = {}
_COMPILED_MAX = 4096


def _label(fn: Callable[..., Any], name: str) -> str:
    """``fn``'s qualified name when it can sit in a file name, else the wrapper's name."""
    qualname = getattr(fn, "__qualname__", None)
    # isprintable: no NUL, newline or lone surrogate, which compile() rejects in a file name.
    if isinstance(qualname, str) and qualname.isprintable():
        return qualname
    return name


def _compile(fn: Callable[..., Any], name: str, source: str) -> CodeType | None:
    key = (_label(fn, name), source)
    code = _compiled.get(key)
    if code is None:
        # A unique file name per distinct source: linecache keeps one source per name.
        filename = f"<brokle_trace wrapper of {key[0]} #{next(_serial)}>"
        try:
            code = compile(source, filename, "exec")
        except SyntaxError:
            return None
        if len(_compiled) >= _COMPILED_MAX:
            return code
        _compiled[key] = code
    if code.co_filename not in linecache.cache:  # new, or linecache.clearcache() ran since
        # mtime None: linecache.checkcache() keeps the entry (there is no file to compare).
        lines = source.splitlines(True)
        linecache.cache[code.co_filename] = (len(source), None, lines, code.co_filename)
    return code


def _build(
    fn: Callable[..., Any],
    name: str,
    parts: tuple[str, str, str, str],
    *,
    is_async: bool,
    namespace: dict[str, Any],
    defaults: list[Any],
) -> Callable[..., Any] | None:
    params, call, args, kwargs = parts
    source = (_ASYNC if is_async else _SYNC).format(
        name=name, params=params, call=call, args=args, kwargs=kwargs
    )
    code = _compile(fn, name, source)
    if code is None:
        return None
    scope = dict(namespace)
    scope["_bt_fn"] = fn
    scope["_bt_defaults"] = defaults
    exec(code, scope)
    wrapper: Callable[..., Any] = scope[name]
    return wrapper


def _name_of(fn: Callable[..., Any]) -> str:
    name = getattr(fn, "__name__", "")
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        return "wrapper"
    return name if not name.startswith(_PREFIX) else "wrapper"


def generic_wrapper(
    fn: Callable[..., Any], is_async: bool, namespace: dict[str, Any]
) -> Callable[..., Any]:
    """The same wrapper body with ``*args, **kwargs``: for any callable (see ``exact_wrapper``)."""
    name = _name_of(fn)
    wrapper = _build(fn, name, _GENERIC, is_async=is_async, namespace=namespace, defaults=[])
    assert wrapper is not None  # the generic parameter list always compiles
    return wrapper


def _own_signature(fn: Callable[..., Any]) -> bool:
    """Whether ``fn``'s signature is its code's own, defaults included.

    Only then does passing every parameter on (defaults too) bind like the caller's call. A C
    function's text signature (``np.add``: ``dtype=None, signature=None``, which it refuses
    together), a class's (pydantic shows ``<factory>`` for ``default_factory`` fields) or a
    ``__signature__`` override only describe the call: their defaults are not what the
    callee would use, so those callables get the generic parameter list.
    """
    target = fn.__func__ if inspect.ismethod(fn) else fn
    return inspect.isfunction(target) and "__signature__" not in vars(target)


def exact_wrapper(
    fn: Callable[..., Any], is_async: bool, namespace: dict[str, Any]
) -> Callable[..., Any] | None:
    """A wrapper with ``fn``'s exact parameters, or None when one cannot be generated.

    ``namespace`` provides ``_bt_state``, ``_bt_start``, ``_bt_set``, ``_bt_fail``,
    ``_bt_finish`` and ``_bt_facts``; ``_bt_fn`` and ``_bt_defaults`` are added here.
    """
    if not _own_signature(fn):
        return None
    parts = _parts(fn)
    if parts is None:
        return None
    sig_params = list(inspect.signature(fn, follow_wrapped=False).parameters.values())
    defaults = [p.default for p in sig_params]
    # Named after fn unless that name is not a plain identifier or is one of the template's
    # own globals (a function called ``_bt_fn`` would call itself forever).
    name = _name_of(fn)
    return _build(fn, name, parts, is_async=is_async, namespace=namespace, defaults=defaults)
