"""Hypothesis, end to end: a secret of any family, planted anywhere in a random structure
(an argument, a return value, metadata, attributes, a dict key, an exception, a span
name), never reaches a byte that the JSONL or the OTLP exporter writes."""

from __future__ import annotations

import contextlib
import dataclasses
import json
from pathlib import Path
from typing import Any

import pydantic
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import brokle_trace
from brokle_trace import observe, update_current_span
from tests.export.receiver import Receiver

from .corpus.harness import Sink, probe
from .corpus.secrets import FAMILIES, Secret, make_secret

WINDOW = 12


@dataclasses.dataclass
class Envelope:
    body: Any
    note: str


class Message(pydantic.BaseModel):
    role: str
    content: Any


def _secrets() -> st.SearchStrategy[Secret]:
    return st.builds(make_secret, st.sampled_from(FAMILIES), st.integers(0, 10**6))


def _planted(secret: Secret) -> st.SearchStrategy[Any]:
    """The secret in one of its text forms, or inside a structure, or as an exception."""
    forms = st.sampled_from(
        [
            secret.text,
            f"note {secret.text} end",
            json.dumps({"cfg": {"v": secret.text}}),
            secret.url or f"https://x.example.com/p/{secret.text}?q=1",
            repr([secret.text]),
        ]
    )
    plain = st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=40)
    )
    leaf = st.one_of(forms, plain, forms.map(ValueError))

    def children(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return st.one_of(
            st.lists(inner, max_size=5),
            st.lists(inner, max_size=3).map(tuple),
            st.dictionaries(st.one_of(st.text(max_size=8), forms), inner, max_size=5),
            st.builds(Envelope, inner, forms),
            st.builds(Message, role=st.sampled_from(["user", "tool"]), content=inner),
        )

    return st.recursive(leaf, children, max_leaves=12)


@st.composite
def _cases(draw: st.DrawFn) -> tuple[Secret, Any, str, str]:
    secret = draw(_secrets())
    where = draw(
        st.sampled_from(
            ["input", "output", "metadata", "attributes", "name", "exception", "status"]
        )
    )
    return secret, draw(_planted(secret)), where, draw(st.sampled_from(["a", "b"]))


@observe(name="step")
def _step(value: Any, where: str, text: str) -> Any:
    if where == "metadata":
        update_current_span(metadata={"v": value})
    elif where == "attributes":
        update_current_span(attributes={"v": json.dumps(value, default=str)})
    elif where == "name":
        update_current_span(name=f"step {text}")
    elif where == "status":
        update_current_span(status_message=f"failed {text}")
    elif where == "exception":
        raise RuntimeError(f"failed with {value!r}")
    return value if where == "output" else None


def _leaks(secret: Secret, raw: bytes) -> list[str]:
    return [
        needle
        for needle in secret.needles
        if any(
            needle[i : i + WINDOW].encode() in raw for i in range(max(1, len(needle) - WINDOW + 1))
        )
    ]


def test_no_generated_secret_reaches_an_exported_byte(tmp_path: Path) -> None:
    receiver = Receiver()
    try:
        sink = Sink(tmp_path / "traces.jsonl", receiver)
        counter = iter(range(10**9))

        @settings(
            max_examples=60,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(case=_cases())
        def check(case: tuple[Secret, Any, str, str]) -> None:
            secret, value, where, _ = case
            index = next(counter)
            with probe(index), contextlib.suppress(RuntimeError):
                _step(value, where, secret.text)
            exported = sink.take(decode=False)
            for exporter, by_probe in exported.items():
                raw = by_probe[index].raw
                assert not _leaks(secret, raw), (exporter, where, secret.text, raw[:400])

        check()
    finally:
        brokle_trace.shutdown(2.0)
        receiver.close()
