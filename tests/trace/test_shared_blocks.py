"""One ``trace_context`` / ``tracing_disabled`` object used for several blocks at once (a
module-level ``QUIET = tracing_disabled()``): each block ends where it ends, whatever else
entered the same object, nested, from another task or from another thread."""

from __future__ import annotations

import asyncio
import threading

from brokle_trace import get_current_span, observe, start_span, trace_context, tracing_disabled
from brokle_trace.testing import capture_spans

SHARED = trace_context(session_id="shared")
QUIET = tracing_disabled()


@observe
def work(tag: str) -> str:
    return tag


@observe
async def awork(tag: str) -> str:
    await asyncio.sleep(0.005)
    return tag


def _sessions(spans: list) -> dict[str, str | None]:  # type: ignore[type-arg]
    return {s.input["tag"]: s.session_id for s in spans}


def test_the_same_block_object_nested_in_itself_ends_each_block() -> None:
    with capture_spans() as spans:
        with SHARED:
            with SHARED:
                work("inner")
            work("outer")
        work("after")
    assert _sessions(spans) == {"inner": "shared", "outer": "shared", "after": None}


async def test_a_block_object_shared_by_overlapping_tasks_does_not_outlive_either() -> None:
    async def request(ctx: trace_context, tag: str, delay: float) -> None:
        await asyncio.sleep(delay)
        async with ctx:
            await asyncio.sleep(0.02)  # the other task enters and leaves meanwhile
            await awork(tag)
        await awork(tag + "-after")

    with capture_spans() as spans:
        await asyncio.gather(request(SHARED, "a", 0), request(SHARED, "b", 0.005))
    assert _sessions(spans) == {"a": "shared", "a-after": None, "b": "shared", "b-after": None}
    with capture_spans() as spans:
        await asyncio.gather(request(QUIET, "x", 0), request(QUIET, "y", 0.005), awork("z"))
    assert sorted(_sessions(spans)) == ["x-after", "y-after", "z"]


def test_a_block_object_shared_by_threads_does_not_outlive_either() -> None:
    entered = threading.Barrier(2)

    def request(tag: str) -> None:
        with SHARED:
            entered.wait()  # both inside the same object's block
            work(tag)
            entered.wait()
        work(tag + "-after")

    with capture_spans() as spans:
        threads = [threading.Thread(target=request, args=(t,)) for t in ("p", "q")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert _sessions(spans) == {"p": "shared", "p-after": None, "q": "shared", "q-after": None}


async def test_one_start_span_object_entered_twice_ends_both_spans() -> None:
    block = start_span("poll")
    with capture_spans() as spans:
        with block as outer, block as inner:
            assert inner is not outer
        assert get_current_span() is None

        async def poll(delay: float) -> None:
            await asyncio.sleep(delay)
            async with block:
                await asyncio.sleep(0.02)

        await asyncio.gather(poll(0), poll(0.005))
        assert get_current_span() is None
    assert [s.name for s in spans] == ["poll"] * 4
    first, second = spans[:2]
    assert first.parent_span_id == second.span_id  # the inner one ended first, inside
