"""Attribute names, in one place: OpenTelemetry GenAI semantic conventions and OpenInference.

Our spans carry GenAI names (``gen_ai.*``); the OTLP mapping adds the OpenInference names so
a span renders natively in both kinds of backend. Never the deprecated ``gen_ai.system`` or
``gen_ai.usage.prompt_tokens``.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "GEN_AI_DATA_SOURCE_ID",
    "GEN_AI_OPERATION_NAME",
    "GEN_AI_PROVIDER_NAME",
    "GEN_AI_REQUEST_MODEL",
    "GEN_AI_REQUEST_TOP_K",
    "GEN_AI_RESPONSE_MODEL",
    "GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK",
    "GEN_AI_USAGE_INPUT_TOKENS",
    "GEN_AI_USAGE_OUTPUT_TOKENS",
    "OPENINFERENCE_SPAN_KIND",
    "OPERATION_BY_TYPE",
    "SPAN_KIND_BY_TYPE",
    "llm_static_attributes",
    "retrieval_static_attributes",
]

GEN_AI_OPERATION_NAME = "gen_ai.operation.name"
GEN_AI_PROVIDER_NAME = "gen_ai.provider.name"
GEN_AI_REQUEST_MODEL = "gen_ai.request.model"
GEN_AI_RESPONSE_MODEL = "gen_ai.response.model"
GEN_AI_REQUEST_TOP_K = "gen_ai.request.top_k"
GEN_AI_DATA_SOURCE_ID = "gen_ai.data_source.id"
GEN_AI_USAGE_INPUT_TOKENS = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK = "gen_ai.response.time_to_first_chunk"
OPENINFERENCE_SPAN_KIND = "openinference.span.kind"

#: Our span type -> OpenInference span kind.
SPAN_KIND_BY_TYPE = {
    "span": "CHAIN",
    "chain": "CHAIN",
    "llm": "LLM",
    "retrieval": "RETRIEVER",
    "tool": "TOOL",
    "embedding": "EMBEDDING",
    "agent": "AGENT",
}

#: Our span type -> GenAI ``gen_ai.operation.name`` (types with no GenAI operation omitted).
OPERATION_BY_TYPE = {
    "llm": "chat",
    "embedding": "embeddings",
    "tool": "execute_tool",
    "agent": "invoke_agent",
    "retrieval": "retrieval",
}


def llm_static_attributes(*, model: str | None, provider: str | None) -> dict[str, Any]:
    """The attributes ``@observe_llm(model=, provider=)`` fixes at decoration time."""
    attrs: dict[str, Any] = {GEN_AI_OPERATION_NAME: OPERATION_BY_TYPE["llm"]}
    if model:
        attrs[GEN_AI_REQUEST_MODEL] = model
    if provider:
        attrs[GEN_AI_PROVIDER_NAME] = provider
    return attrs


def retrieval_static_attributes(*, index_name: str | None, top_k: int | None) -> dict[str, Any]:
    """The attributes ``@observe_retrieval(index_name=, top_k=)`` fixes at decoration time."""
    attrs: dict[str, Any] = {GEN_AI_OPERATION_NAME: OPERATION_BY_TYPE["retrieval"]}
    if index_name:
        attrs[GEN_AI_DATA_SOURCE_ID] = index_name
    if top_k is not None:
        attrs[GEN_AI_REQUEST_TOP_K] = top_k
    return attrs
