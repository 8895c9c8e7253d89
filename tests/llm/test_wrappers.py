"""wrap_openai / wrap_anthropic end to end: the real SDK clients against the loopback fake."""

from __future__ import annotations

from typing import Any

import anthropic
import openai
import pytest

import brokle_trace
from brokle_trace import observe, wrap_anthropic, wrap_openai
from brokle_trace.testing import capture_spans
from brokle_trace.testing._fake_server import FakeLLMServer

MESSAGES = [{"role": "user", "content": "what is the refund policy"}]


def only(spans: list[Any], type: str = "llm") -> Any:
    found = [s for s in spans if s.type == type]
    assert len(found) == 1, [s.name for s in spans]
    return found[0]


def assert_llm(span: Any, provider: str, model: str) -> dict[str, Any]:
    attrs = span.attributes
    assert span.status == "ok"
    assert span.name == f"chat {model}"
    assert attrs["gen_ai.provider.name"] == provider
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.request.model"] == model
    assert attrs["gen_ai.usage.input_tokens"] > 0
    assert attrs["gen_ai.usage.output_tokens"] > 0
    assert attrs["brokle.cost.total_usd"] > 0
    return attrs  # type: ignore[no-any-return]


# -- the client keeps its interface ---------------------------------------------------------------


def test_wrapped_client_is_the_client(openai_client: Any, anthropic_client: Any) -> None:
    wrapped = wrap_openai(openai_client)
    assert isinstance(wrapped, openai.OpenAI)
    assert wrapped.api_key == "sk-test" and wrapped.max_retries == 0
    assert wrap_openai(wrapped) is wrapped  # idempotent
    assert isinstance(wrap_anthropic(anthropic_client), anthropic.Anthropic)
    with wrap_openai(openai_client) as entered:
        assert isinstance(entered, openai.OpenAI)
        with capture_spans() as spans:
            entered.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert only(spans).name == "chat gpt-4o"  # the context manager hands back the proxy


def test_with_options_stays_traced(openai_client: Any) -> None:
    client = wrap_openai(openai_client).with_options(timeout=5.0)
    with capture_spans() as spans:
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert only(spans).attributes["gen_ai.request.model"] == "gpt-4o"


# -- OpenAI ---------------------------------------------------------------------------------------


def test_openai_chat_sync(openai_client: Any, server: FakeLLMServer) -> None:
    server.response_models["gpt-4o-mini"] = "gpt-4o-mini-2024-07-18"
    client = wrap_openai(openai_client, tags=["prod"], user_id="u1", session_id="s1")
    with capture_spans() as spans:
        reply = client.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, temperature=0.2, max_tokens=50, stop=["END"]
        )
    assert reply.choices[0].message.content == "echo: what is the refund policy"
    span = only(spans)
    attrs = assert_llm(span, "openai", "gpt-4o-mini")
    assert attrs["gen_ai.response.model"] == "gpt-4o-mini-2024-07-18"  # dated -> priced
    assert attrs["gen_ai.request.temperature"] == 0.2
    assert attrs["gen_ai.request.max_tokens"] == 50
    assert attrs["gen_ai.request.stop_sequences"] == ["END"]
    assert attrs["gen_ai.response.finish_reasons"] == ["stop"]
    assert span.input == {"messages": MESSAGES}
    assert span.output == "echo: what is the refund policy"
    assert (span.tags, span.user_id, span.session_id) == (["prod"], "u1", "s1")


async def test_openai_chat_async(async_openai_client: Any) -> None:
    client = wrap_openai(async_openai_client)
    with capture_spans() as spans:
        reply = await client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert reply.choices[0].message.content.startswith("echo:")
    assert_llm(only(spans), "openai", "gpt-4o")


