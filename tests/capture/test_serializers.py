"""Every type capture promises to handle (DESIGN §5, issue item 2), one example each."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import enum
import io
import math
import uuid
from collections import OrderedDict, defaultdict, deque, namedtuple
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Any
from unittest import mock

import attrs
import numpy as np
import orjson
import pydantic
import pydantic.v1
import pytest

from brokle_trace.capture import CaptureSettings, counters, finalize, reset_counters, snapshot

S = CaptureSettings(strict=True)


def capture(value: Any, s: CaptureSettings = S, **kw: Any) -> Any:
    out = finalize(snapshot(value, s, **kw), s)
    orjson.dumps(out)  # always JSON
    return out


class Color(enum.Enum):
    RED = "red"
    OBJ = (1, 2)


class Level(enum.IntEnum):
    HIGH = 3


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain", "plain"),
        (b"caf\xc3\xa9", "café"),
        (b"\xff\xfe\x00", "<bytes: 3 bytes, not UTF-8>"),
        (bytearray(b"abc"), "abc"),
        (memoryview(b"abcd"), "<memoryview: 4 bytes>"),
        (2**63, 2**63),
        (2**64, "18446744073709551616"),
        (-(2**63) - 1, "-9223372036854775809"),
        (10**5000, "<int: 16610 bits>"),
        (math.nan, "NaN"),
        (math.inf, "Infinity"),
        (-math.inf, "-Infinity"),
        (Decimal("1.10"), "1.10"),
        (Decimal("NaN"), "NaN"),
        (dt.datetime(2024, 5, 1, 12, 30), "2024-05-01T12:30:00"),
        (
            dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))),
            "2024-05-01T12:30:00+02:00",
        ),
        (dt.date(2024, 5, 1), "2024-05-01"),
        (dt.time(8, 15), "08:15:00"),
        (dt.timedelta(minutes=1, milliseconds=500), 60.5),
        (uuid.UUID(int=1), "00000000-0000-0000-0000-000000000001"),
        (Color.RED, "red"),
        (Color.OBJ, "Color.OBJ"),
        (Level.HIGH, 3),
        (PurePosixPath("/tmp/x.txt"), "/tmp/x.txt"),
        ({3, 1, 2}, [1, 2, 3]),
        (frozenset({"b", "a"}), ["a", "b"]),
        ((1, "a"), [1, "a"]),
        (deque([1, 2]), [1, 2]),
        (
            {2: "a", None: "b", True: "c", (1, 2): "d", 1.5: "e"},
            {"2": "a", "null": "b", "true": "c", "[1,2]": "d", "1.5": "e"},
        ),
        ({1: "int", "1": "str"}, {"1": "int", "1#2": "str"}),
        (OrderedDict(a=1), {"a": 1}),
        (defaultdict(list, a=[1]), {"a": [1]}),
        (1 + 2j, "(1+2j)"),
        (range(3), "range(0, 3)"),
    ],
    ids=lambda v: type(v).__name__,
)
def test_builtin_types(value: Any, expected: Any) -> None:
    assert capture(value) == expected


def test_path_subclasses() -> None:
    assert capture(Path("rel/x")) == "rel/x"


def test_lone_surrogates_are_replaced_same_length() -> None:
    assert capture("a\ud800b") == "a\ufffdb"


class V2(pydantic.BaseModel):
    name: str
    hush: pydantic.SecretStr
    tags: list[str] = []


class V1(pydantic.v1.BaseModel):
    name: str
    api_key: str


@dataclasses.dataclass
class DC:
    a: int
    b: list[int]
    hidden: int = dataclasses.field(init=False)


@dataclasses.dataclass(slots=True, frozen=True)
class Slots:
    x: int


@attrs.define
class AT:
    x: int
    password: str


NT = namedtuple("NT", ["left", "right"])


def test_pydantic_v2_model_fields_no_user_code() -> None:
    out = capture(V2(name="n", hush=pydantic.SecretStr("hunter2"), tags=["t"]))
    assert out == {"name": "n", "hush": "[REDACTED:pydantic_secret]", "tags": ["t"]}


def test_pydantic_v1_model() -> None:
    assert capture(V1(name="n", api_key="k")) == {"name": "n", "api_key": "[REDACTED:api_key]"}


def test_dataclasses_incl_slots_and_unset_fields() -> None:
    assert capture(DC(1, [2])) == {"a": 1, "b": [2]}
    assert capture(Slots(3)) == {"x": 3}


def test_attrs_and_namedtuple() -> None:
    assert capture(AT(1, "p")) == {"x": 1, "password": "[REDACTED:password]"}
    assert capture(NT(1, [2])) == {"left": 1, "right": [2]}


def test_exceptions() -> None:
    assert capture(KeyError("k")) == {"type": "KeyError", "message": "'k'"}  # its own __str__
    assert capture(RuntimeError("r")) == {"type": "RuntimeError", "message": "r"}
    assert capture(ValueError("a", 2)) == {"type": "ValueError", "message": ["a", 2]}

    class Custom(Exception):
        def __str__(self) -> str:
            return "custom text"

    assert capture(Custom()) == {
        "type": "test_exceptions.<locals>.Custom",
        "message": "custom text",
    }


def test_numpy_arrays_and_scalars_are_summarised_and_bounded() -> None:
    s = CaptureSettings(max_items=10, strict=True)
    assert capture(np.arange(4), s) == [0, 1, 2, 3]
    assert capture(np.float32(1.5), s) == 1.5
    assert capture(np.int64(7), s) == 7
    assert capture(np.bool_(True), s) is True
    big = capture(np.zeros((1000, 1000)), s)
    assert big["shape"] == [1000, 1000] and big["size"] == 10**6
    assert big["dtype"] == "float64" and len(big["head"]) == 9


def test_pandas_frames_are_summarised_in_the_worker() -> None:
    pd = pytest.importorskip("pandas")
    s = CaptureSettings(max_items=4, strict=True)
    frame = pd.DataFrame({c: range(1000) for c in "abcdef"})
    snap = snapshot({"df": frame}, s)
    frame.loc[0, "a"] = 99  # the summary is made later, in the worker (documented)
    out = finalize(snap, s)["df"]
    assert out["type"] == "DataFrame" and out["shape"] == [1000, 6]
    assert out["columns"] == ["a", "b", "c", "d"]  # the first max_items; "shape" tells the rest
    assert out["head"][0] == {"a": 99, "b": 0, "c": 0, "d": 0}
    series = capture(pd.Series([1, 2, 3, 4, 5]), s)
    assert series["head"] == [1, 2, 3, 4] and series["length"] == 5


def test_cycles_in_every_container_kind() -> None:
    lst: list[Any] = [1]
    lst.append(lst)
    assert capture(lst) == [1, "[CYCLE]"]
    d: dict[str, Any] = {"a": 1}
    d["self"] = d
    assert capture(d) == {"a": 1, "self": "[CYCLE]"}
    dc = DC(1, [])
    dc.b.append(dc)  # type: ignore[arg-type]
    assert capture(dc) == {"a": 1, "b": ["[CYCLE]"]}
    t = ([],)
    t[0].append(t)
    assert capture(t) == [["[CYCLE]"]]
    m = V2(name="n", hush=pydantic.SecretStr("s"), tags=[])
    m.__dict__["tags"] = [m]
    assert capture(m)["tags"] == ["[CYCLE]"]
    # deep cycles through levels the worker completes (tiny hot-path budget)
    s = CaptureSettings(snapshot_budget=0, strict=True)
    assert capture({"x": d}, s) == {"x": {"a": 1, "self": "[CYCLE]"}}


class RaisingEverything:
    def __repr__(self) -> str:
        raise RuntimeError("repr")

    def __str__(self) -> str:
        raise RuntimeError("str")

    def __len__(self) -> int:
        raise RuntimeError("len")

    def __iter__(self) -> Any:
        raise RuntimeError("iter")

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError("getattr")


class ReprReturnsInt:
    def __repr__(self) -> Any:
        return 5


class Plain:
    def __init__(self) -> None:
        self.a = 1
        self.token = "t"


class Empty:
    __slots__ = ()


def test_misbehaving_objects_get_a_typed_placeholder() -> None:
    reset_counters()
    assert capture(RaisingEverything()) == "<RaisingEverything: repr() raised RuntimeError>"
    assert counters()["repr_errors"] == 1
    assert capture(ReprReturnsInt()) == "<ReprReturnsInt: repr() returned int>"
    assert capture(Plain()) == {"a": 1, "token": "[REDACTED:token]"}
    assert capture(Empty()) == "<Empty>"


class Meta(type):
    def __getattr__(cls, name: str) -> Any:
        raise RuntimeError("class attribute lookup")


class Weird(metaclass=Meta):
    pass


def test_hostile_metaclass() -> None:
    assert isinstance(capture(Weird()), str)


def test_mocks_do_not_pretend_to_be_anything() -> None:
    for m in (mock.Mock(), mock.MagicMock(), mock.Mock(spec=dict), mock.NonCallableMock()):
        out = capture({"m": m})
        assert isinstance(out["m"], str) and out["m"].startswith("<")
    m = mock.MagicMock()
    capture(m)
    assert m.mock_calls == []  # nothing was called on it


def test_iterators_generators_files_streams_are_never_consumed(tmp_path: Path) -> None:
    gen = (i for i in range(3))
    it = iter([1, 2, 3])
    path = tmp_path / "f.txt"
    path.write_text("line1\nline2\n")

    async def agen() -> Any:
        yield 1

    async def coro() -> int:
        return 1

    ag, co = agen(), coro()
    with path.open() as fh, io.BytesIO(b"stream") as bio:
        out = capture(
            {"gen": gen, "it": it, "fh": fh, "bio": bio, "ag": ag, "co": co, "map": map(str, [1])}
        )
        assert fh.read() == "line1\nline2\n" and bio.read() == b"stream"
    assert list(gen) == [0, 1, 2] and list(it) == [1, 2, 3]
    assert asyncio.run(co) == 1
    assert all(v.endswith("not consumed>") for v in out.values())


def test_functions_classes_modules() -> None:
    assert capture([len, capture, Plain, np]) == [
        "<function len>",
        "<function capture>",
        "<class Plain>",
        "<module numpy>",
    ]


# -- pluggable serializers --------------------------------------------------------------------
class Money:
    def __init__(self, amount: str) -> None:
        self.amount = amount


def test_decorator_global_and_type_serializers_in_order() -> None:
    def per_call(value: Any, context: Any) -> Any:
        return {"call": value.amount} if isinstance(value, Money) else NotImplemented

    def per_type(value: Money, context: Any) -> Any:
        return {"type": value.amount, "token": "t", "note": "sk-proj-Ab3dEf5gHi7jKl9mNo1pQr"}

    def global_(value: Any, context: Any) -> Any:
        return "global" if isinstance(value, Money) else NotImplemented

    s = CaptureSettings(serializer=global_, type_serializers={Money: per_type}, strict=True)
    assert capture(Money("1"), s, serializer=per_call) == {"call": "1"}
    # registered type serializers run under the same redaction and budget
    assert capture(Money("2"), s) == {
        "type": "2",
        "token": "[REDACTED:token]",
        "note": "[REDACTED:openai_key]",
    }
    assert capture(Money("3"), CaptureSettings(serializer=global_)) == "global"
    assert capture([1, "a", None], s, serializer=per_call) == [1, "a", None]


def test_serializer_results_are_bounded_and_may_return_the_value_itself() -> None:
    s = CaptureSettings(
        max_items=3,
        max_string_length=64,
        strict=True,
        serializer=lambda v, c: v if isinstance(v, Money) else NotImplemented,
    )
    assert capture(Money("x"), s) == {"amount": "x"}
    big = CaptureSettings(max_items=3, type_serializers={Money: lambda v, c: list(range(100))})
    assert capture(Money("x"), big) == [0, 1, "[TRUNCATED: 98 more of 100 items]"]


def test_a_raising_serializer_is_counted_and_replaced() -> None:
    def bad(value: Any, context: Any) -> Any:
        raise ValueError("nope")

    reset_counters()
    s = CaptureSettings(type_serializers={Money: bad})
    assert capture({"m": Money("1")}, s) == {"m": "<Money: serializer raised ValueError>"}
    assert counters()["serializer_errors"] == 1
