"""A third-party LLM span priced on the export worker with nothing above it to roll up to
skips the cost cell and ``finish`` (``llm._deferred.finish_request``): its exported span
(attributes, their order, cost, the unpriced marker and count) equals the reference
route's (``foreign.PRICE_DIRECT = False``) for every convention's usage, priced, unpriced
and user-priced models; and the shortcut fires."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.trace import TracerProvider

from brokle_trace import capture
from brokle_trace._export import foreign
from brokle_trace._export.convert import Resource
from brokle_trace.llm import _cost
from brokle_trace.llm._deferred import DEFERRED, CostCell, deferred_of
from brokle_trace.llm._usage import Usage
from tests.parity.fired import Fired, run

_PROVIDER = TracerProvider()
_SETTINGS = capture.CaptureSettings()
_MODEL = st.sampled_from(
    [
        "gpt-4o-mini",
        "gpt-4o-mini-2024-07-18",
        "claude-3-5-sonnet-20241022",
        "no-such-model-pricing-parity",
        "mine-priced",
    ]
)
_COUNT = st.one_of(st.none(), st.integers(0, 5000), st.sampled_from(["12", 3.0]))


@st.composite
def _attributes(draw: Any) -> dict[str, Any]:
    """Usage, model and provider in one of the conventions the worker reads."""
    convention = draw(st.sampled_from(["openinference", "genai", "traceloop"]))
    inp, out = draw(_COUNT), draw(_COUNT)
    model = draw(_MODEL)
    provider = draw(st.sampled_from([None, "openai", "Anthropic", "nobody"]))
    if convention == "openinference":
        attrs: dict[str, Any] = {
            "openinference.span.kind": draw(st.sampled_from(["LLM", "EMBEDDING", "CHAIN"])),
            "llm.model_name": model,
            "llm.token_count.prompt": inp,
            "llm.token_count.completion": out,
            "llm.token_count.prompt_details.cache_read": draw(_COUNT),
            "llm.provider": provider,
        }
    else:
        attrs = {
            "gen_ai.operation.name": draw(st.sampled_from(["chat", "embeddings", "x"])),
            "gen_ai.request.model": model,
            "gen_ai.response.model": draw(st.none() | _MODEL),
            "gen_ai.usage.input_tokens": inp,
            "gen_ai.usage.output_tokens": out,
            "gen_ai.provider.name" if convention == "genai" else "gen_ai.system": provider,
        }
        if convention == "traceloop":
            attrs["traceloop.span.kind"] = "task"
    attrs["input.value"] = draw(st.text(max_size=20))
    return {k: v for k, v in attrs.items() if v is not None}


def _record(attributes: dict[str, Any], extra: dict[str, Any]) -> tuple[Any, ...]:
    span = _PROVIDER.get_tracer("openinference.instrumentation.openai").start_span(
        "chat", attributes=attributes
    )
    span.end()
    return foreign.foreign_record(span, None, None, extra)


def _exported(record: tuple[Any, ...], direct: bool, monkeypatch: Any) -> Any:
    monkeypatch.setattr(foreign, "PRICE_DIRECT", direct)
    before = _cost.unpriced_models()
    # The record's extra is the worker's own: each route gets a fresh copy.
    fresh = (*record[:10], dict(record[10]), *record[11:])
    data = foreign.to_span_data(fresh, _SETTINGS, Resource())
    after = _cost.unpriced_models()
    counted = {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
    return list(data.attributes.items()), data.model_dump(exclude={"attributes"}), counted


def test_direct_pricing_equals_the_cost_cell_route(monkeypatch: pytest.MonkeyPatch) -> None:
    real = foreign._load_finish_request()
    _cost.set_user_prices({"mine-priced": {"input": 1.0, "output": 2.0}})

    @settings(max_examples=200, deadline=None)
    @given(attributes=_attributes(), subtree=st.booleans())
    def prop(fired: Fired, attributes: dict[str, Any], subtree: bool) -> None:
        extra: dict[str, Any] = {}
        if subtree:  # a finished child's cost rolled up into it: the reference route, always
            cell = CostCell()
            cell.request = (("gpt-4o-mini",), "openai", Usage(10, 5), None, None)
            deferred_of(extra).cells.append(cell)
        record = _record(attributes, extra)
        reference = _exported(record, False, monkeypatch)
        took: list[bool] = []

        def spy(attrs: dict[str, Any], request: tuple[Any, ...]) -> None:
            took.append(True)
            real(attrs, request)

        monkeypatch.setattr(foreign, "_finish_request", spy)
        direct = _exported(record, True, monkeypatch)
        monkeypatch.setattr(foreign, "_finish_request", real)
        assert direct == reference
        assert DEFERRED not in dict(direct[0])
        if subtree:
            assert not took
        fired.example(bool(took))

    try:
        run(lambda fired: prop(fired), min_share=0.2)
    finally:
        _cost.set_user_prices(None)


def test_a_failing_price_is_an_internal_error_and_the_span_still_exports(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from brokle_trace._runtime import errors
    from brokle_trace.llm import _deferred

    monkeypatch.setattr(errors, "strict", False)  # as in production: counted, not raised

    def broken(*args: Any) -> Any:
        raise RuntimeError("price source broke")

    monkeypatch.setattr(_deferred, "price_of", broken)
    record = _record(
        {
            "openinference.span.kind": "LLM",
            "llm.model_name": "gpt-4o-mini",
            "llm.token_count.prompt": 3,
            "llm.token_count.completion": 4,
        },
        {},
    )
    routes = []
    for direct in (False, True):
        before = errors.error_counts().get("price_span", 0)
        routes.append(_exported(record, direct, monkeypatch))
        assert errors.error_counts().get("price_span", 0) == before + 1
    assert routes[0] == routes[1]
    attrs = dict(routes[1][0])
    assert attrs["gen_ai.usage.input_tokens"] == 3
    assert "brokle.cost.total_usd" not in attrs
