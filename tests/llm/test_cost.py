"""Cost: equal to genai-prices' own calculation across providers, cache rates, provider-aware
matching, dated names, unknown models, user overrides and roll-ups."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import genai_prices
import pytest

import brokle_trace
from brokle_trace import ConfigError, observe, observe_llm
from brokle_trace.llm import Usage, compute_cost, prices_as_of, unpriced_models
from brokle_trace.testing import capture_spans

MILLION = Usage(input_tokens=1_000_000, output_tokens=1_000_000)


def _when(span: Any) -> dt.datetime:
    return dt.datetime.fromtimestamp(span.start_time_ns / 1e9, tz=dt.timezone.utc)


def _library_total(response: dict[str, Any], provider: str, flavor: str, when: dt.datetime) -> Any:
    """genai-prices' own price of a provider's response body (its extractor, its snapshot)."""
    extracted = genai_prices.extract_usage(response, provider_id=provider, api_flavor=flavor)
    return extracted.calc_price(genai_request_timestamp=when)


# Real response bodies, as each provider's HTTP API returns them (usage as documented).
CASES: list[tuple[str, str, str, dict[str, Any], dict[str, Any] | None]] = [
    # (gen_ai.provider.name, genai-prices provider id, api flavour, body, REST twin or None)
    (
        "openai",
        "openai",
        "chat",
        {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "model": "gpt-4o-2024-08-06",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "hi"},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": 2200,
                "completion_tokens": 300,
                "total_tokens": 2500,
                "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
            },
        },
        None,
    ),
    (
        "anthropic",
        "anthropic",
        "default",
        {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "claude-3-5-sonnet-20241022",
            "content": [{"type": "text", "text": "hi"}],
            "usage": {
                "input_tokens": 50,
                "cache_creation_input_tokens": 2000,
                "cache_read_input_tokens": 10000,
                "output_tokens": 400,
            },
        },
        None,
    ),
    (
        "gcp.gemini",
        "google",
        "default",
        {
            # The google-genai SDK's field names; the REST twin below is what genai-prices reads.
            "model_version": "gemini-2.5-flash",
            "usage_metadata": {
                "prompt_token_count": 1000,
                "candidates_token_count": 200,
                "thoughts_token_count": 300,
                "cached_content_token_count": 400,
                "total_token_count": 1500,
            },
        },
        {
            "modelVersion": "gemini-2.5-flash",
            "usageMetadata": {
                "promptTokenCount": 1000,
                "candidatesTokenCount": 200,
                "thoughtsTokenCount": 300,
                "cachedContentTokenCount": 400,
                "totalTokenCount": 1500,
            },
        },
    ),
    (
        "mistral_ai",
        "mistral",
        "default",
        {
            "id": "cmpl-1",
            "object": "chat.completion",
            "model": "mistral-large-latest",
            "usage": {"prompt_tokens": 1000, "completion_tokens": 200, "total_tokens": 1200},
        },
        None,
    ),
    (
        "groq",
        "groq",
        "default",
        {
            "id": "chatcmpl-2",
            "object": "chat.completion",
            "model": "llama-3.1-8b-instant",
            "usage": {
                "queue_time": 0.02,
                "prompt_tokens": 5000,
                "prompt_time": 0.01,
                "completion_tokens": 700,
                "completion_time": 0.3,
                "total_tokens": 5700,
                "total_time": 0.31,
            },
            "x_groq": {"id": "req_1"},
        },
        None,
    ),
    (
        "deepseek",
        "deepseek",
        "chat",
        {
            "id": "c-3",
            "object": "chat.completion",
            "model": "deepseek-chat",
            "usage": {
                "prompt_tokens": 1000,
                "completion_tokens": 200,
                "total_tokens": 1200,
                "prompt_tokens_details": {"cached_tokens": 640},
                "prompt_cache_hit_tokens": 640,
                "prompt_cache_miss_tokens": 360,
            },
        },
        None,
    ),
    (
        "x_ai",
        "x-ai",
        "chat",
        {
            # xAI counts reasoning in the total but not in completion_tokens.
            "id": "c-4",
            "object": "chat.completion",
            "model": "grok-3-mini",
            "usage": {
                "prompt_tokens": 100,
                "completion_tokens": 50,
                "total_tokens": 350,
                "prompt_tokens_details": {"text_tokens": 100, "cached_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 200},
            },
        },
        None,
    ),
]


@pytest.mark.parametrize(
    ("provider", "lib_provider", "flavor", "body", "rest"), CASES, ids=[c[0] for c in CASES]
)
def test_cost_through_observe_llm_equals_genai_prices(
    provider: str,
    lib_provider: str,
    flavor: str,
    body: dict[str, Any],
    rest: dict[str, Any] | None,
) -> None:
    model = body.get("model") or body.get("model_version")

    @observe_llm(name="call", model=model, provider=provider)
    def call() -> dict[str, Any]:
        return body

    with capture_spans() as spans:
        call()
    (span,) = spans
    attrs = span.attributes
    want = _library_total(rest or body, lib_provider, flavor, _when(span))
    assert attrs["brokle.cost.total_usd"] == pytest.approx(float(want.total_price), abs=1e-9)
    assert attrs["brokle.cost.input_usd"] == pytest.approx(float(want.input_price), abs=1e-9)
    assert attrs["brokle.cost.model"] == want.model.id
    assert attrs["brokle.cost.prices_as_of"] == f"genai-prices {genai_prices.__version__}"
    assert "brokle.cost.deferred" not in attrs and "brokle.cost.unpriced" not in attrs


def test_cached_tokens_are_priced_at_the_cache_rates() -> None:
    # Anthropic: 10 000 cache reads at 0.1x and 2 000 cache writes at 1.25x the input rate.
    cached = compute_cost(
        "claude-3-5-sonnet-20241022",
        Usage(
            input_tokens=12_050,
            output_tokens=400,
            cache_read_tokens=10_000,
            cache_creation_tokens=2_000,
        ),
        provider="anthropic",
    )
    plain = compute_cost(
        "claude-3-5-sonnet-20241022",
        Usage(input_tokens=12_050, output_tokens=400),
        provider="anthropic",
    )
    lib = genai_prices.calc_price(
        genai_prices.Usage(
            input_tokens=12_050,
            output_tokens=400,
            cache_read_tokens=10_000,
            cache_write_tokens=2_000,
        ),
        "claude-3-5-sonnet-20241022",
        provider_id="anthropic",
    )
    assert cached is not None and plain is not None
    assert cached.total_usd == pytest.approx(float(lib.total_price))
    assert cached.input_usd < plain.input_usd


def test_openai_cached_prompt_tokens_through_the_wrapper(openai_client: Any, server: Any) -> None:
    server.cache_read_tokens = 1024
    client = brokle_trace.wrap_openai(openai_client)
    with capture_spans() as spans:
        response = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hello " * 50}]
        )
    attrs = spans[0].attributes
    usage = response.usage
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 1024
    want = genai_prices.calc_price(
        genai_prices.Usage(
            input_tokens=usage.prompt_tokens,
            cache_read_tokens=1024,
            output_tokens=usage.completion_tokens,
        ),
        "gpt-4o-mini",
        provider_id="openai",
        genai_request_timestamp=_when(spans[0]),
    )
    assert attrs["brokle.cost.total_usd"] == pytest.approx(float(want.total_price), abs=1e-9)
    assert attrs["brokle.cost.model"] == "gpt-4o-mini"


def test_anthropic_wrapper_cost_equals_the_library_on_its_response(
    anthropic_client: Any, server: Any
) -> None:
    server.cache_read_tokens = 300
    client = brokle_trace.wrap_anthropic(anthropic_client)
    with capture_spans() as spans:
        response = client.messages.create(
            model="claude-sonnet-4-5", max_tokens=64, messages=[{"role": "user", "content": "hi"}]
        )
    want = genai_prices.extract_usage(response.model_dump(), provider_id="anthropic").calc_price(
        genai_request_timestamp=_when(spans[0])
    )
    attrs = spans[0].attributes
    assert attrs["brokle.cost.total_usd"] == pytest.approx(float(want.total_price), abs=1e-9)
    assert attrs["brokle.cost.model"] == want.model.id


def test_the_provider_decides_the_price_of_a_hosted_model() -> None:
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000)
    groq = compute_cost("llama-3.1-8b-instant", usage, provider="groq")
    lib = genai_prices.calc_price(
        genai_prices.Usage(input_tokens=10**6, output_tokens=10**6),
        "llama-3.1-8b-instant",
        provider_id="groq",
    )
    assert groq is not None and groq.total_usd == pytest.approx(float(lib.total_price))
    # A host genai-prices knows that does not list the model: no price, not Groq's.
    assert compute_cost("llama-3.1-8b-instant", usage, provider="together") is None
    assert compute_cost("llama-3.1-8b-instant", usage) is None  # and no guessing a host


@pytest.mark.parametrize(
    ("name", "provider", "model_id"),
    [
        ("gpt-4o-2024-08-06", "openai", "gpt-4o"),
        ("gpt-4o-mini-2024-07-18", None, "gpt-4o-mini"),
        ("claude-3-5-sonnet-20241022", "anthropic", "claude-3-5-sonnet"),
        ("claude-3-5-sonnet-latest", "anthropic", "claude-3-5-sonnet"),
        ("models/gemini-1.5-pro-002", None, "gemini-1.5-pro"),
        ("mistral-large-latest", "mistral_ai", "mistral-large"),
        ("GPT-4o", "openai", "gpt-4o"),
        ("openai/gpt-4o", None, "gpt-4o"),  # a router-style name
    ],
)
def test_dated_and_aliased_names_resolve_to_the_base_model(
    name: str, provider: str | None, model_id: str
) -> None:
    cost = compute_cost(name, MILLION, provider=provider)
    assert cost is not None and cost.model == model_id


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
    assert brokle_trace.stats()["unpriced_models"]["acme-secret-model"] == before + 1


def test_configure_prices_win_over_the_source() -> None:
    brokle_trace.configure(
        exporter="none",
        strict=True,
        prices={
            "acme-1": {"input": 1.0, "output": 2.0},
            "gpt-4o": {"input": 100.0, "output": 100.0},  # a negotiated price
            "acme-1-fast": "acme-1",
            "my-azure-deployment": "gpt-4o-mini",  # an alias of a model genai-prices knows
        },
    )
    assert compute_cost("acme-1", MILLION).total_usd == pytest.approx(3.0)  # type: ignore[union-attr]
    assert compute_cost("acme-1-fast", MILLION).total_usd == pytest.approx(3.0)  # type: ignore[union-attr]
    assert compute_cost("acme-1-2025-06-01", MILLION).total_usd == pytest.approx(3.0)  # type: ignore[union-attr]
    mini = compute_cost("my-azure-deployment", MILLION)
    assert mini is not None and mini.model == "gpt-4o-mini"

    @observe_llm(name="call", model="gpt-4o", provider="openai")
    def call() -> dict[str, Any]:
        return {
            "model": "gpt-4o-2024-08-06",
            "usage": {"prompt_tokens": 1_000_000, "completion_tokens": 0},
        }

    with capture_spans() as spans:
        call()
    attrs = spans[0].attributes
    assert attrs["brokle.cost.total_usd"] == pytest.approx(100.0)
    assert attrs["brokle.cost.prices_as_of"] == "configure(prices)"
    brokle_trace.configure(exporter="none", strict=True)
    assert compute_cost("gpt-4o", MILLION).total_usd == pytest.approx(12.5)  # type: ignore[union-attr]
    assert compute_cost("acme-1", MILLION) is None


def test_a_cost_set_by_hand_wins_over_every_price() -> None:
    @observe_llm(name="priced", model="gpt-4o", provider="openai")
    def priced() -> None:
        brokle_trace.update_current_llm(
            usage={"prompt_tokens": 10, "completion_tokens": 5}, cost_usd=0.5
        )

    with capture_spans() as spans:
        priced()
    attrs = spans[0].attributes
    assert attrs["brokle.cost.total_usd"] == 0.5
    assert "brokle.cost.model" not in attrs


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
    monkeypatch.setenv("BROKLE_PRICES", json.dumps({"gpt-4o": {"input": 2, "output": 2}}))
    brokle_trace.configure(exporter="none", strict=True)
    assert compute_cost("gpt-4o", MILLION).total_usd == pytest.approx(4.0)  # type: ignore[union-attr]


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
    one_a = next(s for s in spans if s.name == "a").attributes["brokle.cost.total_usd"]
    assert one_a == pytest.approx(compute_cost("gpt-4o-mini", Usage(1000, 100)).total_usd)  # type: ignore[union-attr]
    root_attrs = by_name["root"].attributes
    assert root_attrs["brokle.rollup.input_tokens"] == 2010
    assert root_attrs["brokle.rollup.output_tokens"] == 201
    assert root_attrs["brokle.rollup.cost_usd"] == pytest.approx(2 * one_a)
    assert root_attrs["brokle.rollup.llm_calls"] == 3
    assert root_attrs["brokle.rollup.unpriced_calls"] == 1
    assert by_name["step"].attributes["brokle.rollup.llm_calls"] == 2
    assert by_name["step"].attributes["brokle.rollup.cost_usd"] == pytest.approx(one_a)
    assert all("brokle.cost.deferred" not in s.attributes for s in spans)


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
    by_name = {s.name: s for s in spans}
    root_attrs = by_name["root"].attributes
    assert root_attrs["brokle.rollup.input_tokens"] == 100
    assert root_attrs["brokle.rollup.llm_calls"] == 1
    assert (
        root_attrs["brokle.rollup.cost_usd"] == by_name["inner"].attributes["brokle.cost.total_usd"]
    )
    assert by_name["outer"].attributes["gen_ai.usage.input_tokens"] == 100  # still shown


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
    assert root_span.attributes["brokle.rollup.cost_usd"] == pytest.approx(
        compute_cost("gpt-4o-mini", Usage(60, 6)).total_usd
    )  # type: ignore[union-attr]


def test_the_request_time_selects_historic_prices() -> None:
    # A model whose price changed: a call made before the change costs the old price.
    from genai_prices import data_snapshot, types

    for provider in data_snapshot.get_snapshot().providers:
        for info in provider.models:
            dated = (
                [p for p in info.prices if isinstance(p.constraint, types.StartDateConstraint)]
                if isinstance(info.prices, list)
                else []
            )
            if dated and dated[0].constraint.start_date < dt.date.today():
                break
        else:
            continue
        break
    else:
        pytest.fail("no model with a dated price change in the bundled snapshot")
    change = dated[0].constraint.start_date
    usage = genai_prices.Usage(input_tokens=10**6, output_tokens=10**6)
    before = dt.datetime(
        change.year, change.month, change.day, tzinfo=dt.timezone.utc
    ) - dt.timedelta(days=1)
    want = genai_prices.calc_price(
        usage, info.id, provider_id=provider.id, genai_request_timestamp=before
    )
    from brokle_trace.llm._cost import price_of

    got = price_of(
        (info.id,), provider.id, Usage(10**6, 10**6), when_ns=int(before.timestamp() * 1e9)
    )
    assert got is not None and got.total_usd == pytest.approx(float(want.total_price))


def test_prices_as_of_names_the_installed_release() -> None:
    from importlib.metadata import version

    assert prices_as_of() == f"genai-prices {version('genai-prices')}"


def test_stats_and_the_viewer_show_the_cost_of_models_the_old_table_did_not_know(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from brokle_trace.cli import _read, main

    traces = tmp_path / "traces.jsonl"
    brokle_trace.configure(exporter="jsonl", traces_file=str(traces), strict=True)

    @observe_llm(name="think", model="gemini-3-pro-preview", provider="gcp.gemini")
    def think() -> dict[str, Any]:
        return {
            "usage_metadata": {
                "prompt_token_count": 2000,
                "candidates_token_count": 300,
                "thoughts_token_count": 700,
                "total_token_count": 3000,
            }
        }

    @observe_llm(name="fast", model="grok-4-fast-reasoning", provider="x_ai")
    def fast() -> dict[str, Any]:
        return {
            "model": "grok-4-fast-reasoning",
            "usage": {"prompt_tokens": 900, "completion_tokens": 100, "total_tokens": 1000},
        }

    think()
    fast()
    assert brokle_trace.flush(10)
    spans = [json.loads(line) for line in traces.read_text().splitlines()]
    costs = {s["name"]: _read.cost(s) for s in spans}  # what the viewer shows
    assert (
        costs["think"]
        == compute_cost(  # thoughts billed as output
            "gemini-3-pro-preview", Usage(2000, 1000), provider="google"
        ).total_usd
    )  # type: ignore[union-attr]
    assert (
        costs["fast"]
        == compute_cost("grok-4-fast-reasoning", Usage(900, 100), provider="x-ai").total_usd
    )  # type: ignore[union-attr]
    assert main(["stats", str(traces), "--json", "--top", "0"]) == 0
    report = {r["key"]: r for r in json.loads(capsys.readouterr().out)["by_model"]}
    assert report["gcp.gemini / gemini-3-pro-preview"]["cost_usd"] == pytest.approx(costs["think"])
    assert report["x_ai / grok-4-fast-reasoning"]["cost_usd"] == pytest.approx(costs["fast"])
