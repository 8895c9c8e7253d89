"""OpenTelemetry interop edges: custom runtime contexts, generators, when interop installs."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

import brokle_trace
from brokle_trace import observe
from brokle_trace.testing import InMemoryExporter
from tests.helpers import one

ROOT = Path(__file__).resolve().parents[1]


def _run(code: str, env: dict[str, str], path: Path | None = None) -> str:
    full_env = {**os.environ, **env}
    full_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(path) if path else "", str(ROOT), full_env.get("PYTHONPATH", "")) if p
    )
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


#: A runtime context of its own storage (no ``_current_context``), installed the way any
#: runtime is: a distribution's ``opentelemetry_context`` entry point + OTEL_PYTHON_CONTEXT.
_RUNTIME = """
from contextvars import ContextVar
from opentelemetry.context.context import Context, _RuntimeContext

class MyRuntime(_RuntimeContext):
    def __init__(self):
        self._slot = ContextVar("my_runtime", default=Context())
        self.gets = 0
    def attach(self, context):
        return self._slot.set(context)
    def get_current(self):
        self.gets += 1
        return self._slot.get()
    def detach(self, token):
        self._slot.reset(token)
"""

_TREE = """
import brokle_trace
from brokle_trace import observe
from brokle_trace.testing import InMemoryExporter
from opentelemetry import context, trace

memory = InMemoryExporter()
brokle_trace.configure(exporter="none", exporters=[memory], strict=True)
tracer = brokle_trace.tracer_provider().get_tracer("t")

@observe
def child(**values):
    brokle_trace.update_current_trace(**values)

@observe
def parent():
    ours = brokle_trace.get_current_span()
    assert trace.get_current_span().get_span_context().span_id == ours.span_id_int
    child(user_id="u-1")  # a direct child: reaches its parent
    with tracer.start_as_current_span("otel-between"):
        child(session_id="s-1")  # through a running OTel span: reaches it and the parent

parent()
brokle_trace.flush(5)
p = [s for s in memory.spans if s.name == "parent"][0]
o = [s for s in memory.spans if s.name == "otel-between"][0]
kids = [s for s in memory.spans if s.name == "child"]
assert o.parent_span_id == p.span_id, (o.parent_span_id, p.span_id)
assert kids[0].parent_span_id == p.span_id
assert kids[1].parent_span_id == o.span_id
assert (p.user_id, p.session_id) == ("u-1", "s-1"), (p.user_id, p.session_id)
assert (o.user_id, o.session_id) == ("u-1", "s-1"), (o.user_id, o.session_id)
print(type(context._RUNTIME_CONTEXT).__name__)
"""


def test_custom_runtime_context_keeps_the_tree_and_trace_attributes(tmp_path: Path) -> None:
    (tmp_path / "my_runtime.py").write_text(_RUNTIME)
    dist = tmp_path / "my_runtime-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: my-runtime\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[opentelemetry_context]\nmy_runtime = my_runtime:MyRuntime\n"
    )
    check = "from opentelemetry import context\nassert type(context._RUNTIME_CONTEXT).__name__"
    check += " == 'MyRuntime'\n"
    out = _run(check + _TREE, {"OTEL_PYTHON_CONTEXT": "my_runtime"}, tmp_path)
    assert out.strip() == "OverlayRuntimeContext"


_ASYNC_TREE = """
import asyncio

@observe
async def leaf(i):
    with tracer.start_as_current_span(f"otel-{i}"):
        await asyncio.sleep(0)
        assert trace.get_current_span().get_span_context().span_id != 0

@observe
async def fan():
    await asyncio.gather(*(leaf(i) for i in range(5)))

asyncio.run(fan())
brokle_trace.flush(5)
by_id = {s.span_id: s for s in memory.spans}
fan_span = [s for s in memory.spans if s.name == "fan"][0]
for i in range(5):
    o = [s for s in memory.spans if s.name == f"otel-{i}"][0]
    assert by_id[o.parent_span_id].name == "leaf", o.parent_span_id
    assert by_id[o.parent_span_id].parent_span_id == fan_span.span_id
