"""Attribute names, in one place: OpenTelemetry GenAI semantic conventions and OpenInference.

Our spans carry GenAI names (``gen_ai.*``); the OTLP mapping adds the OpenInference names so
a span renders natively in both kinds of backend. Never the deprecated ``gen_ai.system`` or
``gen_ai.usage.prompt_tokens`` on our own spans.

Third-party spans are read through one table, :data:`FOREIGN_FIELDS` and the ``TYPE_BY_*``
maps (applied by ``_export/foreign.py``, shown in ``docs/instrumentors.md``, kept equal by a test).
"""

from __future__ import annotations

from typing import Any

from brokle_trace._semconv_foreign import (
    BROKLE_OTEL_ATTRIBUTES_DROPPED,
    BROKLE_OTEL_EVENTS,
    BROKLE_OTEL_EVENTS_DROPPED,
    BROKLE_OTEL_KIND,
    BROKLE_OTEL_LINKS,
    BROKLE_OTEL_LINKS_DROPPED,
    BROKLE_OTEL_TRACE_STATE,
    BROKLE_REMOTE_PARENT,
    FOREIGN_FIELDS,
    FOREIGN_MESSAGE_PREFIXES,
    SCOPE_NAME_ATTRIBUTE,
    SCOPE_VERSION_ATTRIBUTE,
    TRACELOOP_SPAN_KIND,
    TYPE_BY_GEN_AI_OPERATION,
    TYPE_BY_OPENINFERENCE_KIND,
    TYPE_BY_TRACELOOP_KIND,
)

