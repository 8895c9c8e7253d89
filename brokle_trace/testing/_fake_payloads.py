"""Response bodies and stream events of the fake server, shaped like the real APIs' JSON."""

from __future__ import annotations

import itertools
import time
from typing import Any

__all__ = [
    "anthropic_events",
    "anthropic_message",
    "chat_chunks",
    "chat_completion",
    "response_events",
    "response_object",
]

_ids = itertools.count(1)


def _id(prefix: str) -> str:
    return f"{prefix}_fake{next(_ids):06d}"


def chat_completion(model: str, text: str, usage: dict[str, Any]) -> dict[str, Any]:
    """A ``chat.completion`` object."""
    return {
        "id": _id("chatcmpl"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": None},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": usage,
    }


def chat_chunks(model: str, pieces: list[str], usage: dict[str, Any] | None) -> list[Any]:
    """``chat.completion.chunk`` objects: role, one per piece, finish, then usage if asked."""
    cid, created = _id("chatcmpl"), int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
        return {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    chunks: list[Any] = [chunk({"role": "assistant", "content": ""}, None)]
    chunks += [chunk({"content": piece}, None) for piece in pieces]
    chunks.append(chunk({}, "stop"))
    if usage is not None:
        chunks.append(
            {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [],
                "usage": usage,
            }
        )
    return chunks


def _message_item(item_id: str, text: str, status: str) -> dict[str, Any]:
    return {
        "type": "message",
        "id": item_id,
        "status": status,
        "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }


def response_object(
    model: str,
    text: str,
    usage: dict[str, Any] | None,
    *,
    rid: str | None = None,
    status: str = "completed",
    item_id: str | None = None,
) -> dict[str, Any]:
    """A Responses API ``response`` object."""
    output = [] if status == "in_progress" else [_message_item(item_id or _id("msg"), text, status)]
    return {
        "id": rid or _id("resp"),
        "object": "response",
        "created_at": int(time.time()),
        "status": status,
        "model": model,
        "output": output,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": usage,
    }


def response_events(model: str, pieces: list[str], usage: dict[str, Any]) -> list[dict[str, Any]]:
    """The Responses API stream: created, item/part added, text deltas, done, completed."""
    rid, item_id, text = _id("resp"), _id("msg"), "".join(pieces)
    seq = itertools.count()
    part0 = {"type": "output_text", "text": "", "annotations": []}
    events: list[dict[str, Any]] = [
        {
            "type": "response.created",
            "response": response_object(model, "", None, rid=rid, status="in_progress"),
        },
        {
            "type": "response.output_item.added",
            "output_index": 0,
            "item": {**_message_item(item_id, "", "in_progress"), "content": []},
        },
        {
            "type": "response.content_part.added",
            "item_id": item_id,
            "output_index": 0,
            "content_index": 0,
            "part": part0,
        },
    ]
    events += [
        {
            "type": "response.output_text.delta",
            "item_id": item_id,
            "output_index": 0,
            "content_index": 0,
            "delta": piece,
            "logprobs": [],
        }
        for piece in pieces
    ]
    events += [
        {
            "type": "response.output_text.done",
            "item_id": item_id,
            "output_index": 0,
            "content_index": 0,
            "text": text,
            "logprobs": [],
        },
        {
            "type": "response.content_part.done",
            "item_id": item_id,
            "output_index": 0,
            "content_index": 0,
            "part": {**part0, "text": text},
        },
        {
            "type": "response.output_item.done",
            "output_index": 0,
            "item": _message_item(item_id, text, "completed"),
        },
        {
            "type": "response.completed",
            "response": response_object(model, text, usage, rid=rid, item_id=item_id),
        },
    ]
    for event in events:
        event["sequence_number"] = next(seq)
    return events


def anthropic_message(model: str, text: str, usage: dict[str, Any]) -> dict[str, Any]:
    """An Anthropic ``message`` object."""
    return {
        "id": _id("msg"),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": usage,
    }


def anthropic_events(model: str, pieces: list[str], usage: dict[str, Any]) -> list[dict[str, Any]]:
    """Anthropic's message stream: start, text block deltas, message_delta usage, stop."""
    start = anthropic_message(model, "", {**usage, "output_tokens": 1})
    start["content"] = []
    start["stop_reason"] = None
    events: list[dict[str, Any]] = [
        {"type": "message_start", "message": start},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "ping"},
    ]
    events += [
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}}
        for p in pieces
    ]
    events += [
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": usage["output_tokens"]},
        },
        {"type": "message_stop"},
    ]
    return events
