"""A list of ``[name, value]`` pairs is a mapping: HTTP headers as ASGI, WSGI, httpx and
``http.client`` hand them out. A value under a secret-naming name is redacted like a dict's."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
from hypothesis import given
from hypothesis import strategies as st
from starlette.requests import Request

from brokle_trace import observe
from brokle_trace.capture import CaptureSettings, finalize, snapshot
from brokle_trace.testing import capture_spans

S = CaptureSettings(strict=True)
API_KEY = "internal-7f3a9c2b1d"  # no known prefix or shape: only its name says it is secret
COOKIE = "session=s3cr3tcookie"


def capture(value: Any) -> Any:
    return finalize(snapshot(value, S), S)


def _scope() -> dict[str, Any]:
    return {
        "type": "http",
        "method": "GET",
        "path": "/chat",
        "query_string": b"",
        "headers": [
            (b"host", b"api.example.com"),
            (b"x-api-key", API_KEY.encode()),
            (b"cookie", COOKIE.encode()),
            (b"accept", b"*/*"),
        ],
    }


def test_a_starlette_request_argument_keeps_no_header_secret() -> None:
    @observe
    def endpoint(request: Request) -> str:
        return request.url.path

    with capture_spans() as spans:
        assert endpoint(Request(_scope())) == "/chat"
    recorded = json.dumps(spans[0].input)
    assert API_KEY not in recorded and "s3cr3tcookie" not in recorded
    assert '["host", "api.example.com"]' in recorded  # the other headers stay readable


def test_header_pair_lists_are_redacted_by_name() -> None:
    raw = httpx.Headers({"Authorization": "Token abc", "X-Api-Key": API_KEY, "Accept": "*/*"})
    out = capture({"asgi": _scope()["headers"], "httpx": raw.raw, "wsgi": list(raw.items())})
    assert out["asgi"][1] == ["x-api-key", "[REDACTED:api_key]"]
    assert out["asgi"][2][1].startswith("[REDACTED:")
    assert out["asgi"][0] == ["host", "api.example.com"]
    assert API_KEY not in json.dumps(out) and "Token abc" not in json.dumps(out)
    assert out["wsgi"][2] == ["accept", "*/*"]


def test_lists_that_are_not_all_pairs_are_left_as_they_are() -> None:
    words = [["token", "ization"], "tail"]
    assert capture({"words": words}) == {"words": words}
    assert capture([["password", True], ["api_key", None]]) == [
        ["password", True],
        ["api_key", None],
    ]  # flags, never secrets (as dict values)


@given(
    name=st.sampled_from(["password", "X-Api-Key", "authorization", "Cookie", "client_secret"]),
    value=st.text(min_size=6, alphabet=st.characters(codec="ascii", categories=["L", "N"])),
    others=st.lists(st.tuples(st.sampled_from(["host", "accept"]), st.text(max_size=8))),
)
def test_a_secret_named_pair_never_shows_its_value(
    name: str, value: str, others: list[tuple[str, str]]
) -> None:
    pairs = [*others, (name, value)]
    out = capture(pairs)
    assert out[-1][0] == name and re.fullmatch(r"\[REDACTED:[a-z_]+\]", out[-1][1])
