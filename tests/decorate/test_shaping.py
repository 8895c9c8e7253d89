"""Shaping what is recorded: process_inputs / process_outputs / process_chunk / reduce, and
streams returned inside other objects (a streaming HTTP response)."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from brokle_trace import observe, observe_llm
from brokle_trace.capture import counters
from brokle_trace.testing import capture_spans
from tests.helpers import one


def test_process_inputs_and_outputs_shape_what_is_recorded() -> None:
    @observe(
        process_inputs=lambda inp: {k: v for k, v in inp.items() if k != "document"},
        process_outputs=lambda out: {"length": len(out)},
    )
    def summarize(document: str, style: str = "short") -> str:
        return document[:10]

    with capture_spans() as spans:
        assert summarize("a long document " * 10) == "a long doc"
    assert spans[0].input == {"style": "short"}
    assert spans[0].output == {"length": 10}


def test_processors_see_redacted_values_and_their_results_are_bounded_and_redacted() -> None:
    seen: list[Any] = []

    def peek(inp: Any) -> Any:
        seen.append(inp)
        return {"copied": inp["api_key"], "password": "hunter2", "blob": "x" * 100_000}

    @observe(process_inputs=peek)
    def call(api_key: str, q: str) -> str:
        return q

    with capture_spans() as spans:
        call("sk-live-1234567890abcdef", "hi")
    assert seen == [{"api_key": "[REDACTED:api_key]", "q": "hi"}]  # never the raw secret
    recorded = spans[0].input
    assert recorded["copied"] == "[REDACTED:api_key]"
    assert recorded["password"] == "[REDACTED:password]"
    assert len(recorded["blob"]) < 20_000 and "TRUNCATED" in recorded["blob"]


class Cancelled(BaseException):
    pass


def _cancel(value: Any) -> Any:
    raise Cancelled


@pytest.mark.parametrize("failure", [lambda v: 1 / 0, _cancel], ids=["Exception", "Base"])
def test_a_failing_processor_fails_closed_and_is_counted(failure: Any, lenient: None) -> None:
    @observe(process_inputs=failure, process_outputs=failure)
    def handle(secret_doc: str) -> str:
        return "private answer"

    before = counters()["callback_errors"]
    with capture_spans() as spans:
        assert handle("private text") == "private answer"
        assert handle("again") == "private answer"  # the worker survived
    assert [s.input for s in spans] == ["[REDACTED:process_inputs_error]"] * 2
    assert [s.output for s in spans] == ["[REDACTED:process_outputs_error]"] * 2
    assert counters()["callback_errors"] == before + 4


def test_process_outputs_applies_to_update_and_to_generator_output() -> None:
    @observe(process_outputs=lambda out: {"n": len(out)})
    def by_hand() -> None:
        from brokle_trace import update_current_span

        update_current_span(output=[1, 2, 3])

    @observe(process_outputs=lambda out: out[-1])
    def gen() -> Iterator[str]:
        yield "a"
        yield "b"

    with capture_spans() as spans:
        by_hand()
        assert list(gen()) == ["a", "b"]
    assert [s.output for s in spans] == [{"n": 3}, "b"]


def test_process_chunk_and_reduce_on_generators() -> None:
    @observe(process_chunk=lambda chunk: chunk["delta"], reduce="".join)
    def stream() -> Iterator[dict[str, str]]:
        yield {"delta": "Hel", "id": "1"}
        yield {"delta": "lo", "id": "2"}

    @observe(process_chunk=str.upper)
    def words() -> Iterator[str]:
        yield from ("a", "b")

    @observe(reduce=lambda items: sum(items))
    def numbers() -> Iterator[int]:
        yield from range(5)

    with capture_spans() as spans:
        assert [c["delta"] for c in stream()] == ["Hel", "lo"]  # the caller gets the chunks
        assert list(words()) == ["a", "b"]
        assert list(numbers()) == [0, 1, 2, 3, 4]
    assert [s.output for s in spans] == ["Hello", ["A", "B"], 10]


async def test_process_chunk_and_reduce_on_async_generators() -> None:
    @observe(process_chunk=lambda c: c * 2, reduce=list)
    async def agen() -> AsyncIterator[int]:
        for i in range(3):
            yield i

    with capture_spans() as spans:
        assert [x async for x in agen()] == [0, 1, 2]
    assert spans[0].output == [0, 2, 4]


def test_a_failing_reduce_fails_closed(lenient: None) -> None:
    @observe(reduce=lambda items: 1 / 0)
    def gen() -> Iterator[int]:
        yield 1

    with capture_spans() as spans:
        assert list(gen()) == [1]
    assert spans[0].output == "[REDACTED:reduce_error]"


def test_observe_llm_takes_reduce_as_its_reducer() -> None:
    @observe_llm(reduce=lambda chunks: f"{len(chunks)} chunks")
    def stream() -> Iterator[str]:
        yield from ("a", "b")

    with capture_spans() as spans:
        assert list(stream()) == ["a", "b"]
    assert spans[0].output == "2 chunks"
    with pytest.raises(TypeError, match="not both"):
        observe_llm(reduce=list, reducer=list)


# -- streams returned inside other objects -----------------------------------------------------


async def _tokens() -> AsyncIterator[str]:
    for token in ("Hello", ", ", "world"):
        await asyncio.sleep(0)
        yield token


@observe
async def chat_endpoint(request: Request) -> StreamingResponse:
    return StreamingResponse(_tokens(), media_type="text/plain")


async def _get(app: Any, path: str) -> bytes:
    """One GET through the app's ASGI interface, as a server drives it."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [],
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 5000),
    }
    await app(scope, receive, send)
    assert sent[0]["status"] == 200
    return b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


