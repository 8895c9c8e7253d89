"""Checked by ``mypy --strict`` in CI (not collected by pytest): pins the typed public API.

Decorated functions keep their signatures; an unknown option name is a type error. Each
``type: ignore[...]`` below must be needed: strict mode's ``warn_unused_ignores`` fails the
check if one of these lines stops being an error.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

from typing_extensions import assert_type

import brokle_trace
from brokle_trace import observe, observe_llm, observe_retrieval, start_span, trace_context


@observe
def bare(text: str, n: int = 1) -> str:
    return text * n


@observe(name="pipeline", tags=["prod"], ignore_args=["api_key"], flush=True)
def pipeline(doc: str, api_key: str) -> list[str]:
    return [doc]


@observe_llm(model="gpt-4o-mini", provider="openai", capture_content=False)
async def ask(prompt: str) -> dict[str, object]:
    return {"text": prompt}


@observe_retrieval(index_name="docs", top_k=3)
def search(query: str) -> list[str]:
    return [query]


@observe(type="tool")
def stream(n: int) -> Iterator[int]:
    yield from range(n)


@observe
async def astream(n: int) -> AsyncIterator[int]:
    for i in range(n):
        yield i


assert_type(bare("a"), str)
assert_type(pipeline("d", api_key="k"), list[str])
assert_type(search("q"), list[str])
assert_type(stream(2), Iterator[int])
assert_type(astream(2), AsyncIterator[int])

bare(1)  # type: ignore[arg-type]
pipeline("d")  # type: ignore[call-arg]


observe_llm(modle="gpt-4")  # type: ignore[call-overload]
observe(type="database")  # type: ignore[call-overload]
observe_retrieval(top_k="5")  # type: ignore[call-overload]
observe(tags="prod", ignore_args=["x"], nme="x")  # type: ignore[call-overload]


with start_span("block", type="tool") as span:
    span.update(metadata={"k": 1})
with trace_context(user_id="u1", session_id="s1", tags=["t"]):
    pass
brokle_trace.configure(exporter="none")
ok: bool = brokle_trace.flush(1.0)


# Issue 16: the options users reach for, typed.
@observe(
    name=lambda q, **_: f"search:{q}",
    enabled=lambda: True,
    process_inputs=lambda inputs: inputs,
    process_outputs=lambda output: output,
    exceptions_to_handle=(KeyError, LookupError),
    level="warning",
    new_trace=True,
    trace_name="nightly",
)
def shaped(q: str) -> str:
    return q


@observe(type="reranker", process_chunk=str.upper, reduce="".join)
def chunks() -> Iterator[str]:
    yield "a"


@trace_context(session_id="s", name="request", enabled=False)
def scoped(q: str) -> str:
    return q


assert_type(shaped("q"), str)
assert_type(scoped("q"), str)
observe(level="fatal")  # type: ignore[call-overload]
observe(enabled="no")  # type: ignore[call-overload]
with brokle_trace.tracing_disabled(), start_span("job", new_trace=True) as job:
    job.set_status("error", "failed")
    job.record_exception(ValueError("x"))
brokle_trace.update_current_trace(name="checkout")
brokle_trace.update_current_llm(provider="mistral")
