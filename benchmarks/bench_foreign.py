"""Third-party spans: our processor path vs the OpenTelemetry SDK's own export path.

Run:  python benchmarks/bench_foreign.py [--rounds N] [--json results.json]

The spans are the ones real instrumentors write for real calls: OpenInference's OpenAI and
Anthropic instrumentors, OpenLLMetry's OpenAI instrumentor and OpenInference's LangChain
instrumentor, each run once against the loopback fake LLM server and recorded. Every mode
then replays exactly those spans (name, kind, attributes, events, status) through an SDK
tracer, in one process run, interleaved per round:

* ``bare``: a TracerProvider with no processor (what creating the spans costs anyway);
* ``sdk``: the stock way, ``BatchSpanProcessor(OTLPSpanExporter)`` to an OTLP/HTTP receiver;
* ``ours``: ``brokle_trace.tracer_provider()`` with ``configure(exporter="otlp")`` to the
  same receiver: our queue, redaction, capture limits, cost and OTLP encoding;
* ``ours-noredact``: the same with ``redact=False``, to show what the redaction of the
  instrumentors' texts (prompts, responses, messages) costs on its own;
* ``ours-noredact-userprices``: also priced from ``configure(prices=...)`` rather than
  genai-prices, to show the queue, conversion and encoding alone.

Per-span CPU is whole-process CPU (the caller plus export threads) from the first span to
the end of the flush, minus ``bare``, divided by the spans. The receiver runs in another
process (its CPU is not counted) and counts what arrived: every span must be exported.
Neither side compresses (the SDK exporter's default). Budget: ours <= 1.0x the SDK's.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import brokle_trace

_RECEIVER = r"""
import sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
count = [0]
lock = threading.Lock()
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def _reply(self, body=b"", ctype="application/x-protobuf"):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        req = ExportTraceServiceRequest.FromString(raw)
        n = sum(len(ss.spans) for rs in req.resource_spans for ss in rs.scope_spans)
        with lock:
            count[0] += n
        self._reply()
    def do_GET(self):
        with lock:
            n = count[0]
            if self.path == "/reset":
                count[0] = 0
        self._reply(str(n).encode(), "text/plain")
server = ThreadingHTTPServer(("127.0.0.1", 0), H)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


class Receiver:
    """An OTLP/HTTP receiver in a child process that counts the spans it decodes."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _RECEIVER], stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        self.url = f"http://127.0.0.1:{int(self.proc.stdout.readline())}"

    def take(self) -> int:
        with urllib.request.urlopen(self.url + "/reset", timeout=10) as response:
            return int(response.read())

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def record_real_spans() -> list[ReadableSpan]:
    """Run each instrumentor once on real SDK calls to the fake server; keep its spans."""
    import anthropic
    import openai
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage
    from langchain_core.prompts import ChatPromptTemplate
    from openinference.instrumentation.anthropic import AnthropicInstrumentor
    from openinference.instrumentation.langchain import LangChainInstrumentor
    from openinference.instrumentation.openai import OpenAIInstrumentor
    from opentelemetry.instrumentation.openai import OpenAIInstrumentor as OpenLLMetryOpenAI

    from brokle_trace.testing._fake_server import FakeLLMServer

    provider = TracerProvider()
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    messages = [
        {"role": "system", "content": "You are a support agent. Answer from the policy."},
        {"role": "user", "content": "Can I return shoes I bought three weeks ago? " * 3},
    ]
    with FakeLLMServer() as server:
        server.response_models = {"gpt-4o-mini": "gpt-4o-mini-2024-07-18"}
        gpt = openai.OpenAI(api_key="sk-bench", base_url=server.url + "/v1")
        claude = anthropic.Anthropic(api_key="sk-ant-bench", base_url=server.url)
        for instrumentor, call in (
            (
                OpenAIInstrumentor(),
                lambda: gpt.chat.completions.create(model="gpt-4o-mini", messages=messages),
            ),
            (
                OpenLLMetryOpenAI(),
                lambda: gpt.chat.completions.create(model="gpt-4o-mini", messages=messages),
            ),
            (
                AnthropicInstrumentor(),
                lambda: claude.messages.create(
                    model="claude-3-5-sonnet-20241022", max_tokens=200, messages=messages[1:]
                ),
            ),
        ):
            instrumentor.instrument(tracer_provider=provider)
            call()
            instrumentor.uninstrument()
        LangChainInstrumentor().instrument(tracer_provider=provider)
        prompt = ChatPromptTemplate.from_messages([("system", "be brief"), ("user", "{q}")])
        model = GenericFakeChatModel(messages=iter([AIMessage(content="Yes, within 30 days.")]))
        (prompt | model).invoke({"q": "returns?"})
        LangChainInstrumentor().uninstrument()
    return list(memory.get_finished_spans())


@dataclass
class Recorded:
    """What ``replay`` reads of a recorded span, loaded back from ``save_spans``' file."""

    name: str
    kind: Any
    attributes: dict[str, Any]
    events: list[Any]
    status: Any


