"""@observe on callables that are not plain ``def`` functions, or are named oddly.

Whatever the callable, the decorated one receives exactly the arguments the caller passed,
returns or raises what it would undecorated, and decorating it never fails.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import linecache
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
