"""The price source itself: loaded off the caller's thread, never from the network, absent
safely; the export converter and the LLM package agree on the deferred key; Python 3.10."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

from brokle_trace._export import convert as _convert
from brokle_trace.llm import _deferred, prices_as_of

# Records which thread imports genai_prices and every socket connection attempted; then
# traces one LLM call, writes it out, and reports what happened as JSON on stdout.
_PROBE = r"""
import json, socket, sys, threading, time

importers = []
class Spy:
    def find_spec(self, name, path=None, target=None):
        if name == "genai_prices":
            importers.append(threading.current_thread().name)
        return None
sys.meta_path.insert(0, Spy())
connects = []
real_connect = socket.socket.connect
def connect(self, address):
    connects.append(repr(address))
    return real_connect(self, address)
socket.socket.connect = connect

import brokle_trace
from brokle_trace import observe_llm

@observe_llm(name="ask", model="gpt-4o-mini", provider="openai")
def ask():
    return {"model": "gpt-4o-mini-2024-07-18",
            "usage": {"prompt_tokens": 1000, "completion_tokens": 100}}

t0 = time.perf_counter()
ask()
first = time.perf_counter() - t0
t0 = time.perf_counter()
ask()
second = time.perf_counter() - t0
assert brokle_trace.flush(30)
lines = [json.loads(l) for l in open("brokle_traces.jsonl")]
updater = getattr(sys.modules.get("genai_prices.update_prices"), "_shared_updater", None)
print(json.dumps({
    "importers": importers, "connects": connects, "first_s": first, "second_s": second,
    "attributes": lines[0]["attributes"],
    "updater_thread": None if updater is None else repr(updater.thread),
    "stats": brokle_trace.stats(),
}))
"""


def _probe(tmp_path: Path, prelude: str = "") -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", prelude + _PROBE],
        cwd=tmp_path,
        check=True,
        timeout=120,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(out.stdout.splitlines()[-1])
    return result


def test_the_first_traced_call_does_not_load_the_prices(tmp_path: Path) -> None:
    result = _probe(tmp_path)
    # Imported once, by the export worker: never on the thread that made the call.
    assert result["importers"] == ["brokle-trace-export"]
    attrs = result["attributes"]
    assert attrs["brokle.cost.model"] == "gpt-4o-mini"
    assert attrs["brokle.cost.total_usd"] > 0
    assert attrs["brokle.cost.prices_as_of"] == f"genai-prices {version('genai-prices')}"


def test_prices_never_come_from_the_network(tmp_path: Path) -> None:
    result = _probe(tmp_path)
    assert result["connects"] == []  # the default JSONL exporter needs no socket either
    assert result["updater_thread"] == "None"  # genai-prices' UpdatePrices never started


def test_without_genai_prices_calls_are_unpriced_and_counted(tmp_path: Path) -> None:
    # An environment where the library cannot be imported: tracing goes on, nothing raises.
    result = _probe(tmp_path, prelude="import sys; sys.modules['genai_prices'] = None\n")
    attrs = result["attributes"]
    assert attrs["brokle.cost.unpriced"] is True
    assert "brokle.cost.total_usd" not in attrs
    assert result["stats"]["unpriced_models"] == {"gpt-4o-mini-2024-07-18": 2}
    assert result["stats"]["internal_errors"]["price_source_import"] == 1


def test_the_converter_spells_the_deferred_key_as_the_llm_package_does() -> None:
    assert _convert._DEFERRED == _deferred.DEFERRED


def test_python_310_gets_the_release_that_supports_it() -> None:
    # The decision: genai-prices on every Python; 3.10 resolves to the 0.1 line (the last
    # that installs there), with its own, older bundled snapshot. Same API, same behaviour.
    installed = version("genai-prices")
    if sys.version_info < (3, 11):
        assert installed.startswith("0.1.")
    assert prices_as_of() == f"genai-prices {installed}"


def _real_responses(openai_client: Any, anthropic_client: Any, server: Any) -> list[Any]:
    server.cache_read_tokens = 64
    msgs = [{"role": "user", "content": "hello there " * 20}]
    return [
        ("openai", openai_client.chat.completions.create(model="gpt-4o-mini", messages=msgs)),
        ("openai", openai_client.responses.create(model="gpt-4o-mini", input="hello " * 30)),
        (
            "openai",
            openai_client.embeddings.create(model="text-embedding-3-small", input=["a", "b"]),
        ),
        (
            "anthropic",
            anthropic_client.messages.create(
                model="claude-sonnet-4-5", max_tokens=64, messages=msgs
            ),
        ),
    ]


def test_our_usage_reading_agrees_with_genai_prices_on_real_sdk_responses(
    openai_client: Any, anthropic_client: Any, server: Any
) -> None:
    # Ours reads the SDK objects on the caller's thread (no snapshot, no dict dump); the
    # library's extractor is the reference for what is billed. Where both read a count,
    # they must agree, so the tokens on the span are the tokens priced.
    import genai_prices

    from brokle_trace.llm import find_usage
    from brokle_trace.llm._source import _extract
    from brokle_trace.llm._source import load as load_source

    assert load_source()
    snapshot = genai_prices.data_snapshot.get_snapshot()
    for provider_id, response in _real_responses(openai_client, anthropic_client, server):
        ours = find_usage(response)
        provider = snapshot.find_provider(None, provider_id, None)
        theirs = _extract(provider, response.usage)
        assert ours is not None and theirs is not None, response
        assert ours.input_tokens == theirs.input_tokens
        assert (ours.output_tokens or 0) == vars(theirs).get("output_tokens", 0)
        assert (ours.cache_read_tokens or 0) == vars(theirs).get("cache_read_tokens", 0)
        assert (ours.cache_creation_tokens or 0) == vars(theirs).get("cache_write_tokens", 0)


def test_counts_that_contradict_each_other_are_still_priced() -> None:
    # 200 cached tokens out of 72: the library rejects its own reading; ours is clipped.
    from brokle_trace import observe_llm
    from brokle_trace.testing import capture_spans

    @observe_llm(name="odd", model="gpt-4o-mini", provider="openai")
    def odd() -> dict[str, Any]:
        return {
            "usage": {
                "prompt_tokens": 72,
                "completion_tokens": 10,
                "prompt_tokens_details": {"cached_tokens": 200},
            }
        }

    with capture_spans() as spans:
        odd()
    assert spans[0].attributes["brokle.cost.total_usd"] > 0


def test_a_fork_while_the_worker_prices_leaves_the_child_free_to_price() -> None:
    import os

    from brokle_trace.llm import _source

    if not hasattr(os, "fork"):  # pragma: no cover - POSIX only, like fork itself
        return
    with _source._lock, _deferred._lock:  # the worker is loading or pricing right now
        pid = os.fork()
        if pid == 0:  # the child: its locks are fresh, so its own worker can price
            ok = _source._lock.acquire(timeout=2) and _deferred._lock.acquire(timeout=2)
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0


def test_a_remembered_price_is_what_genai_prices_computes() -> None:
    """The worker remembers a price per (rates, model, counts) and builds genai-prices'
    ``Usage`` only on a miss: a hit must be exactly the library's own calculation."""
    import datetime as dt

    from genai_prices import Usage as LibUsage
    from genai_prices import calc_price
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from brokle_trace.llm import _source
    from brokle_trace.llm._usage import Usage

    counts = st.one_of(st.none(), st.integers(0, 2_000_000))

    @settings(max_examples=150, deadline=None)
    @given(
        model=st.sampled_from(["gpt-4o-mini", "gpt-4o-mini-2024-07-18", "claude-3-5-sonnet"]),
        inp=counts,
        out=counts,
        cached=counts,
        written=counts,
        reasoning=counts,
        twice=st.booleans(),
    )
    def prop(
        *,
        model: str,
        inp: int | None,
        out: int | None,
        cached: int | None,
        written: int | None,
        reasoning: int | None,
        twice: bool,
    ) -> None:
        usage = Usage(
            input_tokens=inp,
            output_tokens=out,
            cache_read_tokens=cached,
            cache_creation_tokens=written,
            reasoning_tokens=reasoning,
        )
        when = dt.datetime(2026, 6, 1, tzinfo=dt.timezone.utc)
        when_ns = int(when.timestamp() * 1e9)
        found = _source.price([model], None, usage, None, when_ns)
        if twice:  # the second answer comes from the memo
            assert _source.price([model], None, usage, None, when_ns) == found
        assert found is not None
        lib = calc_price(
            LibUsage(**dict(_source._library_counts(usage))),
            model,
            genai_request_timestamp=when,
        )
        assert found[:3] == (lib.input_price, lib.output_price, lib.model.id)

    prop()


