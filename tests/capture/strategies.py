"""Hypothesis strategies shared by the capture property tests.

``values(planted)`` draws arbitrary structures of every type capture supports; every secret
it plants is recorded in ``planted`` (the random part that must never be exported).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import string
from collections import namedtuple
from pathlib import PurePosixPath
from typing import Any
from unittest import mock

import attrs
import numpy as np
import pydantic
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

ALNUM = string.ascii_letters + string.digits
#: Every planted secret contains a "7" and no other generated text does, so a needle found in
#: the output can only have come from a planted secret (hypothesis likes to reuse strings).
NO7 = ALNUM.replace("7", "")
TEXT = st.text(st.characters(blacklist_characters="7"), max_size=300)


class Color(enum.Enum):
    RED = "red"
    BLUE = 2


@dataclasses.dataclass
class Point:
    x: Any
    y: Any


@dataclasses.dataclass(slots=True)
class Slotted:
    a: Any


@attrs.define
class AttrsThing:
    name: Any


Pair = namedtuple("Pair", ["left", "right"])


class Model(pydantic.BaseModel):
    value: Any = None


class BadRepr:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


def _body(n: int) -> st.SearchStrategy[str]:
    # A digit in the middle: real provider keys always have one, and the openai rule needs it.
    return st.text(ALNUM, min_size=n, max_size=n + 8).map(lambda s: s[:5] + "7" + s[5:])


def secrets() -> st.SearchStrategy[tuple[str, str]]:
    """``(text containing a secret, the part of it that must never be exported)``."""
    return st.one_of(
        _body(32).map(lambda b: ("sk-" + b, b)),
        _body(32).map(lambda b: ("sk-proj-" + b, b)),
        _body(32).map(lambda b: ("sk-ant-api03-" + b, b)),
        st.text(string.ascii_uppercase + string.digits, min_size=16, max_size=16).map(
            lambda b: ("AKIA" + b[:5] + "7" + b[6:], b[:5] + "7" + b[6:])
        ),
        _body(36).map(lambda b: ("ghp_" + b, b)),
        _body(20).map(lambda b: ("xoxb-" + b, b)),
        _body(34).map(lambda b: ("AIza" + b[:35], b[:35])),
        _body(24).map(lambda b: ("sk_live_" + b, b)),
        _body(24).map(lambda b: ("Bearer " + b, b)),
        _body(20).map(lambda b: ("eyJhbGciOiJIUzI1NiJ9.eyJ" + b + ".sig" + b[::-1], b)),
        _body(40).map(
            lambda b: (
                "-----BEGIN RSA PRIVATE KEY-----\n" + b + "\n-----END RSA PRIVATE KEY-----",
                b,
            )
        ),
        _body(40).map(lambda b: ("-----BEGIN PRIVATE KEY-----\n" + b, b)),  # END cut off
        _body(12).map(lambda b: (f"https://admin:{b}@db.example.com/x", b)),
        _body(12).map(lambda b: (f"https://example.com/cb?access_token={b}&x=1", b)),
        _body(12).map(lambda b: (f'{{"password": "{b}", "user": "u"}}', b)),
    )


def planted_text(planted: list[str]) -> st.SearchStrategy[str]:
    """Free text with a secret somewhere in it, whole words around it."""

    def build(secret: tuple[str, str], before: str, after: str, wrap: int) -> str:
        planted.append(secret[1])
        text = f"{before} {secret[0]} {after}"
        if wrap == 1:
            return json.dumps({"data": text})  # JSON inside a string
        if wrap == 2:
            return json.dumps([{"nested": json.dumps({"k": text})}])
        return text

    words = st.text(NO7 + " .,", max_size=30)
    return st.builds(build, secrets(), words, words, st.integers(0, 2))


def secret_under_key(planted: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Any value under a key that names a secret."""

    def build(key: str, value: str) -> dict[str, Any]:
        planted.append(value)
        return {key: value}

    keys = st.sampled_from(
        [
            "password",
            "api_key",
            "X-Api-Key",
            "clientSecret",
            "access_token",
            "Authorization",
            "cookie",
            "credentials",
            "private_key",
        ]
    )
    return st.builds(build, keys, _body(16))


def leaves(planted: list[str]) -> st.SearchStrategy[Any]:
    """Half plain leaves of every type, half text with a planted secret."""

    def exc(text: str) -> Exception:
        return ValueError(text)

    plain = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.integers(min_value=2**63, max_value=2**200),
        st.floats(allow_nan=True, allow_infinity=True),
        TEXT,
        st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), max_size=3),
        st.binary(max_size=300),
        st.decimals(allow_nan=True),
        st.datetimes(),
        st.datetimes(timezones=st.just(dt.timezone.utc)),
        st.dates(),
        st.times(),
        st.timedeltas(),
        st.uuids(),
        st.sampled_from(Color),
        st.builds(PurePosixPath, st.text(NO7, max_size=20)),
        st.complex_numbers(),
        st.builds(BadRepr),
        st.builds(mock.Mock),
        st.builds(mock.MagicMock),
        st.builds(lambda: (i for i in range(3))),
        st.builds(lambda: iter([1, 2])),
        hnp.arrays(np.float64, hnp.array_shapes(max_dims=2, max_side=12)),
        st.integers(0, 100).map(np.int64),
    )
    return st.one_of(plain, planted_text(planted), st.builds(exc, planted_text(planted)))


def values(planted: list[str]) -> st.SearchStrategy[Any]:
    """Recursive structures of every supported type, secrets planted anywhere."""

    def cyclic(items: list[Any]) -> list[Any]:
        items.append(items)
        return items

    def cyclic_dict(d: dict[Any, Any]) -> dict[Any, Any]:
        d["self"] = d
        return d

    keys = st.one_of(
        st.text(NO7, max_size=20),
        st.integers(),
        st.none(),
        st.booleans(),
        st.tuples(st.integers(), st.integers()),
        planted_text(planted),
    )

    def children(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return st.one_of(
            st.lists(inner, max_size=12),
            st.lists(inner, max_size=6).map(tuple),
            st.dictionaries(keys, inner, max_size=8),
            st.frozensets(st.one_of(st.integers(), st.text(NO7, max_size=10)), max_size=6),
            st.sets(st.integers(), max_size=6),
            st.lists(inner, max_size=4).map(cyclic),
            st.dictionaries(st.text(NO7, max_size=5), inner, max_size=4).map(cyclic_dict),
            st.builds(Point, inner, inner),
            st.builds(Slotted, inner),
            st.builds(AttrsThing, inner),
            st.builds(Pair, inner, inner),
            st.builds(Model, value=inner),
            secret_under_key(planted),
        )

    return st.recursive(leaves(planted), children, max_leaves=25)


#: Secrets planted by ``VALUES`` since the last ``PLANTED.clear()`` (strategies are built once:
#: hypothesis validates a strategy on first use, ~60 ms for this recursive one).
PLANTED: list[str] = []
VALUES = values(PLANTED)


def settings_kwargs() -> st.SearchStrategy[dict[str, Any]]:
    """Small limits, so every truncation path is exercised."""
    return st.fixed_dictionaries(
        {
            "max_string_length": st.integers(64, 400),
            "max_items": st.integers(1, 10),
            "max_depth": st.integers(1, 6),
            "max_bytes": st.integers(256, 5000),
            "snapshot_budget": st.integers(0, 30),
        }
    )
