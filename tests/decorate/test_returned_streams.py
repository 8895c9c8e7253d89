"""A generator returned by a decorated function (or held by the object it returns) behaves as
it would undecorated in the ways real code leans on: weak references, calls the generator
refuses and survives, and long-lived objects that merely hold a generator."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
import weakref
from collections.abc import AsyncIterator, Iterator

import pytest

import brokle_trace
from brokle_trace import observe
from brokle_trace.testing import capture_spans
from tests.helpers import one


def _echo() -> Iterator[object]:
    received = yield "ready"
    while True:
        received = yield received


async def _aecho() -> AsyncIterator[object]:
    received = yield "ready"
    while True:
        received = yield received


def test_a_returned_generator_can_be_weakly_referenced() -> None:
    @observe
    def make() -> Iterator[object]:
        return _echo()

    @observe
    def amake() -> AsyncIterator[object]:
        return _aecho()

    finalized: list[str] = []
    with capture_spans() as spans:
        stream, astream = make(), amake()
        ref = weakref.ref(stream)
        weakref.finalize(astream, finalized.append, "async")
        assert ref() is stream
        stream.close()
        del stream, astream
    assert ref() is None and finalized == ["async"]
    assert {s.name for s in spans} == {"make", "amake"}


def test_a_refused_send_to_an_unstarted_generator_leaves_the_span_open() -> None:
    @observe
    def make() -> Iterator[object]:
        return _echo()

    with capture_spans() as spans:
        stream = make()
        with pytest.raises(TypeError, match="just-started"):  # as undecorated
            stream.send("too early")  # ... and the generator can still be started
        assert next(stream) == "ready" and stream.send(7) == 7
        assert spans == []  # the span is still open
        stream.close()
    span = one(spans, "make")
    assert span.status == "ok" and span.attributes["brokle.generator.items"] == 2


def test_a_generator_re_entered_from_another_thread_keeps_its_span() -> None:
    def slow() -> Iterator[int]:
        for i in range(3):
            time.sleep(0.05)
            yield i

    @observe
    def make() -> Iterator[int]:
        return slow()

    got: list[int] = []
    with capture_spans() as spans:
        stream = make()
        consumer = threading.Thread(target=lambda: got.extend(stream))
        consumer.start()
        time.sleep(0.02)
        with pytest.raises(ValueError, match="already executing"):  # as undecorated
            next(stream)  # while the other thread is inside it
        consumer.join()
    assert got == [0, 1, 2]
    span = one(spans, "make")
    assert span.status == "ok" and span.attributes["brokle.generator.items"] == 3


async def test_refused_async_generator_steps_leave_the_span_open() -> None:
    async def slow() -> AsyncIterator[int]:
        for i in range(3):
            await asyncio.sleep(0.01)
            yield i

    @observe
    def make_echo() -> AsyncIterator[object]:
        return _aecho()

    @observe
    def make_slow() -> AsyncIterator[int]:
        return slow()

    with capture_spans() as spans:
        echo = make_echo()
        with pytest.raises(TypeError, match="just-started"):
            await echo.asend("too early")
        assert await echo.__anext__() == "ready" and await echo.asend(3) == 3
        await echo.aclose()
        stream = make_slow()
        first = asyncio.ensure_future(stream.__anext__())
        await asyncio.sleep(0)
        with pytest.raises(RuntimeError, match="already running"):
            await stream.__anext__()
        assert await first == 0 and [i async for i in stream] == [1, 2]
    assert one(spans, "make_echo").status == "ok"
    assert one(spans, "make_echo").attributes["brokle.generator.items"] == 2
    assert one(spans, "make_slow").status == "ok"
    assert one(spans, "make_slow").attributes["brokle.generator.items"] == 3


class _IdAllocator:
    """A long-lived service holding a generator it draws ids from."""

    def __init__(self) -> None:
        self._ids = self._counter()

    def _counter(self) -> Iterator[int]:
        yield from itertools.count()

    def next_id(self) -> int:
        return next(self._ids)


def test_a_long_lived_object_holding_a_started_generator_is_returned_untouched() -> None:
    allocator = _IdAllocator()
    allocator.next_id()
    held = allocator._ids

    @observe
    def get_allocator() -> _IdAllocator:
        return allocator

    @observe
    def handle() -> int:
        return get_allocator().next_id()

    counts = brokle_trace.stats()
    before = counts["started"] - counts["exported"]
    with capture_spans() as spans:
        assert [handle() for _ in range(3)] == [1, 2, 3]
    assert allocator._ids is held  # the object's attribute was not swapped
    assert [s.name for s in spans].count("get_allocator") == 3  # each ended with its call
    assert all("brokle.stream.attribute" not in s.attributes for s in spans)
    counts = brokle_trace.stats()
    assert counts["started"] - counts["exported"] == before


def test_a_stream_ended_by_the_exit_path_is_not_ended_again_when_collected() -> None:
    from brokle_trace._runtime import errors as _errors
    from brokle_trace._runtime import exit as _exit

    @observe
    def make() -> Iterator[object]:
        return _echo()

    queued: list[object] = []
    stream = make()
    next(stream)
    run = stream._bt_run
    assert run is not None
    claims = _exit.Claims(queued.append)
    assert claims.end_open(iter([run.span])) == 1  # the process is exiting
    errors_before = _errors.error_counts()
    del stream  # then the interpreter frees the proxy (strict mode: an error would raise)
    assert _errors.error_counts() == errors_before
    assert queued == [run.span]