def test_openai_chat_stream_true(openai_client: Any) -> None:
    client = wrap_openai(openai_client)
    with capture_spans() as spans:
        stream = client.chat.completions.create(
            model="gpt-4o", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    span = only(spans)
    attrs = assert_llm(span, "openai", "gpt-4o")
    assert span.output == text == "echo: what is the refund policy"
    assert attrs["gen_ai.request.stream"] is True
    assert attrs["gen_ai.response.time_to_first_chunk"] > 0
    assert attrs["brokle.stream.chunks"] == 9  # role, 6 words, finish, usage


async def test_openai_chat_stream_async(async_openai_client: Any) -> None:
    client = wrap_openai(async_openai_client)
    with capture_spans() as spans:
        stream = await client.chat.completions.create(
            model="gpt-4o", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
        async for _ in stream:
            pass
    assert_llm(only(spans), "openai", "gpt-4o")


def test_openai_chat_stream_helper(openai_client: Any) -> None:
    client = wrap_openai(openai_client)
    with (
        capture_spans() as spans,
        client.chat.completions.stream(
            model="gpt-4o", messages=MESSAGES, stream_options={"include_usage": True}
        ) as stream,
    ):
        for _ in stream:
            pass
        final = stream.get_final_completion()
    span = only(spans)
    assert_llm(span, "openai", "gpt-4o")
    assert span.output == final.choices[0].message.content


async def test_openai_chat_stream_helper_async(async_openai_client: Any) -> None:
    client = wrap_openai(async_openai_client)
    with capture_spans() as spans:
        async with client.chat.completions.stream(
            model="gpt-4o", messages=MESSAGES, stream_options={"include_usage": True}
        ) as stream:
            await stream.until_done()
    assert_llm(only(spans), "openai", "gpt-4o")


def test_openai_responses(openai_client: Any) -> None:
    client = wrap_openai(openai_client)
    with capture_spans() as spans:
        response = client.responses.create(model="gpt-4.1", input="summarise the policy")
        stream = client.responses.create(model="gpt-4.1", input="stream it", stream=True)
        for _ in stream:
            pass
        with client.responses.stream(model="gpt-4.1", input="helper") as helper:
            helper.until_done()
    assert len(spans) == 3
    first, streamed, helped = spans
    assert assert_llm(first, "openai", "gpt-4.1")["gen_ai.response.id"] == response.id
    assert first.output == response.output_text
    assert assert_llm(streamed, "openai", "gpt-4.1")["gen_ai.response.time_to_first_chunk"] > 0
    assert streamed.output == "echo: stream it"
    assert_llm(helped, "openai", "gpt-4.1")


async def test_openai_responses_async(async_openai_client: Any) -> None:
    client = wrap_openai(async_openai_client)
    with capture_spans() as spans:
        await client.responses.create(model="gpt-4.1", input="hello")
    assert_llm(only(spans), "openai", "gpt-4.1")


def test_openai_embeddings(openai_client: Any) -> None:
    client = wrap_openai(openai_client)
    with capture_spans() as spans:
        result = client.embeddings.create(model="text-embedding-3-small", input=["a b", "c"])
    span = only(spans, "embedding")
    assert len(result.data) == 2
    assert span.name == "embeddings text-embedding-3-small"
    assert span.attributes["gen_ai.operation.name"] == "embeddings"
    assert span.attributes["gen_ai.usage.input_tokens"] == 3
    assert span.attributes["gen_ai.embeddings.dimension.count"] == 8
    assert span.output == {"embeddings": 2, "dimensions": 8}


@pytest.mark.parametrize(
    ("status", "error", "kind"),
    [
        (500, openai.InternalServerError, "server_error"),
        (429, openai.RateLimitError, "rate_limit_exceeded"),
    ],
)
def test_openai_error_span(
    openai_client: Any, server: FakeLLMServer, status: int, error: type[Exception], kind: str
) -> None:
    server.fail_next("/v1/chat/completions", status)
    client = wrap_openai(openai_client)
    with capture_spans() as spans, pytest.raises(error):
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    span = only(spans)
    assert span.status == "error"
    assert span.error is not None and span.error.type == error.__name__
    assert span.attributes["http.response.status_code"] == status
    assert span.attributes["error.type"] == error.__name__
    assert span.attributes["brokle.provider.error_type"] == kind


# -- Anthropic ------------------------------------------------------------------------------------


def test_anthropic_messages_sync(anthropic_client: Any, server: FakeLLMServer) -> None:
    server.cache_read_tokens = 100
    client = wrap_anthropic(anthropic_client)
    with capture_spans() as spans:
        message = client.messages.create(
            model="claude-3-5-haiku-20241022",
            max_tokens=100,
            system="be brief",
            messages=MESSAGES,
            stop_sequences=["END"],
        )
    span = only(spans)
    attrs = assert_llm(span, "anthropic", "claude-3-5-haiku-20241022")
    raw = message.usage
    assert attrs["gen_ai.usage.input_tokens"] == raw.input_tokens + 100
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 100
    assert attrs["gen_ai.request.stop_sequences"] == ["END"]
    assert attrs["gen_ai.response.finish_reasons"] == ["end_turn"]
    assert span.input == {"messages": MESSAGES, "system": "be brief"}
    assert span.output == message.content[0].text


async def test_anthropic_messages_async(async_anthropic_client: Any) -> None:
    client = wrap_anthropic(async_anthropic_client)
    with capture_spans() as spans:
        await client.messages.create(model="claude-3-5-haiku", max_tokens=10, messages=MESSAGES)
    assert_llm(only(spans), "anthropic", "claude-3-5-haiku")


def test_anthropic_stream_true(anthropic_client: Any) -> None:
    client = wrap_anthropic(anthropic_client)
    with capture_spans() as spans:
        stream = client.messages.create(
            model="claude-3-5-haiku", max_tokens=10, messages=MESSAGES, stream=True
        )
        for _ in stream:
            pass
    span = only(spans)
    attrs = assert_llm(span, "anthropic", "claude-3-5-haiku")
    assert attrs["gen_ai.usage.output_tokens"] == 6  # from message_delta, not message_start
    assert span.output == "echo: what is the refund policy"


def test_anthropic_stream_helper(anthropic_client: Any) -> None:
    client = wrap_anthropic(anthropic_client)
    with (
        capture_spans() as spans,
        client.messages.stream(
            model="claude-sonnet-4-5", max_tokens=10, messages=MESSAGES
        ) as stream,
    ):
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    span = only(spans)
    assert_llm(span, "anthropic", "claude-sonnet-4-5")
    assert span.output == text == final.content[0].text  # no doubled text from helper events


async def test_anthropic_stream_helper_async(async_anthropic_client: Any) -> None:
    client = wrap_anthropic(async_anthropic_client)
    with capture_spans() as spans:
        async with client.messages.stream(
            model="claude-sonnet-4-5", max_tokens=10, messages=MESSAGES
        ) as stream:
            async for _ in stream.text_stream:
                pass
    assert_llm(only(spans), "anthropic", "claude-sonnet-4-5")


def test_anthropic_overloaded_error(anthropic_client: Any, server: FakeLLMServer) -> None:
    server.fail_next("/v1/messages", 529)
    client = wrap_anthropic(anthropic_client)
    with capture_spans() as spans, pytest.raises(anthropic.APIStatusError):
        client.messages.create(model="claude-sonnet-4-5", max_tokens=10, messages=MESSAGES)
    span = only(spans)
    assert span.status == "error"
    assert span.attributes["http.response.status_code"] == 529
    assert span.attributes["brokle.provider.error_type"] == "overloaded_error"


# -- switches, early exits and the fallback chain -------------------------------------------------


def test_capture_content_off(openai_client: Any) -> None:
    client = wrap_openai(openai_client, capture_content=False, capture_metadata=False)
    with capture_spans() as spans:
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES, temperature=0.5)
    span = only(spans)
    assert span.input is None and span.output is None
    assert "gen_ai.request.temperature" not in span.attributes
    assert_llm(span, "openai", "gpt-4o")  # model, usage and cost stay


def test_stream_closed_early_ends_the_span(anthropic_client: Any) -> None:
    client = wrap_anthropic(anthropic_client)
    with capture_spans() as spans:
        with client.messages.create(
            model="claude-3-5-haiku", max_tokens=10, messages=MESSAGES, stream=True
        ) as stream:
            for _ in stream:
                break
        assert len(stream.__dict__) > 0  # still referenced: the span ended through close()
    span = only(spans)
    assert span.status == "ok"
    assert span.attributes["brokle.stream.chunks"] == 1


def test_disabled_tracing_passes_through(openai_client: Any) -> None:
    brokle_trace.configure(exporter="none", strict=True, enabled=False)
    client = wrap_openai(openai_client)
    with capture_spans() as spans:
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert spans == []


def test_fallback_chain_reads_as_siblings(
    openai_client: Any, anthropic_client: Any, server: FakeLLMServer
) -> None:
    server.fail_next("/v1/messages", 529)
    claude, gpt = wrap_anthropic(anthropic_client), wrap_openai(openai_client)

    @observe(name="answer")
    def answer(question: str) -> str:
        try:
            reply = claude.messages.create(
                model="claude-sonnet-4-5",
                max_tokens=100,
                messages=[{"role": "user", "content": question}],
            )
            return str(reply.content[0].text)
        except anthropic.APIStatusError:
            result = gpt.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": question}]
            )
            return str(result.choices[0].message.content)

    with capture_spans() as spans:
        assert answer("hello") == "echo: hello"
    failed, fallback, parent = spans
    assert parent.name == "answer" and parent.status == "ok"
    assert failed.parent_span_id == fallback.parent_span_id == parent.span_id
    assert failed.status == "error" and failed.attributes["gen_ai.provider.name"] == "anthropic"
    assert fallback.status == "ok" and fallback.attributes["gen_ai.provider.name"] == "openai"
    assert parent.attributes["brokle.rollup.llm_calls"] == 1
    assert (
        parent.attributes["brokle.rollup.cost_usd"] == fallback.attributes["brokle.cost.total_usd"]
    )


def test_a_stream_dropped_unread_still_ends_its_span(openai_client: Any) -> None:
    import gc

    client = wrap_openai(openai_client)
    with capture_spans() as spans:
        stream = client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
        stream.response.close()
        del stream
        gc.collect()
    span = only(spans)
    assert span.status == "ok" and span.attributes["brokle.stream.chunks"] == 0
