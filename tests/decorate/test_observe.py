"""@observe on every kind of callable: same results, same exceptions, the right spans."""

from __future__ import annotations

import asyncio
import inspect
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from brokle_trace import (
    get_current_span,
    observe,
    observe_llm,
    observe_retrieval,
    update_current_span,
)
from brokle_trace.testing import capture_spans
from tests.helpers import one, tree


def test_bare_and_parametrised_forms_trace_sync_functions() -> None:
    @observe
    def bare(x: int) -> int:
        return x + 1

    @observe(name="renamed", tags=["t"])
    def with_options(x: int) -> int:
        return x * 2

    with capture_spans() as spans:
        assert bare(1) == 2
        assert with_options(3) == 6
    assert [s.name for s in spans] == ["bare", "renamed"]
    assert one(spans, "bare").input == {"x": 1}
    assert one(spans, "bare").output == 2
    assert one(spans, "renamed").tags == ["t"]


def test_wrapper_keeps_metadata_signature_and_kind() -> None:
    def plain(a: int, b: str = "x") -> str:
        """Doc."""
        return b * a

    async def coro(a: int) -> int:
        return a

    def gen(n: int) -> Iterator[int]:
        yield from range(n)

    async def agen(n: int) -> AsyncIterator[int]:
        for i in range(n):
            yield i

    wrapped = observe(plain)
    assert wrapped.__name__ == "plain"
    assert wrapped.__doc__ == "Doc."
    assert wrapped.__wrapped__ is plain  # type: ignore[attr-defined]
    assert inspect.signature(wrapped) == inspect.signature(plain)
    assert inspect.iscoroutinefunction(observe(coro))
    assert inspect.isgeneratorfunction(observe(gen))
    assert inspect.isasyncgenfunction(observe(agen))
    assert not inspect.iscoroutinefunction(wrapped)


def test_function_runs_exactly_once_and_returns_the_same_object() -> None:
    calls: list[int] = []
    sentinel = object()

    @observe
    def f() -> object:
        calls.append(1)
        return sentinel

    with capture_spans():
        assert f() is sentinel
    assert calls == [1]


def test_exception_is_reraised_unchanged_and_recorded() -> None:
    error = ValueError("bad input 42")

    @observe
    def boom() -> None:
        raise error

    with capture_spans() as spans, pytest.raises(ValueError) as info:
        boom()
    assert info.value is error
    span = one(spans, "boom")
    assert span.status == "error"
    assert span.level == "error"
    assert span.error is not None
    assert span.error.type == "ValueError"
    assert span.error.message == "bad input 42"
    assert span.error.stacktrace is not None and "raise error" in span.error.stacktrace
    assert span.output is None


async def test_coroutine_span_and_exception() -> None:
    @observe
    async def ok(x: int) -> int:
        await asyncio.sleep(0)
        return x

    @observe
    async def bad() -> None:
        await asyncio.sleep(0)
        raise KeyError("k")

    with capture_spans() as spans:
        assert await ok(5) == 5
        with pytest.raises(KeyError):
            await bad()
    assert one(spans, "ok").output == 5
    assert one(spans, "bad").error is not None
    assert one(spans, "bad").error.type == "KeyError"  # type: ignore[union-attr]


async def test_cancelled_error_passes_through_and_ends_the_span() -> None:
    started = asyncio.Event()

    @observe
    async def slow() -> None:
        started.set()
        await asyncio.sleep(10)

    with capture_spans() as spans:
        task = asyncio.create_task(slow())
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    span = one(spans, "slow")
    assert span.status == "error"
    assert span.status_message == "cancelled"
    assert span.error is not None and span.error.type == "CancelledError"


@pytest.mark.parametrize(
    ("exc", "status"),
    [(KeyboardInterrupt(), "error"), (SystemExit(3), "error"), (SystemExit(0), "ok")],
)
def test_base_exceptions_pass_through(exc: BaseException, status: str) -> None:
    @observe
    def interrupted() -> None:
        raise exc

    with capture_spans() as spans, pytest.raises(type(exc)) as info:
        interrupted()
    assert info.value is exc
    assert one(spans, "interrupted").status == status