def save_spans(spans: list[ReadableSpan], path: str) -> None:
    """The recorded spans as JSON (what ``replay`` reads), for ``callgrind_foreign``'s
    children: recorded once, natively, instead of once per run under valgrind."""
    rows = [
        {
            "name": s.name,
            "kind": s.kind.value,
            "attributes": dict(s.attributes or {}),
            "events": [[e.name, dict(e.attributes or {})] for e in s.events],
            "status": [s.status.status_code.value, s.status.description],
        }
        for s in spans
    ]
    with open(path, "w") as fh:
        json.dump(rows, fh)


def load_spans(path: str) -> list[Any]:
    """``save_spans``' spans back (sequences as the tuples the SDK stores)."""
    from opentelemetry.sdk.trace import Event
    from opentelemetry.trace import SpanKind, Status, StatusCode

    def value(v: Any) -> Any:
        return tuple(v) if isinstance(v, list) else v

    with open(path) as fh:
        rows = json.load(fh)
    return [
        Recorded(
            row["name"],
            SpanKind(row["kind"]),
            {k: value(v) for k, v in row["attributes"].items()},
            [Event(name, {k: value(v) for k, v in attrs.items()}) for name, attrs in row["events"]],
            Status(StatusCode(row["status"][0]), row["status"][1]),
        )
        for row in rows
    ]


_cache: dict[tuple[int, int], list[list[dict[str, Any]]]] = {}


def _variants(spans: list[ReadableSpan], times: int) -> list[list[dict[str, Any]]]:
    # Built once per size, outside every timed region (see main()).
    key = (id(spans), times)
    if key not in _cache:
        _cache[key] = variants(spans, times)
    return _cache[key]


#: The user's words in the recorded calls: every attribute holding them (prompts, request
#: and response JSON, messages, the fake server's echo) is unique per replay, as real
#: traffic is; system prompts, parameters and model names repeat, as they do in real traffic.
QUESTIONS = ("Can I return shoes I bought three weeks ago?", "returns?", "Yes, within 30 days.")


def variants(spans: list[ReadableSpan], times: int) -> list[list[dict[str, Any]]]:
    """Each span's attributes per replay, the user's words numbered."""
    out = []
    for i in range(times):
        rows = []
        for rec in spans:
            attrs = {}
            for key, original in (rec.attributes or {}).items():
                value = original
                if isinstance(value, str):
                    for q in QUESTIONS:
                        value = value.replace(q, f"{q[:-1]} (case {i}){q[-1]}")
                attrs[key] = value
            rows.append(attrs)
        out.append(rows)
    return out


def replay(provider: TracerProvider, spans: list[ReadableSpan], times: int) -> int:
    """Start and end every recorded span ``times`` times through ``provider``'s tracer."""
    tracer = provider.get_tracer("bench")
    made = 0
    for attributes in _variants(spans, times):
        for rec, attrs in zip(spans, attributes, strict=True):
            span = tracer.start_span(rec.name, kind=rec.kind, attributes=attrs)
            for event in rec.events:
                span.add_event(event.name, event.attributes)
            span.set_status(rec.status)
            span.end()
            made += 1
    return made


@dataclass
class Mode:
    name: str
    cpu_s: list[float]
    spans: int = 0
    exported: int = 0


def run_bare(spans: list[ReadableSpan], times: int) -> tuple[float, int, int]:
    provider = TracerProvider()
    start = time.process_time()
    n = replay(provider, spans, times)
    return time.process_time() - start, n, n


def run_sdk(spans: list[ReadableSpan], times: int, receiver: Receiver) -> tuple[float, int, int]:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    provider = TracerProvider()
    processor = BatchSpanProcessor(
        OTLPSpanExporter(endpoint=receiver.url + "/v1/traces"),
        max_queue_size=max(2048, times * len(spans) + 1),  # drop nothing: compare CPU
    )
    provider.add_span_processor(processor)
    start = time.process_time()
    n = replay(provider, spans, times)
    processor.force_flush(600_000)
    cpu = time.process_time() - start
    processor.shutdown()
    return cpu, n, receiver.take()


