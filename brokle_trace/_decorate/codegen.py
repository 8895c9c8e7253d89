"""Signature-exact wrappers, generated once per decorated function.

A generic ``def wrapper(*args, **kwargs)`` packs a tuple and a dict on every call and reaches
the user's function through ``CALL_FUNCTION_EX``, which CPython cannot inline: that alone is
2-3x the cost of a bare call, so "tracing disabled" could never be "a flag check and nothing
else". Here the wrapper gets the function's own parameter list (same names, kinds and default
objects), so arguments bind exactly as they would on the function itself, and the call to it
is an ordinary, inlinable Python call.

The parameter list is read from the function's *code* (``__code__``, ``__defaults__``,
``__kwdefaults__``), which is what really binds a call, never from ``inspect.signature``,
which a hand-set ``__signature__`` or ``__wrapped__`` can make say something else. Anything
that is not a plain Python function (a builtin, a callable object, a bound method, a
``partial``) gets the generic parameter list ``*args, **kwargs`` in the same template.

There is one template per shape (function, coroutine, generator, async generator, and the
generator-based coroutine of ``@types.coroutine``); only the parameter and argument lists
change. Every name a template uses is prefixed, builtins included (``_bt_BaseException``),
and the prefix is chosen so no parameter starts with it: a parameter named ``BaseException``
or ``_bt_fn`` cannot change what the wrapper does. The generated source is registered in
``linecache`` (as attrs does), so a traceback through a wrapper shows its real lines.
"""

from __future__ import annotations

import inspect
import itertools
import keyword
import linecache
import types
from collections.abc import Callable
from types import CodeType
from typing import Any, Literal

__all__ = ["Shape", "binder", "code_parameters", "exact_wrapper", "generic_wrapper"]

#: What kind of callable a wrapper is generated for.
Shape = Literal["sync", "async", "gen", "agen", "coro-gen"]

_PREFIX = "_bt_"

_SYNC = """\
def {name}({params}):
    if not {on}:
        return _bt_fn({call})
    _bt_span = _bt_start(_bt_facts, {args}, {kwargs})
    if _bt_span is None:
        return _bt_fn({call})
    _bt_token = _bt_set(_bt_span)
    try:
        _bt_result = _bt_fn({call})
    except _bt_BaseException as _bt_exc:
        _bt_fail(_bt_span, _bt_token, _bt_exc)
        raise
    return _bt_finish(_bt_span, _bt_token, _bt_result)
"""

_ASYNC = """\
async def {name}({params}):
    if not {on}:
        return await _bt_fn({call})
    _bt_span = _bt_start(_bt_facts, {args}, {kwargs})
    if _bt_span is None:
        return await _bt_fn({call})
    _bt_token = _bt_set(_bt_span)
    try:
        _bt_result = await _bt_fn({call})
    except _bt_BaseException as _bt_exc:
        _bt_fail(_bt_span, _bt_token, _bt_exc)
        raise
    return _bt_finish(_bt_span, _bt_token, _bt_result)
"""

# ``@types.coroutine``: a generator awaited like a coroutine. The span covers the await, as
# for a coroutine; ``types.coroutine`` is applied to the wrapper so it stays awaitable.
_CORO_GEN = (
    _ASYNC.replace("async def", "def")
    .replace("return await _bt_fn({call})", "return (yield from _bt_fn({call}))")
    .replace("= await ", "= yield from ")
)