__all__ = [
    "BROKLE_COST_INPUT_USD",
    "BROKLE_COST_MODEL",
    "BROKLE_COST_OUTPUT_USD",
    "BROKLE_COST_PRICES_AS_OF",
    "BROKLE_COST_TOTAL_USD",
    "BROKLE_COST_UNPRICED",
    "BROKLE_EMBEDDING_INPUT_COUNT",
    "BROKLE_OTEL_ATTRIBUTES_DROPPED",
    "BROKLE_OTEL_EVENTS",
    "BROKLE_OTEL_EVENTS_DROPPED",
    "BROKLE_OTEL_KIND",
    "BROKLE_OTEL_LINKS",
    "BROKLE_OTEL_LINKS_DROPPED",
    "BROKLE_OTEL_TRACE_STATE",
    "BROKLE_PROVIDER_ERROR_CODE",
    "BROKLE_PROVIDER_ERROR_TYPE",
    "BROKLE_REMOTE_PARENT",
    "BROKLE_RETRIEVAL_DOCUMENT_COUNT",
    "BROKLE_ROLLUP_COST_USD",
    "BROKLE_ROLLUP_INPUT_TOKENS",
    "BROKLE_ROLLUP_LLM_CALLS",
    "BROKLE_ROLLUP_OUTPUT_TOKENS",
    "BROKLE_ROLLUP_UNPRICED_CALLS",
    "BROKLE_STREAM_CHUNKS",
    "BROKLE_USAGE_TOTAL_TOKENS",
    "ERROR_TYPE",
    "FOREIGN_FIELDS",
    "FOREIGN_MESSAGE_PREFIXES",
    "GEN_AI_DATA_SOURCE_ID",
    "GEN_AI_EMBEDDINGS_DIMENSION_COUNT",
    "GEN_AI_OPERATION_NAME",
    "GEN_AI_PROVIDER_NAME",
    "GEN_AI_REQUEST_CHOICE_COUNT",
    "GEN_AI_REQUEST_FREQUENCY_PENALTY",
    "GEN_AI_REQUEST_MAX_TOKENS",
    "GEN_AI_REQUEST_MODEL",
    "GEN_AI_REQUEST_PRESENCE_PENALTY",
    "GEN_AI_REQUEST_SEED",
    "GEN_AI_REQUEST_STOP_SEQUENCES",
    "GEN_AI_REQUEST_STREAM",
    "GEN_AI_REQUEST_TEMPERATURE",
    "GEN_AI_REQUEST_TOP_K",
    "GEN_AI_REQUEST_TOP_P",
    "GEN_AI_RESPONSE_FINISH_REASONS",
    "GEN_AI_RESPONSE_ID",
    "GEN_AI_RESPONSE_MODEL",
    "GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK",
    "GEN_AI_RETRIEVAL_QUERY_TEXT",
    "GEN_AI_TOOL_CALL_ID",
    "GEN_AI_TOOL_DESCRIPTION",
    "GEN_AI_TOOL_NAME",
    "GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS",
    "GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS",
    "GEN_AI_USAGE_INPUT_TOKENS",
    "GEN_AI_USAGE_OUTPUT_TOKENS",
    "GEN_AI_USAGE_REASONING_OUTPUT_TOKENS",
    "HTTP_RESPONSE_STATUS_CODE",
    "OPENINFERENCE_SPAN_KIND",
    "OPERATION_BY_TYPE",
    "SCOPE_NAME_ATTRIBUTE",
    "SCOPE_VERSION_ATTRIBUTE",
    "SPAN_KIND_BY_TYPE",
    "TOOL_DESCRIPTION",
    "TOOL_NAME",
    "TOOL_PARAMETERS",
    "TRACELOOP_SPAN_KIND",
    "TYPE_BY_GEN_AI_OPERATION",
    "TYPE_BY_OPENINFERENCE_KIND",
    "TYPE_BY_TRACELOOP_KIND",
    "llm_static_attributes",
    "otel_value",
    "retrieval_static_attributes",
    "to_otel_attributes",
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

# -- LLM, retrieval, tool and embedding spans (issue 5) -------------------------------------------
GEN_AI_REQUEST_TEMPERATURE = "gen_ai.request.temperature"
GEN_AI_REQUEST_MAX_TOKENS = "gen_ai.request.max_tokens"
GEN_AI_REQUEST_TOP_P = "gen_ai.request.top_p"
GEN_AI_REQUEST_STOP_SEQUENCES = "gen_ai.request.stop_sequences"
GEN_AI_REQUEST_FREQUENCY_PENALTY = "gen_ai.request.frequency_penalty"
GEN_AI_REQUEST_PRESENCE_PENALTY = "gen_ai.request.presence_penalty"
GEN_AI_REQUEST_SEED = "gen_ai.request.seed"
GEN_AI_REQUEST_STREAM = "gen_ai.request.stream"
GEN_AI_REQUEST_CHOICE_COUNT = "gen_ai.request.choice.count"
GEN_AI_RESPONSE_ID = "gen_ai.response.id"
GEN_AI_RESPONSE_FINISH_REASONS = "gen_ai.response.finish_reasons"
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS = "gen_ai.usage.cache_read.input_tokens"
GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS = "gen_ai.usage.cache_creation.input_tokens"
GEN_AI_USAGE_REASONING_OUTPUT_TOKENS = "gen_ai.usage.reasoning.output_tokens"
GEN_AI_EMBEDDINGS_DIMENSION_COUNT = "gen_ai.embeddings.dimension.count"
GEN_AI_RETRIEVAL_QUERY_TEXT = "gen_ai.retrieval.query.text"
GEN_AI_TOOL_NAME = "gen_ai.tool.name"
GEN_AI_TOOL_CALL_ID = "gen_ai.tool.call.id"
GEN_AI_TOOL_DESCRIPTION = "gen_ai.tool.description"
#: OpenInference's tool names: the parameters' JSON schema (a JSON string), name, description.
TOOL_PARAMETERS = "tool.parameters"
TOOL_NAME = "tool.name"
TOOL_DESCRIPTION = "tool.description"
ERROR_TYPE = "error.type"
HTTP_RESPONSE_STATUS_CODE = "http.response.status_code"
#: Our own names (no GenAI equivalent): usage totals, cost, stream facts, roll-ups.
BROKLE_USAGE_TOTAL_TOKENS = "brokle.usage.total_tokens"
BROKLE_COST_INPUT_USD = "brokle.cost.input_usd"
BROKLE_COST_OUTPUT_USD = "brokle.cost.output_usd"
BROKLE_COST_TOTAL_USD = "brokle.cost.total_usd"
BROKLE_COST_UNPRICED = "brokle.cost.unpriced"
#: The model id the price was found under, and which prices those were (the genai-prices
#: release, or ``configure(prices)``), so a reader can tell which price was used.
BROKLE_COST_MODEL = "brokle.cost.model"
BROKLE_COST_PRICES_AS_OF = "brokle.cost.prices_as_of"
BROKLE_STREAM_CHUNKS = "brokle.stream.chunks"
BROKLE_PROVIDER_ERROR_TYPE = "brokle.provider.error_type"
BROKLE_PROVIDER_ERROR_CODE = "brokle.provider.error_code"
BROKLE_RETRIEVAL_DOCUMENT_COUNT = "brokle.retrieval.document_count"
BROKLE_EMBEDDING_INPUT_COUNT = "brokle.embedding.input_count"
#: Subtree totals on every ancestor of an LLM span; on the root span they are the trace's.
BROKLE_ROLLUP_INPUT_TOKENS = "brokle.rollup.input_tokens"
BROKLE_ROLLUP_OUTPUT_TOKENS = "brokle.rollup.output_tokens"
BROKLE_ROLLUP_COST_USD = "brokle.rollup.cost_usd"
BROKLE_ROLLUP_LLM_CALLS = "brokle.rollup.llm_calls"
BROKLE_ROLLUP_UNPRICED_CALLS = "brokle.rollup.unpriced_calls"

#: Our span type -> OpenInference span kind.
SPAN_KIND_BY_TYPE = {
    "span": "CHAIN",
    "chain": "CHAIN",
    "llm": "LLM",
    "retrieval": "RETRIEVER",
    "tool": "TOOL",
    "embedding": "EMBEDDING",
    "agent": "AGENT",
    "reranker": "RERANKER",
    "guardrail": "GUARDRAIL",
    "evaluator": "EVALUATOR",
}

#: Our span type -> GenAI ``gen_ai.operation.name`` (types with no GenAI operation omitted).
OPERATION_BY_TYPE = {
    "llm": "chat",
    "embedding": "embeddings",
    "tool": "execute_tool",
    "agent": "invoke_agent",
    "retrieval": "retrieval",
}


# Third-party spans: the conventions table lives in _semconv_foreign (re-exported here).


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


# ============================================================================================
# OTLP mapping (owned by the export issue): SpanData -> OpenTelemetry span attributes.
# Everything an OTLP backend sees about a span is decided here, in one function, so the
# GenAI and the OpenInference views can never drift apart.
# ============================================================================================

INPUT_VALUE = "input.value"
INPUT_MIME_TYPE = "input.mime_type"
OUTPUT_VALUE = "output.value"
OUTPUT_MIME_TYPE = "output.mime_type"
USER_ID = "user.id"
SESSION_ID = "session.id"
TAG_TAGS = "tag.tags"
METADATA = "metadata"
LLM_MODEL_NAME = "llm.model_name"
LLM_PROVIDER = "llm.provider"
LLM_TOKEN_COUNT_PROMPT = "llm.token_count.prompt"
LLM_TOKEN_COUNT_COMPLETION = "llm.token_count.completion"
LLM_TOKEN_COUNT_TOTAL = "llm.token_count.total"
BROKLE_SPAN_TYPE = "brokle.span.type"
BROKLE_LEVEL = "brokle.level"

#: Deprecated GenAI names we never send, and the current name each one moves to.
_DEPRECATED = {
    "gen_ai.system": GEN_AI_PROVIDER_NAME,
    "gen_ai.usage.prompt_tokens": GEN_AI_USAGE_INPUT_TOKENS,
    "gen_ai.usage.completion_tokens": GEN_AI_USAGE_OUTPUT_TOKENS,
}

#: Attributes of ours that are always kept, whatever the attribute-count limit.
CORE_ATTRIBUTES = frozenset(
    {
        GEN_AI_OPERATION_NAME,
        GEN_AI_PROVIDER_NAME,
        GEN_AI_REQUEST_MODEL,
        GEN_AI_RESPONSE_MODEL,
        GEN_AI_REQUEST_TOP_K,
        GEN_AI_DATA_SOURCE_ID,
        GEN_AI_USAGE_INPUT_TOKENS,
        GEN_AI_USAGE_OUTPUT_TOKENS,
        GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK,
    }
)

#: Third-party span structure kept in attributes (see exporters/_structure.py).
_STRUCTURE = frozenset({SCOPE_NAME_ATTRIBUTE, SCOPE_VERSION_ATTRIBUTE, BROKLE_OTEL_KIND})
_STRUCTURE |= {BROKLE_OTEL_EVENTS, BROKLE_OTEL_LINKS, BROKLE_OTEL_TRACE_STATE}

#: Default cap on attributes per exported span (OpenTelemetry's SDK default).
MAX_OTLP_ATTRIBUTES = 128

_SCALARS = (str, bool, int, float)
_SCALAR_TYPES = frozenset(_SCALARS)


def otel_value(value: Any) -> Any:
    """An OTLP-legal attribute value: a scalar, a homogeneous scalar list, else JSON text."""
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, (list, tuple)) and value:
        kind = type(value[0])
        if kind in (str, bool, int, float) and all(type(v) is kind for v in value):
            return list(value)
    return _json(value)


