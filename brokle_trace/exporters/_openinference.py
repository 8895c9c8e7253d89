"""OpenInference's structured view of our spans: chat messages and retrieved documents.

Phoenix (and other OpenInference backends) render a prompt from ``llm.input_messages.*``
and a retrieval from ``retrieval.documents.*``; ``input.value`` alone shows as raw JSON.
These are built from the span's exported ``input``/``output``, which capture already
redacted and cut, and are bounded here in count.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["MAX_DOCUMENTS", "MAX_MESSAGES", "openinference_attributes"]

#: Messages rendered per direction, documents per retrieval, content parts per message (the
#: rest stay in ``input.value``/``output.value``; each costs attributes of the 128 allowed).
MAX_MESSAGES = 16
MAX_DOCUMENTS = 16
_MAX_PARTS = 8


def _json(value: Any) -> str:
    import orjson

    return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


def _input_messages(value: Any) -> list[Any] | None:
    if isinstance(value, Mapping):
        value = value.get("messages", value.get("input"))
    if (
        isinstance(value, list)
        and value
        and all(isinstance(m, Mapping) and "role" in m for m in value[:MAX_MESSAGES])
    ):
        return value
    return None


def _output_messages(value: Any) -> list[Any] | None:
    if isinstance(value, str):
        return [{"role": "assistant", "content": value}]
    if isinstance(value, Mapping):
        choices = value.get("choices")
        if isinstance(choices, list):  # OpenAI chat completion
            return [c["message"] for c in choices if isinstance(c, Mapping) and "message" in c]
        if isinstance(value.get("content"), list) and "role" in value:  # Anthropic message
            return [value]
        output = value.get("output")
        if isinstance(output, list):  # OpenAI Responses
            return [o for o in output if isinstance(o, Mapping) and o.get("type") == "message"]
        return None
    return _input_messages(value)


def _parts(content: Any) -> list[tuple[str, str]]:
    """(type, text) of each part of a content list (OpenAI, Anthropic, GenAI shapes)."""
    out = []
    for part in content:
        if isinstance(part, str):
            out.append(("text", part))
        elif isinstance(part, Mapping):
            text = part.get("text", part.get("content"))
            kind = str(part.get("type", "text"))
            if kind in ("output_text", "input_text"):
                kind = "text"
            if isinstance(text, str):
                out.append((kind, text))
    return out


def _message(out: dict[str, Any], prefix: str, message: Mapping[str, Any]) -> None:
    role = message.get("role")
    if isinstance(role, str):
        out[f"{prefix}.message.role"] = role
    content = message.get("content", message.get("parts"))
    if isinstance(content, str):
        out[f"{prefix}.message.content"] = content
    elif isinstance(content, list):
        parts = _parts(content)
        if len(parts) == 1 and parts[0][0] == "text":
            out[f"{prefix}.message.content"] = parts[0][1]
        for j, (kind, text) in enumerate(parts[:_MAX_PARTS]):
            base = f"{prefix}.message.contents.{j}.message_content"
            out[f"{base}.type"] = kind
            out[f"{base}.text"] = text


def _documents(out: dict[str, Any], value: Any) -> None:
    if not isinstance(value, list):
        return
    for i, doc in enumerate(value[:MAX_DOCUMENTS]):
        prefix = f"retrieval.documents.{i}.document"
        if isinstance(doc, str):
            out[f"{prefix}.content"] = doc
            continue
        if not isinstance(doc, Mapping):
            continue
        for key in ("id", "content", "score"):
            item = doc.get(key)
            if isinstance(item, (str, int, float)) and not isinstance(item, bool):
                out[f"{prefix}.{key}"] = str(item) if key == "id" else item
        metadata = doc.get("metadata")
        if metadata:
            out[f"{prefix}.metadata"] = _json(metadata)


def openinference_attributes(span: Any, own: Mapping[str, Any]) -> dict[str, Any]:
    """``llm.input_messages.*``/``llm.output_messages.*`` of a chat-shaped LLM span and
    ``retrieval.documents.*`` of a retrieval span, unless ``own`` attributes have them.

    Example:
        >>> from brokle_trace import SpanData
        >>> span = SpanData(name="ask", trace_id="1" * 32, span_id="2" * 16, type="llm",
        ...                 start_time_ns=1, end_time_ns=2, output="4",
        ...                 input={"messages": [{"role": "user", "content": "2+2?"}]})
        >>> sorted(openinference_attributes(span, {}).items())[:2]
        [('llm.input_messages.0.message.content', '2+2?'), \
('llm.input_messages.0.message.role', 'user')]
    """
    out: dict[str, Any] = {}
    if span.type == "retrieval":
        if "retrieval.documents.0.document.content" not in own:
            _documents(out, span.output)
        return out
    for key, messages in (
        ("llm.input_messages", _input_messages(span.input)),
        ("llm.output_messages", _output_messages(span.output)),
    ):
        if messages is None or f"{key}.0.message.role" in own:
            continue
        for i, message in enumerate(messages[:MAX_MESSAGES]):
            if isinstance(message, Mapping):
                _message(out, f"{key}.{i}", message)
    return out