# The span's context is attached only around each step of the user's generator (never held
# across a yield); ``_bt_run`` (generators.py) records the items and ends the span.
_GEN = """\
def {name}({params}):
    _bt_gen = _bt_fn({call})
    _bt_run = _bt_begin(_bt_start(_bt_facts, {args}, {kwargs})) \
if {on} else None
    if _bt_run is None:
        return (yield from _bt_gen)
    _bt_method = _bt_gen.send
    _bt_arg = None
    while True:
        _bt_token = _bt_run.enter()
        try:
            _bt_item = _bt_method(_bt_arg)
        except _bt_StopIteration as _bt_stop:
            _bt_run.finish(_bt_token, None, False)
            return _bt_stop.value
        except _bt_BaseException as _bt_exc:
            _bt_run.finish(_bt_token, _bt_exc, False)
            raise
        _bt_run.item(_bt_token, _bt_item)
        try:
            _bt_arg = yield _bt_item
            _bt_method = _bt_gen.send
        except _bt_GeneratorExit:
            _bt_token = _bt_run.enter()
            try:
                _bt_gen.close()
            except _bt_BaseException as _bt_exc:
                _bt_run.finish(_bt_token, _bt_exc, True)
                raise
            _bt_run.finish(_bt_token, None, True)
            raise
        except _bt_BaseException as _bt_exc:
            _bt_method, _bt_arg = _bt_gen.throw, _bt_exc
"""

# No ``yield from`` in an async generator: the same loop forwards asend/athrow/aclose, with
# a run that records nothing (``_bt_NOOP``) when tracing is off.
_AGEN = """\
async def {name}({params}):
    _bt_agen = _bt_fn({call})
    _bt_run = _bt_begin(_bt_start(_bt_facts, {args}, {kwargs})) \
if {on} else _bt_NOOP
    _bt_method = _bt_agen.asend
    _bt_arg = None
    while True:
        _bt_token = _bt_run.enter()
        try:
            _bt_item = await _bt_method(_bt_arg)
        except _bt_StopAsyncIteration:
            _bt_run.finish(_bt_token, None, False)
            return
        except _bt_BaseException as _bt_exc:
            _bt_run.finish(_bt_token, _bt_exc, False)
            raise
        _bt_run.item(_bt_token, _bt_item)
        try:
            _bt_arg = yield _bt_item
            _bt_method = _bt_agen.asend
        except _bt_GeneratorExit:
            _bt_token = _bt_run.enter()
            try:
                await _bt_agen.aclose()
            except _bt_BaseException as _bt_exc:
                _bt_run.finish(_bt_token, _bt_exc, True)
                raise
            _bt_run.finish(_bt_token, None, True)
            raise
        except _bt_BaseException as _bt_exc:
            _bt_method, _bt_arg = _bt_agen.athrow, _bt_exc
"""

_TEMPLATES: dict[str, str] = {
    "sync": _SYNC,
    "async": _ASYNC,
    "coro-gen": _CORO_GEN,
    "gen": _GEN,
    "agen": _AGEN,
}

#: Builtins the templates use, given to them under prefixed names.
_BUILTINS = {
    "BaseException": BaseException,
    "StopIteration": StopIteration,
    "StopAsyncIteration": StopAsyncIteration,
    "GeneratorExit": GeneratorExit,
}

_P = inspect.Parameter


def code_parameters(fn: Callable[..., Any]) -> list[inspect.Parameter] | None:
    """``fn``'s parameters as its code binds them, or None if ``fn`` is not a plain function.

    ``inspect.signature`` honours ``__signature__`` and ``__wrapped__``, which may describe
    another function; the code object, ``__defaults__`` and ``__kwdefaults__`` cannot lie.
    """
    if type(fn) is not types.FunctionType:
        return None
    code = fn.__code__
    names = code.co_varnames
    n_pos = code.co_argcount
    n_posonly = code.co_posonlyargcount
    n_kwonly = code.co_kwonlyargcount
    defaults = fn.__defaults__ or ()
    kwdefaults = fn.__kwdefaults__ or {}
    first_default = n_pos - len(defaults)
    params: list[inspect.Parameter] = []
    for i in range(n_pos):
        kind = _P.POSITIONAL_ONLY if i < n_posonly else _P.POSITIONAL_OR_KEYWORD
        default = defaults[i - first_default] if i >= first_default else _P.empty
        params.append(_P(names[i], kind, default=default))
    index = n_pos
    varargs = varkw = None
    if code.co_flags & inspect.CO_VARARGS:
        varargs = names[n_pos + n_kwonly]
    for name in names[index : index + n_kwonly]:
        params.append(_P(name, _P.KEYWORD_ONLY, default=kwdefaults.get(name, _P.empty)))
    if varargs is not None:
        params.insert(n_pos, _P(varargs, _P.VAR_POSITIONAL))
    if code.co_flags & inspect.CO_VARKEYWORDS:
        varkw = names[n_pos + n_kwonly + (1 if varargs is not None else 0)]
        params.append(_P(varkw, _P.VAR_KEYWORD))
    return params


