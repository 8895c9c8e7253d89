"""Real instrumentors, the real SDK clients, a loopback fake LLM server and OTLP receiver.

Every test here exports to a JSONL file and over OTLP at once, and checks both: the
instrumentor's span is under the right parent, typed, priced, carries the trace's
attributes, is counted, and is sent exactly once; no planted secret leaves the process.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import brokle_trace
from brokle_trace import SpanData
from brokle_trace.testing._fake_server import FakeLLMServer
from tests.export.receiver import Receiver

#: Planted in prompts, keys and errors: none of these may appear in any exported byte.
OPENAI_KEY = "sk-proj-Zq3vT8mN1pLx7Rk2Wc9Yb4Hd6Fs0Ga5Je"
ANTHROPIC_KEY = "sk-ant-api03-Xw2Rt7Yp4Lm9Qn1Vb6Zc3Kd8Hf5Gs0Ja"
PASSWORD = "hunter2-Tr0ub4dor"
AWS_SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
GOOGLE_KEY = "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY"
SECRETS = (OPENAI_KEY, ANTHROPIC_KEY, PASSWORD, AWS_SECRET_KEY, GOOGLE_KEY)


@pytest.fixture(scope="session")
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as fake:
        fake.response_models = {"gpt-4o-mini": "gpt-4o-mini-2024-07-18"}
        yield fake


@dataclass
class Exported:
    """What left the process: the JSONL file and the OTLP receiver."""

    path: Path
    receiver: Receiver

    def lines(self) -> list[SpanData]:
        brokle_trace.flush(10)
        if not self.path.exists():
            return []
        return [SpanData.model_validate_json(line) for line in self.path.read_bytes().splitlines()]

    def otlp(self) -> list[Any]:
        brokle_trace.flush(10)
        return self.receiver.spans()

    def raw(self) -> bytes:
        """Every exported byte: the file and each OTLP request as sent (decompressed)."""
        brokle_trace.flush(10)
        data = self.path.read_bytes() if self.path.exists() else b""
        with self.receiver.lock:
            return data + b"".join(r.request.SerializeToString() for r in self.receiver.received)

    def assert_no_secrets(self) -> None:
        raw = self.raw()
        for secret in SECRETS:
            assert secret.encode() not in raw, f"{secret!r} was exported"


@pytest.fixture
def exported(tmp_path: Path) -> Iterator[Exported]:
    receiver = Receiver()
    path = tmp_path / "traces.jsonl"
    brokle_trace.configure(
        exporter=["jsonl", "otlp"],
        traces_file=str(path),
        otlp_endpoint=receiver.url,
        otlp_compression="none",
        schedule_delay=0.05,
        strict=True,
    )
    try:
        yield Exported(path, receiver)
    finally:
        brokle_trace.configure(exporter="none", strict=True)
        receiver.close()


def by_id(spans: list[SpanData]) -> dict[str, SpanData]:
    return {s.span_id: s for s in spans}


def check_exported_once(exported: Exported) -> list[SpanData]:
    """Every JSONL span went over OTLP exactly once, with the same ids; returns the spans."""
    spans = exported.lines()
    sent = [s.span_id.hex() for s in exported.otlp()]
    assert sorted(sent) == sorted(s.span_id for s in spans)
    assert len(set(sent)) == len(sent)
    return spans


@dataclass
class Provider:
    """The provider an instrumentor is handed: ours, or the user's own with our processor
    (``theirs`` then holds what the user's own exporter received)."""

    provider: Any
    theirs: InMemorySpanExporter | None

    def originals(self) -> list[Any]:
        return [] if self.theirs is None else list(self.theirs.get_finished_spans())


@pytest.fixture(params=["tracer_provider", "span_processor"])
def provider(request: pytest.FixtureRequest) -> Iterator[Provider]:
    """Each instrumentor runs both ways: ``tracer_provider()``, and ``span_processor()`` on
    a user's own SDK provider (next to their own exporter, which keeps the originals)."""
    if request.param == "tracer_provider":
        yield Provider(brokle_trace.tracer_provider(), None)
        return
    own = TracerProvider()
    memory = InMemorySpanExporter()
    own.add_span_processor(SimpleSpanProcessor(memory))
    own.add_span_processor(brokle_trace.span_processor())
    yield Provider(own, memory)
    own.shutdown()
