"""Fixtures for the viewer commands: a real demo file and synthetic spans with known times."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

T0 = 1_700_000_000_000_000_000  # ns; a fixed epoch so synthetic traces sort predictably
MS = 1_000_000


def tid(trace: int) -> str:
    """Trace ids that differ in their first characters, so prefixes select one."""
    return f"{trace:02x}" + "a" * 30


def span(  # noqa: PLR0917 - positional, so a list of spans reads like a table
    trace: int,
    sid: int,
    parent: int | None,
    name: str,
    start_ms: float,
    end_ms: float,
    **fields: Any,
) -> dict[str, Any]:
    """A JSONL span with ids derived from small integers and times in ms after ``T0``."""
    return {
        "format_version": 1,
        "name": name,
        "trace_id": tid(trace),
        "span_id": f"{sid:016x}",
        "parent_span_id": None if parent is None else f"{parent:016x}",
        "type": "span",
        "start_time_ns": T0 + int(start_ms * MS),
        "end_time_ns": T0 + int(end_ms * MS),
        "status": "ok",
        "attributes": {},
        **fields,
    }


def write_jsonl(path: Path, spans: list[dict[str, Any]], extra: bytes = b"") -> Path:
    path.write_bytes(b"".join(orjson.dumps(s) + b"\n" for s in spans) + extra)
    return path


def llm_attrs(model: str, provider: str, tin: int, tout: int, cost: float) -> dict[str, Any]:
    return {
        "gen_ai.request.model": model,
        "gen_ai.provider.name": provider,
        "gen_ai.usage.input_tokens": tin,
        "gen_ai.usage.output_tokens": tout,
        "brokle.cost.total_usd": cost,
    }


def three_traces() -> list[dict[str, Any]]:
    """Trace 1 (oldest, ok, user a), trace 2 (error, session s2), trace 3 (newest, LLM)."""
    return [
        span(1, 11, None, "ingest", 0, 50, user_id="a", session_id="s1", input={"doc": "x"}),
        span(1, 12, 11, "parse", 5, 20, user_id="a", session_id="s1", output="parsed"),
        span(
            2,
            21,
            None,
            "answer",
            100,
            180,
            session_id="s2",
            status="error",
            error={"type": "ValueError", "message": "bad", "stacktrace": "Traceback..."},
        ),
        span(2, 22, 21, "lookup", 110, 120, type="retrieval", session_id="s2"),
        span(
            3,
            32,
            31,
            "chat",
            210,
            290,
            type="llm",
            attributes=llm_attrs("gpt-4o", "openai", 120, 30, 0.0015),
        ),
        span(3, 31, None, "agent-run", 200, 300, type="agent", user_id="b"),
    ]


@pytest.fixture
def three(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "three.jsonl", three_traces())


@pytest.fixture(scope="session")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The README's main job: two runs of ``brokle-trace demo`` into one file."""
    path = tmp_path_factory.mktemp("demo") / "demo.jsonl"
    for _ in range(2):
        subprocess.run(
            [sys.executable, "-m", "brokle_trace", "demo", "--file", str(path)],
            check=True,
            capture_output=True,
            timeout=120,
            cwd=path.parent,
        )
    return path


def large_file(
    path: Path, *, chunks: int = 500, per_chunk: int = 99, small_traces: int = 1_999
) -> Path:
    """One trace of ``1 + chunks * (1 + per_chunk)`` spans (50 001 by default: LLM calls,
    retrievals and tools, one in 125 failed) and ``small_traces`` traces of 5 spans: what a
    batch job plus a day of requests look like in one file."""

    def ident(n: int, width: int) -> str:
        return f"{n:0{width}x}"

    def one(  # noqa: PLR0917 - the same positional table as span()
        trace: int,
        sid: int,
        parent: int | None,
        name: str,
        start_ms: float,
        end_ms: float,
        **fields: Any,
    ) -> dict[str, Any]:
        s = span(trace, sid, parent, name, start_ms, end_ms, **fields)
        s["trace_id"] = ident(trace, 32)
        return s

    kinds = [
        ("llm", "gpt-4o-mini"),
        ("llm", "gpt-4o"),
        ("retrieval", None),
        ("tool", None),
        ("llm", "claude-3-5-haiku"),
    ]
    with path.open("wb") as fh:
        out: list[dict[str, Any]] = []
        sid = 2
        for c in range(chunks):
            chunk_id, base = sid, c * 10.0
            sid += 1
            for k in range(per_chunk):
                kind, model = kinds[k % len(kinds)]
                extra: dict[str, Any] = {"type": kind, "input": {"q": f"question {c}-{k}"}}
                if model:
                    extra["attributes"] = llm_attrs(model, "openai", 40 + k, 20, 0.0000125 * k)
                    extra["output"] = {
                        "choices": [{"message": {"role": "assistant", "content": f"answer {k}"}}]
                    }
                elif kind == "retrieval":
                    extra["attributes"] = {
                        "gen_ai.data_source.id": "kb",
                        "brokle.retrieval.document_count": 3,
                    }
                else:
                    extra["attributes"] = {"gen_ai.tool.name": "lookup"}
                if (c * per_chunk + k) % 125 == 7:
                    extra.update(
                        status="error",
                        error={"type": "RateLimitError", "message": f"429 at {c}-{k}"},
                    )
                out.append(
                    one(
                        1,
                        sid,
                        chunk_id,
                        f"step-{c}-{k}",
                        base + k * 0.1,
                        base + k * 0.1 + 0.08,
                        **extra,
                    )
                )
                sid += 1
            out.append(one(1, chunk_id, 1, f"chunk-{c}", base, base + 9.9, type="chain"))
            if len(out) > 10_000:
                fh.write(b"".join(orjson.dumps(s) + b"\n" for s in out))
                out.clear()
        out.append(one(1, 1, None, "batch-job", 0, chunks * 10.0, type="agent"))
        for t in range(2, small_traces + 2):
            root, at = sid, 10_000.0 + t * 50
            failed = {"status": "error", "error": {"type": "ValueError", "message": "bad"}}
            out += [
                one(
                    t,
                    sid + 1,
                    root,
                    "retrieve",
                    at + 1,
                    at + 3,
                    type="retrieval",
                    attributes={"gen_ai.data_source.id": "docs"},
                ),
                one(
                    t,
                    sid + 2,
                    root,
                    "answer",
                    at + 3,
                    at + 20,
                    type="llm",
                    attributes=llm_attrs("gpt-4o-mini", "openai", 300, 80, 0.0000930),
                    **(failed if t % 10 == 0 else {}),
                ),
                one(t, sid + 3, root, "format", at + 20, at + 21),
                one(t, sid + 4, root, "notify", at + 21, at + 22, type="tool"),
                one(t, root, None, f"request-{t}", at, at + 25, user_id=f"u{t % 7}"),
            ]
            sid += 5
        fh.write(b"".join(orjson.dumps(s) + b"\n" for s in out))
    return path
