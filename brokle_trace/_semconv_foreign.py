"""Third-party spans: what the conventions instrumentors speak mean in ours (one table).

Re-exported by ``semconv`` (read it there): kept apart so ``semconv`` stays one job, our
names and their OTLP mapping. The names are spelled out, as the instrumentors write them.
"""

from __future__ import annotations

__all__ = [
    "BROKLE_OTEL_ATTRIBUTES_DROPPED",
    "BROKLE_OTEL_EVENTS",
    "BROKLE_OTEL_EVENTS_DROPPED",
    "BROKLE_OTEL_KIND",
    "BROKLE_OTEL_LINKS",
    "BROKLE_OTEL_LINKS_DROPPED",
    "BROKLE_OTEL_TRACE_STATE",
    "BROKLE_REMOTE_PARENT",
    "FOREIGN_FIELDS",
    "FOREIGN_MESSAGE_PREFIXES",
    "SCOPE_NAME_ATTRIBUTE",
    "SCOPE_VERSION_ATTRIBUTE",
    "TRACELOOP_SPAN_KIND",
    "TYPE_BY_GEN_AI_OPERATION",
    "TYPE_BY_OPENINFERENCE_KIND",
    "TYPE_BY_TRACELOOP_KIND",
]

TRACELOOP_SPAN_KIND = "traceloop.span.kind"
#: Where a third-party span's instrumentation scope travels (OTel's names for non-OTLP formats).
SCOPE_NAME_ATTRIBUTE = "otel.scope.name"
SCOPE_VERSION_ATTRIBUTE = "otel.scope.version"
#: A third-party span's OTel span kind (when not INTERNAL), events and links, as data.
BROKLE_OTEL_KIND = "brokle.otel.kind"
BROKLE_OTEL_EVENTS = "brokle.otel.events"
BROKLE_OTEL_LINKS = "brokle.otel.links"
#: How many of a third-party span's events, links, attributes were dropped (by the SDK's
#: span limits or our cap of 32 events/links) before export: OTLP's ``dropped_*_count``.
BROKLE_OTEL_EVENTS_DROPPED = "brokle.otel.events_dropped"
BROKLE_OTEL_LINKS_DROPPED = "brokle.otel.links_dropped"
BROKLE_OTEL_ATTRIBUTES_DROPPED = "brokle.otel.attributes_dropped"
BROKLE_REMOTE_PARENT = "brokle.remote_parent"
#: A third-party span's W3C ``tracestate`` (header form, redacted): OTLP's ``Span.trace_state``.
BROKLE_OTEL_TRACE_STATE = "brokle.otel.trace_state"

#: ``openinference.span.kind`` -> our span type (checked first).
TYPE_BY_OPENINFERENCE_KIND = {
    "LLM": "llm",
    "RETRIEVER": "retrieval",
    "RERANKER": "reranker",
    "TOOL": "tool",
    "EMBEDDING": "embedding",
    "AGENT": "agent",
    "CHAIN": "chain",
    "GUARDRAIL": "guardrail",
    "EVALUATOR": "evaluator",
}
#: ``gen_ai.operation.name`` -> our span type (checked second).
TYPE_BY_GEN_AI_OPERATION = {
    "chat": "llm",
    "text_completion": "llm",
    "generate_content": "llm",
    "completion": "llm",
    "embeddings": "embedding",
    "execute_tool": "tool",
    "invoke_agent": "agent",
    "create_agent": "agent",
    "retrieval": "retrieval",
    # OpenLLMetry's LangChain task spans (a chain's steps) say this, outside GenAI's list.
    "execute_task": "chain",
}
#: ``traceloop.span.kind`` (OpenLLMetry's decorators) -> our span type (checked third).
TYPE_BY_TRACELOOP_KIND = {
    "workflow": "chain",
    "task": "chain",
    "agent": "agent",
    "tool": "tool",
}

#: Our field <- the attribute names that carry it, first match wins (current names first,
#: then older ones). Token counts follow the GenAI rule: input counts cached tokens too.
FOREIGN_FIELDS: dict[str, tuple[str, ...]] = {
    # A tool span's arguments and result (GenAI), and OpenLLMetry's workflow, task and tool
    # spans (``traceloop.entity.*``) when nothing else carries them.
    "input": (
        "input.value",
        "gen_ai.input.messages",
        "gen_ai.prompt",
        "gen_ai.tool.call.arguments",
        "traceloop.entity.input",
    ),
    "output": (
        "output.value",
        "gen_ai.output.messages",
        "gen_ai.completion",
        "gen_ai.tool.call.result",
        "traceloop.entity.output",
    ),
    # OpenInference names an embedding's and a reranker's model apart from an LLM's.
    "response_model": (
        "gen_ai.response.model",
        "llm.response.model_name",
        "llm.model_name",
        "embedding.model_name",
        "reranker.model_name",
        "gen_ai.response.model_name",
    ),
    "request_model": ("gen_ai.request.model", "llm.request.model_name"),
    "provider": ("gen_ai.provider.name", "llm.provider", "llm.system", "gen_ai.system"),
    "input_tokens": (
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.prompt_tokens",
        "llm.token_count.prompt",
        "llm.usage.prompt_tokens",
    ),
    "output_tokens": (
        "gen_ai.usage.output_tokens",
        "gen_ai.usage.completion_tokens",
        "llm.token_count.completion",
        "llm.usage.completion_tokens",
    ),
    "total_tokens": (
        "gen_ai.usage.total_tokens",
        "llm.token_count.total",
        "llm.usage.total_tokens",
    ),
    "cache_read_tokens": (
        "gen_ai.usage.cache_read.input_tokens",
        "gen_ai.usage.cache_read_input_tokens",
        "llm.token_count.prompt_details.cache_read",
    ),
    "cache_creation_tokens": (
        "gen_ai.usage.cache_creation.input_tokens",
        "gen_ai.usage.cache_creation_input_tokens",
        "llm.token_count.prompt_details.cache_write",
    ),
    "reasoning_tokens": (
        "gen_ai.usage.reasoning.output_tokens",
        "gen_ai.usage.reasoning_tokens",
        "llm.token_count.completion_details.reasoning",
    ),
}
#: Flattened chat messages (``<prefix>.<i>.message.role`` ...), read when no input/output
#: attribute above is set: (input prefix, output prefix) per convention.
FOREIGN_MESSAGE_PREFIXES = (
    ("llm.input_messages.", "llm.output_messages."),  # OpenInference
    ("gen_ai.prompt.", "gen_ai.completion."),  # OpenLLMetry before gen_ai.input.messages
)
