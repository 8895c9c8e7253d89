"""The span tree through contextvars: tasks, gather, TaskGroups, threads, generators."""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from brokle_trace import (
    ContextThreadPoolExecutor,
    get_current_span,
    get_current_trace_id,
    observe,
    start_span,
    trace_context,
    update_current_trace,
    wrap_context,
)
from brokle_trace.testing import capture_spans
from tests.helpers import by_name, one, tree


@observe
async def leaf(i: int) -> int:
    await asyncio.sleep(0.001 * (i % 3))
    return i


async def test_gather_children_are_siblings_under_the_caller() -> None:
    @observe
    async def fan_out() -> list[int]:
        return list(await asyncio.gather(*(leaf(i) for i in range(10))))

    with capture_spans() as spans:
        assert await fan_out() == list(range(10))
    root = one(spans, "fan_out")
    leaves = by_name(spans, "leaf")
    assert len(leaves) == 10
    assert {s.parent_span_id for s in leaves} == {root.span_id}
    assert {s.trace_id for s in spans} == {root.trace_id}


async def test_siblings_do_not_leak_into_each_other_under_gather() -> None:
    @observe
    async def branch(name: str) -> str:
        await asyncio.sleep(0)
        inner_parent = get_current_span()
        await leaf(1)
        assert get_current_span() is inner_parent
        return name

    @observe
    async def root() -> None:
        await asyncio.gather(branch("a"), branch("b"), branch("c"))

    with capture_spans() as spans:
        await root()
    branches = {s.span_id for s in by_name(spans, "branch")}
    leaves = by_name(spans, "leaf")
    assert len(leaves) == 3
    assert {s.parent_span_id for s in leaves} == branches  # each leaf under its own branch


@pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.TaskGroup is new in 3.11")
async def test_taskgroup_children_nest_under_the_caller() -> None:
    @observe
    async def grouped() -> None:
        async with asyncio.TaskGroup() as tg:  # type: ignore[attr-defined]
            for i in range(5):
                tg.create_task(leaf(i))

    with capture_spans() as spans:
        await grouped()
    root = one(spans, "grouped")
    assert {s.parent_span_id for s in by_name(spans, "leaf")} == {root.span_id}


async def test_create_task_child_outliving_the_parent_keeps_its_parent() -> None:
    tasks: list[asyncio.Task[int]] = []

    @observe
    async def spawner() -> None:
        tasks.append(asyncio.create_task(leaf(2)))

    with capture_spans() as spans:
        await spawner()
        await tasks[0]
    assert one(spans, "leaf").parent_span_id == one(spans, "spawner").span_id


def test_thread_pool_without_helper_starts_new_traces() -> None:
    @observe
    def work(i: int) -> int:
        return i

    @observe
    def submit_plain() -> None:
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(work, range(3)))

    with capture_spans() as spans:
        submit_plain()
    # Plain pools do not copy contextvars: the work is not attached to the caller.
    assert all(s.parent_span_id is None for s in by_name(spans, "work"))


def test_context_thread_pool_nests_work_under_the_submitter() -> None:
    @observe
    def work(i: int) -> int:
        return i * 2

    @observe
    def submit() -> list[int]:
        with ContextThreadPoolExecutor(max_workers=3) as pool:
            futures = [pool.submit(work, i) for i in range(6)]
            return [f.result() for f in futures] + list(pool.map(work, [10]))

    with capture_spans() as spans:
        assert submit() == [0, 2, 4, 6, 8, 10, 20]
    root = one(spans, "submit")
    assert {s.parent_span_id for s in by_name(spans, "work")} == {root.span_id}
    assert {s.trace_id for s in spans} == {root.trace_id}


def test_wrap_context_for_threads_and_run_in_executor() -> None:
    @observe
    def work() -> None:
        return None

    @observe
    def parent() -> None:
        t = threading.Thread(target=wrap_context(work))
        t.start()
        t.join()

        async def via_loop() -> None:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, wrap_context(work))

        asyncio.run(via_loop())

    with capture_spans() as spans:
        parent()
    root = one(spans, "parent")
    assert [s.parent_span_id for s in by_name(spans, "work")] == [root.span_id] * 2


def test_trace_context_is_inherited_by_every_span_inside() -> None:
    @observe
    def child() -> None:
        return None

    @observe(user_id="decorator-user", tags=["inner"], metadata={"layer": "api"})
    def handler() -> None:
        child()

    with capture_spans() as spans:
        with trace_context(user_id="u-1", session_id="s-1", tags=["outer"], metadata={"a": 1}):
            handler()
        handler()  # outside the block: only the decorator's attributes
    first_child, first_handler, second_child, _second_handler = spans
    assert first_handler.user_id == "decorator-user"  # the nearer setting wins
    assert first_handler.session_id == "s-1"
    assert first_handler.tags == ["outer", "inner"]
    assert first_child.user_id == "decorator-user"
    assert first_child.tags == ["outer", "inner"]
    assert first_child.metadata == {"a": 1, "layer": "api"}
    assert second_child.session_id is None
    assert second_child.user_id == "decorator-user"
    assert second_child.tags == ["inner"]


