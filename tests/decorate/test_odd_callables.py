"""@observe on callables that are not plain ``def`` functions, or are named oddly.

Whatever the callable, the decorated one receives exactly the arguments the caller passed,
returns or raises what it would undecorated, and decorating it never fails.
"""

from __future__ import annotations

import gc
import linecache

import pytest

from brokle_trace import observe
from brokle_trace.testing import capture_spans


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
