"""The two corpora, end to end: every secret in every channel, every look-alike, through the
public decorators and wrappers, exported as JSONL and as OTLP, read back byte by byte.

A leak is a needle (a secret's random part), or any 12 characters of one, in what an
exporter wrote for the probe's trace. A false positive is a look-alike that does not come
back exactly as it was planted. The per-family table is printed on every run; the suite
fails on any leak of a named family, on more than 5 % for the shape-only families, and on
more than 1 % false positives.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import brokle_trace
from brokle_trace import observe, update_current_span
from brokle_trace.llm import _cost
from brokle_trace.testing._fake_server import FakeLLMServer
from tests.export.receiver import Receiver

from .corpus.benign import BENIGN, Benign
from .corpus.harness import CHANNELS, Exported, Forms, Sink, clients, probe, wrapped_channel
from .corpus.secrets import FAMILIES, PER_FAMILY, SECRETS, Secret

WINDOW = 12
NAMED = {f.name for f in FAMILIES if f.named}


@dataclass
class Results:
    probes: Counter[str] = field(default_factory=Counter)  # family -> probes
    leaks: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # family, chan, exp
    examples: dict[str, str] = field(default_factory=dict)
    planted: Counter[str] = field(default_factory=Counter)  # category -> benign probes
    false_positives: Counter[str] = field(default_factory=Counter)
    fp_examples: dict[str, str] = field(default_factory=dict)


def leaked(secret: Secret, out: Exported) -> bool:
    # The raw bytes are enough: needles are made of letters, digits and "+/=_.~-", which
    # neither JSON nor protobuf escape (nested JSON included).
    raw = out.raw
    for needle in secret.needles:
        encoded = needle.encode()
        for i in range(0, max(1, len(encoded) - WINDOW + 1)):
            if encoded[i : i + WINDOW] in raw:
                return True
    return False


def _plant_secrets(sink: Sink, results: Results, server_url: str) -> None:
    channels = {**CHANNELS, "wrapped_clients": wrapped_channel(clients(server_url))}
    for channel, plant in channels.items():
        # SDK calls are slow (an HTTP round trip each): one secret per family there.
        planted = [
            (i, s)
            for i, s in enumerate(SECRETS)
            if channel != "wrapped_clients" or i % PER_FAMILY == 0
        ]
        for index, secret in planted:
            with probe(index):
                plant(Forms(secret.text, secret.url))
        exported = sink.take(decode=False)
        for index, secret in planted:
            results.probes[secret.family] += 2
            for exporter, by_probe in exported.items():
                out = by_probe.get(index)
                assert out is not None, f"{channel}: probe {index} was not exported"
                if leaked(secret, out):
                    results.leaks[(secret.family, channel, exporter)] += 1
                    results.examples.setdefault(
                        secret.family, f"{channel}/{exporter}: {secret.text[:60]!r}"
                    )


def _benign_forms(item: Benign, index: int) -> dict[str, str]:
    """The strings that must come back intact, by form."""
    if item.as_key:
        return {
            "key": item.text,
            "assignment": f"tag{index}a {item.text}={item.value} end",
            "json": json.dumps({"tag": f"tag{index}j", item.text: item.value}),
        }
    return {
        "prose": f"tag{index}t see {item.text} here",
        "key": item.text,
        "json": json.dumps({"tag": f"tag{index}j", "value": item.text}),
        "name": f"tag{index}n {item.text}",
    }


@observe
def _benign_step(name: str, note: str, payload: str, table: dict[str, Any]) -> str:
    update_current_span(name=name, status_message=note)
    return note


def _plant_benign(sink: Sink, results: Results) -> None:
    for index, item in enumerate(BENIGN):
        forms = _benign_forms(item, index)
        with probe(index):
            key_value: Any = item.value if item.as_key else 1
            _benign_step(
                forms.get("name", f"tag{index}n"),
                forms.get("prose", forms.get("assignment", "")),
                forms["json"],
                {item.text: key_value},
            )
    exported = sink.take()
    for index, item in enumerate(BENIGN):
        forms = _benign_forms(item, index)
        for exporter, by_probe in exported.items():
            strings = by_probe[index].strings
            for form, text in forms.items():
                results.planted[item.category] += 1
                intact = (
                    text in strings if form in ("key", "name") else any(text in s for s in strings)
                )
                if not intact:
                    results.false_positives[item.category] += 1
                    results.fp_examples.setdefault(
                        item.category, f"{form}/{exporter}: {text[:80]!r}"
                    )


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Results]:
    receiver = Receiver()
    server = FakeLLMServer().start()
    # The probes' model names are unpriced: counted process-wide (stats()), so put the
    # count back as it was for the tests that follow.
    unpriced = dict(_cost._unpriced)
    try:
        sink = Sink(Path(tmp_path_factory.mktemp("corpus")) / "traces.jsonl", receiver)
        out = Results()
        _plant_secrets(sink, out, server.url)
        _plant_benign(sink, out)
        brokle_trace.shutdown(5.0)
        yield out
    finally:
        server.stop()
        receiver.close()
        with _cost._lock:
            _cost._unpriced.clear()
            _cost._unpriced.update(unpriced)


def _report(r: Results) -> str:
    lines = [
        "",
        f"secret corpus: {len(SECRETS)} secrets, {len(FAMILIES)} families, "
        f"{len(CHANNELS) + 1} channels, JSONL and OTLP",
    ]
    cells = []
    for family in sorted(r.probes):
        leaks = sum(n for (f, _, _), n in r.leaks.items() if f == family)
        mark = "" if family in NAMED else "*"
        cells.append(f"{family + mark:<28}{leaks:>3}/{r.probes[family]:<4}")
    lines += ["  ".join(cells[i : i + 3]) for i in range(0, len(cells), 3)]
    lines.append(
        f"leaks: {sum(r.leaks.values())} of {sum(r.probes.values())} probes "
        f"(* = found by shape only)"
    )
    for family, example in sorted(r.examples.items()):
        lines.append(f"  LEAK {family}: {example}")
    lines.append(f"benign corpus: {len(BENIGN)} look-alikes; false positives per category:")
    lines.append(
        "  " + "  ".join(f"{c} {r.false_positives[c]}/{n}" for c, n in sorted(r.planted.items()))
    )
    for category, example in sorted(r.fp_examples.items()):
        lines.append(f"  FALSE POSITIVE {category}: {example}")
    return "\n".join(lines)


def test_corpora_are_large_enough() -> None:
    assert len(SECRETS) >= 150 and len({s.family for s in SECRETS}) >= 50
    assert len(BENIGN) >= 200
    assert len({s.text for s in SECRETS}) == len(SECRETS)  # every probe is unique


def test_no_named_family_leaks_and_false_positives_stay_under_one_percent(
    results: Results, capsys: pytest.CaptureFixture[str]
) -> None:
    with capsys.disabled():
        print(_report(results))
    named_leaks = {k: n for k, n in results.leaks.items() if k[0] in NAMED}
    assert not named_leaks, _report(results)
    for family in {f.name for f in FAMILIES} - NAMED:
        leaks = sum(n for (f, _, _), n in results.leaks.items() if f == family)
        assert leaks <= 0.05 * results.probes[family], _report(results)
    assert sum(results.false_positives.values()) <= 0.01 * sum(results.planted.values()), _report(
        results
    )
