"""The maintained price source: genai-prices' bundled snapshot, loaded once, never fetched.

genai-prices (Pydantic's, the source Logfire uses) ships thousands of models across providers
with provider-aware matching, historic prices, cache, audio and tiered rates. We use it as it
ships: its ``UpdatePrices`` (the only code of it that downloads anything, and only when
started) is never started here, so prices never come from the network. If the application
starts one itself (Logfire does), the fresher prices it fetched are used, and the span says
so in ``brokle.cost.prices_as_of``.

Importing it costs ~0.2 s, so nothing here runs on the caller's thread while tracing: the
export worker calls :func:`price` when it writes an LLM span out (``_deferred``), and the
first such call imports the library there. Only a direct :func:`compute_cost
<brokle_trace.llm.compute_cost>` call loads it on the calling thread.

Matching, in order, for each of the response model and the request model: the span's provider
(``gen_ai.provider.name`` or ``provider=``) when genai-prices knows it. Without one (or with
one it does not know): the model name alone, a router-style ``vendor/model`` name as provider
``vendor``, then the provider whose SDK returned the usage (``openai.types...``: OpenAI). A
provider it knows that does not list the model gives no price: a model served by one host is
never priced at another host's rate.
"""

from __future__ import annotations

import datetime as _dt
import os
import threading
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from brokle_trace.llm._usage import Usage

__all__ = ["SOURCE", "load", "price", "prices_as_of"]

#: The distribution we take prices from.
SOURCE = "genai-prices"

#: GenAI semantic-convention provider names genai-prices does not resolve (or resolves to
#: another provider): ``gen_ai.provider.name`` values are ours to translate. Others
#: (``openai``, ``anthropic``, ``aws.bedrock``, ``gcp.gemini``, ``gcp.vertex_ai``,
#: ``mistral_ai``, ``groq``, ``deepseek``, ``cohere``, ...) it matches itself.
_PROVIDER_IDS = {
    "x_ai": "x-ai",
    "azure.ai.openai": "azure",
    "azure.ai.inference": "azure",
    "gcp.gen_ai": "google",
}

_lock = threading.Lock()


def _after_fork_in_child() -> None:
    # A fork while the export worker held the lock would leave it held forever in the child.
    global _lock
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):  # pragma: no branch - POSIX
    os.register_at_fork(after_in_child=_after_fork_in_child)
_lib: Any = None  # the genai_prices.data_snapshot module once loaded; False if unavailable
_version = ""
_lookups: dict[tuple[str | None, str, str | None], Any] = {}
_LOOKUPS_MAX = 4096
_calcs: dict[tuple[Any, ...], tuple[Any, tuple[Decimal, Decimal]]] = {}
_flavours: dict[tuple[str, tuple[str, ...]], int] = {}
#: (models, provider, usage) -> (snapshot, model info, rates, answer) of a request priced
#: from our counts (no provider usage object): the same request again skips the model
#: lookups, the count conversion and the calculation's memo key (~1/3 of a priced span's
#: worker cost), rechecking only that the same rates are in force.
_answers: dict[tuple[Any, ...], tuple[Any, Any, Any, Any]] = {}


def load() -> bool:
    """Import genai-prices and its bundled snapshot (once); False if it cannot be imported.

    Example:
        >>> load()
        True
    """
    global _lib, _version
    if _lib is None:
        with _lock:
            if _lib is None:
                try:
                    import genai_prices
                    from genai_prices import data_snapshot

                    data_snapshot.get_snapshot()  # builds the bundled snapshot (~25 ms)
                    _version = str(getattr(genai_prices, "__version__", "") or "")
                    _lib = data_snapshot
                except Exception as exc:  # not installed, or broken: every span unpriced
                    from brokle_trace._runtime import errors as _errors

                    _errors.internal_error("price_source_import", exc)
                    _lib = False
    return _lib is not False


def prices_as_of() -> str | None:
    """Which prices are in use: the genai-prices release, or the time of a fetched update.

    None when genai-prices cannot be imported. Loads it if needed.

    Example:
        >>> prices_as_of().startswith("genai-prices ")
        True
    """
    if not load():
        return None
    return _as_of(_lib.get_snapshot())


def _as_of(snapshot: Any) -> str:
    if getattr(snapshot, "from_auto_update", False):
        stamp = getattr(snapshot, "timestamp", None)
        if isinstance(stamp, _dt.datetime):
            return f"{SOURCE} {_version} (updated {stamp.isoformat(timespec='seconds')})"
    return f"{SOURCE} {_version}"


