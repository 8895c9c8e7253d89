"""The decorated function behaves exactly as the undecorated one: what it returns, how it
binds its arguments, what it records, whatever the wrapper shape."""

from __future__ import annotations

import asyncio
import collections.abc
import gc
import inspect
import types
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

import brokle_trace
from brokle_trace import observe
from brokle_trace.testing import capture_spans
from tests.helpers import one


def _started_minus_settled() -> int:
    counts = brokle_trace.stats()
    dropped = sum(counts["dropped"].values()) if isinstance(counts["dropped"], dict) else 0
    return int(counts["started"]) - int(counts["exported"]) - dropped


# -- 1. a returned generator that is never iterated still ends its span -------------------------


@observe
def _child() -> int:
    return 1


def test_a_returned_generator_dropped_unstarted_ends_its_span() -> None:
    @observe
    def make() -> Iterator[int]:
        _child()
        return (x for x in range(3))

    before = _started_minus_settled()
    with capture_spans() as spans:
        for _ in range(50):
            stream = make()
            del stream
        gc.collect()
    assert len([s for s in spans if s.name == "make"]) == 50
    parents = {s.span_id for s in spans if s.name == "make"}
    assert all(s.parent_span_id in parents for s in spans if s.name == "_child")
    assert _started_minus_settled() == before  # nothing lost silently
    made = next(s for s in spans if s.name == "make")
    assert made.attributes["brokle.generator.items"] == 0
    assert made.attributes["brokle.generator.closed"] is True


def test_a_returned_generator_closed_unstarted_ends_its_span() -> None:
    @observe
    def make() -> Iterator[int]:
        return iter_source()

    def iter_source() -> Iterator[int]:
        yield 1

    with capture_spans() as spans:
        stream = make()
        stream.close()
    span = one(spans, "make")
    assert span.status == "ok" and span.attributes["brokle.generator.closed"] is True


async def test_a_returned_async_generator_dropped_unstarted_ends_its_span() -> None:
    async def source() -> AsyncIterator[int]:
        yield 1

    @observe
    def make() -> AsyncIterator[int]:
        _child()
        return source()

    with capture_spans() as spans:
        stream = make()
        del stream
        gc.collect()
        closed = make()
        await closed.aclose()
    assert len([s for s in spans if s.name == "make"]) == 2
    assert len([s for s in spans if s.name == "_child"]) == 2


# -- 2. what a function returning a generator gets back -------------------------------------------


def _echo() -> collections.abc.Generator[str, str, str]:
    received = yield "ready"
    while received != "stop":
        try:
            received = yield f"got {received}"
        except KeyError as exc:
            received = yield f"caught {exc.args[0]}"
    return "done"


def test_a_primed_returned_generator_forwards_send_throw_close_exactly() -> None:
    @observe
    def primed() -> collections.abc.Generator[str, str, str]:
        gen = _echo()
        assert next(gen) == "ready"
        return gen

    with capture_spans() as spans:
        gen = primed()
        assert gen.send("x") == "got x"  # a just-started proxy would raise TypeError here
        assert gen.throw(KeyError("k")) == "caught k"
        assert gen.send("y") == "got y"
        with pytest.raises(StopIteration) as info:
            gen.send("stop")
        assert info.value.value == "done"
    span = one(spans, "primed")
    assert span.output == ["got x", "caught k", "got y"]


def test_a_returned_generator_looks_like_one_and_forwards_its_attributes() -> None:
    inner = _echo()

    @observe
    def make() -> collections.abc.Generator[str, str, str]:
        return inner

    with capture_spans():
        gen = make()
        assert isinstance(gen, collections.abc.Generator)
        assert iter(gen) is gen
        assert gen.gi_frame is inner.gi_frame and gen.gi_code is inner.gi_code
        assert gen.gi_running is False
        assert next(gen) == "ready"
        gen.close()
        assert inner.gi_frame is None  # closed through the proxy
        gen.close()  # closing twice is fine, as for a generator


def test_yield_from_a_returned_generator_delegates_send() -> None:
    @observe
    def make() -> collections.abc.Generator[str, str, str]:
        return _echo()

    def outer() -> collections.abc.Generator[str, str, str]:
        result = yield from make()
        return result

    with capture_spans() as spans:
        gen = outer()
        assert next(gen) == "ready"
        assert gen.send("a") == "got a"
        with pytest.raises(StopIteration) as info:
            gen.send("stop")
    assert info.value.value == "done"
    assert one(spans, "make").output == ["ready", "got a"]


