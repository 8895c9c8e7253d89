"""Generators and async generators: the span covers the whole iteration.

The span's context is attached only around each step (never held across a ``yield``), so
an early ``break``, consumption from another task and interleaved consumers all give the
right tree. ``send``/``throw``/``close`` (and their async twins) reach the user's generator
unchanged; the span ends on exhaustion, close, an exception, or garbage collection.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Generator
from typing import Any

from opentelemetry import context as otel_context

from brokle_trace import capture
from brokle_trace._runtime import errors as _errors
from brokle_trace._runtime import state as _state
from brokle_trace._runtime.state import UNSET
from brokle_trace._trace import otel as _otel
from brokle_trace._trace.context import CURRENT, reset_context
from brokle_trace._trace.span import Span, end, fail

__all__ = [
    "continue_async_generator",
    "continue_generator",
    "make_async_generator",
    "make_generator",
]


def _swap(ctx: Any) -> Any:
    """Make ``ctx`` the current OpenTelemetry context; return the one it replaces.

    Two context-variable reads when nothing changed (the usual step); an attach through
    OpenTelemetry's public API when the generator or its consumer moved the context.
    """
    current = _otel.otel_ctx_get()
    if current is not ctx and ctx is not None:
        otel_context.attach(ctx)  # the token is never needed: the next swap sets it back
    return current


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
            _errors.internal_error("generator_item", exc)


def _end_generator(span: Span, items: _Items, exc: BaseException | None, closed: bool) -> None:
    try:
        hook = span._facts.stream_end_hook
        if hook is not None:
            hook(span)
        span.update(attributes={"brokle.generator.items": items.count})
        if closed:
            span.update(attributes={"brokle.generator.closed": True})
        if _state.outputs_on[span._facts.capture_outputs] and span._output is UNSET:
            span._output = items.items  # each item was snapshotted as it was yielded
        if exc is None:
            end(span)
        else:
            fail(span, exc)
    except Exception as internal:
        _errors.internal_error("generator_end", internal)


def make_generator(
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
        # The OpenTelemetry context the generator's own steps run in: an OTel span it opens
        # across a yield stays inside it, and one the caller opens between items stays out.
        inside = span._otel_ctx
        otel_get = _otel.otel_ctx_get  # final: the span's start installed the interop
        while True:
            token = CURRENT.set(span)
            # _swap(inside), inlined: a read and a compare per step when nothing moved.
            outside = otel_get()
            if outside is not inside:
                _swap(inside)
            try:
                item = method(arg)
            except StopIteration as stop:
                _swap(outside)
                reset_context(token)
                _end_generator(span, items, None, False)
                return stop.value
            except BaseException as exc:
                _swap(outside)
                reset_context(token)
                _end_generator(span, items, exc, False)
                raise
            inside = otel_get()
            if inside is not outside:
                _swap(outside)
            reset_context(token)
            items.add(span, item)
            try:
                arg = yield item
                method = gen.send
            except GeneratorExit:
                token = CURRENT.set(span)
                outside = _swap(inside)
                try:
                    gen.close()
                except BaseException as exc:
                    _swap(outside)
                    reset_context(token)
                    _end_generator(span, items, exc, True)
                    raise
                _swap(outside)
                reset_context(token)
                _end_generator(span, items, None, True)
                raise
            except BaseException as exc:
                method, arg = gen.throw, exc

    return traced_generator


def make_async_generator(
    setup: Callable[
        [tuple[Any, ...], dict[str, Any]], tuple[AsyncGenerator[Any, Any], Span | None]
    ],
) -> Callable[..., AsyncGenerator[Any, Any]]:
    async def traced_async_generator(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
        agen, span = setup(args, kwargs)
        items = _Items()
        method: Callable[[Any], Any] = agen.asend
        arg: Any = None
        inside = span._otel_ctx if span is not None else None  # see make_generator
        while True:
            token = CURRENT.set(span) if span is not None else None
            outside = _swap(inside) if span is not None else None
            try:
                item = await method(arg)
            except StopAsyncIteration:
                if span is not None:
                    _swap(outside)
                    reset_context(token)
                    _end_generator(span, items, None, False)
                return
            except BaseException as exc:
                if span is not None:
                    _swap(outside)
                    reset_context(token)
                    _end_generator(span, items, exc, False)
                raise
            if span is not None:
                inside = _swap(outside)
                reset_context(token)
                items.add(span, item)
            try:
                arg = yield item
                method = agen.asend
            except GeneratorExit:
                token = CURRENT.set(span) if span is not None else None
                outside = _swap(inside) if span is not None else None
                try:
                    await agen.aclose()
                except BaseException as exc:
                    if span is not None:
                        _swap(outside)
                        reset_context(token)
                        _end_generator(span, items, exc, True)
                    raise
                if span is not None:
                    _swap(outside)
                    reset_context(token)
                    _end_generator(span, items, None, True)
                raise
            except BaseException as exc:
                method, arg = agen.athrow, exc

    return traced_async_generator


def _given(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, Span]:
    return args[0], args[1]


continue_generator = make_generator(_given)
continue_async_generator = make_async_generator(_given)
