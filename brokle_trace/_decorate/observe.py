"""``@observe`` and friends: one wrapper factory for every kind of callable.

Everything static about the function is computed once (``analysis``) into ``SpanFacts``. A call
then does: a flag check, ``begin`` (parent lookup, ids, clock), a bounded input snapshot,
one ContextVar set/reset around the user's code, and ``end`` (one queue append).

The user's function runs exactly once, outside any ``try`` of ours that could swallow or
replace its result; our own failures are caught and counted (``_errors.internal_error``).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import types
import warnings
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar, cast, overload

from typing_extensions import Unpack

from brokle_trace._decorate.analysis import facts_for, shape_of
from brokle_trace._decorate.callables import traced_callable, traced_partial
from brokle_trace._decorate.codegen import (
    code_parameters,
    exact_wrapper,
    generic_wrapper,
)
from brokle_trace._decorate.generators import NOOP, begin_async_run, begin_run
from brokle_trace._decorate.options import (
    LLMOptions,
    ObserveOptions,
    RetrievalOptions,
    check,
    to_facts_options,
)
from brokle_trace._decorate.steps import (
    fail_call,
    finish_call,
    start_call,
    start_with_extras,
)
from brokle_trace._runtime import state as _state
from brokle_trace._trace.context import CURRENT
from brokle_trace._trace.facts import SpanFacts
from brokle_trace.capture._counters import report

__all__ = ["observe", "observe_llm", "observe_retrieval"]

P = ParamSpec("P")
R = TypeVar("R")


def _switch(predicate: Callable[[], object]) -> Callable[[], bool]:
    """``enabled=`` as a function: asked before every call; one that raises means "off"."""

    def enabled() -> bool:
        try:
            return bool(predicate())
        except BaseException as exc:  # user code: whatever it raises, this call is not traced
            report("callback_errors", exc, "enabled raised")
            return False

    return enabled


def _wrap(
    fn: Callable[..., Any],
    facts: SpanFacts,
    code_params: list[inspect.Parameter] | None,
    enabled: object,
) -> Callable[..., Any]:
    """Generate the wrapper for ``fn``'s shape; every shape shares the steps in steps.py."""
    shape = shape_of(fn)
    namespace = {
        "_bt_state": _state,
        "_bt_start": start_with_extras if facts.extras else start_call,
        "_bt_set": CURRENT.set,
        "_bt_fail": fail_call,
        "_bt_finish": finish_call,
        "_bt_facts": facts,
        "_bt_begin": begin_run if shape == "gen" else begin_async_run,
        "_bt_NOOP": NOOP,
    }
    if callable(enabled):
        namespace["_bt_enabled"] = _switch(enabled)
    # fn's own parameter list where it can be copied exactly, else *args, **kwargs:
    # one template per shape either way (codegen.py).
    wrapper = exact_wrapper(fn, shape, namespace, code_params) or generic_wrapper(
        fn, shape, namespace
    )
    # What update_wrapper copies, one by one: a value a function cannot hold (a __name__ that
    # is not a str, an RPC stub's __getattr__ answering __annotations__) leaves ours.
    for attr in functools.WRAPPER_ASSIGNMENTS:
        try:
            setattr(wrapper, attr, getattr(fn, attr))
        except Exception:
            continue
    functools.update_wrapper(wrapper, fn, assigned=())
    if type(fn) is _LRU_WRAPPER:
        # @functools.cache / lru_cache: their methods live on the C type, not in __dict__,
        # and tests call them on the decorated name (load_model.cache_clear()).
        for method in ("cache_info", "cache_clear", "cache_parameters"):
            if hasattr(fn, method):
                setattr(wrapper, method, getattr(fn, method))
    wrapper.__brokle_facts__ = facts  # type: ignore[attr-defined]
    return wrapper


_LRU_WRAPPER = type(functools.lru_cache(maxsize=1)(len))


def _cm_helper_codes() -> frozenset[Any]:
    @contextlib.contextmanager
    def probe() -> Any:
        yield

    @contextlib.asynccontextmanager
    async def async_probe() -> Any:
        yield

    return frozenset({probe.__code__, async_probe.__code__})


#: The code of the functions ``@contextmanager`` / ``@asynccontextmanager`` return.
_CM_HELPERS = _cm_helper_codes()


def _warn_if_context_manager(fn: Any) -> None:
    if getattr(fn, "__code__", None) in _CM_HELPERS:
        name = getattr(fn, "__qualname__", fn)
        warnings.warn(
            f"@observe is above @contextmanager on {name}: the span would end as soon as "
            "the context manager is created, before the with-block runs. Put @observe "
            "below @contextmanager (applied to the generator first) so the span covers "
            "the with-block.",
            UserWarning,
            stacklevel=4,
        )


def _decorate(fn: Any, skip_first: bool | None, options: dict[str, Any]) -> Any:
    # No OpenTelemetry interop is installed here (decoration happens at import): the first
    # span or configure() installs it (see _otel._fallback_get).
    enabled = options.pop("enabled", True)
    if enabled is False:
        return fn  # switched off for good: the function itself, at no cost
    if isinstance(fn, (classmethod, staticmethod)):
        inner = fn.__func__
        first = bool(isinstance(fn, classmethod))
        code_params = code_parameters(inner)
        facts = facts_for(inner, skip_first=first, code_params=code_params, **options)
        return type(fn)(_wrap(inner, facts, code_params, enabled))
    if not callable(fn):
        raise TypeError(f"@observe needs a function, got {type(fn).__name__}")
    _warn_if_context_manager(fn)
    if type(fn) is types.MethodType and type(fn.__func__) is types.FunctionType:
        # A bound method stays one (frameworks such as Starlette tell handlers by type):
        # the traced function, bound to the same object, which is not recorded as input.
        inner = fn.__func__
        code_params = code_parameters(inner)
        facts = facts_for(inner, skip_first=True, code_params=code_params, **options)
        return types.MethodType(_wrap(inner, facts, code_params, enabled), fn.__self__)
    code_params = code_parameters(fn)
    facts = facts_for(fn, skip_first=skip_first, code_params=code_params, **options)
    wrapper = _wrap(fn, facts, code_params, enabled)
    if type(fn) is functools.partial:
        proxy: Any = traced_partial(fn, wrapper)  # still a partial, of the same parts
    elif not isinstance(fn, types.FunctionType):
        proxy = traced_callable(fn, wrapper)  # an instance, a builtin: binds as it did
    else:
        return wrapper
    # Pickled or copied (multiprocessing, a cache, copy.deepcopy), the proxy is decorated
    # again around the original as pickle or copy rebuilds it (callables.py).
    proxy.__dict__["__brokle_remake__"] = (
        _decorate,
        (fn, skip_first, {**options, "enabled": enabled}),
    )
    return proxy


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
    if "reduce" in span_options:
        if reducer is not None:
            raise TypeError("observe_llm() takes reduce= or reducer= (the same option), not both")
        reducer = span_options.pop("reduce")
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
