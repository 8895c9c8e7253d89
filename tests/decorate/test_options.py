"""Decorator options: one typed definition per decorator, checked when decorating."""

from __future__ import annotations

from typing import Any

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


# -- values are checked when decorating, naming the option ----------------------------------------


@pytest.mark.parametrize(
    ("decorator", "options", "error", "says"),
    [
        (observe, {"tags": "prod"}, TypeError, "tags"),
        (observe, {"tags": ["ok", 3]}, TypeError, "tags"),
        (observe, {"ignore_args": "document"}, TypeError, "ignore_args"),
        (observe, {"metadata": "x"}, TypeError, "metadata"),
        (observe, {"attributes": ["a"]}, TypeError, "attributes"),
        (observe, {"user_id": 42}, TypeError, "user_id"),
        (observe, {"capture_inputs": "yes"}, TypeError, "capture_inputs"),
        (observe, {"max_input_length": 0}, ValueError, "max_input_length"),
        (observe, {"max_output_length": "10"}, TypeError, "max_output_length"),
        (observe, {"serializer": "json"}, TypeError, "serializer"),
        (observe, {"flush": "yes"}, TypeError, "flush"),
        (observe, {"type": "tools"}, ValueError, "type"),
        (observe, {"level": "fatal"}, ValueError, "level"),
        (observe, {"enabled": "no"}, TypeError, "enabled"),
        (observe, {"exceptions_to_handle": "NotFound"}, TypeError, "exceptions_to_handle"),
        (observe, {"process_inputs": {}}, TypeError, "process_inputs"),
        (observe_llm, {"model": 4}, TypeError, "model"),
        (observe_retrieval, {"top_k": -1}, ValueError, "top_k"),
        (observe_retrieval, {"top_k": True}, TypeError, "top_k"),
    ],
)
def test_a_bad_value_is_a_clear_error_when_decorating(
    decorator: object, options: dict[str, object], error: type[Exception], says: str
) -> None:
    with pytest.raises(error) as info:
        decorator(**options)  # type: ignore[operator]
    assert f"({says}=" in str(info.value)


def test_ignore_args_must_name_parameters_of_the_function() -> None:
    decorate = observe(ignore_args=["documnet"])
    with pytest.raises(ValueError, match=r"'documnet'.*parameters: query, document"):

        @decorate
        def search(query: str, document: str) -> str:
            return query

    @observe(ignore_args=["api_key"])  # may arrive through **kwargs: accepted
    def passthrough(**kwargs: str) -> None:
        pass

    with capture_spans() as spans:
        passthrough(api_key="k", q="x")
    assert spans[0].input == {"q": "x"}


def test_ignore_args_drops_the_argument() -> None:
    @observe(ignore_args=["document"])
    def summarize(document: str, style: str = "short") -> str:
        return style

    with capture_spans() as spans:
        summarize("private contract text")
    assert spans[0].input == {"style": "short"}


def test_wrap_openai_of_none_is_a_type_error() -> None:
    from brokle_trace import wrap_anthropic, wrap_openai

    with pytest.raises(TypeError, match="wrap_openai"):
        wrap_openai(None)  # type: ignore[type-var]
    with pytest.raises(TypeError, match="wrap_anthropic"):
        wrap_anthropic(None)  # type: ignore[type-var]


def test_observe_above_contextmanager_warns_and_explains_the_order() -> None:
    import contextlib

    with pytest.warns(UserWarning, match="below @contextmanager"):

        @observe
        @contextlib.contextmanager
        def wrong_order() -> Any:
            yield

    @contextlib.contextmanager
    @observe
    def right_order() -> Any:
        yield "inside"

    with capture_spans() as spans, right_order() as value:
        assert value == "inside"
    assert [s.name for s in spans] == ["right_order"]


def _plain(query: str, k: int = 3) -> str:
    return query


@pytest.mark.parametrize(
    ("options", "error", "named"),
    [
        ({"type": ["tool"]}, ValueError, "type"),  # was "unhashable type: 'list'"
        ({"level": {"error"}}, ValueError, "level"),
        ({"name": ""}, ValueError, "name"),
        ({"enabled": lambda request: True}, TypeError, "enabled"),  # called with nothing
        ({"process_inputs": lambda: {}}, TypeError, "process_inputs"),
        ({"process_outputs": lambda out, extra: out}, TypeError, "process_outputs"),
        ({"reduce": lambda: ""}, TypeError, "reduce"),
        ({"serializer": lambda value: value}, TypeError, "serializer"),
        ({"name": lambda: "fixed"}, TypeError, "name"),  # called with query=, k=
        ({"name": lambda query: query}, TypeError, "name"),  # k is passed too
    ],
)
def test_options_that_would_fail_on_every_call_are_refused_when_decorating(
    options: dict[str, Any], error: type[Exception], named: str
) -> None:
    with pytest.raises(error) as info:
        observe(**options)(_plain)
    assert f"({named}=" in str(info.value)


def test_callbacks_that_fit_their_calls_are_accepted() -> None:
    @observe(
        name=lambda query, **_: f"search:{query}",
        enabled=lambda *a: True,
        process_inputs=dict,
        reduce="".join,  # a builtin: no signature to read, accepted
    )
    def search(query: str, k: int = 3) -> str:
        return query

    with capture_spans() as spans:
        assert search("q") == "q"
    assert spans[0].name == "search:q"


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"tags": "prod"}, "tags"),  # was ['p', 'r', 'o', 'd']
        ({"metadata": "x"}, "metadata"),  # was "dictionary update sequence element"
        ({"user_id": 7}, "user_id"),
        ({"session_id": ["s"]}, "session_id"),
        ({"new_trace": "yes"}, "new_trace"),
    ],
)
def test_start_span_checks_its_options_as_the_decorators_do(
    options: dict[str, Any], named: str
) -> None:
    from brokle_trace import start_span

    with pytest.raises(TypeError) as info:
        start_span("block", **options)
    assert f"start_span({named}=" in str(info.value)


@pytest.mark.parametrize(
    ("options", "named"),
    [({"user_id": 5}, "user_id"), ({"session_id": ["s"]}, "session_id"), ({"name": 3}, "name")],
)
def test_trace_context_checks_its_ids(options: dict[str, Any], named: str) -> None:
    from brokle_trace import trace_context

    with pytest.raises(TypeError) as info:
        trace_context(**options)
    assert f"trace_context({named}=" in str(info.value)