def test_methods_classmethods_staticmethods_do_not_capture_self_or_cls() -> None:
    class Service:
        factor = 3

        @observe
        def method(self, x: int) -> int:
            return x * self.factor

        @observe
        @classmethod
        def cm_outer(cls, x: int) -> int:
            return x + cls.factor

        @classmethod
        @observe
        def cm_inner(cls, x: int) -> int:
            return x - cls.factor

        @observe
        @staticmethod
        def sm(x: int) -> int:
            return -x

    svc = Service()
    with capture_spans() as spans:
        assert svc.method(2) == 6
        assert Service.cm_outer(1) == 4
        assert svc.cm_inner(5) == 2
        assert Service.sm(7) == -7
        assert svc.sm(8) == -8
    assert [s.input for s in spans] == [{"x": 2}, {"x": 1}, {"x": 5}, {"x": 7}, {"x": 8}]


def test_mutable_arguments_are_named_the_same_way_on_every_path() -> None:
    # Lists and dicts take the snapshot path (not the immutable-tuple one); its inline
    # naming must agree with the general one for methods, keywords, ignored and varargs.
    class Service:
        @observe
        def method(self, rows: list[int], opts: dict[str, int] | None = None) -> int:
            return len(rows)

    @observe(ignore_args=["secret"])
    def ignoring(rows: list[int], secret: list[str]) -> int:
        return len(rows)

    @observe
    def variadic(first: list[int], *rest: list[int]) -> int:
        return len(rest)

    svc = Service()
    with capture_spans() as spans:
        svc.method([1, 2])
        svc.method([3], {"k": 1})
        svc.method([4], opts={"k": 2})
        svc.method(rows=[5])
        ignoring([6], ["s"])
        variadic([7], [8], [9])
    assert [s.input for s in spans] == [
        {"rows": [1, 2], "opts": None},  # the generated wrapper passes defaults along
        {"rows": [3], "opts": {"k": 1}},
        {"rows": [4], "opts": {"k": 2}},
        {"rows": [5], "opts": None},
        {"rows": [6]},
        {"first": [7], "rest": [[8], [9]]},
    ]


def test_inputs_include_varargs_kwargs_and_drop_ignored() -> None:
    @observe(ignore_args=["api_key", "token"])
    def call(prompt: str, *rest: int, api_key: str, **extra: Any) -> str:
        return prompt

    with capture_spans() as spans:
        call("hi", 1, 2, api_key="k", token="t", temperature=0.2)
    assert one(spans, "call").input == {"prompt": "hi", "rest": [1, 2], "temperature": 0.2}


def test_capture_can_be_switched_off_per_decorator() -> None:
    @observe(capture_inputs=False, capture_outputs=False)
    def private(secret_doc: str) -> str:
        return secret_doc

    with capture_spans() as spans:
        private("contents")
    span = one(spans, "private")
    assert span.input is None and span.output is None


def test_generator_span_covers_iteration_and_records_items() -> None:
    @observe
    def numbers(n: int) -> Iterator[int]:
        yield from range(n)

    with capture_spans() as spans:
        assert list(numbers(3)) == [0, 1, 2]
    span = one(spans, "numbers")
    assert span.output == [0, 1, 2]
    assert span.attributes["brokle.generator.items"] == 3
    assert span.status == "ok"


def test_generator_send_throw_and_return_value_are_forwarded() -> None:
    @observe
    def echo() -> Iterator[int]:
        total = 0
        while True:
            try:
                got = yield total
            except ValueError:
                total = -1
                continue
            if got is None:
                return
            total += got

    with capture_spans():
        g = echo()
        assert next(g) == 0
        assert g.send(5) == 5
        assert g.throw(ValueError()) == -1
        with pytest.raises(StopIteration):
            g.send(None)


def test_generator_exception_marks_span_error() -> None:
    @observe
    def failing() -> Iterator[int]:
        yield 1
        raise RuntimeError("stream broke")

    with capture_spans() as spans:
        g = failing()
        assert next(g) == 1
        with pytest.raises(RuntimeError, match="stream broke"):
            next(g)
    span = one(spans, "failing")
    assert span.status == "error"
    assert span.error is not None and span.error.message == "stream broke"


