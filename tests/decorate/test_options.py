"""Decorator options: one typed definition per decorator, checked when decorating."""

from __future__ import annotations

import pytest

from brokle_trace import observe, observe_llm, observe_retrieval
from brokle_trace.testing import capture_spans


@pytest.mark.parametrize(
    ("decorator", "option", "hint"),
    [
        (observe, "nme", "name"),
        (observe, "ignore_arg", "ignore_args"),
        (observe_llm, "modle", "model"),
        (observe_llm, "type", None),  # an LLM span's type is fixed
        (observe_retrieval, "topk", "top_k"),
        (observe_retrieval, "model", None),
    ],
)
def test_an_unknown_option_is_a_type_error_when_decorating(
    decorator: object, option: str, hint: str | None
) -> None:
    with pytest.raises(TypeError) as info:
        decorator(**{option: "x"})  # type: ignore[operator]
    message = str(info.value)
    assert repr(option) in message
    if hint is not None:
        assert f"did you mean {hint!r}" in message


def test_every_option_of_observe_is_accepted_and_used() -> None:
    @observe(
        name="renamed",
        type="tool",
        capture_inputs=True,
        capture_outputs=False,
        max_input_length=3,
        tags=["t"],
        user_id="u",
        session_id="s",
        metadata={"m": 1},
        ignore_args=["secret"],
        attributes={"a": 1},
        flush=True,
    )
    def fn(text: str, secret: str) -> str:
        return text

    with capture_spans() as spans:
        assert fn("abcdef", "pw") == "abcdef"
    (span,) = spans
    assert (span.name, span.type, span.user_id, span.session_id) == ("renamed", "tool", "u", "s")
    assert span.tags == ["t"] and span.metadata == {"m": 1} and span.attributes["a"] == 1
    assert set(span.input) == {"text"} and span.input["text"].startswith("abc")
    assert span.output is None


def test_llm_and_retrieval_options_reach_the_span() -> None:
    @observe_llm(name="ask", model="gpt-4o-mini", provider="openai", capture_content=False)
    def ask(prompt: str) -> str:
        return "answer"

    @observe_retrieval(index_name="docs", top_k=2, tags=["r"])
    def search(query: str) -> list[str]:
        return ["a", "b"]

    with capture_spans() as spans:
        ask("q")
        search("q")
    llm, retrieval = spans
    assert llm.type == "llm" and llm.input is None and llm.output is None
    assert llm.attributes["gen_ai.request.model"] == "gpt-4o-mini"
    assert retrieval.type == "retrieval" and retrieval.tags == ["r"]
    assert retrieval.attributes["gen_ai.request.top_k"] == 2
