"""The price source's memo of whole answers (``_source._answers``) equals the uncached
reference (``_source._price``) for every request it answers, across request times (the
rates in force change by date and by time of day), and it fires on a repeated request."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from brokle_trace.llm import _cost, _source
from brokle_trace.llm._usage import Usage
from tests.parity.fired import Fired, run

_MODELS = (
    "gpt-4o-mini",
    "gpt-4o-mini-2024-07-18",
    "claude-3-5-sonnet-20241022",
    "deepseek-chat",
    "openai/gpt-4o",
    "no-such-model-xyz",
)
_PROVIDERS = (None, "openai", "anthropic", "deepseek", "not-a-provider")
_COUNTS = st.one_of(st.none(), st.integers(0, 3_000_000))
#: Both of deepseek-chat's time-of-day windows (00:30-16:30 UTC and the rest), two dates.
_TIMES = st.sampled_from(
    [
        int(dt.datetime(2025, 3, 1, h, 0, tzinfo=dt.timezone.utc).timestamp() * 1e9)
        for h in (2, 10, 17, 23)
    ]
    + [int(dt.datetime(2026, 6, 1, 12, tzinfo=dt.timezone.utc).timestamp() * 1e9)]
)


def _reference(models: tuple[str, ...], provider: str | None, usage: Usage, when_ns: int) -> Any:
    assert _source.load()
    when = dt.datetime.fromtimestamp(when_ns / 1e9, tz=dt.timezone.utc)
    priced = _source._price(
        _source._lib, _source._lib.get_snapshot(), models, provider, usage, raw=None, when=when
    )
    return None if priced is None else priced[0]


def test_the_memo_answers_as_the_reference_does() -> None:
    @settings(max_examples=300, deadline=None)
    @given(
        models=st.lists(st.sampled_from(_MODELS), min_size=1, max_size=2).map(tuple),
        provider=st.sampled_from(_PROVIDERS),
        inp=_COUNTS,
        out=_COUNTS,
        cached=_COUNTS,
        first=_TIMES,
        again=_TIMES,
    )
    def prop(fired: Fired, **ex: Any) -> None:
        usage = Usage(ex["inp"], ex["out"], None, ex["cached"])
        models, provider = ex["models"], ex["provider"]
        _source.price(models, provider, usage, None, ex["first"])  # remembered (if priced)
        key = (models, provider, usage)
        held = _source._answers.get(key)
        got = _source.price(models, provider, usage, None, ex["again"])
        assert got == _reference(models, provider, usage, ex["again"])
        fired.example(held is not None and got is held[3])

    run(lambda fired: prop(fired), min_share=0.2)


def test_a_memo_stored_in_one_time_window_is_not_used_in_another() -> None:
    """deepseek-chat is cheaper off-peak: the answer remembered at 10:00 UTC is not the
    answer at 20:00 UTC (other rates in force), and each equals the reference."""
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000)
    peak, off = (
        int(dt.datetime(2025, 6, 2, h, tzinfo=dt.timezone.utc).timestamp() * 1e9) for h in (10, 20)
    )
    models = ("deepseek-chat",)
    at_peak = _source.price(models, "deepseek", usage, None, peak)
    at_off = _source.price(models, "deepseek", usage, None, off)
    assert at_peak == _reference(models, "deepseek", usage, peak)
    assert at_off == _reference(models, "deepseek", usage, off)
    assert at_peak is not None and at_off is not None
    assert at_peak[:2] != at_off[:2]


def test_a_new_price_snapshot_is_never_answered_from_the_memo(monkeypatch: Any) -> None:
    """Prices fetched by an application's own UpdatePrices replace the snapshot object:
    what was remembered under the old one is computed again under the new one."""
    usage = Usage(input_tokens=1_000, output_tokens=10)
    models = ("gpt-4o-mini",)
    first = _source.price(models, "openai", usage)
    assert first is not None
    real = _source._lib.get_snapshot()

    class Fresh:
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

    fresh = Fresh()
    monkeypatch.setattr(_source._lib, "get_snapshot", lambda: fresh)
    again = _source.price(models, "openai", usage)
    assert again is not first  # not the remembered answer object
    assert again == first
    assert _source._answers[(models, "openai", usage)][0] is fresh


def test_user_prices_win_over_a_remembered_genai_price() -> None:
    usage = Usage(input_tokens=1_000_000, output_tokens=0)
    before = _cost.price_of(["gpt-4o-mini"], "openai", usage)
    assert before is not None and before.prices_as_of != _cost.USER_PRICES
    assert _cost.price_of(["gpt-4o-mini"], "openai", usage) is before  # the kept Cost
    _cost.set_user_prices({"gpt-4o-mini": {"input": 1.0, "output": 2.0}})
    try:
        mine = _cost.price_of(["gpt-4o-mini"], "openai", usage)
        assert mine is not None and mine.total_usd == 1.0
        assert mine.prices_as_of == _cost.USER_PRICES
    finally:
        _cost.set_user_prices(None)
