"""``trace_context(...)`` as a decorator: every call of the function runs inside its own block.

A function or coroutine gets the block around the whole call. A generator (sync or async)
gets it around each step only, like a traced generator's span: a context variable set inside
a generator and held across a ``yield`` would leak into the code consuming it.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncGenerator, Callable, Generator
from typing import Any, TypeVar, cast

from brokle_trace._trace.context import CURRENT, Scope, reset_context

__all__ = ["scoped"]

F = TypeVar("F", bound=Callable[..., Any])


def scoped(fn: F, make_scope: Callable[[], Scope]) -> F:
    """``fn``, each call of which runs inside a scope ``make_scope()`` builds at its start."""
    if inspect.isasyncgenfunction(fn):
        return cast("F", _async_generator(fn, make_scope))
    if inspect.isgeneratorfunction(fn):
        return cast("F", _generator(fn, make_scope))
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def scoped_coroutine(*args: Any, **kwargs: Any) -> Any:
            token = CURRENT.set(make_scope())
            try:
                return await fn(*args, **kwargs)
            finally:
                reset_context(token)

        return cast("F", scoped_coroutine)

    @functools.wraps(fn)
    def scoped_function(*args: Any, **kwargs: Any) -> Any:
        token = CURRENT.set(make_scope())
        try:
            return fn(*args, **kwargs)
        finally:
            reset_context(token)

    return cast("F", scoped_function)


def _generator(fn: Callable[..., Any], make_scope: Callable[[], Scope]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def scoped_generator(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
        gen = fn(*args, **kwargs)
        scope = make_scope()  # at the first step, under the consumer's context
        method: Callable[[Any], Any] = gen.send
        arg: Any = None
        while True:
            token = CURRENT.set(scope)
            try:
                item = method(arg)
            except StopIteration as stop:
                return stop.value
            finally:
                reset_context(token)
            try:
                arg = yield item
                method = gen.send
            except GeneratorExit:
                token = CURRENT.set(scope)
                try:
                    gen.close()
                finally:
                    reset_context(token)
                raise
            except BaseException as exc:
                method, arg = gen.throw, exc

    return scoped_generator


def _async_generator(fn: Callable[..., Any], make_scope: Callable[[], Scope]) -> Callable[..., Any]:
    @functools.wraps(fn)
    async def scoped_async_generator(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
        agen = fn(*args, **kwargs)
        scope = make_scope()
        method: Callable[[Any], Any] = agen.asend
        arg: Any = None
        while True:
            token = CURRENT.set(scope)
            try:
                item = await method(arg)
            except StopAsyncIteration:
                return
            finally:
                reset_context(token)
            try:
                arg = yield item
                method = agen.asend
            except GeneratorExit:
                token = CURRENT.set(scope)
                try:
                    await agen.aclose()
                finally:
                    reset_context(token)
                raise
            except BaseException as exc:
                method, arg = agen.athrow, exc

    return scoped_async_generator