def price(
    models: Iterable[str | None],
    provider: str | None,
    usage: Usage,
    raw: Any = None,
    when_ns: int | None = None,
) -> tuple[Decimal, Decimal, str, str] | None:
    """(input USD, output USD, matched model id, prices as of) for ``usage``, or None.

    ``models``: the names to try in order (response model, then request model). ``raw``: the
    provider's own usage object or dict, read with genai-prices' extractor for the provider
    when it knows the shape (audio, image and cache-TTL counts, provider quirks), else
    ``usage``. ``when_ns``: the request time (epoch ns) for historic prices. Never raises.
    """
    if not load():
        return None
    lib = _lib
    snapshot = lib.get_snapshot()
    when = (
        _dt.datetime.fromtimestamp(when_ns / 1e9, tz=_dt.timezone.utc)
        if when_ns is not None
        else None
    )
    if raw is None:
        names = tuple(models)
        key = (names, provider, usage)
        try:
            known = _answers.get(key)
        except TypeError:  # a count that is no number (a list): the reference judges it
            priced = _price(lib, snapshot, names, provider, usage, raw=None, when=when)
            return None if priced is None else priced[0]
        if known is not None and known[0] is snapshot:
            # The same request priced before under this snapshot: the answer holds while the
            # rates in force for the matched model are the same object (dates, times of day).
            at = when or _dt.datetime.now(tz=_dt.timezone.utc)
            if known[1].get_prices(at) is known[2]:
                return known[3]  # type: ignore[no-any-return]
        priced = _price(lib, snapshot, names, provider, usage, raw=None, when=when)
        if priced is None:
            return None
        if len(_answers) >= _LOOKUPS_MAX:
            _answers.clear()
        _answers[key] = (snapshot, priced[1], priced[2], priced[0])
        return priced[0]
    priced = _price(lib, snapshot, models, provider, usage, raw=raw, when=when)
    return None if priced is None else priced[0]


def _price(
    lib: Any,
    snapshot: Any,
    models: Iterable[str | None],
    provider: str | None,
    usage: Usage,
    *,
    raw: Any,
    when: _dt.datetime | None,
) -> tuple[tuple[Decimal, Decimal, str, str], Any, Any] | None:
    """``price`` without its memo (the reference the memo is held equal to): the answer,
    with the model's info and the rates the calculation used."""
    seen: set[str] = set()
    for model in models:
        if not model or not isinstance(model, str) or model in seen:
            continue
        seen.add(model)
        found = _find(lib, snapshot, model, provider, _sdk_of(raw))
        if found is None:
            continue
        prov, info = found
        extracted = _extract(prov, raw) if raw is not None else None
        if extracted is not None:
            try:
                counts = tuple(sorted(vars(extracted).items()))
                inp, out, rates = _calc(snapshot, prov, info, counts, when, made=extracted)
                return (inp, out, str(info.id), _as_of(snapshot)), info, rates
            except ValueError:
                pass  # counts that contradict each other: ours below are clipped to agree
        try:
            counts = _library_counts(usage)
            inp, out, rates = _calc(snapshot, prov, info, counts, when)
        except Exception as exc:
            from brokle_trace._runtime import errors as _errors

            _errors.internal_error("price_calc", exc)
            return None
        return (inp, out, str(info.id), _as_of(snapshot)), info, rates
    return None


def _calc(
    snapshot: Any,
    prov: Any,
    info: Any,
    counts: tuple[tuple[str, Any], ...],
    when: _dt.datetime | None,
    *,
    made: Any = None,
) -> tuple[Decimal, Decimal, Any]:
    """genai-prices' own calculation, remembered for the same prices and the same counts.

    It costs ~0.15-0.3 ms per call on the worker; LLM apps repeat usage shapes (retries,
    cached answers, fixed prompts), and the rates in force (``get_prices``: date and time of
    day constraints) are part of the key, so a hit is the same answer the library would give.
    ``counts`` is the key (the usage's fields, sorted); genai-prices' ``Usage`` is built
    from it only on a miss (unless ``made``): its validation was most of a hit's cost
    (~12 us of ~17).
    """
    # One reading of the clock for the key and the calculation: read twice, a call across a
    # time-of-day boundary (DeepSeek's off-peak rates) stored one window's price under the
    # other window's rates, returned to every later call in that window.
    at = when or _dt.datetime.now(tz=_dt.timezone.utc)
    rates = info.get_prices(at)
    key = (id(rates), prov.id, info.id, counts)
    hit = _calcs.get(key)
    if hit is not None and hit[0] is rates:
        return (*hit[1], rates)
    calc = info.calc_price(
        made if made is not None else _library_usage(counts),
        prov,
        genai_request_timestamp=at,
        auto_update_timestamp=snapshot.timestamp if snapshot.from_auto_update else None,
    )
    result = (calc.input_price, calc.output_price)
    if len(_calcs) >= _LOOKUPS_MAX:
        _calcs.clear()
    _calcs[key] = (rates, result)  # holds ``rates`` so its id stays valid
    return (*result, rates)


def _sdk_of(raw: Any) -> str | None:
    """The package a usage object comes from (``openai``, ``anthropic``, ``google``, ...)."""
    if raw is None or isinstance(raw, Mapping):
        return None
    module = getattr(type(raw), "__module__", None)
    return module.partition(".")[0] if isinstance(module, str) else None


