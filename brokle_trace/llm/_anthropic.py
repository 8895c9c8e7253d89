"""``wrap_anthropic``: every ``messages`` call of an Anthropic client becomes an LLM span.

Nothing is imported from ``anthropic``; responses are read by attribute name. Anthropic's
``input_tokens`` excludes cached tokens: the span's ``gen_ai.usage.input_tokens`` adds cache
reads and writes back in (GenAI convention), and they are priced at their own rates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from brokle_trace import semconv
from brokle_trace.llm._usage import read
from brokle_trace.llm._wrap import Operation, WrapOptions, check_wrap_arguments, wrap_client

__all__ = ["wrap_anthropic"]

C = TypeVar("C")


def _content(kwargs: Mapping[str, Any]) -> Any:
    content: dict[str, Any] = {"messages": kwargs.get("messages")}
    if kwargs.get("system") is not None:
        content["system"] = kwargs.get("system")
    return content


def _output(result: Any) -> Any:
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for block in read(result, "content") or ():
        kind = read(block, "type")
        if kind == "text":
            text = read(block, "text")
            if isinstance(text, str):
                texts.append(text)
        elif kind == "tool_use":
            calls.append({"name": read(block, "name"), "arguments": read(block, "input")})
    text = "".join(texts)
    return {"content": text, "tool_calls": calls} if calls else text


def _metadata(result: Any) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    rid = read(result, "id")
    if isinstance(rid, str):
        attrs[semconv.GEN_AI_RESPONSE_ID] = rid
    reason = read(result, "stop_reason")
    if isinstance(reason, str):
        attrs[semconv.GEN_AI_RESPONSE_FINISH_REASONS] = [reason]
    return attrs


_P = "anthropic"
MESSAGES = Operation(_P, "chat", content_of=_content, output_of=_output, metadata_of=_metadata)
MESSAGES_STREAM = Operation(_P, "chat", helper=True, content_of=_content)

#: The traced paths of an Anthropic client; everything else passes through untouched.
TREE: Mapping[str, Any] = {
    "messages": {"create": MESSAGES, "parse": MESSAGES, "stream": MESSAGES_STREAM},
    "beta": {"messages": {"create": MESSAGES, "parse": MESSAGES, "stream": MESSAGES_STREAM}},
}


def wrap_anthropic(
    client: C,
    *,
    capture_content: bool | None = None,
    capture_metadata: bool = True,
    tags: Sequence[str] | None = None,
    session_id: str | None = None,
    user_id: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> C:
    """Trace an ``Anthropic`` / ``AsyncAnthropic`` client; use the result exactly like it.

    ``messages.create`` (also with ``stream=True``), ``messages.parse`` and the
    ``messages.stream(...)`` helper become LLM spans with model, parameters, usage
    (including cache reads and writes), cost, time to first chunk and errors (HTTP status and
    Anthropic's error type, e.g. ``overloaded_error``). Options as in
    :func:`~brokle_trace.wrap_openai`.

    Example:
        >>> from brokle_trace import wrap_anthropic
        >>> class FakeClient:  # normally anthropic.Anthropic()
        ...     max_retries = 2
        >>> wrap_anthropic(FakeClient(), session_id="s-1").max_retries
        2
    """
    check_wrap_arguments("wrap_anthropic", client, tags, metadata)
    options = WrapOptions(
        capture_content=capture_content,
        capture_metadata=capture_metadata,
        tags=tuple(tags or ()),
        session_id=session_id,
        user_id=user_id,
        metadata=dict(metadata) if metadata else None,
    )
    return wrap_client(client, TREE, options)  # type: ignore[no-any-return]
