"""``@observe`` and friends: one wrapper factory for every kind of callable.

Everything static about the function is computed once, here, into ``SpanFacts``. A call
then does: a flag check, ``begin`` (parent lookup, ids, clock), a bounded input snapshot,
one ContextVar set/reset around the user's code, and ``end`` (one queue append).

The user's function runs exactly once, outside any ``try`` of ours that could swallow or
replace its result; our own failures are caught and counted (``_errors.internal_error``).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncGenerator, Callable, Generator, Mapping, Sequence
from typing import Any, ParamSpec, TypeVar, cast, overload

from typing_extensions import Unpack

from brokle_trace._decorate.codegen import exact_wrapper, generic_wrapper
from brokle_trace._decorate.generators import make_async_generator, make_generator
from brokle_trace._decorate.options import (
    LLMOptions,
    ObserveOptions,
    RetrievalOptions,
    check,
    to_facts_options,
)
from brokle_trace._decorate.steps import fail_call, finish_call, start_call
from brokle_trace._runtime import state as _state
from brokle_trace._trace.context import CURRENT
from brokle_trace._trace.facts import KINDS, SpanFacts
from brokle_trace._trace.span import Span

__all__ = ["observe", "observe_llm", "observe_retrieval"]

P = ParamSpec("P")
R = TypeVar("R")


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
    if type not in KINDS:
        raise ValueError(f"type must be one of {sorted(KINDS)}, got {type!r}")
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
    fn_name = getattr(fn, "__name__", None)
    return SpanFacts(
        name or (fn_name if isinstance(fn_name, str) else None) or type,
        type,
        param_names=tuple(positional),
        skip_first=skip_first,
        varargs=varargs,
        ignore=frozenset(ignore_args or ()),
        attributes=attributes,
        **options,
    )


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


def _wrap(fn: Callable[..., Any], facts: SpanFacts) -> Callable[..., Any]:
    """Choose the wrapper shape for ``fn``'s kind; all shapes share the steps above."""
    if inspect.isasyncgenfunction(fn):

        def setup_async_gen(
            args: tuple[Any, ...], kwargs: dict[str, Any]
        ) -> tuple[AsyncGenerator[Any, Any], Span | None]:
            agen = fn(*args, **kwargs)
            return agen, (start_call(facts, args, kwargs) if _state.enabled else None)

        wrapper: Callable[..., Any] = make_async_generator(setup_async_gen)
    elif inspect.isgeneratorfunction(fn):

        def setup_gen(
            args: tuple[Any, ...], kwargs: dict[str, Any]
        ) -> tuple[Generator[Any, Any, Any], Span | None]:
            gen = fn(*args, **kwargs)
            return gen, (start_call(facts, args, kwargs) if _state.enabled else None)

        wrapper = make_generator(setup_gen)
    else:
        is_async = _is_async(fn)
        namespace = {
            "_bt_state": _state,
            "_bt_start": start_call,
            "_bt_set": CURRENT.set,
            "_bt_fail": fail_call,
            "_bt_finish": finish_call,
            "_bt_facts": facts,
        }
        # fn's own parameter list where it can be copied exactly, else *args, **kwargs:
        # one template either way (codegen.py).
        wrapper = exact_wrapper(fn, is_async, namespace) or generic_wrapper(fn, is_async, namespace)
    # A __name__ or __qualname__ that is not a str cannot be set on a function: keep ours.
    assigned = [
        attr
        for attr in functools.WRAPPER_ASSIGNMENTS
        if attr not in ("__name__", "__qualname__") or isinstance(getattr(fn, attr, ""), str)
    ]
    functools.update_wrapper(wrapper, fn, assigned=assigned)
    wrapper.__brokle_facts__ = facts  # type: ignore[attr-defined]
    return wrapper


