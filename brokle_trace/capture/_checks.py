"""Second looks at a value rule's match: is it a secret, which family, which span?

A regex finds the candidates cheaply (one literal-prefixed search per rule); the check,
called only for what matched, reads the context a regex cannot express cheaply: the whole
name before an assignment's stem, the host after a URL's ``@``, what a ``Basic`` value
decodes to. Each check takes the original text and the span the rule would replace, and
returns the span to replace and the family to name, or None to keep the text.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Callable

from brokle_trace.capture._rules import NOT_SECRET_TOKENS, SECRET_KEY_NAMES

__all__ = ["CHECKS", "Check"]

#: ``check(text, start, end, match_start)`` -> ``(start, end, family)`` or None, in the
#: coordinates of ``text`` (``match_start``: where the rule's whole match begins).
Check = Callable[[str, int, int, int], "tuple[int, int, str] | None"]

_NAME_TAIL = re.compile(r"[A-Za-z0-9_.\-]*\Z")
_NAME_HEAD = re.compile(r"[A-Za-z0-9_.\-]*")
_NAME_MAX = 64
_SEPARATORS = str.maketrans("", "", "_.-")
_FLAGS = frozenset({"true", "false", "null", "none", "nil", "undefined"})
_PATH = re.compile(r"[/~]|[A-Za-z]:[\\/]|\.\.?[\\/]")
_PORT = re.compile(r"[0-9]{1,5}(?:[/?#]|\Z)")
_KEY_BASES = tuple(name.translate(_SEPARATORS) for name in SECRET_KEY_NAMES)
_QUIET_TOKENS = tuple(NOT_SECRET_TOKENS)


def _name_at(text: str, match_start: int) -> tuple[str, int]:
    """The whole name (``db.password``, ``X-Amz-Signature``) whose stem starts the match,
    lower-cased, and where it begins."""
    tail = _NAME_TAIL.search(text, max(0, match_start - _NAME_MAX), match_start)
    head = _NAME_HEAD.match(text, match_start)
    begin = tail.start() if tail is not None else match_start
    end = head.end() if head is not None else match_start
    return text[begin:end].lower(), begin


def assignment(text: str, start: int, end: int, match_start: int) -> tuple[int, int, str] | None:
    """``name = value`` in any text form: keep it unless the whole name names a secret.

    Example:
        >>> assignment("max_token=5", 10, 11, 4) is None
        True
    """
    value = text[start:end]
    if value.lower() in _FLAGS:
        return None  # "password": null, "api_key": false -- a flag, not a credential
    name, begin = _name_at(text, match_start)
    compact = name.translate(_SEPARATORS)
    family = "secret_param"
    if compact.endswith(("password", "passwords", "passwd", "passphrase", "passcode")):
        pass
    elif compact.endswith("pass"):
        if name != "pass" and name[-5:-4] not in ("_", "-", "."):
            return None  # "bypass=", "compass=": only a whole word "pass" is a password
    elif compact.endswith("pwd"):
        if _PATH.match(value):
            return None  # PWD=/srv/app and OLDPWD are directories, ODBC's Pwd= is not
    elif compact.endswith(("secret", "secrets", "secretkey", "secretkeys", "secretaccesskey")):
        pass
    elif compact.endswith("token"):
        if compact[:-5].endswith(_QUIET_TOKENS):
            return None  # max_token, eos_token, add_bos_token
        if compact.endswith("amzsecuritytoken"):
            family = "aws_presigned_url"
    elif compact.endswith(("key", "keys", "keyid")):
        base = compact[: compact.rindex("key")]
        if base.endswith("sharedaccess"):
            family = "azure_service_bus_key"
        elif base.endswith("account"):
            family = "azure_storage_key"
        elif not base.endswith(_KEY_BASES):
            return None  # sort_key, cache_key, primary_key, idempotency_key
    elif compact.endswith(("sig", "signature")):
        if compact.endswith("amzsignature") or compact.endswith("googsignature"):
            family = "aws_presigned_url" if "amz" in compact else "url_signature"
        elif begin > 0 and text[begin - 1] in "?&":  # a URL's query parameter
            family = "azure_sas_token" if compact == "sig" else "url_signature"
    elif compact.endswith(("credential", "credentials")):
        if compact.endswith("amzcredential"):
            family = "aws_presigned_url"
    elif compact.endswith("code"):
        family = "oauth_code"
    elif compact.endswith("private") and compact != "private":
        return None  # is_private, keep_private: flags and settings
    return start, end, family


def userinfo(text: str, start: int, end: int, match_start: int) -> tuple[int, int, str] | None:
    """``scheme://user:password@host``: keep a port (``host:8080/@x``), name Sentry DSNs.

    Example:
        >>> userinfo("http://localhost:5173/@vite/client", 7, 21, 4) is None
        True
    """
    part = text[start:end]
    colon = part.find(":")
    host_end = end + 1
    while host_end < len(text) and text[host_end] not in "/:?#\"' \t\r\n<>":
        host_end += 1
    host = text[end + 1 : host_end].lower()
    if colon < 0:
        # A token used as the user name (https://<token>@github.com, Sentry's public key).
        if "." in part or not any(c.isdigit() for c in part):
            return None
    elif _PORT.match(part, colon + 1):
        return None  # host:port/path/@user -- a port and a path, no password
    return start, end, "sentry_dsn" if "sentry" in host else "url_credentials"


def webhook(text: str, start: int, end: int, match_start: int) -> tuple[int, int, str] | None:
    """Name the webhook by its host (the rule's literal is the shared ``.com/``)."""
    host = text[max(0, match_start - 20) : match_start].lower()
    if host.endswith("slack"):
        return start, end, "slack_webhook"
    if host.endswith("office"):
        return start, end, "teams_webhook"
    return start, end, "discord_webhook"


def back4(text: str, start: int, end: int, match_start: int) -> tuple[int, int, str] | None:
    """Azure client secrets: the four characters before the ``Q~`` literal are secret too."""
    return max(0, start - 4), end, "azure_ad_client_secret"


def basic(text: str, start: int, end: int, match_start: int) -> tuple[int, int, str] | None:
    """``Basic <base64>`` is a credential only when it decodes to ``user:password``.

    Example:
        >>> basic("Basic dXNlcjpodW50ZXIy", 6, 22, 0)
        (6, 22, 'basic_auth')
        >>> basic("BASIC informations", 6, 18, 0) is None
        True
    """
    value = text[start:end]
    try:
        decoded = binascii.a2b_base64(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return None
    _, colon, password = decoded.partition(b":")
    if not colon or not password or not decoded.isascii() or any(c < 0x20 for c in decoded):
        return None
    return start, end, "basic_auth"


def bearer(text: str, start: int, end: int, match_start: int) -> tuple[int, int, str] | None:
    """``Bearer <token>``: a token, not an English word (``Bearer authentication``)."""
    value = text[start:end]
    if value.isalpha() and (value.islower() or value[1:].islower()):
        return None
    return start, end, "bearer_token"


def scheme(text: str, start: int, end: int, match_start: int) -> tuple[int, int, str] | None:
    """``Basic``/``Bearer`` followed by a credential: which one, and is it one."""
    if text[match_start : match_start + 5].lower() == "basic":
        return basic(text, start, end, match_start)
    return bearer(text, start, end, match_start)


CHECKS: dict[str, Check] = {
    "assignment": assignment,
    "userinfo": userinfo,
    "webhook": webhook,
    "back4": back4,
    "scheme": scheme,
}
