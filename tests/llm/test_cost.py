"""Cost: known, aliased, dated and unknown models; user prices; cache rates; roll-ups."""

from __future__ import annotations

from typing import Any

import pytest

import brokle_trace
from brokle_trace import ConfigError, observe, observe_llm
from brokle_trace.llm import Usage, compute_cost, resolve_price, unpriced_models
from brokle_trace.testing import capture_spans

MILLION = Usage(input_tokens=1_000_000, output_tokens=1_000_000)


@pytest.mark.parametrize(
    ("model", "total"),
    [
        ("gpt-4o", 12.5),
        ("gpt-4o-mini", 0.75),
        ("claude-3-5-sonnet", 18.0),
        ("gemini-2.5-flash", 2.8),
        ("mistral-large", 8.0),
    ],
)
def test_known_models(model: str, total: float) -> None:
    cost = compute_cost(model, MILLION)
    assert cost is not None and cost.total_usd == pytest.approx(total)


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("gpt-4o-2024-08-06", "gpt-4o"),  # dated variant
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("gpt-3.5-turbo-0125", "gpt-3.5-turbo"),
        ("claude-3-5-sonnet-20241022", "claude-3-5-sonnet"),
        ("claude-3-5-sonnet-latest", "claude-3-5-sonnet"),
        ("claude-sonnet-4-0", "claude-sonnet-4"),  # published alias
        ("anthropic.claude-3-5-sonnet-20241022-v2:0", "claude-3-5-sonnet"),  # Bedrock id
        ("openai/gpt-4.1", "gpt-4.1"),  # router prefix
        ("models/gemini-1.5-pro-002", "gemini-1.5-pro"),
        ("mistral-large-2411", "mistral-large"),
        ("GPT-4o", "gpt-4o"),
    ],
)
def test_aliases_and_dated_variants_resolve(name: str, canonical: str) -> None:
    assert resolve_price(name) is not None
    assert resolve_price(name) == resolve_price(canonical)


def test_no_prefix_guessing_for_unknown_variants() -> None:
    # gpt-4o-mini must not be priced as gpt-4o, nor an unknown model as its nearest name.
    assert resolve_price("gpt-4o-mini") != resolve_price("gpt-4o")
    assert resolve_price("gpt-4o-ultra") is None
    assert resolve_price("my-finetune") is None


def test_unknown_model_has_no_cost_and_is_counted() -> None:
    before = unpriced_models().get("acme-secret-model", 0)

    @observe_llm(name="mystery", provider="acme")
    def mystery() -> dict[str, Any]:
        return {"model": "acme-secret-model", "usage": {"input_tokens": 5, "output_tokens": 5}}

    with capture_spans() as spans:
        mystery()
    attrs = spans[0].attributes
    assert "brokle.cost.total_usd" not in attrs  # no cost, not a made-up zero
    assert attrs["brokle.cost.unpriced"] is True
    assert unpriced_models()["acme-secret-model"] == before + 1


def test_cached_input_is_priced_at_the_cache_rates() -> None:
    # Anthropic Sonnet: 3.0 input, 0.30 cache read, 3.75 cache write per million.
    usage = Usage(input_tokens=1_000_000, output_tokens=0, cache_read_tokens=500_000,
                  cache_creation_tokens=100_000)
    cost = compute_cost("claude-3-5-sonnet-20241022", usage)
    assert cost is not None
    assert cost.input_usd == pytest.approx(0.4 * 3.0 + 0.5 * 0.30 + 0.1 * 3.75)


def test_configure_prices_adds_and_overrides() -> None:
    brokle_trace.configure(
        exporter="none",
        strict=True,
        prices={
            "acme-1": {"input": 1.0, "output": 2.0},
            "gpt-4o": {"input": 100.0, "output": 100.0},
            "acme-1-fast": "acme-1",
        },
    )
    assert compute_cost("acme-1", MILLION).total_usd == pytest.approx(3.0)  # type: ignore[union-attr]
    assert compute_cost("acme-1-fast", MILLION).total_usd == pytest.approx(3.0)  # type: ignore[union-attr]
    assert compute_cost("gpt-4o", MILLION).total_usd == pytest.approx(200.0)  # type: ignore[union-attr]
    brokle_trace.configure(exporter="none", strict=True)
    assert compute_cost("gpt-4o", MILLION).total_usd == pytest.approx(12.5)  # type: ignore[union-attr]
    assert compute_cost("acme-1", MILLION) is None