async def test_a_streaming_response_keeps_its_span_open_until_the_body_is_sent() -> None:
    app = Starlette(routes=[Route("/chat", chat_endpoint)])
    with capture_spans() as spans:
        body = await _get(app, "/chat")
    assert body == b"Hello, world"
    span = one(spans, "chat_endpoint")
    assert span.output == ["Hello", ", ", "world"]
    assert span.attributes["brokle.stream.attribute"] == "body_iterator"
    assert span.attributes["brokle.generator.items"] == 3
    assert span.end_time_ns - span.start_time_ns > 0


def test_a_streaming_response_never_sent_still_ends_its_span() -> None:
    @observe
    def endpoint() -> StreamingResponse:
        return StreamingResponse(iter(["a"]))  # sync content: wrapped by Starlette

    @observe
    def sync_stream_holder() -> Any:
        class Body:
            def __init__(self) -> None:
                self.chunks = (c for c in "ab")

        return Body()

    with capture_spans() as spans:
        response = endpoint()
        holder = sync_stream_holder()
        assert list(holder.chunks) == ["a", "b"]
        del response
        gc.collect()
    assert {s.name for s in spans} == {"endpoint", "sync_stream_holder"}
    assert one(spans, "sync_stream_holder").output == ["a", "b"]


def test_an_sdk_stream_returned_by_an_llm_function_is_traced_until_consumed() -> None:
    import openai

    from brokle_trace.testing._fake_server import FakeLLMServer

    with FakeLLMServer() as server:
        server.reply = "Hello there"
        client = openai.OpenAI(base_url=server.url + "/v1", api_key="sk-test", max_retries=0)

        @observe_llm(provider="openai")
        def chat(prompt: str) -> Any:
            return client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": prompt}], stream=True
            )

        with capture_spans() as spans:
            stream = chat("hi")
            text = "".join(
                chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices
            )
    assert text == "Hello there"
    span = one(spans, "chat")
    assert span.output == "Hello there"
    assert span.attributes["brokle.stream.chunks"] >= 2
    assert "gen_ai.response.time_to_first_chunk" in span.attributes


def test_a_type_without_a_stream_in_its_first_instances_is_no_longer_looked_at() -> None:
    from brokle_trace._decorate import generators

    class Reply:
        def __init__(self, body: Any) -> None:
            self.body = body

    @observe
    def answer(streaming: bool) -> Reply:
        return Reply((c for c in "ab") if streaming else "ab")

    with capture_spans() as spans:
        for _ in range(generators.GIVE_UP):
            answer(False)
        late = answer(True)
        assert list(late.body) == ["a", "b"]
    # Documented: the 17th instance is not looked at, so the span ended at return.
    assert spans[-1].output == {"body": "<generator: not consumed>"}