def test_generator_early_break_closes_and_ends_ok() -> None:
    closed: list[bool] = []

    @observe
    def endless() -> Iterator[int]:
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            closed.append(True)

    with capture_spans() as spans:
        for i in endless():
            if i == 2:
                break
    assert closed == [True]
    span = one(spans, "endless")
    assert span.status == "ok"
    assert span.attributes["brokle.generator.closed"] is True
    assert span.output == [0, 1, 2]


def test_abandoned_generator_ends_its_span_when_collected() -> None:
    @observe
    def lazy() -> Iterator[int]:
        yield 1
        yield 2

    with capture_spans() as spans:
        g = lazy()
        next(g)
        del g  # CPython collects it now; close() runs our GeneratorExit path
    assert one(spans, "lazy").attributes["brokle.generator.closed"] is True


async def test_async_generator_span_and_aclose() -> None:
    @observe
    async def ticks(n: int) -> AsyncIterator[int]:
        for i in range(n):
            await asyncio.sleep(0)
            yield i

    with capture_spans() as spans:
        assert [i async for i in ticks(3)] == [0, 1, 2]
        agen = ticks(10)
        assert await agen.__anext__() == 0
        await agen.aclose()
    done, closed = spans
    assert done.output == [0, 1, 2] and done.status == "ok"
    assert closed.attributes["brokle.generator.closed"] is True


async def test_async_generator_asend_and_athrow_are_forwarded() -> None:
    @observe
    async def acc() -> AsyncIterator[int]:
        total = 0
        while True:
            try:
                got = yield total
            except ValueError:
                total = 100
                continue
            total += got or 0

    with capture_spans() as spans:
        agen = acc()
        assert await agen.asend(None) == 0
        assert await agen.asend(4) == 4
        assert await agen.athrow(ValueError()) == 100
        await agen.aclose()
    assert one(spans, "acc").status == "ok"


def test_function_returning_a_generator_keeps_the_span_open_until_exhausted() -> None:
    def source() -> Iterator[str]:
        yield "a"
        yield "b"

    @observe
    def make_stream() -> Iterator[str]:
        return source()

    @observe
    def consumer() -> list[str]:
        stream = make_stream()
        return list(stream)

    with capture_spans() as spans:
        assert consumer() == ["a", "b"]
    span = one(spans, "make_stream")
    assert span.output == ["a", "b"]
    assert span.parent_span_id == one(spans, "consumer").span_id


async def test_function_returning_an_async_generator_is_traced_over_iteration() -> None:
    async def source() -> AsyncIterator[int]:
        yield 1
        yield 2

    @observe
    def make_stream() -> AsyncIterator[int]:
        return source()

    with capture_spans() as spans:
        assert [x async for x in make_stream()] == [1, 2]
    assert one(spans, "make_stream").output == [1, 2]


def test_update_current_span_sets_fields() -> None:
    @observe
    def step() -> str:
        update_current_span(
            output="overridden",
            metadata={"a": 1},
            attributes={"k": "v"},
            level="warning",
            status_message="partial",
        )
        return "real"

    with capture_spans() as spans:
        assert step() == "real"
    span = one(spans, "step")
    assert span.output == "overridden"
    assert span.metadata == {"a": 1}
    assert span.attributes["k"] == "v"
    assert span.level == "warning"
    assert span.status_message == "partial"


def test_observe_llm_and_retrieval_record_their_static_facts() -> None:
    @observe_llm(model="gpt-4o", provider="openai")
    def chat(prompt: str) -> str:
        return "hi"

    @observe_retrieval(index_name="docs", top_k=3)
    def search(q: str) -> list[str]:
        return ["a"]

    with capture_spans() as spans:
        chat("x")
        search("y")
    llm = one(spans, "chat")
    assert llm.type == "llm"
    assert llm.attributes["gen_ai.request.model"] == "gpt-4o"
    assert llm.attributes["gen_ai.provider.name"] == "openai"
    ret = one(spans, "search")
    assert ret.type == "retrieval"
    assert ret.attributes["gen_ai.data_source.id"] == "docs"
    assert ret.attributes["gen_ai.request.top_k"] == 3