def test_a_price_without_a_request_time_is_remembered_under_the_rates_it_used(
    monkeypatch: Any,
) -> None:
    """Without a request time, the memo's key (the rates in force) and genai-prices'
    calculation must read the clock once: read twice, a call across DeepSeek's off-peak
    boundary stored one window's price under the other window's rates, and every later
    call in that window got it until the memo was cleared."""
    import datetime as dt

    from genai_prices import Usage as LibUsage
    from genai_prices import calc_price

    from brokle_trace.llm import _source
    from brokle_trace.llm._usage import Usage

    real = dt.datetime.now(tz=dt.timezone.utc)
    # The other window of deepseek-chat's time-of-day prices (00:30-16:30 UTC) than now's.
    hour = 20 if dt.time(0, 30) <= real.time() < dt.time(16, 30) else 10
    ours = real.replace(hour=hour, minute=0)

    class Clock(dt.datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return ours  # our read of the clock; genai-prices' own read is the real time

    monkeypatch.setattr(
        _source, "_dt", type("dt", (), {"datetime": Clock, "timezone": dt.timezone})
    )
    monkeypatch.setattr(_source, "_calcs", {})
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000)
    _source.price(["deepseek-chat"], "deepseek", usage)
    found = _source.price(["deepseek-chat"], "deepseek", usage, when_ns=int(ours.timestamp() * 1e9))
    lib = calc_price(
        LibUsage(input_tokens=1_000_000, output_tokens=1_000_000),
        "deepseek-chat",
        provider_id="deepseek",
        genai_request_timestamp=ours,
    )
    assert found is not None
    assert found[:2] == (lib.input_price, lib.output_price)


@pytest.mark.usefixtures("lenient")
def test_counts_that_cannot_be_remembered_are_unpriced_instead_of_raising() -> None:
    # A list where a count belongs (a user's own Usage, read by compute_cost): the remembered
    # answers are keyed by the usage, so it could not even be looked up. genai-prices cannot
    # price it either; the price source promises never to raise.
    from brokle_trace._runtime import errors as _errors
    from brokle_trace.llm import Usage, _source, compute_cost

    before = _errors.error_counts().get("price_calc", 0)
    odd = Usage(input_tokens=[1000], output_tokens=5)  # type: ignore[arg-type]
    assert _source.price(["gpt-4o"], "openai", odd) is None
    assert compute_cost("gpt-4o", odd, provider="openai", count=False) is None
    assert _errors.error_counts().get("price_calc", 0) == before + 2  # counted, as it was
    # Ordinary counts are still priced, and remembered.
    assert compute_cost("gpt-4o", Usage(input_tokens=1000, output_tokens=5)) is not None
