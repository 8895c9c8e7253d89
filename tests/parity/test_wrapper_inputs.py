"""Inputs are named the same whatever wrapper a function gets: the signature-exact wrapper
(the shortcut), the generic ``*args, **kwargs`` one with its binder, and the reference: how
the function's own code bound the call, defaults included. Calls that do not bind fail the
same way undecorated and decorated."""

from __future__ import annotations

import inspect
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from brokle_trace import observe
from brokle_trace.testing import capture_spans
from tests.parity.fired import Fired, run


@st.composite
def functions(draw: st.DrawFn) -> Any:
    """A function with a random parameter list (every kind, some defaults)."""
    names = iter(f"p{i}" for i in range(20))
    parts: list[str] = []
    positional = [next(names) for _ in range(draw(st.integers(0, 2)))]
    ordinary = [next(names) for _ in range(draw(st.integers(0, 3)))]
    n_defaults = draw(st.integers(0, len(positional) + len(ordinary)))
    first_default = len(positional) + len(ordinary) - n_defaults
    for i, name in enumerate(positional + ordinary):
        parts.append(f"{name}={i * 10}" if i >= first_default else name)
        if positional and i == len(positional) - 1:
            parts.append("/")
    if draw(st.booleans()):
        parts.append("*rest")
    keyword_only = [next(names) for _ in range(draw(st.integers(0, 2)))]
    if keyword_only and "*rest" not in parts:
        parts.append("*")
    for name in keyword_only:
        parts.append(f"{name}=7" if draw(st.booleans()) else name)
    if draw(st.booleans()):
        parts.append("**extra")
    source = f"def f({', '.join(parts)}):\n    return locals()\n"
    namespace: dict[str, Any] = {}
    exec(source, namespace)
    return namespace["f"]


class _Opaque:
    """The same function behind a callable object: it gets the generic wrapper."""

    def __init__(self, fn: Any) -> None:
        self._fn = fn
        self.__signature__ = inspect.signature(fn)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._fn(*args, **kwargs)


def _outcome(fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    try:
        return ("ok", fn(*args, **kwargs))
    except TypeError:
        return ("TypeError",)


def _jsonish(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonish(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonish(v) for k, v in value.items()}
    return value


def test_every_wrapper_names_inputs_like_the_signature_does() -> None:
    @settings(max_examples=300, deadline=None)
    @given(
        fn=functions(),
        n_args=st.integers(0, 6),
        keywords=st.lists(st.sampled_from([f"p{i}" for i in range(8)] + ["zz"]), max_size=3),
    )
    def prop(fired: Fired, fn: Any, n_args: int, keywords: list[str]) -> None:
        args = tuple(range(100, 100 + n_args))
        kwargs = {k: 1000 + i for i, k in enumerate(dict.fromkeys(keywords))}
        exact, generic = observe(fn), observe(_Opaque(fn))
        with capture_spans() as spans:
            plain = _outcome(fn, args, kwargs)
            assert _outcome(exact, args, kwargs) == plain
            assert _outcome(generic, args, kwargs) == plain
        took_exact = exact.__code__.co_varnames[: fn.__code__.co_argcount] == (
            fn.__code__.co_varnames[: fn.__code__.co_argcount]
        ) and exact.__code__.co_filename.startswith("<brokle_trace wrapper")
        fired.example(took_exact and plain[0] == "ok")
        if plain[0] != "ok":
            return
        # The reference: how the function's own code bound the call (its locals()).
        reference = _jsonish(dict(plain[1]))
        if "extra" in reference:
            reference.update(reference.pop("extra"))  # **kwargs are recorded flat
        if reference.get("rest") == []:
            del reference["rest"]  # empty *args are not recorded (nothing was passed)
        assert [s.input for s in spans] == [reference, reference]

    # About one random call in five binds; the comparison of those is what counts.
    run(prop, min_share=0.1)
