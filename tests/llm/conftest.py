"""Fixtures for the LLM suite: strict in-memory tracing, the loopback fake server, clients."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import brokle_trace
from brokle_trace.testing._fake_server import FakeLLMServer


@pytest.fixture(autouse=True)
def _strict_no_export() -> Iterator[None]:
    brokle_trace.configure(exporter="none", strict=True)
    yield


@pytest.fixture(scope="session")
def _server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as server:
        yield server


@pytest.fixture
def server(_server: FakeLLMServer) -> FakeLLMServer:
    # One server for the session (fast); its steering state is reset per test.
    _server.reply = None
    _server.responder = None
    _server.response_models = {}
    _server.cache_read_tokens = 0
    _server.requests.clear()
    _server._failures.clear()
    return _server


@pytest.fixture
def openai_client(server: FakeLLMServer) -> Any:
    import openai

    return openai.OpenAI(api_key="sk-test", base_url=server.url + "/v1", max_retries=0)


@pytest.fixture
def async_openai_client(server: FakeLLMServer) -> Any:
    import openai

    return openai.AsyncOpenAI(api_key="sk-test", base_url=server.url + "/v1", max_retries=0)


@pytest.fixture
def anthropic_client(server: FakeLLMServer) -> Any:
    import anthropic

    return anthropic.Anthropic(api_key="sk-ant-test", base_url=server.url, max_retries=0)


@pytest.fixture
def async_anthropic_client(server: FakeLLMServer) -> Any:
    import anthropic

    return anthropic.AsyncAnthropic(api_key="sk-ant-test", base_url=server.url, max_retries=0)