def _prefix_for(names: list[str]) -> str:
    """A prefix no parameter name starts with (``_bt_`` unless one does)."""
    for n in itertools.count():
        prefix = _PREFIX if n == 0 else f"_bt{n}_"
        if not any(name.startswith(prefix) for name in names):
            return prefix
    raise AssertionError("unreachable")  # pragma: no cover


def _parts(
    params: list[inspect.Parameter], prefix: str = _PREFIX
) -> tuple[str, str, str, str] | None:
    """(params, call, args-tuple expr, kwargs expr) for ``params``, or None to fall back.

    ``prefix``: what the template's own names start with (the defaults list among them).
    """
    decl: list[str] = []
    positional: list[str] = []
    keyword_only: list[str] = []
    varargs = varkw = None
    seen_positional_only = False
    star_written = False
    for i, p in enumerate(params):
        name = p.name
        if not name.isidentifier() or keyword.iskeyword(name):
            return None
        default = "" if p.default is _P.empty else f"={prefix}defaults[{i}]"
        if p.kind is _P.POSITIONAL_ONLY:
            seen_positional_only = True
            decl.append(name + default)
            positional.append(name)
            continue
        if seen_positional_only:
            decl.append("/")
            seen_positional_only = False
        if p.kind is _P.POSITIONAL_OR_KEYWORD:
            decl.append(name + default)
            positional.append(name)
        elif p.kind is _P.VAR_POSITIONAL:
            decl.append("*" + name)
            varargs = name
            star_written = True
        elif p.kind is _P.KEYWORD_ONLY:
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


#: Compiled code by (label, source). Decorating the same function again (a closure decorated
#: on every request) reuses the code object and its one linecache entry, so neither grows
#: with the number of decorations, only with the number of distinct functions; compiling is
#: also most of the cost of decorating. Past the cap, code still compiles but leaves no
#: source behind (its tracebacks show no line, which is all that is lost).
_compiled: dict[tuple[str, str], CodeType] = {}
_COMPILED_MAX = 4096


def _label(qualname: object, name: str) -> str:
    """A qualified name when it can sit in a file name, else ``name``."""
    # isprintable: no NUL, newline or lone surrogate, which compile() rejects in a file name.
    if isinstance(qualname, str) and qualname.isprintable():
        return qualname
    return name


def _compile(
    source: str, qualname: object, scope: dict[str, Any], name: str
) -> Callable[..., Any] | None:
    key = (_label(qualname, name), source)
    code = _compiled.get(key)
    if code is None:
        # A unique file name per distinct source: linecache keeps one source per name.
        filename = f"<brokle_trace wrapper of {key[0]} #{next(_serial)}>"
        try:
            code = compile(source, filename, "exec")
        except SyntaxError:
            return None
        if len(_compiled) < _COMPILED_MAX:
            _compiled[key] = code
    if code.co_filename not in linecache.cache:  # new, or linecache.clearcache() ran since
        # mtime None: linecache.checkcache() keeps the entry (there is no file to compare).
        lines = source.splitlines(True)
        linecache.cache[code.co_filename] = (len(source), None, lines, code.co_filename)
    exec(code, scope)
    made: Callable[..., Any] = scope[name]
    return made


