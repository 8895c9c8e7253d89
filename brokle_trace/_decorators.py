"""``@observe`` and friends: one wrapper factory for every kind of callable.

Everything static about the function is computed once, here, into ``SpanFacts``. A call
then does: a flag check, ``begin`` (parent lookup, ids, clock), a bounded input snapshot,
one ContextVar set/reset around the user's code, and ``end`` (one queue append).

The user's function runs exactly once, outside any ``try`` of ours that could swallow or
replace its result; our own failures are caught and counted (``_state.internal_error``).
"""

from __future__ import annotations

import functools
import inspect
import types
from collections.abc import AsyncGenerator, Callable, Generator, Mapping, Sequence
from typing import Any, Literal, ParamSpec, TypeVar, cast, overload

from brokle_trace import _span as _span_module
from brokle_trace import _state, capture
from brokle_trace._codegen import exact_wrapper
from brokle_trace._context import CURRENT
from brokle_trace._span import Span, SpanFacts, begin, end, fail
from brokle_trace._state import UNSET
from brokle_trace.capture._snapshot import snapshot_value
from brokle_trace.typing import Serializer

__all__ = ["observe", "observe_llm", "observe_retrieval"]

P = ParamSpec("P")
R = TypeVar("R")
SpanKind = Literal["span", "llm", "retrieval", "tool", "embedding", "agent", "chain"]
_KINDS = frozenset({"span", "llm", "retrieval", "tool", "embedding", "agent", "chain"})

_current_reset = CURRENT.reset
_snapshot = snapshot_value
#: Types whose values cannot change after the call: captured by reference, copied never.
_IMMUTABLE = frozenset({int, float, bool, type(None)})
#: Lists of numbers up to this length are copied inline instead of through the snapshot walk.
_SMALL = 32
#: First item of ``span._input`` when it holds the raw (immutable) arguments.
RAW_ARGS: Any = object()
_GeneratorType = types.GeneratorType
_AsyncGeneratorType = types.AsyncGeneratorType


# -- per-call steps shared by every wrapper -------------------------------------------------------


