"""OpenInference's and OpenLLMetry's Bedrock instrumentors, boto3 on a loopback Bedrock."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

import brokle_trace
from brokle_trace import observe, trace_context
from tests.instrumentors.conftest import (
    AWS_SECRET_KEY,
    PASSWORD,
    Exported,
    Provider,
    by_id,
    check_exported_once,
)
from tests.instrumentors.fake_clouds import ANSWER, INPUT_TOKENS, OUTPUT_TOKENS, FakeBedrock

MODEL = "anthropic.claude-3-5-haiku-20241022-v1:0"


@pytest.fixture(scope="module")
def bedrock() -> Iterator[Any]:
    with FakeBedrock() as fake:
        yield fake


@pytest.fixture(params=["openinference", "openllmetry"])
def family(request: pytest.FixtureRequest, provider: Provider) -> Iterator[str]:
    if request.param == "openinference":
        from openinference.instrumentation.bedrock import BedrockInstrumentor
    else:
        from opentelemetry.instrumentation.bedrock import BedrockInstrumentor
    inst = BedrockInstrumentor()
    inst.instrument(tracer_provider=provider.provider)
    try:
        yield request.param
    finally:
        inst.uninstrument()


def _client(bedrock: Any) -> Any:
    # Made after instrument(): both instrumentors wrap the clients botocore creates.
    return boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=bedrock.url,
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key=AWS_SECRET_KEY,
    )


def _call(client: Any, how: str, question: str) -> str:
    messages = [{"role": "user", "content": [{"text": question}]}]
    if how == "converse":
        reply = client.converse(modelId=MODEL, messages=messages)
        return str(reply["output"]["message"]["content"][0]["text"])
    if how == "stream":
        reply = client.converse_stream(modelId=MODEL, messages=messages)
        events = reply["stream"]
        return "".join(
            e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e
        )
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 50,
        "messages": [{"role": "user", "content": question}],
    }
    reply = client.invoke_model(modelId=MODEL, body=json.dumps(body))
    return str(json.loads(reply["body"].read())["content"][0]["text"])


def _traced(client: Any, how: str) -> Any:
    @observe
    def ask(question: str) -> str:
        return _call(client, how, question)

    return ask


@pytest.mark.parametrize("how", ["converse", "invoke", "stream"])
def test_call_is_an_llm_span_priced_under_ours(
    family: str, how: str, provider: Provider, bedrock: Any, exported: Exported
) -> None:
    ask = _traced(_client(bedrock), how)
    before = brokle_trace.stats()
    with trace_context(user_id="user-7", session_id="sess-42"):
        assert ask(f"Capital of France? password={PASSWORD}") == ANSWER
    spans = check_exported_once(exported)
    assert brokle_trace.stats()["exported"] - before["exported"] == 2
    (llm,) = [s for s in spans if "otel.scope.name" in s.attributes]
    root = by_id(spans)[llm.parent_span_id]
    assert root.name == "ask"
    assert (llm.type, llm.user_id, llm.session_id) == ("llm", "user-7", "sess-42")
    at = llm.attributes
    assert at["gen_ai.provider.name"] in {"aws", "aws.bedrock"}  # OpenInference, OpenLLMetry
    assert "claude-3-5-haiku-20241022" in (
        at.get("gen_ai.response.model") or at["gen_ai.request.model"]
    )
    assert (at["gen_ai.usage.input_tokens"], at["gen_ai.usage.output_tokens"]) == (
        INPUT_TOKENS,
        OUTPUT_TOKENS,
    )
    # Bedrock's model id (vendor prefix, version suffix) is priced as the model it names.
    assert "brokle.cost.unpriced" not in at
    assert at["brokle.cost.total_usd"] > 0
    assert root.attributes["brokle.rollup.cost_usd"] == pytest.approx(at["brokle.cost.total_usd"])
    assert "[REDACTED:secret_param]" in str(llm.input)
    assert ANSWER in str(llm.output)
    if provider.theirs is not None:  # the user's own exporter got the original, untouched
        (original,) = provider.originals()
        assert original.context.span_id == int(llm.span_id, 16)
        assert "brokle.cost.total_usd" not in (original.attributes or {})
    exported.assert_no_secrets()


def test_failing_call_is_an_error_span(
    family: str, provider: Provider, bedrock: Any, exported: Exported
) -> None:
    ask = _traced(_client(bedrock), "converse")
    bedrock.fail = 1
    with trace_context(user_id="user-7"), pytest.raises(Exception, match="security token"):
        ask(f"Capital of France? password={PASSWORD}")
    spans = check_exported_once(exported)
    (llm,) = [s for s in spans if "otel.scope.name" in s.attributes]
    assert by_id(spans)[llm.parent_span_id].name == "ask"
    assert (llm.type, llm.status, llm.user_id) == ("llm", "error", "user-7")
    assert llm.error is not None and llm.error.type == "ClientError"
    assert "UnrecognizedClientException" in llm.error.message
    exported.assert_no_secrets()