@pytest.mark.parametrize(
    "prices",
    [
        {"m": {"input": 1.0}},
        {"m": {"input": -1, "output": 1}},
        {"m": {"input": 1, "output": 1, "cachd": 1}},
        {"m": 3},
        ["m"],
    ],
)
def test_bad_prices_are_a_clear_config_error(prices: Any) -> None:
    with pytest.raises(ConfigError, match="prices"):
        brokle_trace.configure(exporter="none", prices=prices)


def test_prices_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BROKLE_PRICES", '{"env-model": {"input": 2, "output": 2}}')
    brokle_trace.configure(exporter="none", strict=True)
    assert compute_cost("env-model", MILLION).total_usd == pytest.approx(4.0)  # type: ignore[union-attr]


def test_totals_roll_up_to_the_root_span() -> None:
    @observe_llm(name="a", model="gpt-4o-mini")
    def a() -> dict[str, Any]:
        return {"usage": {"prompt_tokens": 1000, "completion_tokens": 100}}

    @observe_llm(name="b", model="who-knows")
    def b() -> dict[str, Any]:
        return {"usage": {"prompt_tokens": 10, "completion_tokens": 1}}

    @observe(name="step")
    def step() -> None:
        a()
        b()

    @observe(name="root")
    def root() -> None:
        step()
        a()

    with capture_spans() as spans:
        root()
    by_name = {s.name: s for s in spans}
    one_a = 1000 * 0.15e-6 + 100 * 0.60e-6
    root_attrs = by_name["root"].attributes
    assert root_attrs["brokle.rollup.input_tokens"] == 2010
    assert root_attrs["brokle.rollup.output_tokens"] == 201
    assert root_attrs["brokle.rollup.cost_usd"] == pytest.approx(2 * one_a)
    assert root_attrs["brokle.rollup.llm_calls"] == 3
    assert root_attrs["brokle.rollup.unpriced_calls"] == 1
    assert by_name["step"].attributes["brokle.rollup.llm_calls"] == 2


def test_an_llm_span_around_llm_calls_is_not_counted_twice() -> None:
    @observe_llm(name="inner", model="gpt-4o-mini")
    def inner() -> dict[str, Any]:
        return {"usage": {"prompt_tokens": 100, "completion_tokens": 10}}

    @observe_llm(name="outer", model="gpt-4o-mini")
    def outer() -> dict[str, Any]:
        return inner()  # the same response, handed up

    @observe(name="root")
    def root() -> None:
        outer()

    with capture_spans() as spans:
        root()
    root_span = next(s for s in spans if s.name == "root")
    assert root_span.attributes["brokle.rollup.input_tokens"] == 100
    assert root_span.attributes["brokle.rollup.llm_calls"] == 1
    outer_span = next(s for s in spans if s.name == "outer")
    assert outer_span.attributes["gen_ai.usage.input_tokens"] == 100  # still shown


def test_recording_usage_twice_does_not_double_count() -> None:
    @observe_llm(name="twice", model="gpt-4o-mini")
    def twice() -> dict[str, Any]:
        brokle_trace.update_current_span(usage={"input_tokens": 50, "output_tokens": 5})
        return {"usage": {"input_tokens": 60, "output_tokens": 6}}

    @observe(name="root")
    def root() -> None:
        twice()

    with capture_spans() as spans:
        root()
    root_span = next(s for s in spans if s.name == "root")
    assert root_span.attributes["brokle.rollup.input_tokens"] == 60
    assert root_span.attributes["brokle.rollup.llm_calls"] == 1


def test_a_dated_snapshot_with_its_own_price_wins_over_its_family() -> None:
    assert resolve_price("gpt-4o-2024-05-13") != resolve_price("gpt-4o")
    assert resolve_price("gpt-4o-2024-11-20") == resolve_price("gpt-4o")
