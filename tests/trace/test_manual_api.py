"""The manual API: trace attributes across blocks, switching off, status without raising,
new traces and names, and what an ended span keeps alive."""

from __future__ import annotations

import asyncio
import contextvars
import gc
import tracemalloc
from collections.abc import Iterator

import pytest

import brokle_trace
from brokle_trace import (
    get_current_span,
    observe,
    start_span,
    trace_context,
    update_current_span,
    update_current_trace,
)
from brokle_trace.testing import capture_spans
from tests.helpers import one

# -- 6. update_current_trace reaches later spans of the enclosing trace_context --------------------


@observe
def authenticate(user: str) -> None:
    update_current_trace(user_id=user, tags=["authed"])


@observe
def later() -> None:
    pass


def test_update_current_trace_reaches_later_spans_in_an_enclosing_trace_context() -> None:
    with capture_spans() as spans:
        with trace_context(session_id="s-1"):
            authenticate("u-42")
            later()
        later()  # outside the block: not this request's
    first, second = (s for s in spans if s.name == "later")
    assert (first.user_id, first.session_id, first.tags) == ("u-42", "s-1", ["authed"])
    assert (second.user_id, second.session_id) == (None, None)


def test_update_current_trace_reaches_blocks_opened_inside_the_trace_not_outer_requests() -> None:
    @observe
    def handler() -> None:
        with trace_context(tags=["inner"]):
            authenticate("u-7")
        later()  # after the inner block, still in the handler's trace

    with capture_spans() as spans, trace_context(tags=["app"]):  # around every request
        with trace_context(session_id="req-1"):
            handler()
        later()  # another request: must not get u-7
    inside, outside = (s for s in spans if s.name == "later")
    assert inside.user_id == "u-7"
    assert outside.user_id is None


# -- 7. configure(enabled=False) stops start_span ----------------------------------------------


def test_disabled_tracing_stops_start_span_too() -> None:
    brokle_trace.configure(enabled=False, exporter="none", strict=True)
    before = brokle_trace.stats()["started"]
    with capture_spans() as spans, start_span("block", input={"q": 1}) as span:
        span.update(metadata={"k": 1}, output="x")
        span.set_status("error", "nope")
        update_current_span(metadata={"ignored": True})
    assert spans == []
    assert brokle_trace.stats()["started"] == before
    assert get_current_span() is None


# -- 8. a context copied during the call keeps only what the tree needs ------------------------


async def test_a_timer_created_during_calls_does_not_keep_their_prompts_alive() -> None:
    loop = asyncio.get_running_loop()
    timers: list[asyncio.TimerHandle] = []

    @observe
    async def ask(prompt: str) -> str:
        timers.append(loop.call_later(3600, lambda: None))  # copies the context
        return prompt[:5]

    @observe
    async def session(n: int) -> None:
        for i in range(n):
            await ask(str(i) * 1_000_000)  # a fresh 1 MB prompt each

    try:
        with capture_spans():
            await session(2)  # warm-up: caches, the worker
        gc.collect()
        tracemalloc.start()
        with capture_spans() as spans:
            await session(10)
        assert brokle_trace.flush(5.0)
        del spans
        gc.collect()
        held = tracemalloc.get_traced_memory()[0]
        # 10 MB before: every ended span kept its input through the timers' contexts.
        assert held < 1_500_000, f"{held / 1e6:.1f} MB still held"
    finally:
        tracemalloc.stop()
        for timer in timers:
            timer.cancel()


def test_a_span_started_in_a_copied_context_after_its_parent_ended_still_nests() -> None:
    copies: list[contextvars.Context] = []

    @observe(user_id="u-1")
    def parent() -> None:
        copies.append(contextvars.copy_context())

    with capture_spans() as spans:
        parent()
        copies[0].run(later)
    p, child = one(spans, "parent"), one(spans, "later")
    assert (child.trace_id, child.parent_span_id, child.user_id) == (p.trace_id, p.span_id, "u-1")


# -- 12. status and errors without raising -----------------------------------------------------


class NotFound(Exception):
    pass


