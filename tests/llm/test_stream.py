"""Streaming through decorated generators: TTFT on a controlled clock, chunks, output, usage."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import anthropic.types as at
import pytest
from openai.types.chat import ChatCompletionChunk

from brokle_trace import observe_llm
from brokle_trace._trace import clock as _clock
from brokle_trace.testing import capture_spans


class Clock:
    """The core's clock, moved by hand: ``now`` is what the next reading returns."""

    def __init__(self) -> None:
        self.now = 1_000_000_000

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(_clock, "time_ns", c)
    return c


def test_ttft_chunks_and_joined_text(clock: Clock) -> None:
    @observe_llm(name="story", model="gpt-4o", provider="openai")
    def story(prompt: str) -> Iterator[str]:
        clock.now += 250_000_000  # the first token takes 250 ms
        yield "Once"
        clock.now += 50_000_000
        yield " upon"
        yield " a time"

    with capture_spans() as spans:
        assert "".join(story("dragon")) == "Once upon a time"
    (span,) = spans
    assert span.attributes["gen_ai.response.time_to_first_chunk"] == pytest.approx(0.25)
    assert span.attributes["brokle.stream.chunks"] == 3
    assert span.output == "Once upon a time"
    assert span.duration_ns == 300_000_000


async def test_async_generator_ttft(clock: Clock) -> None:
    @observe_llm(name="astory", model="gpt-4o")
    async def astory() -> AsyncIterator[str]:
        clock.now += 120_000_000
        yield "a"
        yield "b"

    with capture_spans() as spans:
        assert [x async for x in astory()] == ["a", "b"]
    assert spans[0].attributes["gen_ai.response.time_to_first_chunk"] == pytest.approx(0.12)
    assert spans[0].output == "ab"


def _chunk(content: str | None, usage: dict[str, int] | None = None) -> ChatCompletionChunk:
    choices = [] if content is None else [{"index": 0, "delta": {"content": content}}]
    return ChatCompletionChunk.model_validate(
        {
            "id": "c",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "gpt-4o-mini-2024-07-18",
            "choices": choices,
            "usage": usage,
        }
    )


def test_openai_chunks_usage_from_the_final_chunk() -> None:
    @observe_llm(name="chat", provider="openai")
    def chat() -> Iterator[ChatCompletionChunk]:
        yield _chunk("Hel")
        yield _chunk("lo")
        yield _chunk(None, {"prompt_tokens": 1000, "completion_tokens": 2, "total_tokens": 1002})

    with capture_spans() as spans:
        list(chat())
    attrs = spans[0].attributes
    assert spans[0].output == "Hello"
    assert attrs["gen_ai.usage.input_tokens"] == 1000
    assert attrs["gen_ai.usage.output_tokens"] == 2
    assert attrs["gen_ai.response.model"] == "gpt-4o-mini-2024-07-18"
    assert attrs["brokle.cost.total_usd"] == pytest.approx(1000 * 0.15e-6 + 2 * 0.6e-6)


def _anthropic_events() -> list[Any]:
    message = {
        "id": "m",
        "type": "message",
        "role": "assistant",
        "content": [],
        "model": "claude-3-5-haiku-20241022",
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 20, "output_tokens": 1, "cache_read_input_tokens": 100},
    }
    return [
        at.RawMessageStartEvent.model_validate({"type": "message_start", "message": message}),
        at.RawContentBlockDeltaEvent.model_validate(
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": "Hi"},
            }
        ),
        at.RawContentBlockDeltaEvent.model_validate(
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": " there"},
            }
        ),
        at.RawMessageDeltaEvent.model_validate(
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn"},
                "usage": {"output_tokens": 9},
            }
        ),
    ]


def test_anthropic_events_usage_merged_across_start_and_delta() -> None:
    @observe_llm(name="claude", provider="anthropic")
    def claude() -> Iterator[Any]:
        yield from _anthropic_events()

    with capture_spans() as spans:
        list(claude())
    attrs = spans[0].attributes
    assert spans[0].output == "Hi there"
    assert attrs["gen_ai.usage.input_tokens"] == 120  # 20 fresh + 100 read from the cache
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 100
    assert attrs["gen_ai.usage.output_tokens"] == 9  # the final count wins
    assert attrs["gen_ai.response.model"] == "claude-3-5-haiku-20241022"


def test_reducer_builds_the_output() -> None:
    @observe_llm(name="tokens", reducer=lambda items: {"n": len(items), "last": items[-1]})
    def tokens() -> Iterator[int]:
        yield from (1, 2, 3)

    with capture_spans() as spans:
        list(tokens())
    assert spans[0].output == {"n": 3, "last": 3}


def test_capture_content_off_keeps_text_out() -> None:
    @observe_llm(name="secret", capture_content=False)
    def secret(prompt: str) -> Iterator[str]:
        yield "classified"

    with capture_spans() as spans:
        list(secret("top secret prompt"))
    assert spans[0].output is None and spans[0].input is None
    assert spans[0].attributes["brokle.stream.chunks"] == 1


def test_early_close_still_records_what_was_seen(clock: Clock) -> None:
    @observe_llm(name="long")
    def long() -> Iterator[str]:
        clock.now += 10_000_000
        yield from ("a", "b", "c")

    with capture_spans() as spans:
        gen = long()
        next(gen)
        gen.close()
    assert spans[0].attributes["gen_ai.response.time_to_first_chunk"] == pytest.approx(0.01)
    assert spans[0].attributes["brokle.stream.chunks"] == 1
    assert spans[0].output == "a"
    assert spans[0].status == "ok"