def test_update_current_trace_reaches_open_ancestors_and_later_children() -> None:
    @observe
    def early() -> None:
        return None

    @observe
    def identify() -> None:
        update_current_trace(user_id="u-9", tags=["vip"])

    @observe
    def late() -> None:
        return None

    @observe
    def root() -> None:
        early()
        identify()
        late()

    with capture_spans() as spans:
        root()
    assert one(spans, "early").user_id is None  # ended before the update
    for name in ("identify", "late", "root"):
        assert one(spans, name).user_id == "u-9", name
        assert one(spans, name).tags == ["vip"], name


async def test_trace_context_is_isolated_between_concurrent_tasks() -> None:
    @observe
    async def request(user: str) -> str | None:
        with trace_context(user_id=user):
            await asyncio.sleep(0.001)
            await leaf(0)
        return None

    with capture_spans() as spans:
        await asyncio.gather(*(request(f"u{i}") for i in range(5)))
    leaves = by_name(spans, "leaf")
    requests = {s.span_id: s for s in by_name(spans, "request")}
    assert sorted(s.user_id or "" for s in leaves) == [f"u{i}" for i in range(5)]
    assert all(s.parent_span_id in requests for s in leaves)


def test_start_span_block_nests_and_records_errors() -> None:
    @observe
    def inner() -> None:
        return None

    with capture_spans() as spans:
        with start_span("outer-block", type="chain") as span:
            span.update(metadata={"k": 1})
            inner()
        with pytest.raises(ZeroDivisionError), start_span("failing-block"):
            _ = 1 / 0
    assert tree(spans) == [("outer-block", [("inner", [])]), ("failing-block", [])]
    assert one(spans, "outer-block").type == "chain"
    assert one(spans, "outer-block").metadata == {"k": 1}
    assert one(spans, "failing-block").status == "error"
    assert get_current_span() is None


async def test_start_span_async_with() -> None:
    with capture_spans() as spans:
        async with start_span("async-block"):
            await leaf(0)
    assert tree(spans) == [("async-block", [("leaf", [])])]


def test_current_trace_id_matches_exported_ids() -> None:
    seen: list[str | None] = []

    @observe
    def f() -> None:
        seen.append(get_current_trace_id())

    with capture_spans() as spans:
        f()
    assert seen == [spans[0].trace_id]
    assert get_current_trace_id() is None


# -- generators and context ----------------------------------------------------------------------


def test_generator_context_is_attached_only_around_each_step() -> None:
    observed: list[str | None] = []

    @observe
    def child() -> None:
        return None

    @observe
    def stream() -> Iterator[int]:
        span = get_current_span()
        observed.append(span.name if span else None)
        child()  # a child created inside a step nests under the generator span
        yield 1
        yield 2

    @observe
    def consumer() -> None:
        for _ in stream():
            # Between steps we are back in the consumer's span, not the generator's.
            span = get_current_span()
            observed.append(span.name if span else None)

    with capture_spans() as spans:
        consumer()
    assert observed == ["stream", "consumer", "consumer"]
    assert tree(spans) == [("consumer", [("stream", [("child", [])])])]


def test_interleaved_generators_keep_their_own_children() -> None:
    @observe
    def tag(label: str) -> str:
        return label

    @observe
    def producer(label: str) -> Iterator[str]:
        for _ in range(3):
            yield tag(label)

    with capture_spans() as spans:
        a, b = producer("a"), producer("b")
        for x, y in zip(a, b, strict=False):
            assert (x, y) == ("a", "b")
        b.close()  # zip stopped at the end of a; b is still suspended
    producers = {s.span_id: s.input["label"] for s in by_name(spans, "producer")}  # type: ignore[index]
    for t in by_name(spans, "tag"):
        assert producers[t.parent_span_id] == t.output  # type: ignore[index]


async def test_async_generator_consumed_from_another_task() -> None:
    @observe
    async def chunks() -> AsyncIterator[int]:
        for i in range(3):
            await leaf(i)
            yield i

    @observe
    async def owner() -> list[int]:
        agen = chunks()
        first = await agen.__anext__()

        async def drain() -> list[int]:
            return [first] + [x async for x in agen]

        return await asyncio.create_task(drain())

    with capture_spans() as spans:
        assert await owner() == [0, 1, 2]
    gen_span = one(spans, "chunks")
    assert gen_span.parent_span_id == one(spans, "owner").span_id
    assert {s.parent_span_id for s in by_name(spans, "leaf")} == {gen_span.span_id}
    assert get_current_span() is None


async def test_early_break_from_async_generator_leaves_no_stale_context() -> None:
    @observe
    async def numbers() -> AsyncIterator[int]:
        i = 0
        while True:
            yield i
            i += 1

    @observe
    async def consumer() -> None:
        agen = numbers()
        async for i in agen:
            if i == 3:
                break
        await agen.aclose()
        assert get_current_span() is not None and get_current_span().name == "consumer"  # type: ignore[union-attr]

    with capture_spans() as spans:
        await consumer()
    assert one(spans, "numbers").parent_span_id == one(spans, "consumer").span_id
