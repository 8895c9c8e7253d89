"""Provider errors as span attributes: the SDK's exception class, HTTP status, error type."""

from __future__ import annotations

from typing import Any

from brokle_trace import semconv
from brokle_trace.llm._usage import read

__all__ = ["error_attributes"]


def error_attributes(exc: BaseException) -> dict[str, Any]:
    """``error.type``, HTTP status and the provider's own error type/code for an SDK error."""
    attrs: dict[str, Any] = {semconv.ERROR_TYPE: type(exc).__name__}
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        attrs[semconv.HTTP_RESPONSE_STATUS_CODE] = status
    kind = getattr(exc, "type", None)
    if not isinstance(kind, str):
        body = getattr(exc, "body", None)
        kind = read(read(body, "error"), "type") or read(body, "type")
    if isinstance(kind, str) and kind != "error":
        attrs[semconv.BROKLE_PROVIDER_ERROR_TYPE] = kind
    code = getattr(exc, "code", None)
    if isinstance(code, (str, int)) and not isinstance(code, bool):
        attrs[semconv.BROKLE_PROVIDER_ERROR_CODE] = str(code)
    return attrs