async def test_a_primed_returned_async_generator_forwards_asend_athrow_aclose() -> None:
    async def echo() -> collections.abc.AsyncGenerator[str, str]:
        received = yield "ready"
        while True:
            try:
                received = yield f"got {received}"
            except KeyError:
                received = yield "caught"

    @observe
    async def primed() -> collections.abc.AsyncGenerator[str, str]:
        agen = echo()
        assert await agen.asend(None) == "ready"  # type: ignore[arg-type]
        return agen

    with capture_spans() as spans:
        agen = await primed()
        assert isinstance(agen, collections.abc.AsyncGenerator)
        assert agen.__aiter__() is agen
        assert await agen.asend("x") == "got x"
        assert await agen.athrow(KeyError("k")) == "caught"
        assert await agen.__anext__() == "got None"
        assert agen.ag_running is False
        await agen.aclose()
    span = one(spans, "primed")
    assert span.output == ["got x", "caught", "got None"]
    assert span.attributes["brokle.generator.closed"] is True


# -- 3. captured inputs do not depend on the wrapper shape -----------------------------------------


def _plain(q: str, k: int = 3, flag: bool = False) -> str:
    return q


def _gen(q: str, k: int = 3, flag: bool = False) -> Iterator[str]:
    yield q


async def _agen(q: str, k: int = 3, flag: bool = False) -> AsyncIterator[str]:
    yield q


def _prefixed(q: str, k: int = 3, _bt_flag: bool = False) -> str:
    return q


class _Callable:
    def __call__(self, q: str, k: int = 3, flag: bool = False) -> str:
        return q


async def test_captured_inputs_are_the_same_for_every_wrapper_shape() -> None:
    lam = lambda q, k=3, flag=False: q  # noqa: E731 - the shape under test
    with capture_spans() as spans:
        observe(_plain)("x")
        list(observe(_gen)("x"))
        [item async for item in observe(_agen)("x")]
        observe(lam)("x")
        observe(_prefixed)("x")
        observe(_Callable())("x")
    assert [s.input for s in spans] == [{"q": "x", "k": 3, "flag": False}] * 4 + [
        {"q": "x", "k": 3, "_bt_flag": False},
        {"q": "x", "k": 3, "flag": False},
    ]


def test_a_generator_binds_its_arguments_when_called_not_when_first_iterated() -> None:
    with pytest.raises(TypeError) as traced_error:
        observe(_gen)(1, 2, 3, 4)  # type: ignore[call-arg]
    with pytest.raises(TypeError) as plain_error:
        _gen(1, 2, 3, 4)  # type: ignore[call-arg]
    assert str(traced_error.value) == str(plain_error.value)


# -- 4. the generated wrapper binds as the function's code does ------------------------------------


def test_a_hand_set_signature_does_not_change_how_arguments_bind() -> None:
    def loose(*args: Any, **kwargs: Any) -> Any:
        return args, kwargs

    loose.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("a", inspect.Parameter.POSITIONAL_OR_KEYWORD),
            inspect.Parameter("b", inspect.Parameter.POSITIONAL_OR_KEYWORD),
        ]
    )
    traced = observe(loose)
    with capture_spans() as spans:
        assert traced(1, 2, extra=3) == ((1, 2), {"extra": 3})
    assert inspect.signature(traced) == inspect.signature(loose)  # what tools see is kept
    assert spans[0].input == {"a": 1, "b": 2, "extra": 3}


async def test_a_types_coroutine_function_stays_awaitable() -> None:
    @types.coroutine
    def legacy(x: int) -> Any:
        yield  # one trip through the event loop
        return x * 2

    traced = observe(legacy)
    with capture_spans() as spans:
        assert await traced(21) == 42
        assert await asyncio.gather(traced(1), traced(2)) == [2, 4]
    assert [s.output for s in spans] == [42, 2, 4]
    assert spans[0].input == {"x": 21}


@pytest.mark.parametrize(
    "name", ["BaseException", "StopIteration", "GeneratorExit", "StopAsyncIteration"]
)
def test_a_parameter_named_like_a_builtin_does_not_change_what_is_raised(name: str) -> None:
    namespace: dict[str, Any] = {}
    exec(f"def f({name}=None):\n    raise KeyError('k')", namespace)
    traced = observe(namespace["f"])
    with capture_spans() as spans, pytest.raises(KeyError):
        traced()
    assert spans[0].error is not None and spans[0].error.type == "KeyError"


@pytest.mark.parametrize("name", ["BaseException", "StopIteration", "GeneratorExit"])
def test_a_generator_parameter_named_like_a_builtin_is_harmless(name: str) -> None:
    namespace: dict[str, Any] = {}
    exec(f"def g({name}=None):\n    yield 1\n    raise KeyError('k')", namespace)
    traced = observe(namespace["g"])
    with capture_spans() as spans, pytest.raises(KeyError):
        list(traced())
    assert spans[0].error is not None and spans[0].error.type == "KeyError"


# -- 9. a decorated callable object is named after its type ----------------------------------------


def test_a_decorated_callable_object_is_named_after_its_type() -> None:
    class Scorer:
        def __call__(self, text: str) -> int:
            return len(text)

    with capture_spans() as spans:
        assert observe(Scorer())("abc") == 3
    assert spans[0].name == "Scorer"
    assert spans[0].input == {"text": "abc"}