#: ``configure(prices=...)`` for the recorded models: priced from the user's table, which
#: skips genai-prices' lookup (~0.2 ms per LLM span on the export worker, issue 19).
USER_PRICES = {
    "gpt-4o-mini-2024-07-18": {"input": 0.15, "output": 0.6},
    "gpt-4o-mini": {"input": 0.15, "output": 0.6},
    "claude-3-5-sonnet-20241022": {"input": 3.0, "output": 15.0},
    "genericfakechatmodel": {"input": 0.0, "output": 0.0},
}


def run_ours(
    spans: list[ReadableSpan],
    times: int,
    receiver: Receiver,
    redact: bool = True,
    prices: dict[str, Any] | None = None,
) -> tuple[float, int, int]:
    brokle_trace.configure(
        exporter="otlp",
        otlp_endpoint=receiver.url,
        otlp_compression="none",
        redact=redact,
        prices=prices or {},
    )
    provider = brokle_trace.tracer_provider()
    before = brokle_trace.stats()["exported"]
    start = time.process_time()
    n = replay(provider, spans, times)
    assert brokle_trace.flush(600)  # valgrind: ~50x slower
    cpu = time.process_time() - start
    assert brokle_trace.stats()["exported"] - before == n
    return cpu, n, receiver.take()


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--times", type=int, default=300, help="replays of the set per round")
    parser.add_argument("--json", type=str, default=None)
    args = parser.parse_args(argv)

    spans = record_real_spans()
    receiver = Receiver()
    names = ("bare", "sdk", "ours", "ours-noredact", "ours-noredact-userprices")
    modes = {name: Mode(name, []) for name in names}
    _variants(spans, args.times)
    _variants(spans, 20)
    try:
        run_sdk(spans, 20, receiver)  # warm-up: imports, connections, caches
        run_ours(spans, 20, receiver)
        for _ in range(args.rounds):
            for name, run in (
                ("bare", lambda: run_bare(spans, args.times)),
                ("sdk", lambda: run_sdk(spans, args.times, receiver)),
                ("ours", lambda: run_ours(spans, args.times, receiver)),
                ("ours-noredact", lambda: run_ours(spans, args.times, receiver, False)),
                (
                    "ours-noredact-userprices",
                    lambda: run_ours(spans, args.times, receiver, False, USER_PRICES),
                ),
            ):
                cpu, made, exported = run()
                mode = modes[name]
                mode.cpu_s.append(cpu)
                mode.spans += made
                mode.exported += exported
    finally:
        receiver.close()
        brokle_trace.configure(exporter="none")

    per_round = args.times * len(spans)
    bare = statistics.median(modes["bare"].cpu_s) / per_round
    result: dict[str, Any] = {
        "spans_per_round": per_round,
        "recorded": [s.name for s in spans],
        "rounds": args.rounds,
    }
    print(f"{len(spans)} recorded spans x {args.times} per round, {args.rounds} rounds")
    print(f"{'mode':25} {'CPU/span us (median)':>21} {'over bare us':>13} {'exported':>11}")
    for name, mode in modes.items():
        per_span = statistics.median(mode.cpu_s) / per_round
        over = per_span - bare
        result[name] = {
            "cpu_us_per_span": per_span * 1e6,
            "over_bare_us": over * 1e6,
            "spans": mode.spans,
            "exported": mode.exported,
        }
        shown = f"{mode.exported}/{mode.spans}" if name != "bare" else "-"
        print(f"{name:25} {per_span * 1e6:21.1f} {over * 1e6:13.1f} {shown:>11}")
    ratio = result["ours"]["over_bare_us"] / result["sdk"]["over_bare_us"]
    bare_ratio = result["ours-noredact"]["over_bare_us"] / result["sdk"]["over_bare_us"]
    result["ratio_ours_vs_sdk"] = ratio
    result["ratio_ours_noredact_vs_sdk"] = bare_ratio
    everything = all(modes[m].exported == modes[m].spans for m in modes if m != "bare")
    ok = ratio <= 1.0 and everything
    print(f"ours / sdk (processor path): {ratio:.2f}x  (budget <= 1.0x) {'OK' if ok else 'MISS'}")
    pipe_ratio = result["ours-noredact-userprices"]["over_bare_us"] / result["sdk"]["over_bare_us"]
    result["ratio_ours_pipeline_only_vs_sdk"] = pipe_ratio
    print(f"ours without redaction / sdk: {bare_ratio:.2f}x; every span exported: {everything}")
    print(f"ours without redaction, user prices (the pipeline alone) / sdk: {pipe_ratio:.2f}x")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=2)
    return result


if __name__ == "__main__":
    main()
