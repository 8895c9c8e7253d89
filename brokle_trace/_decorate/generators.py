"""Generators and async generators: the span covers the whole iteration.

Two ways in. A decorated generator function gets a generated generator (``codegen._GEN`` /
``_AGEN``) that drives the user's one step by step through a :class:`Run`. A plain function
that *returns* a generator (or an object holding one, like a streaming HTTP response) gets a
:class:`TracedGenerator` / :class:`TracedAsyncGenerator` back: a proxy forwarding
``send``/``throw``/``close`` (``asend``/``athrow``/``aclose``) and the ``gi_*``/``ag_*``
attributes to the generator it returned, which may already be started.

Either way the span's context is attached only around each step (never held across a
``yield``), so an early ``break``, consumption from another task and interleaved consumers all
give the right tree; and the span ends on exhaustion, close, an exception, or garbage
collection, started or not (nothing is lost silently).
"""

from __future__ import annotations

import collections.abc
import dis
import types
from collections.abc import Callable
from typing import Any

from opentelemetry import context as otel_context

from brokle_trace import capture
from brokle_trace._runtime import errors as _errors
from brokle_trace._runtime import state as _state
from brokle_trace._runtime.state import UNSET
from brokle_trace._trace import otel as _otel
from brokle_trace._trace.context import CURRENT, reset_context
from brokle_trace._trace.span import Span, end, fail
from brokle_trace.capture._process import apply, processed

__all__ = [
    "NOOP",
    "Run",
    "TracedAsyncGenerator",
    "TracedGenerator",
    "begin_async_run",
    "begin_run",
    "stream_inside",
]

_set = CURRENT.set
_reset = CURRENT.reset
_GeneratorType = types.GeneratorType
_AsyncGeneratorType = types.AsyncGeneratorType


def _swap(ctx: Any) -> Any:
    """Make ``ctx`` the current OpenTelemetry context; return the one it replaces.

    Two context-variable reads when nothing changed (the usual step); an attach through
    OpenTelemetry's public API when the generator or its consumer moved the context.
    """
    current = _otel.otel_ctx_get()
    if current is not ctx and ctx is not None:
        otel_context.attach(ctx)  # the token is never needed: the next swap sets it back
    return current


class Run:
    """One traced iteration: the span, the bounded record of what was yielded, the end.

    Around each step the span is current, and so is the OpenTelemetry context the
    generator's own steps run in (``inside``): an OTel span it opens across a yield stays
    inside it, one the consumer opens between items (``outside``) stays out.
    """

    __slots__ = ("count", "inside", "items", "outside", "span")

    def __init__(self, span: Span) -> None:
        self.span = span
        self.count = 0
        self.items: list[object] = []
        self.inside: Any = span._otel_ctx
        self.outside: Any = None

    def enter(self) -> Any:
        """Make the span current for one step of the generator; returns the token."""
        token = _set(self.span)
        # _swap(inside), inlined: a read and a compare per step when nothing moved.
        outside = self.outside = _otel.otel_ctx_get()
        if outside is not self.inside:
            _swap(self.inside)
        return token

    def item(self, token: Any, item: object) -> None:
        """The step yielded ``item``: detach, then record it (bounded, never raises)."""
        inside = self.inside = _otel.otel_ctx_get()
        if inside is not self.outside:
            _swap(self.outside)
        try:
            _reset(token)
        except ValueError:
            reset_context(token)
        self.count += 1
        span = self.span
        try:
            facts = span._facts
            if facts.item_hook is not None:
                facts.item_hook(span, item)
            if not _state.outputs_on[facts.capture_outputs]:
                return
            if facts.process_chunk is not None:
                item = apply(facts.process_chunk, item, "process_chunk")
            if facts.reduce is not None:
                self.items.append(item)  # reduced when the stream ends, so all are kept
            elif len(self.items) < _state.capture_settings.max_items:
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

    def leave(self, token: Any) -> None:
        """Detach after a step the generator refused (it is still alive): nothing to record."""
        inside = self.inside = _otel.otel_ctx_get()
        if inside is not self.outside:
            _swap(self.outside)
        reset_context(token)

    def finish(self, token: Any, exc: BaseException | None, closed: bool) -> None:
        """Detach (if attached) and end the span: exhausted, closed or failed."""
        if token is not None:
            _swap(self.outside)
            reset_context(token)
        span = self.span
        if hasattr(span, "_end_ns"):
            return  # the exit path ended it (process exit while the stream was open)
        try:
            facts = span._facts
            hook = facts.stream_end_hook
            if hook is not None:
                hook(span)
            span.update(attributes={"brokle.generator.items": self.count})
            if closed:
                span.update(attributes={"brokle.generator.closed": True})
            if _state.outputs_on[facts.capture_outputs] and span._output is UNSET:
                if facts.reduce is not None:
                    span.update(output=apply(facts.reduce, self.items, "reduce"))
                else:
                    span._output = self.items  # each item was snapshotted as it was yielded
                    if facts.process_output is not None:
                        span._output = processed(span._output, facts.process_output)
            self.items = []
            if exc is None:
                end(span)
            else:
                fail(span, exc)
        except Exception as internal:
            _errors.internal_error("generator_end", internal)