def _start(facts: SpanFacts, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Span | None:
    """Begin a span and record the inputs; None if tracing itself failed.

    When every argument is immutable (numbers, and strings within the capture cut) there
    is nothing to copy: the span keeps the argument tuple and the worker builds the input
    dict. Anything else is snapshotted here, while the caller still owns it.
    """
    try:
        span = begin(facts)
        facts = span._facts  # a sampled-out trace swaps in facts that capture nothing
        capture_inputs = facts.capture_inputs
        if capture_inputs is None:
            capture_inputs = _state.capture_inputs
        if capture_inputs:
            cut = _state.capture_cut
            values = args[1:] if facts.skip_first else args
            for value in values:
                t = type(value)
                if t is str:
                    if len(value) > cut:
                        break
                elif t not in _IMMUTABLE:
                    break
            else:
                if kwargs:
                    for value in kwargs.values():
                        t = type(value)
                        if t is str:
                            if len(value) > cut:
                                break
                        elif t not in _IMMUTABLE:
                            break
                    else:
                        span._input = (RAW_ARGS, args, kwargs)
                        return span
                else:
                    span._input = (RAW_ARGS, args, None)
                    return span
            span._input = _snapshot(
                inputs_dict(facts, args, kwargs),
                _state.capture_settings,
                facts.max_input_length,
                facts.serializer,
            )
        return span
    except Exception as exc:
        _state.internal_error("span_start", exc)
        return None


def captured_inputs(span: Span) -> Mapping[str, Any] | None:
    """The span's captured arguments by name, for hooks; None when input capture is off.

    Either the raw immutable arguments, named now, or the snapshot's top-level dict.
    """
    inp = span._input
    if type(inp) is tuple and inp and inp[0] is RAW_ARGS:
        return inputs_dict(span._facts, inp[1], inp[2])
    if isinstance(inp, Mapping):
        return inp
    root = getattr(inp, "root", None)
    return root if isinstance(root, Mapping) else None


def inputs_dict(
    facts: SpanFacts, args: tuple[Any, ...], kwargs: dict[str, Any] | None
) -> dict[str, Any]:
    """The arguments by parameter name, without self/cls and the ignored ones."""
    names = facts.param_names
    if facts.skip_first:
        args = args[1:]
    inputs = dict(zip(names, args, strict=False))
    if facts.varargs is not None and len(args) > len(names):
        inputs[facts.varargs] = args[len(names) :]
    if kwargs:
        inputs.update(kwargs)
    if facts.ignore:
        for ignored in facts.ignore:
            inputs.pop(ignored, None)
    return inputs


def _reset(token: Any) -> None:
    try:
        _current_reset(token)
    except ValueError:
        # The token belongs to another Context (a coroutine driven from two contexts by
        # hand). Leaving ours set would leak the span into the caller: restore what the
        # token saw instead.
        old = token.old_value
        CURRENT.set(None if old is token.MISSING else old)


def _capture_output(span: Span, value: object) -> None:
    facts = span._facts
    capture_outputs = facts.capture_outputs
    if capture_outputs is None:
        capture_outputs = _state.capture_outputs
    if capture_outputs and span._output is UNSET:
        span._output = capture.snapshot(
            value,
            _state.capture_settings,
            max_string_length=facts.max_output_length,
            serializer=facts.serializer,
        )


def _finish(span: Span, token: Any, result: Any) -> Any:
    """Detach, record the output and end the span; returns what the caller gets.

    The steps of ``_reset``, ``_capture_output`` and ``end`` are written out here: this
    runs once per call and each saved function call is ~5 % of the hot path.
    """
    try:
        try:
            _current_reset(token)
        except ValueError:
            _reset(token)
        kind = type(result)
        if kind is _GeneratorType:
            # A plain function returned a generator: the span stays open over its iteration.
            return _continue_generator(result, span)
        if kind is _AsyncGeneratorType:
            return _continue_async_generator(result, span)
        facts = span._facts
        if facts.result_hook is not None:
            facts.result_hook(span, result)
        capture_outputs = facts.capture_outputs
        if capture_outputs is None:
            capture_outputs = _state.capture_outputs
        if capture_outputs and span._output is UNSET:
            # Immutable results need no copy (what snapshot itself would return).
            if kind in _IMMUTABLE or (
                kind is str and len(result) <= _state.capture_cut
                and facts.max_output_length is None
            ):
                span._output = result
            elif (kind is list or kind is tuple) and len(result) <= _SMALL and all(
                type(item) in _IMMUTABLE for item in result
            ):
                span._output = list(result)  # a copy of numbers: done
            else:
                span._output = _snapshot(
                    result, _state.capture_settings, facts.max_output_length, facts.serializer
                )
        span._end_ns = _span_module._time_ns()
        _state.enqueue(span)
        if facts.flush_on_end and span._parent_id == 0:
            _flush_root()
    except Exception as exc:
        _state.internal_error("span_end", exc)
    return result


def _fail(span: Span, token: Any, exc: BaseException) -> None:
    try:
        _reset(token)
        fail(span, exc)
        if span._facts.flush_on_end and span._parent_id == 0:
            _flush_root()
    except Exception as internal:
        _state.internal_error("span_end", internal)


def _flush_root() -> None:
    from brokle_trace import _config

    settings = _config._settings
    _config.flush(settings.shutdown_timeout if settings is not None else 2.0)


# -- generators: the span covers the iteration; context is attached only around each step --------


class _Items:
    """The bounded record of what a generator yielded."""

    __slots__ = ("count", "items", "limit")

    def __init__(self) -> None:
        self.count = 0
        self.items: list[object] = []
        self.limit = _state.capture_settings.max_items

    def add(self, span: Span, item: object) -> None:
        self.count += 1
        try:
            facts = span._facts
            if facts.item_hook is not None:
                facts.item_hook(span, item)
            if len(self.items) < self.limit:
                self.items.append(
                    capture.snapshot(
                        item,
                        _state.capture_settings,
                        max_string_length=facts.max_output_length,
                        serializer=facts.serializer,
                    )
                )
        except Exception as exc:
            _state.internal_error("generator_item", exc)


def _end_generator(span: Span, items: _Items, exc: BaseException | None, closed: bool) -> None:
    try:
        hook = span._facts.stream_end_hook
        if hook is not None:
            hook(span)
        span.update(attributes={"brokle.generator.items": items.count})
        if closed:
            span.update(attributes={"brokle.generator.closed": True})
        capture_outputs = span._facts.capture_outputs
        if capture_outputs is None:
            capture_outputs = _state.capture_outputs
        if capture_outputs and span._output is UNSET:
            span._output = items.items  # each item was snapshotted as it was yielded
        if exc is None:
            end(span)
        else:
            fail(span, exc)
    except Exception as internal:
        _state.internal_error("generator_end", internal)


def _make_generator(
    setup: Callable[
        [tuple[Any, ...], dict[str, Any]], tuple[Generator[Any, Any, Any], Span | None]
    ],
) -> Callable[..., Generator[Any, Any, Any]]:
    def traced_generator(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
        gen, span = setup(args, kwargs)
        if span is None:
            return (yield from gen)
        items = _Items()
        method: Callable[[Any], Any] = gen.send
        arg: Any = None
        while True:
            token = CURRENT.set(span)
            try:
                item = method(arg)
            except StopIteration as stop:
                _reset(token)
                _end_generator(span, items, None, False)
                return stop.value
            except BaseException as exc:
                _reset(token)
                _end_generator(span, items, exc, False)
                raise
            _reset(token)
            items.add(span, item)
            try:
                arg = yield item
                method = gen.send
            except GeneratorExit:
                token = CURRENT.set(span)
                try:
                    gen.close()
                except BaseException as exc:
                    _reset(token)
                    _end_generator(span, items, exc, True)
                    raise
                _reset(token)
                _end_generator(span, items, None, True)
                raise
            except BaseException as exc:
                method, arg = gen.throw, exc

    return traced_generator


def _make_async_generator(
    setup: Callable[
        [tuple[Any, ...], dict[str, Any]], tuple[AsyncGenerator[Any, Any], Span | None]
    ],
) -> Callable[..., AsyncGenerator[Any, Any]]:
    async def traced_async_generator(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
        agen, span = setup(args, kwargs)
        items = _Items()
        method: Callable[[Any], Any] = agen.asend
        arg: Any = None
        while True:
            token = CURRENT.set(span) if span is not None else None
            try:
                item = await method(arg)
            except StopAsyncIteration:
                if span is not None:
                    _reset(token)
                    _end_generator(span, items, None, False)
                return
            except BaseException as exc:
                if span is not None:
                    _reset(token)
                    _end_generator(span, items, exc, False)
                raise
            if span is not None:
                _reset(token)
                items.add(span, item)
            try:
                arg = yield item
                method = agen.asend
            except GeneratorExit:
                token = CURRENT.set(span) if span is not None else None
                try:
                    await agen.aclose()
                except BaseException as exc:
                    if span is not None:
                        _reset(token)
                        _end_generator(span, items, exc, True)
                    raise
                if span is not None:
                    _reset(token)
                    _end_generator(span, items, None, True)
                raise
            except BaseException as exc:
                method, arg = agen.athrow, exc

    return traced_async_generator


def _given(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, Span]:
    return args[0], args[1]


_continue_generator = _make_generator(_given)
_continue_async_generator = _make_async_generator(_given)


# -- decoration-time analysis ---------------------------------------------------------------------


def _facts_for(
    fn: Callable[..., Any],
    *,
    name: str | None,
    type: str,
    skip_first: bool | None,
    ignore_args: Sequence[str] | None,
    attributes: Mapping[str, Any] | None,
    **options: Any,
) -> SpanFacts:
    if type not in _KINDS:
        raise ValueError(f"type must be one of {sorted(_KINDS)}, got {type!r}")
    try:
        sig = inspect.signature(fn)
        params = list(sig.parameters.values())
    except (TypeError, ValueError):
        params = []
    positional = [
        p.name
        for p in params
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    varargs = next((p.name for p in params if p.kind is inspect.Parameter.VAR_POSITIONAL), None)
    if skip_first is None:
        skip_first = bool(positional) and positional[0] in ("self", "cls")
    if skip_first and positional:
        positional = positional[1:]
    if "result_hook" not in options:
        from brokle_trace.llm import hooks_for

        options.update(hooks_for(type, fn))
    return SpanFacts(
        name or getattr(fn, "__name__", None) or type,
        type,
        param_names=tuple(positional),
        skip_first=skip_first,
        varargs=varargs,
        ignore=frozenset(ignore_args or ()),
        attributes=attributes,
        **options,
    )


def _wrap(fn: Callable[..., Any], facts: SpanFacts) -> Callable[..., Any]:
    """Choose the wrapper shape for ``fn``'s kind; all shapes share the steps above."""
    if inspect.isasyncgenfunction(fn):

        def setup_async_gen(
            args: tuple[Any, ...], kwargs: dict[str, Any]
        ) -> tuple[AsyncGenerator[Any, Any], Span | None]:
            agen = fn(*args, **kwargs)
            return agen, (_start(facts, args, kwargs) if _state.enabled else None)

        wrapper: Callable[..., Any] = _make_async_generator(setup_async_gen)
    elif inspect.isgeneratorfunction(fn):

        def setup_gen(
            args: tuple[Any, ...], kwargs: dict[str, Any]
        ) -> tuple[Generator[Any, Any, Any], Span | None]:
            gen = fn(*args, **kwargs)
            return gen, (_start(facts, args, kwargs) if _state.enabled else None)

        wrapper = _make_generator(setup_gen)
    elif (
        exact := exact_wrapper(
            fn,
            inspect.iscoroutinefunction(fn),
            {
                "_bt_state": _state,
                "_bt_start": _start,
                "_bt_set": CURRENT.set,
                "_bt_fail": _fail,
                "_bt_finish": _finish,
                "_bt_facts": facts,
            },
        )
    ) is not None:
        # The same steps as the generic wrappers below, with fn's own parameter list.
        wrapper = exact
    elif inspect.iscoroutinefunction(fn):

        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            if not _state.enabled:
                return await fn(*args, **kwargs)
            span = _start(facts, args, kwargs)
            if span is None:
                return await fn(*args, **kwargs)
            token = CURRENT.set(span)
            try:
                result = await fn(*args, **kwargs)
            except BaseException as exc:
                _fail(span, token, exc)
                raise
            return _finish(span, token, result)

        wrapper = async_wrapper
    else:

        def sync_wrapper(*args: Any, **kwargs: Any) -> Any:
            if not _state.enabled:
                return fn(*args, **kwargs)
            span = _start(facts, args, kwargs)
            if span is None:
                return fn(*args, **kwargs)
            token = CURRENT.set(span)
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:
                _fail(span, token, exc)
                raise
            return _finish(span, token, result)

        wrapper = sync_wrapper
    functools.update_wrapper(wrapper, fn)
    wrapper.__brokle_facts__ = facts  # type: ignore[attr-defined]
    return wrapper


def _decorate(fn: Any, skip_first: bool | None, options: dict[str, Any]) -> Any:
    from brokle_trace import _otel

    _otel.install()  # decoration time, not import time, and never per call
    if isinstance(fn, (classmethod, staticmethod)):
        inner = fn.__func__
        first = bool(isinstance(fn, classmethod))
        return type(fn)(_wrap(inner, _facts_for(inner, skip_first=first, **options)))
    if not callable(fn):
        raise TypeError(f"@observe needs a function, got {type(fn).__name__}")
    return _wrap(fn, _facts_for(fn, skip_first=skip_first, **options))


@overload
def observe(func: Callable[P, R], /) -> Callable[P, R]: ...


@overload
def observe(
    func: None = None,
    /,
    *,
    name: str | None = None,
    type: SpanKind = "span",
    capture_inputs: bool | None = None,
    capture_outputs: bool | None = None,
    max_input_length: int | None = None,
    max_output_length: int | None = None,
    tags: Sequence[str] | None = None,
    user_id: str | None = None,
    session_id: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    ignore_args: Sequence[str] | None = None,
    serializer: Serializer | None = None,
    attributes: Mapping[str, Any] | None = None,
    flush: bool = False,
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def observe(
    func: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    type: SpanKind = "span",
    capture_inputs: bool | None = None,
    capture_outputs: bool | None = None,
    max_input_length: int | None = None,
    max_output_length: int | None = None,
    tags: Sequence[str] | None = None,
    user_id: str | None = None,
    session_id: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    ignore_args: Sequence[str] | None = None,
    serializer: Serializer | None = None,
    attributes: Mapping[str, Any] | None = None,
    flush: bool = False,
) -> Callable[P, R] | Callable[[Callable[P, R]], Callable[P, R]]:
    """Trace every call of the decorated function as a span.

    Works bare (``@observe``) or with options, on functions, coroutines, generators, async
    generators, methods, classmethods and staticmethods. The function returns or raises
    exactly what it would undecorated.

    Options: ``name`` (default: the function name), ``type`` (span, llm, retrieval, tool,
    embedding, agent, chain), ``capture_inputs``/``capture_outputs`` (default from
    ``configure``), ``max_input_length``/``max_output_length`` (characters per string),
    ``tags``/``user_id``/``session_id``/``metadata`` (inherited by every span below),
    ``ignore_args`` (argument names never captured), ``serializer`` (per-function capture),
    ``attributes`` (static OpenTelemetry attributes), ``flush`` (flush when a root span ends:
    serverless).

    Example:
        >>> from brokle_trace import observe
        >>> @observe(name="pipeline", tags=["prod"], ignore_args=["api_key"])
        ... def pipeline(text: str, api_key: str) -> str:
        ...     return text.upper()
        >>> pipeline("hi", api_key="secret")
        'HI'
    """
    options: dict[str, Any] = {
        "name": name,
        "type": type,
        "capture_inputs": capture_inputs,
        "capture_outputs": capture_outputs,
        "max_input_length": max_input_length,
        "max_output_length": max_output_length,
        "tags": tags,
        "user_id": user_id,
        "session_id": session_id,
        "metadata": metadata,
        "ignore_args": ignore_args,
        "serializer": serializer,
        "attributes": attributes,
        "flush_on_end": flush,
    }
    if func is not None:
        return cast("Callable[P, R]", _decorate(func, None, options))

    def decorator(fn: Callable[P, R]) -> Callable[P, R]:
        return cast("Callable[P, R]", _decorate(fn, None, options))

    return decorator


@overload
def observe_llm(func: Callable[P, R], /) -> Callable[P, R]: ...


@overload
def observe_llm(
    func: None = None,
    /,
    *,
    name: str | None = None,
    model: str | None = None,
    provider: str | None = None,
    capture_content: bool | None = None,
    reducer: Callable[[Sequence[Any]], Any] | None = None,
    **options: Any,
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def observe_llm(
    func: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    model: str | None = None,
    provider: str | None = None,
    capture_content: bool | None = None,
    reducer: Callable[[Sequence[Any]], Any] | None = None,
    **options: Any,
) -> Any:
    """Trace an LLM call: an ``llm`` span with model, provider, parameters, usage and cost.

    Takes every option of :func:`observe`, plus ``capture_content`` (False: record no
    prompt or completion text, only model, parameters, usage, cost and timing; default: the
    global input/output capture) and ``reducer`` (for generators: turns the list of yielded
    chunks into the span's output instead of joining their text).

    The result is read for usage (OpenAI/Anthropic responses, their dicts, any object with
    the common usage fields) and priced; a generator gets time to first chunk and its chunk
    count. ``temperature``, ``max_tokens``, ``top_p``, ``stop`` and ``stream`` arguments are
    recorded as ``gen_ai.request.*`` when inputs are captured.

    Example:
        >>> from brokle_trace import observe_llm
        >>> @observe_llm(name="story", model="gpt-4o", provider="openai")
        ... def story(prompt: str, temperature: float = 0.7) -> dict:
        ...     return {"text": "Once upon a time",
        ...             "usage": {"prompt_tokens": 5, "completion_tokens": 4}}
        >>> story("a dragon")["text"]
        'Once upon a time'
    """
    from brokle_trace import semconv

    attributes = dict(options.pop("attributes", None) or {})
    attributes.update(semconv.llm_static_attributes(model=model, provider=provider))
    if capture_content is not None:
        options.setdefault("capture_inputs", capture_content)
        options.setdefault("capture_outputs", capture_content)
    if reducer is None:
        decorator = observe(name=name, type="llm", attributes=attributes, **options)
        return decorator(func) if func is not None else decorator

    from brokle_trace.llm import hooks_for

    # A reducer needs its own hooks; observe() keeps its public signature free of them.
    full: dict[str, Any] = {
        "name": name,
        "type": "llm",
        "attributes": attributes,
        "ignore_args": options.pop("ignore_args", None),
        "flush_on_end": options.pop("flush", False),
        **options,
        **hooks_for("llm", func, reducer=reducer),
    }

    def decorate(fn: Any) -> Any:
        return _decorate(fn, None, dict(full))

    return decorate(func) if func is not None else decorate


@overload
def observe_retrieval(func: Callable[P, R], /) -> Callable[P, R]: ...


@overload
def observe_retrieval(
    func: None = None,
    /,
    *,
    name: str | None = None,
    index_name: str | None = None,
    top_k: int | None = None,
    **options: Any,
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def observe_retrieval(
    func: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    index_name: str | None = None,
    top_k: int | None = None,
    **options: Any,
) -> Any:
    """Trace a retrieval step: a ``retrieval`` span recording the index and ``top_k``.

    Takes every option of :func:`observe`.

    Example:
        >>> from brokle_trace import observe_retrieval
        >>> @observe_retrieval(name="search", index_name="company_docs", top_k=2)
        ... def search(query: str) -> list[str]:
        ...     return ["doc-1", "doc-2"]
        >>> search("refund policy")
        ['doc-1', 'doc-2']
    """
    from brokle_trace import semconv

    attributes = dict(options.pop("attributes", None) or {})
    attributes.update(semconv.retrieval_static_attributes(index_name=index_name, top_k=top_k))
    decorator = observe(name=name, type="retrieval", attributes=attributes, **options)
    return decorator(func) if func is not None else decorator
