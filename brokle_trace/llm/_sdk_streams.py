"""SDK stream objects traced in place: their event iterator swapped for one that records.

The OpenAI and Anthropic SDKs' ``Stream``/``AsyncStream`` read every event from
``_iterator`` (their ``__iter__``, ``text_stream``, ``until_done`` and
``get_final_message`` all go through it), so replacing that one attribute sees every event
without changing the object the user holds. Their stream helpers' managers are stood in for
by ``StreamManager``, so the span covers the ``with`` block.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import Any, Protocol

from brokle_trace._runtime import errors as _errors

__all__ = ["StreamCall", "StreamManager", "instrument_stream"]


class StreamCall(Protocol):
    """What a stream needs of the call span it reports to (``_wrap._Call``)."""

    span: Any

    def start(self, kwargs: Mapping[str, Any]) -> None: ...
    def item(self, item: Any) -> None: ...
    def detach(self) -> None: ...
    def failed(self, exc: BaseException) -> None: ...
    def finish(self, exc: BaseException | None, *, streamed: bool = False) -> None: ...


def _sync_events(inner: Any, call: StreamCall) -> Any:
    try:
        for event in inner:
            call.item(event)
            yield event
    except GeneratorExit:
        call.finish(None, streamed=True)
        raise
    except BaseException as exc:
        call.finish(exc, streamed=True)
        raise
    call.finish(None, streamed=True)


async def _async_events(inner: Any, call: StreamCall) -> Any:
    try:
        async for event in inner:
            call.item(event)
            yield event
    except GeneratorExit:
        call.finish(None, streamed=True)
        raise
    except BaseException as exc:
        call.finish(exc, streamed=True)
        raise
    call.finish(None, streamed=True)


def instrument_stream(stream: Any, call: StreamCall) -> bool:
    """Route ``stream``'s events through ``call``; False if it is not a stream we know."""
    try:
        inner = stream._iterator  # the SDKs' Stream/AsyncStream read their events from here
    except Exception:
        return False
    ref = weakref.ref(stream)  # no cycle: the SDKs avoid one so dropped streams close promptly
    original_close = type(stream).close
    if hasattr(inner, "__anext__"):
        stream._iterator = _async_events(inner, call)

        async def aclose() -> None:
            target = ref()
            try:
                if target is not None:
                    await original_close(target)
            finally:
                call.finish(None, streamed=True)

        stream.close = aclose
    elif hasattr(inner, "__next__"):
        stream._iterator = _sync_events(inner, call)

        def close() -> None:
            target = ref()
            try:
                if target is not None:
                    original_close(target)
            finally:
                call.finish(None, streamed=True)

        stream.close = close
    else:
        return False
    # A stream dropped without being read never runs our generator: end the span then.
    weakref.finalize(stream, call.finish, None, streamed=True)
    return True


class StreamManager:
    """Stands in for an SDK stream helper's manager: the span spans the ``with`` block."""

    __slots__ = ("__wrapped__", "_call", "_kwargs")

    def __init__(self, manager: Any, call: StreamCall, kwargs: Mapping[str, Any]) -> None:
        self.__wrapped__ = manager
        self._call = call
        self._kwargs = kwargs

    def _entered(self, stream: Any) -> Any:
        self._call.detach()
        raw = getattr(stream, "_raw_stream", None)
        if self._call.span is not None and not instrument_stream(
            raw if raw is not None else stream, self._call
        ):
            _errors.internal_error("llm_wrapper_stream", TypeError(type(stream).__name__))
        return stream

    def __enter__(self) -> Any:
        self._call.start(self._kwargs)
        try:
            stream = self.__wrapped__.__enter__()
        except BaseException as exc:
            self._call.failed(exc)
            raise
        return self._entered(stream)

    def __exit__(self, *exc_info: Any) -> Any:
        try:
            return self.__wrapped__.__exit__(*exc_info)
        finally:
            self._call.finish(exc_info[1], streamed=True)

    async def __aenter__(self) -> Any:
        self._call.start(self._kwargs)
        try:
            stream = await self.__wrapped__.__aenter__()
        except BaseException as exc:
            self._call.failed(exc)
            raise
        return self._entered(stream)

    async def __aexit__(self, *exc_info: Any) -> Any:
        try:
            return await self.__wrapped__.__aexit__(*exc_info)
        finally:
            self._call.finish(exc_info[1], streamed=True)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__wrapped__, name)

    @property  # type: ignore[misc]
    def __class__(self) -> type:  # isinstance(manager, MessageStreamManager) keeps holding
        return type(self.__wrapped__)