def test_status_can_be_set_without_raising() -> None:
    @observe
    def by_hand() -> str:
        span = get_current_span()
        assert span is not None
        span.set_status("error", "cache miss")
        return "fallback"

    @observe
    def by_update() -> None:
        update_current_span(status="error", status_message="upstream 503")

    @observe
    def by_level() -> None:
        update_current_span(level="error")

    @observe
    def level_but_ok() -> None:
        update_current_span(level="error", status="ok")

    with capture_spans() as spans:
        assert by_hand() == "fallback"
        by_update()
        by_level()
        level_but_ok()
    assert [(s.name, s.status, s.status_message) for s in spans] == [
        ("by_hand", "error", "cache miss"),
        ("by_update", "error", "upstream 503"),
        ("by_level", "error", None),
        ("level_but_ok", "ok", None),
    ]


def test_record_exception_records_it_without_raising() -> None:
    @observe
    def fetch() -> str:
        try:
            raise TimeoutError("upstream slow")
        except TimeoutError as exc:
            span = get_current_span()
            assert span is not None
            span.record_exception(exc)
        return "cached"

    with capture_spans() as spans:
        assert fetch() == "cached"
    (span,) = spans
    assert span.status == "error" and span.output == "cached"
    assert span.error is not None and span.error.type == "TimeoutError"
    assert span.error.message == "upstream slow"
    assert span.error.stacktrace is not None and "raise TimeoutError" in span.error.stacktrace


def test_expected_exceptions_are_recorded_without_failing_the_span() -> None:
    @observe(exceptions_to_handle=(NotFound,))
    def lookup(key: str) -> str:
        if key == "missing":
            raise NotFound(key)
        raise KeyError(key)

    with capture_spans() as spans:
        with pytest.raises(NotFound):
            lookup("missing")
        with pytest.raises(KeyError):
            lookup("other")
    handled, failed = spans
    assert handled.status == "ok" and handled.level == "default"
    assert handled.error is not None and handled.error.type == "NotFound"
    assert failed.status == "error" and failed.level == "error"


# -- 13. traces: new traces, names, trace_context as a decorator -------------------------------


def test_new_trace_starts_a_linked_trace_from_inside_one() -> None:
    @observe(new_trace=True)
    def background_job() -> None:
        later()

    @observe
    def request() -> None:
        background_job()
        with start_span("async-export", new_trace=True):
            pass

    with capture_spans() as spans:
        request()
    req, job, block, child = (
        one(spans, "request"),
        one(spans, "background_job"),
        one(spans, "async-export"),
        one(spans, "later"),
    )
    for linked in (job, block):
        assert linked.trace_id != req.trace_id and linked.parent_span_id is None
        assert linked.attributes["brokle.link.trace_id"] == req.trace_id
        assert linked.attributes["brokle.link.span_id"] == req.span_id
    assert child.trace_id == job.trace_id and child.parent_span_id == job.span_id


def test_a_trace_has_a_name_of_its_own() -> None:
    @observe
    def step() -> None:
        update_current_trace(name="checkout")

    @observe
    def handler() -> None:
        step()

    @observe(trace_name="nightly-eval")
    def job() -> None:
        step_without_name()

    @observe
    def step_without_name() -> None:
        pass

    with capture_spans() as spans:
        handler()
        job()
        with trace_context(name="search"):
            later()
    assert one(spans, "handler").attributes["brokle.trace.name"] == "checkout"
    assert "brokle.trace.name" not in one(spans, "step").attributes  # on the root only
    assert one(spans, "job").attributes["brokle.trace.name"] == "nightly-eval"
    assert one(spans, "later").attributes["brokle.trace.name"] == "search"
    assert one(spans, "handler").name == "handler"  # the span keeps its own name