def _build(
    fn: Callable[..., Any],
    name: str,
    parts: tuple[str, str, str, str],
    *,
    shape: Shape,
    namespace: dict[str, Any],
    defaults: list[Any],
    prefix: str,
) -> Callable[..., Any] | None:
    params, call, args, kwargs = parts
    # Tracing on for this call: the global flag, and the decorator's own switch if any.
    on = (
        "(_bt_state.enabled and _bt_enabled())"
        if "_bt_enabled" in namespace
        else ("_bt_state.enabled")
    )
    # Our names get the prefix before the user's parameter names go in.
    template = _TEMPLATES[shape].replace("{on}", on).replace(_PREFIX, prefix)
    source = template.format(name=name, params=params, call=call, args=args, kwargs=kwargs)
    scope = {**namespace, **{f"_bt_{k}": v for k, v in _BUILTINS.items()}}
    scope["_bt_fn"] = fn
    scope["_bt_defaults"] = defaults
    if prefix != _PREFIX:
        scope = {prefix + k[len(_PREFIX) :]: v for k, v in scope.items()}
    wrapper = _compile(source, getattr(fn, "__qualname__", None), scope, name)
    if wrapper is not None and shape == "coro-gen":
        wrapper = types.coroutine(wrapper)
    return wrapper


def _name_of(fn: Callable[..., Any], prefix: str = _PREFIX) -> str:
    """``fn``'s name when it is a plain identifier that is none of the template's own names
    (a function called ``_bt_fn`` would call itself forever), else a name of ours."""
    name = getattr(fn, "__name__", "")
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        return prefix + "wrapper"  # "<lambda>"; __name__ and __qualname__ are copied anyway
    if name.startswith(prefix):
        return prefix + "wrapper"  # would shadow one of the template's names
    return name


def generic_wrapper(
    fn: Callable[..., Any], shape: Shape, namespace: dict[str, Any]
) -> Callable[..., Any]:
    """The same wrapper body with ``*args, **kwargs``: for any callable (see ``exact_wrapper``)."""
    wrapper = _build(
        fn, _name_of(fn), _GENERIC, shape=shape, namespace=namespace, defaults=[], prefix=_PREFIX
    )
    assert wrapper is not None  # the generic parameter list always compiles
    return wrapper


def exact_wrapper(
    fn: Callable[..., Any],
    shape: Shape,
    namespace: dict[str, Any],
    params: list[inspect.Parameter] | None = None,
) -> Callable[..., Any] | None:
    """A wrapper with ``fn``'s exact parameters, or None when one cannot be generated.

    ``params``: ``code_parameters(fn)``, when the caller already has them. ``namespace``
    provides ``_bt_state``, ``_bt_start``, ``_bt_set``, ``_bt_fail``, ``_bt_finish``,
    ``_bt_facts`` (and for generators ``_bt_begin``, ``_bt_NOOP``; ``_bt_enabled`` for a
    per-call switch); ``_bt_fn`` and ``_bt_defaults`` are added here.
    """
    if params is None:
        params = code_parameters(fn)
    if params is None:
        return None
    prefix = _prefix_for([p.name for p in params])
    parts = _parts(params, prefix)
    if parts is None:
        return None
    defaults = [p.default for p in params]
    return _build(
        fn,
        _name_of(fn, prefix),
        parts,
        shape=shape,
        namespace=namespace,
        defaults=defaults,
        prefix=prefix,
    )


_BINDER = """\
def _bt_bind({params}):
    return {args}, {kwargs}
"""


def binder(params: list[inspect.Parameter]) -> Callable[..., Any] | None:
    """A function taking ``params`` and returning ``(args, kwargs)`` as an exact wrapper would
    pass them to ``start_call``: defaults filled in, keywords sorted onto their parameters.

    For wrappers whose own parameter list is not the one the inputs are named after (the
    generic wrapper, a ``functools.wraps`` wrapper): calling it with what the wrapper got
    names the inputs the same way. A ``TypeError`` means the call does not fit ``params``.
    """
    prefix = _prefix_for([p.name for p in params])
    parts = _parts(params, prefix)
    if parts is None:
        return None
    decl, _, args, kwargs = parts
    source = _BINDER.replace(_PREFIX, prefix).format(params=decl, args=args, kwargs=kwargs)
    scope: dict[str, Any] = {prefix + "defaults": [p.default for p in params]}
    return _compile(source, "inputs", scope, prefix + "bind")