class _NoRun:
    """The run of an iteration that is not traced: every step does nothing."""

    __slots__ = ()

    def enter(self) -> None:
        return None

    def item(self, token: Any, item: object) -> None:
        return None

    def finish(self, token: Any, exc: BaseException | None, closed: bool) -> None:
        return None


NOOP = _NoRun()


def begin_run(span: Span | None) -> Run | None:
    """The run of a generator whose span just started (None: not traced, plain delegation)."""
    return Run(span) if span is not None else None


def begin_async_run(span: Span | None) -> Run | _NoRun:
    """The run of an async generator whose span just started (``NOOP`` when not traced)."""
    return Run(span) if span is not None else NOOP


# -- what a plain function returning a generator gets back -----------------------------------


class TracedGenerator(collections.abc.Generator):  # type: ignore[type-arg]
    """The generator a decorated function returned, with its span open until it ends.

    ``send``, ``throw``, ``close``, ``next`` and ``yield from`` reach the returned generator
    exactly (started or not); ``gi_frame``, ``gi_running``, ``gi_code``... are its own.
    Only its identity differs: ``isinstance(x, collections.abc.Generator)`` holds,
    ``inspect.isgenerator(x)`` does not.
    """

    # __weakref__: a generator can be weakly referenced (weakref.finalize, a WeakSet of open
    # streams); so must what stands in for it.
    __slots__ = ("__weakref__", "_bt_gen", "_bt_run")

    def __init__(self, gen: types.GeneratorType[Any, Any, Any], run: Run) -> None:
        self._bt_gen = gen
        self._bt_run: Run | None = run

    def __iter__(self) -> TracedGenerator:
        return self

    def __next__(self) -> Any:
        return self._step(self._bt_gen.send, None)

    def send(self, value: Any) -> Any:
        return self._step(self._bt_gen.send, value)

    def throw(self, *args: Any) -> Any:
        return self._step(self._bt_gen.throw, *args)

    def _step(self, method: Callable[..., Any], *args: Any) -> Any:
        run = self._bt_run
        # Ended: plain forwarding. Running (re-entered from another thread, or from inside
        # itself): the generator refuses the call with ValueError and goes on, so the span
        # must too, and its context is the running step's, not this caller's.
        if run is None or self._bt_gen.gi_running:
            return method(*args)
        token = run.enter()
        try:
            item = method(*args)
        except BaseException as exc:
            if self._bt_gen.gi_frame is not None:
                # Still alive: the call was refused (a non-None send to an unstarted
                # generator is a TypeError), not the generator's end.
                run.leave(token)
                raise
            self._bt_run = None
            run.finish(token, None if type(exc) is StopIteration else exc, False)
            raise
        run.item(token, item)
        return item

    def close(self) -> None:
        run, self._bt_run = self._bt_run, None
        if run is None:
            return self._bt_gen.close()
        token = run.enter()
        try:
            self._bt_gen.close()
        except BaseException as exc:
            run.finish(token, exc, True)
            raise
        run.finish(token, None, True)
        return None

    def __del__(self) -> None:
        run = getattr(self, "_bt_run", None)
        self._bt_run = None
        if run is not None:
            # Collected before the end (never iterated, or abandoned): the span ends now; the
            # generator closes itself when it is freed, as it would undecorated.
            run.finish(None, None, True)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_bt_"):  # not set yet: never recurse
            raise AttributeError(name)
        return getattr(self._bt_gen, name)

    def __repr__(self) -> str:
        return repr(self._bt_gen)


class TracedAsyncGenerator(collections.abc.AsyncGenerator):  # type: ignore[type-arg]
    """:class:`TracedGenerator` for an async generator (``asend``/``athrow``/``aclose``)."""

    __slots__ = ("__weakref__", "_bt_gen", "_bt_run")

    def __init__(self, agen: types.AsyncGeneratorType[Any, Any], run: Run) -> None:
        self._bt_gen = agen
        self._bt_run: Run | None = run

    def __aiter__(self) -> TracedAsyncGenerator:
        return self

    def __anext__(self) -> Any:
        return self._step(self._bt_gen.asend, None)

    def asend(self, value: Any) -> Any:
        return self._step(self._bt_gen.asend, value)

    def athrow(self, *args: Any) -> Any:
        return self._step(self._bt_gen.athrow, *args)

    async def _step(self, method: Callable[..., Any], *args: Any) -> Any:
        run = self._bt_run
        if run is None or self._bt_gen.ag_running:  # see TracedGenerator._step
            return await method(*args)
        token = run.enter()
        try:
            item = await method(*args)
        except BaseException as exc:
            if self._bt_gen.ag_frame is not None:  # refused: the generator goes on
                run.leave(token)
                raise
            self._bt_run = None
            run.finish(token, None if type(exc) is StopAsyncIteration else exc, False)
            raise
        run.item(token, item)
        return item

    async def aclose(self) -> None:
        run, self._bt_run = self._bt_run, None
        if run is None:
            return await self._bt_gen.aclose()
        token = run.enter()
        try:
            await self._bt_gen.aclose()
        except BaseException as exc:
            run.finish(token, exc, True)
            raise
        run.finish(token, None, True)
        return None

    def __del__(self) -> None:
        run = getattr(self, "_bt_run", None)
        self._bt_run = None
        if run is not None:
            run.finish(None, None, True)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_bt_"):  # not set yet: never recurse
            raise AttributeError(name)
        return getattr(self._bt_gen, name)

    def __repr__(self) -> str:
        return repr(self._bt_gen)