def _json(value: Any) -> str:
    import orjson

    try:
        return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    except (TypeError, ValueError):
        return str(value)


def _io(
    out: dict[str, Any], value: Any, value_key: str, mime_key: str, own_mime: Any = None
) -> None:
    if value is None:
        return
    if isinstance(value, str):
        # A third-party span's text says what it is (OpenInference's JSON text).
        mime = own_mime if isinstance(own_mime, str) and own_mime else "text/plain"
        out[value_key], out[mime_key] = value, mime
    else:
        out[value_key], out[mime_key] = _json(value), "application/json"


def to_otel_attributes(
    span: Any, *, max_attributes: int = MAX_OTLP_ATTRIBUTES
) -> tuple[dict[str, Any], int]:
    """OpenTelemetry attributes for a ``SpanData``, and how many were dropped by the limit.

    Both vocabularies at once: GenAI semantic conventions (``gen_ai.*``) and OpenInference
    (``openinference.span.kind``, ``input.value``, ``llm.*``), plus ``user.id`` and
    ``session.id``. Deprecated GenAI names are renamed. Core attributes come first and are
    never dropped; the span's own extra attributes fill the rest up to ``max_attributes``.

    Example:
        >>> from brokle_trace import SpanData
        >>> span = SpanData(name="ask", trace_id="1" * 32, span_id="2" * 16, type="llm",
        ...                 start_time_ns=1, end_time_ns=2, input="hi", user_id="u1",
        ...                 attributes={"gen_ai.request.model": "gpt-4o"})
        >>> attrs, dropped = to_otel_attributes(span)
        >>> attrs["openinference.span.kind"], attrs["llm.model_name"], attrs["user.id"]
        ('LLM', 'gpt-4o', 'u1')
    """
    # A third-party span keeps every attribute its instrumentor wrote (deprecated names
    # too, and its own openinference.span.kind); ours are added where it has none.
    attributes = span.attributes
    foreign = SCOPE_NAME_ATTRIBUTE in attributes
    own: dict[str, Any]
    if foreign and _DEPRECATED.keys().isdisjoint(attributes) and None not in attributes.values():
        own = dict(attributes)  # the loop below, in C: nothing to rename or leave out but
        for key in _STRUCTURE:  # the structure
            own.pop(key, None)
    else:
        own = {}
        for key, value in attributes.items():
            if value is None or key in _STRUCTURE:
                continue
            new_key = _DEPRECATED.get(key)
            if new_key is not None:
                own.setdefault(new_key, value)
                if not foreign:
                    continue
            own[key] = value

    out: dict[str, Any] = {
        OPENINFERENCE_SPAN_KIND: SPAN_KIND_BY_TYPE.get(span.type, "CHAIN"),
        BROKLE_SPAN_TYPE: span.type,
    }
    operation = own.get(GEN_AI_OPERATION_NAME) or OPERATION_BY_TYPE.get(span.type)
    if operation:
        out[GEN_AI_OPERATION_NAME] = operation
    for key in CORE_ATTRIBUTES:
        if key in own and key != GEN_AI_OPERATION_NAME:
            out[key] = otel_value(own[key])
    if foreign:
        _io(out, span.input, INPUT_VALUE, INPUT_MIME_TYPE, own.pop(INPUT_MIME_TYPE, None))
        _io(out, span.output, OUTPUT_VALUE, OUTPUT_MIME_TYPE, own.pop(OUTPUT_MIME_TYPE, None))
    else:
        _io(out, span.input, INPUT_VALUE, INPUT_MIME_TYPE)
        _io(out, span.output, OUTPUT_VALUE, OUTPUT_MIME_TYPE)
    if span.user_id is not None:
        out[USER_ID] = span.user_id
    if span.session_id is not None:
        out[SESSION_ID] = span.session_id
    if span.tags:
        out[TAG_TAGS] = list(span.tags)
    if span.metadata:
        out[METADATA] = _json(span.metadata)
    if span.level != "default":
        out[BROKLE_LEVEL] = span.level

    # OpenInference twins of the GenAI facts.
    model = own.get(GEN_AI_RESPONSE_MODEL) or own.get(GEN_AI_REQUEST_MODEL)
    if model:
        out[LLM_MODEL_NAME] = str(model)
    provider = own.get(GEN_AI_PROVIDER_NAME)
    if provider:
        out[LLM_PROVIDER] = str(provider)
    if span.type == "tool":
        for genai, openinference in (
            (GEN_AI_TOOL_NAME, TOOL_NAME),
            (GEN_AI_TOOL_DESCRIPTION, TOOL_DESCRIPTION),
        ):
            if isinstance(own.get(genai), str):
                out[openinference] = own[genai]
    tokens_in = own.get(GEN_AI_USAGE_INPUT_TOKENS)
    tokens_out = own.get(GEN_AI_USAGE_OUTPUT_TOKENS)
    if isinstance(tokens_in, int):
        out[LLM_TOKEN_COUNT_PROMPT] = tokens_in
    if isinstance(tokens_out, int):
        out[LLM_TOKEN_COUNT_COMPLETION] = tokens_out
    if isinstance(tokens_in, int) and isinstance(tokens_out, int):
        out[LLM_TOKEN_COUNT_TOTAL] = tokens_in + tokens_out

    if not foreign and span.type in ("llm", "retrieval"):
        from brokle_trace.exporters._openinference import openinference_attributes

        for key, value in openinference_attributes(span, own).items():
            out.setdefault(key, value)

    dropped = 0
    room = max_attributes - len(out)
    scalars = _SCALAR_TYPES
    for key, value in own.items():
        if key in out:
            if foreign:
                out[key] = value if type(value) in scalars else otel_value(value)
            continue
        if room <= 0:
            dropped += 1
            continue
        out[key] = value if type(value) in scalars else otel_value(value)  # otel_value's test
        room -= 1
    return out, dropped
