"""Records encoded straight to JSONL lines are byte for byte what SpanData would give."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import brokle_trace
from brokle_trace import SpanData, observe, observe_llm, trace_context
from brokle_trace._export.convert import Resource, to_span_data
from brokle_trace._export.lines import to_line
from brokle_trace._export.record import seal
from brokle_trace._model import EncodedLines, span_json
from brokle_trace._runtime import lifecycle as _lifecycle
from brokle_trace._runtime import state as _state
from brokle_trace.exporters import JsonlExporter
from brokle_trace.testing import InMemoryExporter
from brokle_trace.typing import ExportResult
from tests.capture.strategies import secrets

NAMES = st.text(min_size=1, max_size=12) | st.sampled_from(["step", "100%", "%s%d", "ünï"])
VALUES = st.one_of(
    st.integers(-(1 << 70), 1 << 70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(["short", "x" * 5000, "50% off"]),
    secrets().map(lambda pair: pair[0]),
    st.none(),
    st.booleans(),
    st.lists(st.integers(0, 9), max_size=5),
    st.dictionaries(st.sampled_from(["a", "api_key", "q"]), st.integers(0, 9), max_size=3),
)


def _records(run: Callable[[], None]) -> list[Any]:
    records: list[Any] = []
    _lifecycle.current_pipeline()
    enqueue = _state.enqueue
    _state.enqueue = lambda span: records.append(seal(span))
    try:
        run()
    finally:
        _state.enqueue = enqueue
    return records


@settings(max_examples=150, deadline=None)
@given(
    name=NAMES,
    llm=st.booleans(),
    args=st.lists(VALUES, max_size=3),
    by_keyword=st.booleans(),
    result=VALUES,
    raises=st.booleans(),
    traced=st.booleans(),
    capture=st.booleans(),
    service=st.none() | st.sampled_from(["api", "100% up"]),
)
def test_a_line_equals_the_span_datas_json(  # noqa: PLR0917 - one example's knobs
    name: str,
    llm: bool,
    args: list[Any],
    by_keyword: bool,
    result: Any,
    raises: bool,
    traced: bool,
    capture: bool,
    service: str | None,
) -> None:
    def body(*a: Any, **k: Any) -> Any:
        if raises:
            raise ValueError(f"failed with {result!r}")
        return result

    options: dict[str, Any] = {"name": name, "capture_inputs": capture}
    fn = (
        observe_llm(model="gpt-%d", provider="open%ai", **options)(body)
        if llm
        else observe(**options)(body)
    )
    parent = observe(name="parent")(
        lambda: fn(**{f"k{i}": v for i, v in enumerate(args)}) if by_keyword else fn(*args)
    )

    def run() -> None:
        try:
            if traced:
                with trace_context(user_id="u%1", tags=["t"]):
                    parent()
            else:
                parent()
        except ValueError:
            pass

    settings_, resource = _state.capture_settings, Resource(service=service, release="1%")
    for record in _records(run):
        line = to_line(record, settings_, resource)
        assert line == span_json(to_span_data(record, settings_, resource))
        assert json.loads(line)["name"] in (name, "parent")


class _Recording(JsonlExporter):
    """A subclass that overrides export() must keep receiving SpanData."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.seen: list[type] = []

    def export(self, spans: Sequence[SpanData]) -> ExportResult:
        self.seen.extend(type(span) for span in spans)
        return super().export(spans)


def test_the_jsonl_exporter_alone_gets_lines_and_writes_the_documented_format(
    tmp_path: Path,
) -> None:
    path = tmp_path / "t.jsonl"
    brokle_trace.configure(exporter="jsonl", traces_file=path, strict=True)
    given_lines: list[int] = []
    exporter = _lifecycle.current_pipeline().exporters[0]
    real = exporter.export_lines

    def spy(lines: EncodedLines) -> ExportResult:
        given_lines.append(len(lines))
        return real(lines)

    exporter.export_lines = spy

    @observe
    def step(text: str) -> str:
        return text.upper()

    step("hi")
    assert brokle_trace.flush(5)
    assert given_lines == [1]
    (record,) = (json.loads(line) for line in path.read_text().splitlines())
    assert SpanData.model_validate(record).output == "HI"


def test_lines_only_when_every_exporter_takes_them(tmp_path: Path) -> None:
    memory = InMemoryExporter()
    recording = _Recording(tmp_path / "sub.jsonl")
    plain = JsonlExporter(tmp_path / "plain.jsonl")
    brokle_trace.configure(exporter="none", exporters=[plain, memory, recording], strict=True)

    @observe
    def step(n: int) -> int:
        return n + 1

    step(1)
    assert brokle_trace.flush(5)
    assert recording.seen == [SpanData]
    assert len(memory.spans) == 1
    assert (tmp_path / "plain.jsonl").read_bytes() == span_json(memory.spans[0])


class _Forwarding:
    """A thin wrapper with an export() of its own, forwarding everything else."""

    def __init__(self, inner: JsonlExporter) -> None:
        self.inner = inner
        self.seen: list[type] = []

    def export(self, spans: Sequence[SpanData]) -> ExportResult:
        self.seen.extend(type(span) for span in spans)
        return self.inner.export(spans)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_a_replaced_export_is_always_called_with_span_data(tmp_path: Path) -> None:
    patched = JsonlExporter(tmp_path / "patched.jsonl")
    seen: list[type] = []
    export = patched.export

    def spy(spans: Sequence[SpanData]) -> ExportResult:
        seen.extend(type(span) for span in spans)
        return export(spans)

    patched.export = spy  # type: ignore[method-assign]
    wrapper = _Forwarding(JsonlExporter(tmp_path / "wrapped.jsonl"))
    for exporter in (patched, wrapper):
        brokle_trace.configure(exporter="none", exporters=[exporter], strict=True)

        @observe
        def step(n: int) -> int:
            return n + 1

        step(1)
        assert brokle_trace.flush(5)
    assert seen == [SpanData]
    assert wrapper.seen == [SpanData]
