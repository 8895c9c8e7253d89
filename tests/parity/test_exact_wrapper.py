"""Signature-exact wrappers (the shortcut) bind arguments exactly like the function itself
(the reference), and the generic wrapper shares their template."""

from __future__ import annotations

import asyncio
import inspect
import linecache
import traceback
from typing import Any

import pytest

from brokle_trace import observe
from brokle_trace._decorate.codegen import exact_wrapper
from brokle_trace.testing import capture_spans

_SENTINEL = object()


def pos_only(a: int, b: int = 2, /, c: int = 3) -> tuple[int, int, int]:
    return a, b, c


def kw_only(a: int, *, b: int, c: object = _SENTINEL) -> tuple[int, int, bool]:
    return a, b, c is _SENTINEL


def everything(a: int, /, b: int, *rest: int, c: int = 5, **extra: int) -> Any:
    return a, b, rest, c, extra


def mutable_default(x: int, acc: list[int] = []) -> list[int]:  # noqa: B006 - the point
    acc.append(x)
    return acc


CALLS: list[tuple[Any, tuple[Any, ...], dict[str, Any]]] = [
    (pos_only, (1,), {}),
    (pos_only, (1, 4), {"c": 9}),
    (pos_only, (1,), {"b": 2}),  # TypeError: b is positional-only
    (pos_only, (), {}),  # TypeError: missing a
    (kw_only, (1,), {"b": 2}),
    (kw_only, (1, 2), {}),  # TypeError: b is keyword-only
    (kw_only, (1,), {"b": 2, "c": 3}),
    (everything, (1, 2, 3, 4), {"c": 6, "z": 7}),
    (everything, (1,), {"b": 2}),
    (everything, (1, 2), {"a": 3}),  # a is positional-only: lands in **extra
]


def _outcome(fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    try:
        return ("ok", fn(*args, **kwargs))
    except TypeError as exc:
        # The message names the function; the wrapper carries the same name.
        return ("TypeError", str(exc))


@pytest.mark.parametrize(("fn", "args", "kwargs"), CALLS)
def test_binding_matches_the_undecorated_function(
    fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    traced = observe(fn)
    assert traced.__code__.co_name == fn.__name__  # the generated wrapper, not the generic one
    with capture_spans():
        assert _outcome(traced, args, kwargs) == _outcome(fn, args, kwargs)


def test_default_objects_are_the_functions_own() -> None:
    traced = observe(mutable_default)
    with capture_spans():
        first = traced(1)
        second = mutable_default(2)
    assert first is second and second == [1, 2]


def test_inputs_include_defaults_and_name_every_kind() -> None:
    traced = observe(everything)
    with capture_spans() as spans:
        traced(1, 2, 3, z=4)
    assert spans[0].input == {"a": 1, "b": 2, "rest": [3], "c": 5, "z": 4}


async def test_async_exact_wrapper() -> None:
    async def fetch(url: str, *, timeout: float = 1.0) -> tuple[str, float]:
        await asyncio.sleep(0)
        return url, timeout

    traced = observe(fetch)
    assert inspect.iscoroutinefunction(traced)
    assert traced.__code__.co_name == "fetch"
    with capture_spans() as spans:
        assert await traced("u", timeout=2.0) == ("u", 2.0)
    assert spans[0].input == {"url": "u", "timeout": 2.0}


def test_falls_back_when_a_wrapper_cannot_be_generated() -> None:
    assert exact_wrapper(getattr, "sync", {}) is None  # no code to copy

    def clash(_bt_fn: int) -> int:
        return _bt_fn

    # A parameter named like our internals: the template's names get another prefix.
    traced = observe(clash)
    assert traced.__code__.co_varnames[:1] == ("_bt_fn",)
    with capture_spans() as spans:
        assert traced(3) == 3
    assert spans[0].input == {"_bt_fn": 3}
    lam = observe(lambda x: x * 2)
    with capture_spans():
        assert lam(4) == 8


class _NoSignature:
    """A callable whose signature cannot be read: it gets the generic parameter list."""

    __name__ = "no_signature"

    @property
    def __signature__(self) -> Any:
        raise ValueError("no signature")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("fail"):
            raise KeyError("boom")
        return args, kwargs


def _wrapper_frames(exc: BaseException) -> list[str]:
    return [
        line
        for line in traceback.format_exception(type(exc), exc, exc.__traceback__)
        if "brokle_trace wrapper of" in line
    ]


def _raises(key: str, *, fail: bool = True) -> None:
    raise KeyError(key)


@pytest.mark.parametrize("fn", [_NoSignature(), _raises], ids=["generic", "exact"])
def test_tracebacks_through_a_wrapper_show_its_source_lines(fn: Any) -> None:
    traced = observe(fn)
    with pytest.raises(KeyError) as info:
        traced("k", fail=True)
    frames = _wrapper_frames(info.value)
    assert frames, "the wrapper's frame is in the traceback"
    # The line under the frame header is real source, not an empty line.
    text = "".join(
        traceback.format_exception(type(info.value), info.value, info.value.__traceback__)
    )
    assert "_bt_result = _bt_fn(" in text


def test_the_generic_wrapper_is_the_same_template_with_star_args() -> None:
    fn = _NoSignature()
    traced = observe(fn)
    with capture_spans() as spans:
        assert traced(1, x=2) == ((1,), {"x": 2})
    (span,) = spans
    assert span.name == "no_signature"
    code = traced.__call__.__code__  # a non-function: the proxy calls the wrapper as is
    assert code.co_filename.startswith("<brokle_trace wrapper of")
    source = "".join(linecache.getlines(code.co_filename))
    assert source.startswith("def no_signature(*_bt_args, **_bt_kwargs):")
    # One body: exact and generic wrappers are compiled from the same template.
    exact = observe(everything).__code__
    exact_source = "".join(linecache.getlines(exact.co_filename))
    body = lambda src: src.split("\n", 1)[1].replace("_bt_args, _bt_kwargs", "")  # noqa: E731
    assert len(body(source).splitlines()) == len(body(exact_source).splitlines())