def test_trace_context_is_a_decorator_for_functions_coroutines_and_generators() -> None:
    @trace_context(session_id="s-dec", tags=["dec"])
    def sync_entry() -> None:
        later()

    @trace_context(user_id="u-async")
    async def async_entry() -> None:
        later()

    @trace_context(user_id="u-gen")
    def gen_entry() -> Iterator[int]:
        later()
        yield 1
        later()

    with capture_spans() as spans:
        sync_entry()
        sync_entry()
        asyncio.run(async_entry())
        assert list(gen_entry()) == [1]
        later()  # outside every decorated call
    attrs = [(s.session_id, s.user_id, s.tags) for s in spans]
    assert attrs == [
        ("s-dec", None, ["dec"]),
        ("s-dec", None, ["dec"]),
        (None, "u-async", []),
        (None, "u-gen", []),
        (None, "u-gen", []),
        (None, None, []),
    ]


def test_a_per_call_name_from_the_arguments() -> None:
    @observe(name=lambda tool, **_: f"tool:{tool}")
    def call_tool(tool: str, payload: dict[str, int] | None = None) -> str:
        return tool

    @observe(name=lambda x: str(1 / 0))  # a failing name function keeps the default name
    def broken(x: int) -> int:
        return x

    @observe
    def renamed(kind: str) -> None:
        update_current_span(name=f"renamed:{kind}")

    with capture_spans() as spans:
        call_tool("search", payload={"n": 1})
        call_tool(tool="fetch")
        assert broken(3) == 3
        renamed("a")
    assert [s.name for s in spans] == ["tool:search", "tool:fetch", "broken", "renamed:a"]


# -- 10. scoped switch-off ---------------------------------------------------------------------


def test_tracing_can_be_switched_off_for_a_block() -> None:
    @observe
    def inner() -> str:
        update_current_span(metadata={"x": 1})  # no span here: quietly nothing
        return "in"

    @observe
    def outer() -> None:
        with brokle_trace.tracing_disabled():
            assert inner() == "in"
            assert get_current_span() is None
            with start_span("skipped"):
                inner()
            with trace_context(enabled=True):
                inner()  # switched back on: a child of outer
        inner()

    with capture_spans() as spans:
        outer()
        with trace_context(enabled=False):
            outer()
    # The second outer() is not traced; the block inside it that switches back on is.
    assert [s.name for s in spans] == ["inner", "inner", "outer", "inner"]
    root = one(spans, "outer")
    assert [s.parent_span_id for s in spans if s.name == "inner"] == [
        root.span_id,
        root.span_id,
        None,
    ]


def test_opentelemetry_suppression_is_honoured() -> None:
    from opentelemetry import context as otel_context

    token = otel_context.attach(
        otel_context.set_value(otel_context._SUPPRESS_INSTRUMENTATION_KEY, True)
    )
    try:
        with capture_spans() as spans:
            later()
            with start_span("block"):
                later()
    finally:
        otel_context.detach(token)
    assert spans == []


def test_a_decorator_switch_evaluated_per_call() -> None:
    flag = {"on": False}

    @observe(enabled=lambda: flag["on"])
    def maybe(x: int) -> int:
        return x

    @observe(enabled=False)
    def never(x: int) -> int:
        return x

    def raw(x: int) -> int:
        return x

    assert observe(enabled=False)(raw) is raw  # switched off for good: the function itself
    with capture_spans() as spans:
        assert maybe(1) == 1
        flag["on"] = True
        assert maybe(2) == 2
        assert never(3) == 3
    assert [s.input for s in spans] == [{"x": 2}]


def test_a_switch_that_raises_means_off_and_is_counted(lenient: None) -> None:
    from brokle_trace.capture import counters

    @observe(enabled=lambda: 1 / 0)
    def f() -> int:
        return 1

    before = counters()["callback_errors"]
    with capture_spans() as spans:
        assert f() == 1
    assert spans == []
    assert counters()["callback_errors"] == before + 1


def test_a_wrapped_client_inside_a_disabled_block_is_a_plain_call() -> None:
    import openai

    from brokle_trace import tracing_disabled, wrap_openai
    from brokle_trace.testing._fake_server import FakeLLMServer

    with FakeLLMServer() as server:
        client = wrap_openai(
            openai.OpenAI(base_url=server.url + "/v1", api_key="sk-test", max_retries=0)
        )
        with capture_spans() as spans, tracing_disabled():
            reply = client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
            )
    assert reply.choices[0].message.content
    assert spans == []