@pytest.mark.parametrize("kind", ["tool", "agent", "chain", "embedding"])
def test_observe_type_sets_span_type(kind: str) -> None:
    @observe(type=kind)  # type: ignore[arg-type]
    def step() -> None:
        return None

    with capture_spans() as spans:
        step()
    assert one(spans, "step").type == kind


def test_bad_type_is_a_clear_decoration_error() -> None:
    with pytest.raises(ValueError, match="type must be one of"):
        observe(type="bogus")(lambda: None)  # type: ignore[call-overload]


@pytest.mark.usefixtures("lenient")
def test_internal_failure_never_changes_what_the_function_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken_begin(facts: Any) -> Any:
        raise RuntimeError("tracing is broken")

    monkeypatch.setattr("brokle_trace._decorate.steps.begin", broken_begin)
    calls: list[int] = []

    @observe
    def f(x: int) -> int:
        calls.append(x)
        return x * 10

    @observe
    async def g(x: int) -> int:
        return x + 1

    @observe
    def h() -> None:
        raise LookupError("mine")

    assert f(2) == 20
    assert calls == [2]
    assert asyncio.run(g(1)) == 2
    with pytest.raises(LookupError, match="mine"):
        h()
    assert get_current_span() is None


@pytest.mark.usefixtures("lenient")
def test_a_failing_span_end_still_returns_or_raises_what_the_function_did(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from brokle_trace._runtime import errors as _errors
    from brokle_trace._runtime import state as _state

    def broken_enqueue(span: Any) -> None:
        raise RuntimeError("queue exploded")

    monkeypatch.setattr(_state, "enqueue", broken_enqueue)
    before = _errors.error_counts().get("span_end", 0)

    @observe
    def f() -> str:
        return "value"

    @observe
    def g() -> None:
        raise KeyError("mine")

    assert f() == "value"
    with pytest.raises(KeyError, match="mine"):
        g()
    assert get_current_span() is None
    assert _errors.error_counts()["span_end"] == before + 2


def test_nested_tree_and_context_restored() -> None:
    @observe
    def leaf() -> None:
        return None

    @observe
    def middle() -> None:
        leaf()
        leaf()

    @observe
    def top() -> None:
        middle()
        leaf()

    with capture_spans() as spans:
        top()
    assert tree(spans) == [("top", [("middle", [("leaf", []), ("leaf", [])]), ("leaf", [])])]
    assert len({s.trace_id for s in spans}) == 1
    assert get_current_span() is None


def test_disabled_tracing_is_a_plain_call() -> None:
    import brokle_trace

    @observe
    def f(x: int) -> int:
        return x

    brokle_trace.configure(enabled=False, exporter="none")
    started = brokle_trace.stats()["started"]
    with capture_spans() as spans:
        assert f(3) == 3
    assert spans == []
    assert brokle_trace.stats()["started"] == started


def test_span_handle_exposes_ids() -> None:
    seen: dict[str, Any] = {}

    @observe
    def f() -> None:
        span = get_current_span()
        assert span is not None
        seen["trace"], seen["span"], seen["name"] = span.trace_id, span.span_id, span.name
        seen["recording"] = span.is_recording

    with capture_spans() as spans:
        f()
    assert seen == {
        "trace": spans[0].trace_id,
        "span": spans[0].span_id,
        "name": "f",
        "recording": True,
    }


def test_deterministic_testing_mode_gives_comparable_trees() -> None:
    from brokle_trace.testing import deterministic

    @observe
    def child() -> None:
        return None

    @observe
    def parent() -> None:
        child()

    with deterministic(), capture_spans() as spans:
        parent()
    assert [(s.name, s.trace_id, s.span_id, s.parent_span_id, s.start_time_ns) for s in spans] == [
        ("child", f"{1:032x}", f"{2:016x}", f"{1:016x}", 1_000_001_000),
        ("parent", f"{1:032x}", f"{1:016x}", None, 1_000_000_000),
    ]


def test_span_module_has_no_import_time_side_effects() -> None:
    import subprocess

    code = (
        "import threading, brokle_trace, os;"
        "assert threading.active_count() == 1, threading.enumerate();"
        "assert not os.path.exists('brokle_traces.jsonl')"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=_tmpdir())


def _tmpdir() -> str:
    import tempfile

    return tempfile.mkdtemp()
