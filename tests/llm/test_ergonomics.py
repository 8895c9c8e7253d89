"""What users of LLM tracing reach for: provider by hand, top_k from the call, tool
descriptions and schemas, the OpenInference span kinds, a level on the decorator."""

from __future__ import annotations

import enum
import json
from typing import Literal

import pydantic
import pytest

from brokle_trace import observe, observe_llm, observe_retrieval, update_current_llm
from brokle_trace.semconv import to_otel_attributes
from brokle_trace.testing import capture_spans


def test_update_current_llm_records_the_provider() -> None:
    @observe_llm
    def ask(prompt: str) -> str:
        update_current_llm(model="mistral-large", provider="mistral", temperature=0.3)
        return "ok"

    with capture_spans() as spans:
        ask("hi")
    attrs = spans[0].attributes
    assert attrs["gen_ai.provider.name"] == "mistral"
    assert attrs["gen_ai.response.model"] == "mistral-large"
    assert attrs["gen_ai.request.temperature"] == 0.3


def test_update_current_llm_with_an_unknown_field_says_so() -> None:
    @observe_llm
    def ask() -> None:
        update_current_llm(modle="typo")

    with capture_spans(), pytest.raises(TypeError, match="modle"):  # strict mode: raised
        ask()


def test_top_k_passed_as_an_argument_is_recorded_on_retrieval_spans() -> None:
    @observe_retrieval(index_name="docs", top_k=10)
    def search(query: str, top_k: int = 5) -> list[str]:
        return ["a"] * top_k

    @observe_retrieval
    def plain(query: str, top_k: int = 4) -> list[str]:
        return []

    with capture_spans() as spans:
        search("refunds", top_k=3)
        plain("q")
    assert spans[0].attributes["gen_ai.request.top_k"] == 3  # the call's, not the default
    assert spans[1].attributes["gen_ai.request.top_k"] == 4


class Units(enum.Enum):
    CELSIUS = "celsius"
    FAHRENHEIT = "fahrenheit"


class Location(pydantic.BaseModel):
    city: str
    country: str | None = None


def get_weather(
    location: Location,
    units: Units = Units.CELSIUS,
    days: int = 1,
    detail: Literal["brief", "full"] = "brief",
    include: list[str] | None = None,
) -> dict[str, object]:
    """Get the weather forecast for a location.

    Uses the national weather service where available.

    Args:
        location: Where to forecast.
        units: Temperature units.
        days: How many days ahead, 1 to 7.
        detail: How much to say.
        include: Extra fields, e.g. ["wind",
            "humidity"].

    Returns:
        The forecast.
    """
    return {"city": location.city, "days": days}


def test_a_tool_span_records_its_description_and_parameter_schema() -> None:
    tool = observe(type="tool")(get_weather)
    with capture_spans() as spans:
        tool(Location(city="Lyon"), days=2)
    attrs = spans[0].attributes
    assert attrs["gen_ai.tool.name"] == "get_weather"
    assert attrs["gen_ai.tool.description"] == (
        "Get the weather forecast for a location.\n\n"
        "Uses the national weather service where available."
    )
    schema = json.loads(attrs["tool.parameters"])
    props = schema["properties"]
    assert schema["required"] == ["location"]
    assert props["location"]["properties"]["city"] == {"title": "City", "type": "string"}
    assert props["units"] == {
        "enum": ["celsius", "fahrenheit"],
        "description": "Temperature units.",
    }
    assert props["days"] == {
        "type": "integer",
        "description": "How many days ahead, 1 to 7.",
        "default": 1,
    }
    assert props["detail"]["enum"] == ["brief", "full"]
    assert props["include"]["anyOf"] == [
        {"type": "array", "items": {"type": "string"}},
        {"type": "null"},
    ]
    assert props["include"]["description"] == 'Extra fields, e.g. ["wind", "humidity"].'
    otel, _ = to_otel_attributes(spans[0])
    assert otel["openinference.span.kind"] == "TOOL"
    assert otel["tool.name"] == "get_weather"
    assert otel["tool.description"].startswith("Get the weather forecast")


def test_a_tool_with_rest_docstring_and_no_annotations() -> None:
    @observe(type="tool")
    def lookup(key, default=None):  # type: ignore[no-untyped-def]
        """Look a key up.

        :param key: the key to find
        :param default: returned when missing
        """
        return default

    with capture_spans() as spans:
        lookup("k")
    schema = json.loads(spans[0].attributes["tool.parameters"])
    assert schema == {
        "type": "object",
        "properties": {
            "key": {"description": "the key to find"},
            "default": {"description": "returned when missing", "default": None},
        },
        "required": ["key"],
    }
    assert spans[0].attributes["gen_ai.tool.description"] == "Look a key up."


@pytest.mark.parametrize(
    ("kind", "openinference"),
    [("reranker", "RERANKER"), ("guardrail", "GUARDRAIL"), ("evaluator", "EVALUATOR")],
)
def test_the_openinference_span_kinds(kind: str, openinference: str) -> None:
    @observe(type=kind)  # type: ignore[arg-type]
    def step() -> int:
        return 1

    with capture_spans() as spans:
        step()
    assert spans[0].type == kind
    assert to_otel_attributes(spans[0])[0]["openinference.span.kind"] == openinference


def test_a_level_on_the_decorator() -> None:
    @observe(level="debug")
    def chatty() -> None:
        pass

    @observe(level="error")
    def alarm() -> None:
        pass

    with capture_spans() as spans:
        chatty()
        alarm()
    assert [(s.level, s.status) for s in spans] == [("debug", "ok"), ("error", "error")]