def _find(lib: Any, snapshot: Any, model: str, provider: str | None, sdk: str | None) -> Any:
    """(Provider, ModelInfo) for ``model`` on ``provider``, cached, misses included."""
    key = (provider, model, sdk)
    hit = _lookups.get(key, _lookups)
    if hit is not _lookups:
        return hit
    found = None
    for prov_id, ref in _attempts(lib, snapshot, model, provider, sdk):
        try:
            found = snapshot.find_provider_model(ref, None, prov_id, None)
            break
        except LookupError:
            continue
    if len(_lookups) >= _LOOKUPS_MAX:
        _lookups.clear()
    _lookups[key] = found
    return found


def _attempts(
    lib: Any, snapshot: Any, model: str, provider: str | None, sdk: str | None
) -> list[tuple[str | None, str]]:
    known = None
    if provider:
        name = provider.strip().lower()
        known = lib.find_provider_by_id(snapshot.providers, _PROVIDER_IDS.get(name, name))
    attempts: list[tuple[str | None, str]] = []
    if known is not None:
        attempts.append((known.id, model))
    else:
        attempts.append((None, model))  # no provider, or one it does not know: by model name
    if known is None:
        vendor, sep, rest = model.partition("/")
        routed = lib.find_provider_by_id(snapshot.providers, vendor) if sep and rest else None
        if routed is not None:
            attempts.append((routed.id, rest))
        # No provider said: the SDK that returned the usage is the next best witness (an
        # OpenAI embedding model is not matched by name alone). A host it does not list
        # still gets no price.
        home = lib.find_provider_by_id(snapshot.providers, sdk) if sdk else None
        if home is not None:
            attempts.append((home.id, model))
    return attempts


def _library_usage(counts: tuple[tuple[str, int], ...]) -> Any:
    """``_library_counts`` as genai-prices' ``Usage``."""
    from genai_prices import Usage as LibUsage

    return LibUsage(**dict(counts))


def _library_counts(usage: Usage) -> tuple[tuple[str, int], ...]:
    """Our counts in genai-prices' terms, as sorted ``(field, count)`` pairs."""
    inp = usage.input_tokens or 0
    out = usage.output_tokens or 0
    values: dict[str, int] = {"input_tokens": inp, "output_tokens": out}
    # Cache reads and writes are parts of the input (GenAI convention, as genai-prices
    # counts them); counts that do not fit are clipped rather than failing the price.
    cached = min(usage.cache_read_tokens or 0, inp)
    written = min(usage.cache_creation_tokens or 0, inp - cached)
    if cached:
        values["cache_read_tokens"] = cached
    if written:
        values["cache_write_tokens"] = written
    reasoning = usage.reasoning_tokens or 0
    if 0 < reasoning <= out:
        values["output_reasoning_tokens"] = reasoning
    return tuple(sorted(values.items()))


def _extract(prov: Any, raw: Any) -> Any:
    """genai-prices' own reading of the provider's usage object, or None if it has none."""
    data = raw if isinstance(raw, Mapping) else _as_dict(raw)
    if data is None:
        return None
    # The API flavour is not in the usage object: of the provider's extractors that accept
    # it, the one that reads the most of it (xAI's "default" accepts a chat completion's
    # usage too, but only "chat" reads the reasoning tokens its completion_tokens exclude).
    # Chosen once per provider and set of keys: trying every flavour costs ~0.2 ms.
    extractors = list(getattr(prov, "extractors", None) or ())
    shape = (str(prov.id), tuple(sorted(str(k) for k in data)))
    known = _flavours.get(shape)
    if known is not None:
        return _read_with(extractors[known], data) if 0 <= known < len(extractors) else None
    best, best_n, best_i = None, 0, -1
    for i, extractor in enumerate(extractors):
        usage = _read_with(extractor, data)
        n = len(vars(usage)) if usage is not None else 0
        if n > best_n:
            best, best_n, best_i = usage, n, i
    if len(_flavours) >= _LOOKUPS_MAX:
        _flavours.clear()
    _flavours[shape] = best_i
    return best


def _read_with(extractor: Any, data: Mapping[str, Any]) -> Any:
    root = extractor.root
    path = [root] if isinstance(root, str) else list(root)
    if not path or not all(isinstance(step, str) for step in path):
        return None
    response: Any = data
    for step in reversed(path):
        response = {step: response}
    try:
        return extractor.extract(response)[1]
    except (ValueError, TypeError):
        return None  # another API flavour's shape


def _as_dict(raw: Any) -> Mapping[str, Any] | None:
    dump = getattr(raw, "model_dump", None)  # pydantic models: the OpenAI, Anthropic SDKs
    if not callable(dump):
        return None
    try:
        data = dump(by_alias=True, exclude_none=True)
    except Exception:
        return None
    return data if isinstance(data, Mapping) else None
