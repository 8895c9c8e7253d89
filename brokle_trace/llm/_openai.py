"""``wrap_openai``: every call of an OpenAI client becomes an LLM (or embedding) span.

Nothing is imported from ``openai``: the wrapper reads responses by attribute name, so it
works with ``OpenAI``, ``AsyncOpenAI``, ``AzureOpenAI`` and OpenAI-compatible clients alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from brokle_trace import semconv
from brokle_trace.llm._hooks import summarize_vectors
from brokle_trace.llm._usage import read
from brokle_trace.llm._wrap import Operation, WrapOptions, check_wrap_arguments, wrap_client

__all__ = ["wrap_openai"]

C = TypeVar("C")


def _chat_content(kwargs: Mapping[str, Any]) -> Any:
    return {"messages": kwargs.get("messages")}


def _responses_content(kwargs: Mapping[str, Any]) -> Any:
    content = {"input": kwargs.get("input")}
    if kwargs.get("instructions") is not None:
        content["instructions"] = kwargs.get("instructions")
    return content


def _prompt_content(kwargs: Mapping[str, Any]) -> Any:
    return {"prompt": kwargs.get("prompt")}


def _embedding_content(kwargs: Mapping[str, Any]) -> Any:
    return {"input": kwargs.get("input")}


def _message(msg: Any) -> Any:
    content = read(msg, "content")
    calls = read(msg, "tool_calls") or ()
    if not calls:
        return content
    out: dict[str, Any] = {"role": "assistant", "content": content}
    functions = [read(c, "function") for c in calls]
    out["tool_calls"] = [
        {"name": read(f, "name"), "arguments": read(f, "arguments")} for f in functions
    ]
    return out


def _chat_output(result: Any) -> Any:
    choices = read(result, "choices") or ()
    outputs = [_message(read(choice, "message")) for choice in choices]
    return outputs[0] if len(outputs) == 1 else outputs


def _completion_output(result: Any) -> Any:
    texts = [read(choice, "text") for choice in read(result, "choices") or ()]
    return texts[0] if len(texts) == 1 else texts


def _responses_output(result: Any) -> Any:
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for item in read(result, "output") or ():
        kind = read(item, "type")
        if kind == "message":
            for part in read(item, "content") or ():
                text = read(part, "text")
                if isinstance(text, str):
                    texts.append(text)
        elif kind == "function_call":
            calls.append({"name": read(item, "name"), "arguments": read(item, "arguments")})
    text = "".join(texts)
    return {"content": text, "tool_calls": calls} if calls else text


def _embedding_output(result: Any) -> Any:
    summary = summarize_vectors(result)
    if summary is None:
        return None
    return {"embeddings": summary[0], "dimensions": summary[1]}


def _chat_metadata(result: Any) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    rid = read(result, "id")
    if isinstance(rid, str):
        attrs[semconv.GEN_AI_RESPONSE_ID] = rid
    reasons = [read(c, "finish_reason") for c in read(result, "choices") or ()]
    reasons = [r for r in reasons if isinstance(r, str)]
    if reasons:
        attrs[semconv.GEN_AI_RESPONSE_FINISH_REASONS] = reasons
    return attrs


def _responses_metadata(result: Any) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    rid = read(result, "id")
    if isinstance(rid, str):
        attrs[semconv.GEN_AI_RESPONSE_ID] = rid
    status = read(result, "status")
    if isinstance(status, str):
        attrs[semconv.GEN_AI_RESPONSE_FINISH_REASONS] = [status]
    return attrs


def _embedding_metadata(result: Any) -> dict[str, Any]:
    summary = summarize_vectors(result)
    return {semconv.GEN_AI_EMBEDDINGS_DIMENSION_COUNT: summary[1]} if summary else {}


_P = "openai"
CHAT = Operation(
    _P, "chat", content_of=_chat_content, output_of=_chat_output, metadata_of=_chat_metadata
)
CHAT_STREAM = Operation(_P, "chat", helper=True, content_of=_chat_content)
RESPONSES = Operation(
    _P,
    "chat",
    content_of=_responses_content,
    output_of=_responses_output,
    metadata_of=_responses_metadata,
)
RESPONSES_STREAM = Operation(_P, "chat", helper=True, content_of=_responses_content)
COMPLETIONS = Operation(
    _P,
    "text_completion",
    content_of=_prompt_content,
    output_of=_completion_output,
    metadata_of=_chat_metadata,
)
EMBEDDINGS = Operation(
    _P,
    "embeddings",
    span_type="embedding",
    content_of=_embedding_content,
    output_of=_embedding_output,
    metadata_of=_embedding_metadata,
)

#: The traced paths of an OpenAI client; everything else passes through untouched.
TREE: Mapping[str, Any] = {
    "chat": {"completions": {"create": CHAT, "parse": CHAT, "stream": CHAT_STREAM}},
    "responses": {"create": RESPONSES, "parse": RESPONSES, "stream": RESPONSES_STREAM},
    "completions": {"create": COMPLETIONS},
    "embeddings": {"create": EMBEDDINGS},
}


def wrap_openai(
    client: C,
    *,
    capture_content: bool | None = None,
    capture_metadata: bool = True,
    tags: Sequence[str] | None = None,
    session_id: str | None = None,
    user_id: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> C:
    """Trace an ``OpenAI`` / ``AsyncOpenAI`` client; use the result exactly like the client.

    ``chat.completions.create`` / ``parse`` / ``stream``, ``responses.create`` / ``parse`` /
    ``stream``, ``completions.create`` and ``embeddings.create`` become spans with model,
    parameters, usage, cost, time to first chunk (streams) and errors (with the HTTP status
    and OpenAI's error type). ``capture_content=False`` keeps prompts and completions out of
    the spans (default: the global input/output capture); ``capture_metadata=False`` drops
    request parameters and response ids. ``tags``, ``session_id``, ``user_id`` and
    ``metadata`` are set on every span the client creates.

    Example:
        >>> from brokle_trace import wrap_openai
        >>> class FakeClient:  # any OpenAI-shaped client; normally openai.OpenAI()
        ...     api_key = "sk-..."
        >>> client = wrap_openai(FakeClient(), tags=["chatbot"], capture_content=False)
        >>> client.api_key
        'sk-...'
    """
    check_wrap_arguments("wrap_openai", client, tags, metadata)
    options = WrapOptions(
        capture_content=capture_content,
        capture_metadata=capture_metadata,
        tags=tuple(tags or ()),
        session_id=session_id,
        user_id=user_id,
        metadata=dict(metadata) if metadata else None,
    )
    return wrap_client(client, TREE, options)  # type: ignore[no-any-return]