def _decorate(fn: Any, skip_first: bool | None, options: dict[str, Any]) -> Any:
    # No OpenTelemetry interop is installed here (decoration happens at import): the first
    # span or configure() installs it (see _otel._fallback_get).
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
    func: None = None, /, **options: Unpack[ObserveOptions]
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def observe(
    func: Callable[P, R] | None = None, /, **options: Unpack[ObserveOptions]
) -> Callable[P, R] | Callable[[Callable[P, R]], Callable[P, R]]:
    """Trace every call of the decorated function as a span.

    Works bare (``@observe``) or with options, on functions, coroutines, generators, async
    generators, methods, classmethods and staticmethods. The function returns or raises
    exactly what it would undecorated.

    Options (:class:`ObserveOptions`): ``name`` (default: the function name), ``type`` (span,
    llm, retrieval, tool, embedding, agent, chain), ``capture_inputs``/``capture_outputs``
    (default from ``configure``), ``max_input_length``/``max_output_length`` (characters per
    string), ``tags``/``user_id``/``session_id``/``metadata`` (inherited by every span below),
    ``ignore_args`` (argument names never captured), ``serializer`` (per-function capture),
    ``attributes`` (static OpenTelemetry attributes), ``flush`` (flush when a root span ends:
    serverless). An unknown option is a ``TypeError`` when decorating.

    Example:
        >>> from brokle_trace import observe
        >>> @observe(name="pipeline", tags=["prod"], ignore_args=["api_key"])
        ... def pipeline(text: str, api_key: str) -> str:
        ...     return text.upper()
        >>> pipeline("hi", api_key="secret")
        'HI'
    """
    check("observe", options, ObserveOptions)
    facts_options = to_facts_options(options)
    if func is not None:
        return cast("Callable[P, R]", _decorate(func, None, facts_options))

    def decorator(fn: Callable[P, R]) -> Callable[P, R]:
        return cast("Callable[P, R]", _decorate(fn, None, dict(facts_options)))

    return decorator


@overload
def observe_llm(func: Callable[P, R], /) -> Callable[P, R]: ...


@overload
def observe_llm(
    func: None = None, /, **options: Unpack[LLMOptions]
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def observe_llm(func: Callable[P, R] | None = None, /, **options: Unpack[LLMOptions]) -> Any:
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
    from brokle_trace.llm import hooks_for

    check("observe_llm", options, LLMOptions)
    span_options: dict[str, Any] = dict(options)
    model = span_options.pop("model", None)
    provider = span_options.pop("provider", None)
    capture_content = span_options.pop("capture_content", None)
    reducer = span_options.pop("reducer", None)
    attributes = dict(span_options.pop("attributes", None) or {})
    attributes.update(semconv.llm_static_attributes(model=model, provider=provider))
    if capture_content is not None:
        span_options.setdefault("capture_inputs", capture_content)
        span_options.setdefault("capture_outputs", capture_content)
    facts_options = to_facts_options({**span_options, "type": "llm", "attributes": attributes})
    if reducer is not None:
        # A reducer needs its own hooks; the options keep their public names free of them.
        facts_options.update(hooks_for("llm", func, reducer=reducer))

    def decorate(fn: Any) -> Any:
        return _decorate(fn, None, dict(facts_options))

    return decorate(func) if func is not None else decorate


@overload
def observe_retrieval(func: Callable[P, R], /) -> Callable[P, R]: ...


@overload
def observe_retrieval(
    func: None = None, /, **options: Unpack[RetrievalOptions]
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def observe_retrieval(
    func: Callable[P, R] | None = None, /, **options: Unpack[RetrievalOptions]
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

    check("observe_retrieval", options, RetrievalOptions)
    span_options: dict[str, Any] = dict(options)
    index_name = span_options.pop("index_name", None)
    top_k = span_options.pop("top_k", None)
    attributes = dict(span_options.pop("attributes", None) or {})
    attributes.update(semconv.retrieval_static_attributes(index_name=index_name, top_k=top_k))
    facts_options = to_facts_options(
        {**span_options, "type": "retrieval", "attributes": attributes}
    )

    def decorate(fn: Any) -> Any:
        return _decorate(fn, None, dict(facts_options))

    return decorate(func) if func is not None else decorate
