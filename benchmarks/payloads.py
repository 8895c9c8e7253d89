"""The payloads of the real-shape scenarios (S4n, S6, S7), shared by run.py and callgrind.py.

Shapes are what LLM applications pass: OpenAI chat messages whose ``content`` is a list of
text parts, function-tool JSON schemas with nested ``parameters``, a chat.completion
response, retrieval documents with metadata. The text is ordinary English prose (not
``"x" * n``), so redaction scans and JSON escaping see realistic input.
"""

from __future__ import annotations

from typing import Any

S4N_PAYLOAD = {
    "text": "x" * 200_000,
    "items": [
        {"id": i, "text": "short", "score": 0.5, "tags": ["news", f"t{i % 7}"]} for i in range(1000)
    ],
}


# -- S6: a chat call with content parts and tool schemas ----------------------------------------

_SENTENCES = (
    "The quarterly revenue report shows a 12% increase in subscription income, driven mainly "
    "by the enterprise tier, while churn in the self-serve plan stayed flat at 3.1 percent. ",
    "Can you summarise the attached customer feedback and list the three most common "
    "complaints about onboarding, with one quote for each, in plain language please? ",
    "Sure. Most complaints concern the initial workspace setup: users could not find where "
    "to invite teammates, the SSO page timed out, and the sample data confused new admins. ",
    "Please check the weather in Lisbon for next Tuesday and book a table for four near the "
    "riverside if it will be sunny; otherwise suggest an indoor restaurant in Chiado. ",
)


def _text(i: int, size: int) -> str:
    out = ""
    while len(out) < size:
        out += _SENTENCES[(i + len(out)) % len(_SENTENCES)]
    return out[:size]


S6_MESSAGES: list[dict[str, Any]] = [
    {
        "role": ("system", "user", "assistant")[0 if i == 0 else 1 + (i + 1) % 2],
        "content": [{"type": "text", "text": _text(i, 200)}],
    }
    for i in range(10)
]

S6_TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the weather forecast for a city on a given date.",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string", "description": "City name, e.g. Lisbon"},
                    "date": {"type": "string", "format": "date"},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                },
                "required": ["city", "date"],
                "additionalProperties": False,
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "book_table",
            "description": "Book a restaurant table.",
            "parameters": {
                "type": "object",
                "properties": {
                    "restaurant_id": {"type": "string"},
                    "party_size": {"type": "integer", "minimum": 1, "maximum": 20},
                    "time": {"type": "string", "format": "date-time"},
                    "preferences": {
                        "type": "array",
                        "items": {"type": "string", "enum": ["outdoor", "quiet", "vegan"]},
                    },
                },
                "required": ["restaurant_id", "party_size", "time"],
            },
        },
    },
]

S6_RESPONSE: dict[str, Any] = {
    "id": "chatcmpl-9xYzAbCdEfGhIjKlMnOpQrStUv",
    "object": "chat.completion",
    "created": 1718000000,
    "model": "gpt-4o-2024-08-06",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": _text(2, 300),
                "tool_calls": [
                    {
                        "id": "call_Q1w2E3r4T5y6U7i8",
                        "type": "function",
                        "function": {
                            "name": "get_weather",
                            "arguments": '{"city": "Lisbon", "date": "2024-06-11"}',
                        },
                    }
                ],
                "refusal": None,
            },
            "logprobs": None,
            "finish_reason": "tool_calls",
        }
    ],
    "usage": {"prompt_tokens": 812, "completion_tokens": 64, "total_tokens": 876},
    "system_fingerprint": "fp_3aa7262c27",
}


# -- S7: a retrieval call returning documents ---------------------------------------------------

S7_DOCS: list[dict[str, Any]] = [
    {
        "id": f"doc-{i:04d}",
        "text": _text(i, 500),
        "score": round(0.92 - i * 0.031, 3),
        "metadata": {"source": f"handbook/section-{i % 4}.md", "page": 3 + i},
    }
    for i in range(10)
]
