"""brokle_trace: tracing for LLM applications.

Decorate functions with ``@observe`` (and ``@observe_llm``, ``@observe_retrieval``); every
call becomes a span in a correct tree, with inputs and outputs captured at a bounded cost and
secrets redacted, exported in the background to a JSONL file or any OpenTelemetry backend.

Example:
    >>> from brokle_trace import observe
    >>> @observe
    ... def hello(name: str) -> str:
    ...     return f"hello {name}"
    >>> hello("world")
    'hello world'
"""

from brokle_trace._decorate.observe import observe, observe_llm, observe_retrieval
from brokle_trace._model import ErrorInfo, SpanData
from brokle_trace._runtime.config import ConfigError
from brokle_trace._runtime.lifecycle import configure, flush, shutdown, stats
from brokle_trace._trace.context import ContextThreadPoolExecutor, wrap_context
from brokle_trace._trace.manual import (
    get_current_span,
    get_current_trace_id,
    start_span,
    trace_context,
    tracing_disabled,
    update_current_span,
    update_current_trace,
)
from brokle_trace._trace.provider import span_processor, tracer_provider
from brokle_trace._trace.span import Span
from brokle_trace.llm import update_current_llm
from brokle_trace.llm._anthropic import wrap_anthropic
from brokle_trace.llm._openai import wrap_openai
from brokle_trace.llm._summary import summarize
from brokle_trace.typing import Exporter, ExportResult, Serializer

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "ContextThreadPoolExecutor",
    "ErrorInfo",
    "ExportResult",
    "Exporter",
    "Serializer",
    "Span",
    "SpanData",
    "configure",
    "flush",
    "get_current_span",
    "get_current_trace_id",
    "observe",
    "observe_llm",
    "observe_retrieval",
    "shutdown",
    "span_processor",
    "start_span",
    "stats",
    "summarize",
    "trace_context",
    "tracer_provider",
    "tracing_disabled",
    "update_current_llm",
    "update_current_span",
    "update_current_trace",
    "wrap_anthropic",
    "wrap_context",
    "wrap_openai",
]
