"""Plant values in every channel a user's code reaches, export, and read back every byte.

``Sink`` configures the real pipeline with two exporters, JSONL to a file and OTLP/HTTP to
the loopback receiver of ``tests/export``, and hands back what each wrote since the last
call: the raw bytes (for leaks) and every string in them, decoded (for false positives:
JSON inside JSON strings and OTLP attributes are parsed too).

The channels are the ones an attacker would try: function inputs, outputs, decorator
metadata and tags, span names, ``update_current_span`` fields, exception messages, stack
traces (with the text straddling the 16 000-character cut) and wrapped SDK calls.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import brokle_trace
from brokle_trace import observe, start_span, update_current_span, update_current_trace
from tests.export.receiver import Receiver


@dataclass
class Exported:
    raw: bytes
    strings: list[str] = field(default_factory=list)

    def has(self, needle: str) -> bool:
        return needle.encode() in self.raw or any(needle in s for s in self.strings)


class Sink:
    """The pipeline, configured to export through JSONL and OTLP; ``take()`` drains both and
    groups what they wrote by trace (a probe is one trace: ``probe()`` opens it)."""

    def __init__(self, path: Path, receiver: Receiver) -> None:
        self.path = path
        self.receiver = receiver
        self._offset = 0
        self._received = 0
        brokle_trace.configure(
            exporter=["jsonl", "otlp"],
            traces_file=str(path),
            otlp_endpoint=receiver.url,
            strict=True,
            max_queue_size=50_000,
        )

    def take(self, decode: bool = True) -> dict[str, dict[int, Exported]]:
        """``{"jsonl": {probe: Exported}, "otlp": {probe: Exported}}`` since the last call;
        ``decode=False`` keeps the raw bytes only."""
        assert brokle_trace.flush(30.0)
        data = self.path.read_bytes()
        jsonl, self._offset = data[self._offset :], len(data)
        with self.receiver.lock:
            requests = self.receiver.received[self._received :]
            self._received = len(self.receiver.received)
        by_trace: dict[str, Exported] = {}
        probes: dict[str, int] = {}
        for line in jsonl.splitlines():
            if not line.strip():
                continue
            span = json.loads(line)
            out = by_trace.setdefault(span["trace_id"], Exported(b""))
            out.raw += line
            if decode:
                _strings(span, out.strings)
            if span["name"].startswith("probe "):
                probes[span["trace_id"]] = int(span["name"].split()[1])
        otlp_by_trace: dict[str, Exported] = {}
        for r in requests:
            for rs in r.request.resource_spans:
                resource: list[str] = []
                for kv in rs.resource.attributes:
                    resource.append(kv.key)
                    _any_value(kv.value, resource)
                for ss in rs.scope_spans:
                    for span in ss.spans:
                        trace = span.trace_id.hex()
                        out = otlp_by_trace.setdefault(trace, Exported(b""))
                        out.raw += span.SerializeToString() + "\n".join(resource).encode()
                        if decode:
                            _otlp_span_strings(span, out.strings)
                            out.strings += resource
        return {
            "jsonl": {probes[t]: e for t, e in by_trace.items() if t in probes},
            "otlp": {probes[t]: e for t, e in otlp_by_trace.items() if t in probes},
        }


def probe(index: int) -> Any:
    """The root span of one probe: everything planted inside belongs to ``index``."""
    return start_span(f"probe {index}")


def _strings(value: Any, out: list[str] | None = None) -> list[str]:
    """Every string in a JSON value, keys included; strings holding JSON are opened too."""
    out = [] if out is None else out
    if isinstance(value, str):
        out.append(value)
        if value[:1] in '{["' and len(value) > 1:
            with contextlib.suppress(ValueError):  # text that merely starts like JSON
                _strings(json.loads(value), out)
    elif isinstance(value, dict):
        for k, v in value.items():
            _strings(k, out)
            _strings(v, out)
    elif isinstance(value, list):
        for v in value:
            _strings(v, out)
    return out


def _any_value(v: Any, out: list[str]) -> None:
    kind = v.WhichOneof("value")
    if kind == "string_value":
        _strings(v.string_value, out)
    elif kind == "array_value":
        for x in v.array_value.values:
            _any_value(x, out)
    elif kind == "kvlist_value":
        for kv in v.kvlist_value.values:
            out.append(kv.key)
            _any_value(kv.value, out)


def _otlp_span_strings(span: Any, out: list[str]) -> None:
    out.append(span.name)
    out.append(span.status.message)
    for kv in span.attributes:
        out.append(kv.key)
        _any_value(kv.value, out)
    for event in span.events:
        out.append(event.name)
        for kv in event.attributes:
            out.append(kv.key)
            _any_value(kv.value, out)


# -- channels: each plants ``text`` (and its JSON, URL and key forms) in one kind of place ---
@dataclass(frozen=True)
class Forms:
    """The text forms of one planted value."""

    text: str
    url: str = ""

    @property
    def prose(self) -> str:
        return f"the value is {self.text} (see the runbook)"

    @property
    def json_in_string(self) -> str:
        return json.dumps({"config": {"value": self.text}, "n": 3})

    @property
    def link(self) -> str:
        return self.url or f"https://files.example.com/v2/{self.text}/download?x=1"


# Decorated once (generating a wrapper costs ~1 ms); the values travel as arguments.
@observe(name="inputs")
def _handle(note: str, payload: str, link: str, table: dict[str, Any]) -> None:
    return None


def _inputs(f: Forms) -> None:
    _handle(f.prose, f.json_in_string, f.link, {f.text: 1, "rows": [f.prose]})


@observe(name="outputs")
def _answer(f: Forms) -> dict[str, Any]:
    return {"answer": f.prose, "raw": f.json_in_string, "link": f.link, f.text: "v"}


def _outputs(f: Forms) -> None:
    _answer(f)


def _metadata(f: Forms) -> None:
    # Decorator metadata is fixed at decoration time: one decorated function per value.
    @observe(name="metadata", metadata={"note": f.prose, "raw": f.json_in_string, f.text: 1})
    def step() -> None:
        update_current_trace(metadata={"link": f.link})

    step()


def _tags(f: Forms) -> None:
    @observe(name="tags", tags=[f.prose, f.link, f.text], user_id=f.text, session_id=f.prose)
    def step() -> None:
        return None

    step()


def _names(f: Forms) -> None:
    @observe(name=f"fetch {f.text}")
    def step() -> None:
        with start_span(f"load {f.link}"):
            pass

    step()


@observe(name="update")
def _updated(f: Forms) -> None:
    update_current_span(
        name=f"renamed {f.text}",
        status_message=f.prose,
        metadata={"raw": f.json_in_string, f.text: 1},
        attributes={"link": f.link, "note": f.prose},
        output=f.prose,
    )


def _update(f: Forms) -> None:
    _updated(f)


@observe(name="exception")
def _failing(f: Forms) -> None:
    raise ValueError(f"request failed: {f.prose}; payload {f.json_in_string}")


def _exception(f: Forms) -> None:
    with contextlib.suppress(ValueError):
        _failing(f)


def _ping(n: int, cause: BaseException) -> None:
    if n == 0:
        raise RuntimeError("outer failure") from cause
    _pong(n - 1, cause)


def _pong(n: int, cause: BaseException) -> None:
    _ping(n - 1, cause)  # two functions: the trace's repeated-frame folding does not apply


@observe(name="stack")
def _chained(f: Forms) -> None:
    try:
        raise KeyError(f.prose)
    except KeyError as inner:
        _ping(40, inner)


def _stack(f: Forms) -> None:
    # The value is in the first exception of a chain; the trace of the second follows it,
    # so the value sits deep inside the exported trace, not in the span's message.
    with contextlib.suppress(RuntimeError):
        _chained(f)


def _wrapped(f: Forms, clients: tuple[Any, Any]) -> None:
    # The value in the request (model name, messages, the SDK's own metadata and user
    # fields) and in the wrapper's options (metadata, tags, user id).
    openai_client, anthropic_client = clients
    wrapped = brokle_trace.wrap_openai(
        openai_client, metadata={"note": f.prose, f.text: 1}, tags=[f.text], user_id=f.text
    )
    wrapped.chat.completions.create(
        model=f"gpt-4o-mini {f.text}",
        metadata={"ref": f.link},
        user=f.text,
        messages=[
            {"role": "system", "content": f.json_in_string},
            {"role": "user", "content": f.prose},
        ],
    )
    claude = brokle_trace.wrap_anthropic(
        anthropic_client, metadata={"link": f.link}, session_id=f.text
    )
    claude.messages.create(
        model=f"claude-3-5-haiku {f.text}",
        max_tokens=16,
        metadata={"user_id": f.text},
        system=f.json_in_string,
        messages=[{"role": "user", "content": f.prose}],
    )


CHANNELS: dict[str, Callable[[Forms], None]] = {
    "inputs": _inputs,
    "outputs": _outputs,
    "metadata": _metadata,
    "tags": _tags,
    "span_names": _names,
    "update_current_span": _update,
    "exception_messages": _exception,
    "stack_traces": _stack,
}


def wrapped_channel(clients: tuple[Any, Any]) -> Callable[[Forms], None]:
    return lambda f: _wrapped(f, clients)


def clients(url: str) -> tuple[Any, Any]:
    """OpenAI and Anthropic clients talking to the fake server at ``url``."""
    import anthropic
    import openai

    return (
        openai.OpenAI(api_key="sk-test", base_url=url + "/v1", max_retries=0),
        anthropic.Anthropic(api_key="sk-ant-test", base_url=url, max_retries=0),
    )
