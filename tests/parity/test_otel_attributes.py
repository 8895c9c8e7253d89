"""``semconv.to_otel_attributes`` merges a third-party span's own attributes in C when none
is dropped: the result (keys, their order, values, dropped count) equals the reference
loop's (``_MERGE_IN_C = False``) for any attributes and limit, and the shortcut fires."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brokle_trace import semconv
from brokle_trace._model import SpanData
from tests.parity.fired import Fired, run

_KEYS = st.sampled_from(
    [
        "openinference.span.kind",
        "gen_ai.operation.name",
        "gen_ai.request.model",
        "gen_ai.response.model",
        "gen_ai.provider.name",
        "gen_ai.system",  # deprecated: renamed, the shortcut's precondition fails
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.output_tokens",
        "input.mime_type",
        "output.mime_type",
        "llm.model_name",
        "llm.input_messages.0.message.content",
        "otel.scope.version",
        "brokle.otel.kind",
        "user.id",
    ]
) | st.text(min_size=1, max_size=12)
_VALUE = st.one_of(
    st.text(max_size=20),
    st.integers(-5, 5),
    st.floats(allow_nan=False),
    st.booleans(),
    st.lists(st.text(max_size=4), max_size=3),
    st.lists(st.integers(0, 3) | st.text(max_size=2), min_size=2, max_size=3),  # mixed
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.none(),
)


def _span(attributes: dict[str, Any], kind: str, inp: Any, out: Any) -> SpanData:
    return SpanData(
        name="s",
        trace_id="1" * 32,
        span_id="2" * 16,
        start_time_ns=1,
        end_time_ns=2,
        type=kind,
        input=inp,
        output=out,
        attributes={"otel.scope.name": "openinference.instrumentation.x", **attributes},
    )


def test_the_merge_in_c_equals_the_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    real = semconv._merged

    @settings(max_examples=400, deadline=None)
    @given(
        attributes=st.dictionaries(_KEYS, _VALUE, max_size=14),
        kind=st.sampled_from(["llm", "tool", "span", "retrieval", "embedding"]),
        inp=st.none() | st.text(max_size=10),
        out=st.none() | st.text(max_size=10) | st.dictionaries(st.text(max_size=3), st.integers()),
        limit=st.sampled_from([3, 6, 10, 128]),
    )
    def prop(fired: Fired, **ex: Any) -> None:
        span = _span(ex["attributes"], ex["kind"], ex["inp"], ex["out"])
        monkeypatch.setattr(semconv, "_MERGE_IN_C", False)
        ref, ref_dropped = semconv.to_otel_attributes(span, max_attributes=ex["limit"])
        monkeypatch.setattr(semconv, "_MERGE_IN_C", True)
        took: list[bool] = []

        def merged(out: dict[str, Any], own: dict[str, Any]) -> dict[str, Any]:
            took.append(True)
            return real(out, own)

        monkeypatch.setattr(semconv, "_merged", merged)
        got, dropped = semconv.to_otel_attributes(span, max_attributes=ex["limit"])
        monkeypatch.setattr(semconv, "_merged", real)
        assert list(got.items()) == list(ref.items())
        assert dropped == ref_dropped
        fired.example(bool(took))

    run(lambda fired: prop(fired), min_share=0.3)
