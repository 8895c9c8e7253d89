"""The machinery behind ``wrap_openai`` / ``wrap_anthropic``: a client proxy and a call span.

The proxy forwards every attribute to the real client; only the paths named in a provider's
table (``chat.completions.create``, ``messages.stream``, ...) come back traced. It reports the
client's class (``isinstance(wrapped, OpenAI)`` holds) and keeps its context-manager
behaviour, so code that receives it cannot tell the difference.

Streams are the SDK's own objects, handed back as they are with their event iterator
swapped (``_sdk_streams``). The span ends when the stream is exhausted, fails, is closed,
or its helper's ``with`` block exits, whichever comes first.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from brokle_trace import capture, semconv
from brokle_trace._runtime import errors as _errors
from brokle_trace._runtime import state as _state
from brokle_trace._trace import otel as _otel
from brokle_trace._trace.context import CURRENT
from brokle_trace._trace.context import reset_context as _reset
from brokle_trace._trace.facts import SpanFacts
from brokle_trace._trace.span import Span, TracingOff, begin, end, fail
from brokle_trace.llm._errors import error_attributes
from brokle_trace.llm._params import request_attributes
from brokle_trace.llm._record import attrs_of, record
from brokle_trace.llm._sdk_streams import StreamManager, instrument_stream
from brokle_trace.llm._stream import on_end, on_item, set_output
from brokle_trace.llm._usage import extract_usage, read, usage_object

__all__ = ["Operation", "WrapOptions", "wrap_client"]


@dataclass(frozen=True)
class Operation:
    """How to trace one SDK method: what it is and how to read its request and response."""

    provider: str
    operation: str  # GenAI operation name: chat, text_completion, embeddings
    span_type: str = "llm"
    helper: bool = False  # a ``.stream(...)`` helper returning a context manager
    content_of: Callable[[Mapping[str, Any]], Any] | None = None
    output_of: Callable[[Any], Any] | None = None
    metadata_of: Callable[[Any], dict[str, Any]] | None = None


@dataclass(frozen=True)
class WrapOptions:
    """The options of ``wrap_openai`` / ``wrap_anthropic``, fixed at wrap time."""

    capture_content: bool | None = None
    capture_metadata: bool = True
    tags: tuple[str, ...] = ()
    session_id: str | None = None
    user_id: str | None = None
    metadata: Mapping[str, Any] | None = None


Tree = Mapping[str, Any]  # attribute name -> sub-tree or Operation


class _Tracer:
    """Per wrapped client: the options and one SpanFacts per operation (built once)."""

    __slots__ = ("facts", "options", "tree")

    def __init__(self, tree: Tree, options: WrapOptions) -> None:
        self.tree = tree
        self.options = options
        self.facts: dict[Operation, SpanFacts] = {}

    def facts_for(self, op: Operation) -> SpanFacts:
        facts = self.facts.get(op)
        if facts is None:
            opts = self.options
            facts = SpanFacts(
                op.operation,
                op.span_type,
                capture_inputs=opts.capture_content,
                capture_outputs=opts.capture_content,
                tags=opts.tags,
                user_id=opts.user_id,
                session_id=opts.session_id,
                metadata=opts.metadata,
                attributes={
                    semconv.GEN_AI_OPERATION_NAME: op.operation,
                    semconv.GEN_AI_PROVIDER_NAME: op.provider,
                },
            )
            self.facts[op] = facts
        return facts


class _Call:
    """One traced SDK call: begin, attach while the request runs, record, end exactly once."""

    __slots__ = ("done", "op", "span", "token", "tracer")

    def __init__(self, tracer: _Tracer, op: Operation) -> None:
        self.tracer = tracer
        self.op = op
        self.span: Span | None = None
        self.token: Any = None
        self.done = False

    def start(self, kwargs: Mapping[str, Any]) -> None:
        try:
            _otel.install()
            span = begin(self.tracer.facts_for(self.op))
            model = kwargs.get("model")
            if isinstance(model, str):
                span.update(name=f"{self.op.operation} {model}")
            if self.tracer.options.capture_metadata:
                attrs = request_attributes(kwargs)
            else:
                attrs = request_attributes({"model": model, "stream": kwargs.get("stream")})
            if self.op.helper:
                attrs[semconv.GEN_AI_REQUEST_STREAM] = True
            attrs_of(span).update(attrs)
            if _state.inputs_on[span._facts.capture_inputs] and self.op.content_of:
                span._input = capture.snapshot(self.op.content_of(kwargs), _state.capture_settings)
            self.span = span
            self.token = CURRENT.set(span)
        except TracingOff:  # tracing_disabled() or OTel suppression here: a plain call
            self.span = None
        except Exception as exc:
            _errors.internal_error("llm_wrapper_start", exc)
            self.span = None

    def detach(self) -> None:
        if self.token is not None:
            _reset(self.token)
            self.token = None

    def failed(self, exc: BaseException) -> None:
        self.detach()
        self.finish(exc)

    def returned(self, result: Any, streaming: bool) -> Any:
        """The SDK returned ``result``: a response (span ends) or a stream (span stays open)."""
        self.detach()
        if self.span is None:
            return result
        if streaming:
            if instrument_stream(result, self):
                return result
            self.finish(None)  # a stream we cannot see into: at least the request is traced
            return result
        try:
            span = self.span
            model = read(result, "model")
            raw = usage_object(result)
            record(
                span,
                model=model if isinstance(model, str) else None,
                usage=extract_usage(raw),
                raw=raw,
            )
            if self.op.output_of is not None:
                set_output(span, self.op.output_of(result))
            if self.op.metadata_of is not None and self.tracer.options.capture_metadata:
                attrs_of(span).update(self.op.metadata_of(result))
        except Exception as exc:
            _errors.internal_error("llm_wrapper_result", exc)
        self.finish(None)
        return result

    def item(self, item: Any) -> None:
        if self.span is not None and not self.done:
            try:
                on_item(self.span, item)
            except Exception as exc:
                _errors.internal_error("llm_wrapper_item", exc)

    def finish(self, exc: BaseException | None, *, streamed: bool = False) -> None:
        span = self.span
        if span is None or self.done:
            return
        self.done = True
        try:
            if streamed:
                on_end(span)
            if exc is None:
                end(span)
                return
            if isinstance(exc, Exception):
                attrs_of(span).update(error_attributes(exc))
            fail(span, exc)
        except Exception as internal:
            _errors.internal_error("llm_wrapper_end", internal)


# -- the proxy ------------------------------------------------------------------------------------


def _is_async(method: Any) -> bool:
    fn = inspect.unwrap(getattr(method, "__func__", method))
    owner = getattr(method, "__self__", None)
    return inspect.iscoroutinefunction(fn) or type(owner).__name__.startswith("Async")


def _traced(method: Any, op: Operation, tracer: _Tracer) -> Any:
    if op.helper:

        def helper(*args: Any, **kwargs: Any) -> Any:
            manager = method(*args, **kwargs)
            if not _state.enabled:
                return manager
            return StreamManager(manager, _Call(tracer, op), kwargs)

        return functools.wraps(method)(helper)

    if _is_async(method):

        async def traced_async(*args: Any, **kwargs: Any) -> Any:
            if not _state.enabled:
                return await method(*args, **kwargs)
            call = _Call(tracer, op)
            call.start(kwargs)
            try:
                result = await method(*args, **kwargs)
            except BaseException as exc:
                call.failed(exc)
                raise
            return call.returned(result, kwargs.get("stream") is True)

        return functools.wraps(method)(traced_async)

    def traced(*args: Any, **kwargs: Any) -> Any:
        if not _state.enabled:
            return method(*args, **kwargs)
        call = _Call(tracer, op)
        call.start(kwargs)
        try:
            result = method(*args, **kwargs)
        except BaseException as exc:
            call.failed(exc)
            raise
        return call.returned(result, kwargs.get("stream") is True)

    return functools.wraps(method)(traced)


_REWRAP = frozenset({"with_options", "copy"})


class _Proxy:
    """Forwards everything to the wrapped object; traces the methods named in ``tree``."""

    __slots__ = ("__wrapped__", "_brokle_tracer", "_brokle_tree")

    def __init__(self, target: Any, tree: Tree, tracer: _Tracer) -> None:
        object.__setattr__(self, "__wrapped__", target)
        object.__setattr__(self, "_brokle_tree", tree)
        object.__setattr__(self, "_brokle_tracer", tracer)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.__wrapped__, name)
        node = self._brokle_tree.get(name)
        if node is None:
            if name in _REWRAP and self._brokle_tree is self._brokle_tracer.tree:
                return _rewrapping(value, self._brokle_tracer)
            return value
        if isinstance(node, Operation):
            return _traced(value, node, self._brokle_tracer)
        return _Proxy(value, node, self._brokle_tracer)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.__wrapped__, name, value)

    def __delattr__(self, name: str) -> None:
        delattr(self.__wrapped__, name)

    def __dir__(self) -> list[str]:
        return dir(self.__wrapped__)

    def __repr__(self) -> str:
        return repr(self.__wrapped__)

    @property  # type: ignore[misc]
    def __class__(self) -> type:  # isinstance(wrapped, OpenAI) keeps holding
        return type(self.__wrapped__)

    def __enter__(self) -> _Proxy:
        self.__wrapped__.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> Any:
        return self.__wrapped__.__exit__(*exc_info)

    async def __aenter__(self) -> _Proxy:
        await self.__wrapped__.__aenter__()
        return self

    async def __aexit__(self, *exc_info: Any) -> Any:
        return await self.__wrapped__.__aexit__(*exc_info)


def _rewrapping(method: Any, tracer: _Tracer) -> Any:
    @functools.wraps(method)
    def rewrap(*args: Any, **kwargs: Any) -> Any:
        return _Proxy(method(*args, **kwargs), tracer.tree, tracer)

    return rewrap


def check_wrap_arguments(who: str, client: Any, tags: Any, metadata: Any) -> None:
    """A clear ``TypeError`` naming the argument for a client or option that cannot work."""
    if client is None or isinstance(client, (str, bytes, int, float)):
        raise TypeError(f"{who}() needs a client instance, got {client!r:.60}")
    if isinstance(client, type):
        raise TypeError(
            f"{who}() needs a client instance, got the class {client.__name__}: "
            f"call it first, e.g. {who}({client.__name__}())"
        )
    if isinstance(tags, str) or (tags is not None and not all(isinstance(t, str) for t in tags)):
        raise TypeError(f"{who}(tags=...) must be a list of strings, got {tags!r:.60}")
    if metadata is not None and not isinstance(metadata, Mapping):
        raise TypeError(f"{who}(metadata=...) must be a mapping, got {metadata!r:.60}")


def wrap_client(client: Any, tree: Tree, options: WrapOptions) -> Any:
    """A traced stand-in for ``client`` (wrapping twice returns the same proxy)."""
    if type(client) is _Proxy:  # type() sees through the __class__ property
        return client
    return _Proxy(client, tree, _Tracer(tree, options))
