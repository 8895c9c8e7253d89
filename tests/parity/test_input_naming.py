"""The hot path's inline argument naming (``dict(zip(names, args))``) equals ``name_inputs``.

``start_call`` names mutable arguments inline when there are no keywords, varargs or ignored
names; everything else goes through ``inputs_dict`` / ``name_inputs``, the reference.
"""

from __future__ import annotations

import inspect
from typing import Any
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from brokle_trace import observe
from brokle_trace._decorate import steps
from brokle_trace._trace.inputs import name_inputs
from brokle_trace.testing import capture_spans
from tests.parity.fired import Fired, run


class Service:
    def method(self, rows: list[int], opts: dict[str, int] | None = None) -> int:
        return len(rows)


def plain(rows: list[int], opts: dict[str, int] | None = None) -> int:
    return len(rows)


def ignoring(rows: list[int], secret: list[str] | None = None) -> int:
    return len(rows)


def variadic(first: list[int], *rest: list[int]) -> int:
    return len(rest)


VALUE = st.lists(st.integers(0, 9), max_size=3) | st.dictionaries(
    st.sampled_from("abc"), st.integers(-1000, 1000), max_size=2
)
TARGETS = ["method", "plain", "ignoring", "variadic"]


def test_inline_naming_equals_name_inputs() -> None:
    traced = {
        "method": observe(Service.method),
        "plain": observe(plain),
        "ignoring": observe(ignore_args=["secret"])(ignoring),
        "variadic": observe(variadic),
    }

    @settings(max_examples=200, deadline=None)
    @given(
        target=st.sampled_from(TARGETS),
        args=st.lists(VALUE, min_size=1, max_size=3),
        by_keyword=st.booleans(),
    )
    def prop(fired: Fired, target: str, args: list[Any], by_keyword: bool) -> None:
        fn = traced[target]
        facts = fn.__brokle_facts__
        call_args: tuple[Any, ...] = tuple(args)
        kwargs: dict[str, Any] = {}
        if target == "method":
            call_args = (Service(), *args[:2])
        elif target != "variadic":
            call_args = tuple(args[:2])
        if by_keyword and target != "variadic" and len(call_args) > 1:
            # The last positional argument by keyword instead: the general path.
            name = facts.param_names[len(call_args) - 1 - facts.skip_first]
            kwargs = {name: call_args[-1]}
            call_args = call_args[:-1]
        with (
            mock.patch.object(steps, "inputs_dict", wraps=steps.inputs_dict) as general,
            capture_spans() as spans,
        ):
            fn(*call_args, **kwargs)
        # What the generated wrapper hands over: the bound arguments, defaults included.
        bound = inspect.signature(fn.__wrapped__).bind(*call_args, **kwargs)
        bound.apply_defaults()
        expected = name_inputs(
            facts.param_names,
            facts.skip_first,
            facts.varargs,
            facts.ignore,
            bound.args,
            bound.kwargs or None,
        )
        assert spans[0].input == {
            k: (list(v) if isinstance(v, tuple) else v) for k, v in expected.items()
        }
        fired.example(not general.called)

    run(prop, min_share=0.2)