def traced(result: Any, span: Span) -> Any:
    """What a plain function that returned the generator ``result`` hands its caller."""
    if type(result) is _GeneratorType:
        return TracedGenerator(result, Run(span))
    return TracedAsyncGenerator(result, Run(span))


_STREAMS = frozenset({_GeneratorType, _AsyncGeneratorType})
_NOT_RESULTS = (type, types.ModuleType)  # a class's or module's namespace: not fields
_fields_of = object.__getattribute__
#: Returned types looked at for a stream, by how many of their instances held none (a type
#: that held one once is always looked at: ``_HOLDER``). After ``GIVE_UP`` instances without
#: one, a type is not looked at again: reading ``__dict__`` costs ~0.3 us a call (it builds
#: the dict of an object whose attributes live inline), too much for every call returning a
#: data object, and a type whose instances hold a stream usually always does (a streaming
#: response, an SDK's stream).
misses: dict[type, int] = {}
GIVE_UP = 16
_HOLDER = -(1 << 62)
_MISSES_MAX = 4096


def _fresh(value: object) -> bool:
    """A generator (sync or async) nobody has started yet.

    A response made during the call holds a stream nobody has read (a Starlette body
    iterator, an SDK's stream). A started one belongs to a long-lived object that is already
    consuming it (a service handed out by a getter, with an id generator it draws from):
    following it would keep the getter's span open for the object's lifetime, record its
    every later step, and replace the object's attribute for good.
    """
    kind = type(value)
    if kind is _GeneratorType:
        frame, running, suspended = value.gi_frame, value.gi_running, "gi_suspended"  # type: ignore[attr-defined]
    elif kind is _AsyncGeneratorType:
        frame, running, suspended = value.ag_frame, value.ag_running, "ag_suspended"  # type: ignore[attr-defined]
    else:
        return False
    if frame is None or running:
        return False
    state = getattr(value, suspended, None)  # Python 3.12+ (3.11: gi_suspended only)
    if state is not None:
        return not state
    lasti: int = frame.f_lasti
    # 3.10: -1 until started. 3.11 async generators: before the code's first RESUME (the
    # generator's prologue is all that ran).
    return lasti < 0 or lasti < _first_resume(frame.f_code)


_RESUME = dis.opmap.get("RESUME", -1)


def _first_resume(code: types.CodeType) -> int:
    """The offset of ``code``'s first RESUME instruction (0 before Python 3.11)."""
    raw = code.co_code
    for offset in range(0, len(raw), 2):  # within the first few instructions
        if raw[offset] == _RESUME:
            return offset
    return 0


def stream_inside(result: object) -> str | None:
    """The attribute of ``result`` holding its only generator (a streaming response's body
    iterator) when nobody has started it yet, or None. Reads the instance ``__dict__``
    only; never calls user code."""
    kind = type(result)
    try:
        fields = _fields_of(result, "__dict__")
        if type(fields) is not dict or _STREAMS.isdisjoint(map(type, fields.values())):
            keys: list[Any] = []
        elif isinstance(result, _NOT_RESULTS):
            return None
        else:
            keys = [key for key, value in fields.items() if _fresh(value)]
    except BaseException:  # no __dict__, a hostile descriptor, a concurrent change
        keys = []
    if len(misses) >= _MISSES_MAX:
        misses.clear()  # e.g. a class made per call: stay bounded
    if not keys:
        misses[kind] = misses.get(kind, 0) + 1
        return None
    misses[kind] = _HOLDER
    # Two streams: which one ends the span is anyone's guess.
    return keys[0] if len(keys) == 1 and type(keys[0]) is str else None


def keep_open(result: Any, key: str, span: Span) -> Any:
    """Swap ``result.<key>``'s generator for a traced proxy: the span ends with the stream."""
    fields = object.__getattribute__(result, "__dict__")
    fields[key] = traced(fields[key], span)
    span.update(attributes={"brokle.stream.attribute": key})
    return result