print(type(context._RUNTIME_CONTEXT).__name__)
"""


def test_our_runtime_context_through_the_entry_point_is_never_replaced() -> None:
    # OTEL_PYTHON_CONTEXT=brokle_trace: OpenTelemetry loads brokle_trace_context through
    # the public opentelemetry_context entry point; the runtime object stays OpenTelemetry's
    # choice, and the tree, update_current_trace and asyncio fan-outs work as with the default.
    check = "from opentelemetry import context\nassert type(context._RUNTIME_CONTEXT).__name__"
    check += " == 'BrokleRuntimeContext'\n"
    out = _run(check + _TREE + _ASYNC_TREE, {"OTEL_PYTHON_CONTEXT": "brokle_trace"})
    assert out.split() == ["BrokleRuntimeContext", "BrokleRuntimeContext"]


def test_the_runtime_module_imports_nothing_of_the_package() -> None:
    # OpenTelemetry imports it halfway through its own context module: pulling in
    # brokle_trace there would import opentelemetry.context half-initialised.
    code = """
    import sys
    import brokle_trace_context
    assert not [m for m in sys.modules if m == "brokle_trace" or m.startswith("brokle_trace.")]
    print("ok")
    """
    assert _run(code, {}).strip() == "ok"


def test_interop_installs_at_the_first_span_not_at_import() -> None:
    code = """
    from opentelemetry import context
    before = context._RUNTIME_CONTEXT
    import brokle_trace

    @brokle_trace.observe
    def f():
        return 1

    assert context._RUNTIME_CONTEXT is before  # importing and decorating change nothing
    brokle_trace.configure(exporter="none")
    f()
    print(type(context._RUNTIME_CONTEXT).__name__)
    """
    assert _run(code, {}).strip() == "OverlayRuntimeContext"


# -- generators: OpenTelemetry's context is restored at each step ---------------------------


@pytest.fixture
def tracer(memory: InMemoryExporter) -> object:
    return brokle_trace.tracer_provider().get_tracer("gen-test")


@observe
def caller_step() -> None:
    pass


def test_otel_span_inside_a_generator_does_not_leak_into_the_caller(
    tracer: object, memory: InMemoryExporter
) -> None:
    @observe
    def numbers() -> Iterator[int]:
        with tracer.start_as_current_span("inside-gen"):  # type: ignore[attr-defined]
            yield 1
            yield 2

    @observe
    def consume() -> list[int]:
        out = []
        for item in numbers():
            caller_step()  # between items: the caller's context, not the generator's
            with tracer.start_as_current_span("caller-otel"):  # type: ignore[attr-defined]
                pass
            out.append(item)
        return out

    assert consume() == [1, 2]
    brokle_trace.flush(5)
    spans = memory.spans
    root = one(spans, "consume")
    gen = one(spans, "numbers")
    assert one(spans, "inside-gen").parent_span_id == gen.span_id
    assert [s.parent_span_id for s in spans if s.name == "caller_step"] == [root.span_id] * 2
    assert [s.parent_span_id for s in spans if s.name == "caller-otel"] == [root.span_id] * 2


def test_callers_otel_span_between_items_stays_out_of_the_generator(
    tracer: object, memory: InMemoryExporter
) -> None:
    @observe
    def steps() -> Iterator[int]:
        yield 1
        caller_step()  # the generator's step: under the generator's span
        yield 2

    it = steps()
    next(it)
    with tracer.start_as_current_span("caller-open"):  # type: ignore[attr-defined]
        next(it)
    it.close()
    brokle_trace.flush(5)
    assert one(memory.spans, "caller_step").parent_span_id == one(memory.spans, "steps").span_id


def test_async_generator_restores_otel_context(tracer: object, memory: InMemoryExporter) -> None:
    @observe
    async def tokens() -> AsyncIterator[str]:
        with tracer.start_as_current_span("inside-agen"):  # type: ignore[attr-defined]
            yield "a"
            yield "b"

    @observe
    async def consume() -> str:
        out = ""
        async for tok in tokens():
            caller_step()
            out += tok
        return out

    assert asyncio.run(consume()) == "ab"
    brokle_trace.flush(5)
    spans = memory.spans
    assert one(spans, "inside-agen").parent_span_id == one(spans, "tokens").span_id
    root = one(spans, "consume")
    assert [s.parent_span_id for s in spans if s.name == "caller_step"] == [root.span_id] * 2


def test_global_provider_only_when_asked() -> None:
    code = """
    import brokle_trace
    from brokle_trace.testing import InMemoryExporter
    from opentelemetry import trace

    memory = InMemoryExporter()
    brokle_trace.configure(exporter="none", exporters=[memory])
    brokle_trace.tracer_provider()
    assert trace.get_tracer_provider() is not brokle_trace.tracer_provider()
    brokle_trace.configure(exporter="none", exporters=[memory], otel_global=True)
    assert trace.get_tracer_provider() is brokle_trace.tracer_provider()
    with trace.get_tracer("auto.instrumented").start_as_current_span("via-global"):
        pass
    brokle_trace.flush(5)
    print([s.name for s in memory.spans])
    """
    assert _run(code, {}).strip() == "['via-global']"


def test_a_second_runtime_instance_does_not_take_the_hook() -> None:
    # OTEL_PYTHON_CONTEXT=brokle_trace, then another BrokleRuntimeContext() (the module's
    # doctest makes one): the hook once went to the newest instance, one OpenTelemetry never
    # reads, so OTel lost sight of our spans and ours of OTel's (the child below was
    # parented to "parent", past the running OTel span).
    second = "import brokle_trace_context\nbrokle_trace_context.BrokleRuntimeContext()\n"
    out = _run(
        _TREE.replace("import brokle_trace\n", "import brokle_trace\n" + second, 1),
        {"OTEL_PYTHON_CONTEXT": "brokle_trace"},
    )
    assert out.strip() == "BrokleRuntimeContext"
