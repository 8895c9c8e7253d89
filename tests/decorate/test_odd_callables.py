"""@observe on callables that are not plain ``def`` functions, or are named oddly.

Whatever the callable, the decorated one receives exactly the arguments the caller passed,
returns or raises what it would undecorated, and decorating it never fails.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import inspect
import linecache
import types
import warnings
from typing import Any

import numpy as np
import pytest
from pydantic import BaseModel, Field

from brokle_trace import observe
from brokle_trace.testing import capture_spans


class Order(BaseModel):
    sku: str = "none"
    lines: list[str] = Field(default_factory=list)


def test_a_pydantic_model_receives_only_the_fields_given() -> None:
    # Its signature shows a placeholder for default_factory fields: passing that on would
    # make the model reject the call.
    traced = observe(Order)
    with capture_spans() as spans:
        assert traced(sku="a") == Order(sku="a")
        assert traced() == Order()
    assert [s.status for s in spans] == ["ok", "ok"]


def test_c_functions_receive_only_the_arguments_given() -> None:
    # A text signature's defaults are documentation: np.add rejects signature= with dtype=,
    # and np.array treats an explicit ndmin/like differently from an absent one.
    with capture_spans():
        assert observe(np.add)(1, 2) == 3
        assert observe(np.array)([1, 2]).tolist() == [1, 2]


def test_a_callable_with_a_signature_override_keeps_its_own_binding() -> None:
    def real(*args: Any, **kwargs: Any) -> Any:
        return args, kwargs

    real.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter("q", inspect.Parameter.KEYWORD_ONLY)]
    )
    with capture_spans():
        assert observe(real)(1, q=2) == ((1,), {"q": 2})


@pytest.mark.parametrize("name", ["_bt_fn", "_bt_state", "_bt_start", "_bt_set", "_bt_facts"])
def test_a_function_named_like_the_wrappers_internals_still_works(name: str) -> None:
    namespace: dict[str, Any] = {}
    exec(f"def {name}(x):\n    return x * 2\n", namespace)
    traced = observe(namespace[name])
    with capture_spans() as spans:
        assert traced(21) == 42
    assert spans[0].name == name
    assert traced.__name__ == name


class _Named:
    def __init__(self, name: object) -> None:
        self.__name__ = name

    def __call__(self, x: int = 1) -> int:
        return x


@pytest.mark.parametrize("name", [5, None, b"bytes", "not an identifier", "class"])
def test_a_callable_with_an_odd_name_can_be_decorated(name: object) -> None:
    traced = observe(_Named(name))
    with capture_spans() as spans:
        assert traced(3) == 3
    assert len(spans) == 1
    assert isinstance(spans[0].name, str)


def test_an_instance_with_an_async_call_gets_an_async_span() -> None:
    class Agent:
        async def __call__(self, question: str) -> str:
            await asyncio.sleep(0)
            if question == "fail":
                raise KeyError(question)
            return question.upper()

    traced = observe(Agent())

    async def main() -> None:
        assert await traced("hi") == "HI"
        with pytest.raises(KeyError):
            await traced("fail")

    with capture_spans() as spans:
        asyncio.run(main())
    assert [(s.output, s.status) for s in spans] == [("HI", "ok"), (None, "error")]


def test_decorating_the_same_function_again_does_not_grow_linecache() -> None:
    # A closure decorated per request must not leave a source entry behind per decoration.
    def handler(i: int) -> int:
        @observe
        def step(x: int, y: int = 1) -> int:
            return x + y

        return step(i)

    with capture_spans():
        handler(0)
    gc.collect()
    before = len(linecache.cache)
    with capture_spans():
        for i in range(200):
            assert handler(i) == i + 1
    gc.collect()
    assert len(linecache.cache) - before <= 1


def test_tracebacks_show_wrapper_lines_after_linecache_is_cleared() -> None:
    import traceback

    @observe
    def boom() -> None:
        raise KeyError("k")

    def text() -> str:
        with capture_spans(), pytest.raises(KeyError) as info:
            boom()
        return "".join(traceback.format_exception(info.value))

    assert "_bt_result = _bt_fn(" in text()
    linecache.clearcache()  # what pytest, IPython and reloaders do
    observe(boom.__wrapped__)  # type: ignore[attr-defined]  # any later decoration
    assert "_bt_result = _bt_fn(" in text()


def test_a_cached_function_keeps_its_cache_methods() -> None:
    import functools

    @observe
    @functools.cache
    def load_model(name: str) -> dict[str, str]:
        return {"name": name}

    with capture_spans() as spans:
        assert load_model("m") is load_model("m")
    assert load_model.cache_info().hits == 1  # type: ignore[attr-defined]
    load_model.cache_clear()  # type: ignore[attr-defined]
    assert load_model.cache_info().currsize == 0  # type: ignore[attr-defined]
    assert load_model.cache_parameters() == {"maxsize": None, "typed": False}  # type: ignore[attr-defined]
    assert [s.input for s in spans] == [{"name": "m"}] * 2


# -- binding: a decorated callable in a class body binds exactly as the original ---------------


def _record(*args: Any, **kwargs: Any) -> tuple[Any, ...]:
    return (args, kwargs)


class _Tool:
    name = "weather"

    def __call__(self, *args: Any) -> tuple[Any, ...]:
        return args


class _Binds:
    """A callable that is also a method descriptor, like a Cython function."""

    def __call__(self, *args: Any) -> tuple[Any, ...]:
        return args

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        return self if obj is None else types.MethodType(self, obj)


class _Owner:
    def method(self, *args: Any) -> tuple[Any, ...]:
        return args


@functools.cache
def _cached(*args: Any) -> tuple[Any, ...]:
    return args


_CALLABLES = {
    "partial": lambda: functools.partial(_record, mode="x"),
    "callable instance": _Tool,
    "builtin": lambda: len,
    "bound method": lambda: _Owner().method,
    "lru_cache wrapper": lambda: _cached,
    "own method descriptor": _Binds,
}


@pytest.mark.parametrize("kind", sorted(_CALLABLES))
def test_a_decorated_callable_in_a_class_body_receives_what_the_original_receives(
    kind: str,
) -> None:
    make = _CALLABLES[kind]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # 3.13: partial as a method
        holder = type("Holder", (), {"plain": make(), "traced": observe(make())})()
        arg: Any = [1, 2] if kind == "builtin" else 1
        expected = holder.plain(arg)
        with capture_spans() as spans:
            got = holder.traced(arg)
    assert got == expected  # before: the holder was passed in as an extra first argument
    assert len(spans) == 1


def test_a_decorated_callable_instance_reads_its_attributes_live() -> None:
    tool = _Tool()
    traced = observe(tool)
    tool.name = "search"  # type: ignore[misc]
    assert traced.name == "search"
    partial = observe(functools.partial(_record, 1))
    assert partial.func is _record and partial.args == (1,)
    assert repr(traced) == repr(tool)


def test_an_async_callable_instance_still_looks_async_to_starlette() -> None:
    from starlette._utils import is_async_callable

    class Agent:
        async def __call__(self, question: str) -> str:
            return question

    assert is_async_callable(Agent())
    traced = observe(Agent())
    assert is_async_callable(traced)  # Starlette awaits it instead of running it in a thread
    assert inspect.signature(traced) == inspect.signature(Agent())
    with capture_spans() as spans:
        assert asyncio.run(traced("q")) == "q"
    assert len(spans) == 1
