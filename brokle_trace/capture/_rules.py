"""The built-in redaction rules: secret-naming keys and secret-looking values.

Kept as plain data so the docs, the tests and the redactor read the same table. Each value
rule is one or more regexes; every regex starts with a literal so ``re`` can use its fast
prefix search (a leading look-behind or alternation makes a 4 KB scan ~30x slower, measured),
and boundary checks therefore sit *after* the literal as look-behinds.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "BUILTIN_KEY_RULES",
    "BUILTIN_RULE_NAMES",
    "BUILTIN_VALUE_RULES",
    "KeyRule",
    "ValueRule",
]


@dataclass(frozen=True)
class KeyRule:
    """A key-name rule: the value under a matching key is replaced whole.

    ``pattern`` is matched against the *normalised* key (camelCase split, lower case, ``-``,
    ``.`` and spaces turned into ``_``) as its last ``_``-separated segment(s).
    """

    name: str
    pattern: str
    examples: tuple[str, ...]


@dataclass(frozen=True)
class ValueRule:
    """A value rule: text that looks like a secret, replaced wherever it appears.

    * ``patterns``: regexes; a group whose name starts with ``s`` marks the part to replace
      (``Bearer <s>``), otherwise the whole match is replaced.
    * ``lower``: patterns are written in lower case and run on the ASCII-lower-cased text
      (same indices), i.e. ASCII case-insensitive without ``re.IGNORECASE``'s slow path.
    * ``need_all`` / ``need_any``: single characters checked with ``in`` (a ``memchr``,
      ~40 ns on 4 KB) before any regex runs; a rule whose gate fails cannot match.
    * ``example``: a string that must be redacted by this rule (docs and tests use it).
    """

    name: str
    patterns: tuple[str, ...]
    example: str
    lower: bool = False
    need_all: str = ""
    need_any: str = ""


#: Words that make a following "token" a count or a time, not a credential (``max_token``).
_COUNTING = ("first", "last", "max", "min", "num", "total", "per")

# Normalised key names (see KeyRule). ``tokens``, ``author``, ``session_id`` and friends must
# *not* match: LLM apps use ``max_tokens``/``input_tokens``/``token_count`` everywhere.
BUILTIN_KEY_RULES: tuple[KeyRule, ...] = (
    KeyRule("password", r"passw(?:or)?ds?|passphrase|passcode", ("password", "db_passwd")),
    KeyRule(
        "secret",
        r"secrets?|secret_?key|secret_access_key",
        ("client_secret", "secretKey", "AWS_SECRET_ACCESS_KEY"),
    ),
    # ``time_to_first_token``, ``max_token``, ``num_token`` count or time tokens: not secrets.
    KeyRule(
        "token",
        "".join(f"(?<!{w}_)" for w in _COUNTING) + "token",
        ("token", "access_token", "refreshToken", "x-auth-token"),
    ),
    KeyRule("api_key", r"api_?keys?", ("api_key", "api-key", "apikey", "apiKey", "X-Api-Key")),
    KeyRule("access_key", r"access_?keys?(?:_id)?", ("access_key", "aws_access_key_id")),
    KeyRule(
        "private_key",
        r"priv(?:ate)?_?keys?|signing_key|encryption_key|ssh_key",
        ("private_key", "privateKey", "signing_key"),
    ),
    KeyRule(
        "authorization", r"authorization|auth", ("Authorization", "proxy-authorization", "auth")
    ),
    KeyRule("cookie", r"cookies?", ("cookie", "Set-Cookie", "session_cookie")),
    KeyRule("credential", r"credentials?|creds?", ("credentials", "db_credential")),
)

# Shared tails for the text form ``name = value`` / ``"name": "value"`` (on lower-cased text).
_SEP = r"\\*[\"']?[ \t]*[:=][ \t]*"
_NOT_MARKER = r"(?!\[redacted:|\.\.\.\[truncated)"
# Quoted values run to the closing quote (escapes consumed in pairs); bare ones to a delimiter.
_VALUE = (
    r"(?:(?P<q>\\*[\"'])" + _NOT_MARKER + r"(?P<s>(?:(?!(?P=q))(?:\\.|[^\r\n\\]))+)"
    r"|" + _NOT_MARKER + r"(?P<s2>[^\s\"'&,;\\<>(){}\[\]]+))"
)
# Header-like names (Authorization, Cookie) keep going to the end of the line: the scheme
# ("Bearer x", "Basic x") and every cookie pair are part of the secret. The value may not
# start with a blank, or backtracking into the separator would slip past _NOT_MARKER.
_VALUE_EOL = (
    r"(?P<q>\\*[\"'])?" + _NOT_MARKER
    + r"(?![ \t])(?P<s>(?(q)(?:(?!(?P=q))(?:\\.|[^\r\n\\]))+|[^\r\n\\\"']+))"
)


def _camel(word: str, prefixes: tuple[str, ...]) -> str:
    """Look-behinds accepting ``word`` at a boundary or right after a camelCase prefix."""
    alts = [f"(?<![a-z0-9]{word})"]
    alts += [f"(?<=[^a-z0-9]{p}{word})" for p in prefixes]
    return "(?:" + "|".join(alts) + ")"


_TOKEN_PREFIXES = ("access", "refresh", "auth", "id", "api", "bearer", "session", "csrf", "xsrf")
_SECRET_PREFIXES = ("client", "app", "webhook")

_SECRET_PARAM = (
    "pass" + _camel("pass", ()) + r"(?:wo?rd|phrase|code)s?" + _SEP + _VALUE,
    "secret" + _camel("secret", _SECRET_PREFIXES) + r"(?:s|[_-]?(?:access[_-]?)?key)?"
    + _SEP + _VALUE,
    "token" + _camel("token", _TOKEN_PREFIXES)
    + "".join(f"(?<!{w}[_-]token)" for w in _COUNTING) + _SEP + _VALUE,
    # Only compound key names: a bare ``key=`` is far too common to treat as a secret.
    r"key(?:(?<=[^a-z0-9]apikey)|(?<=api[_-]key)|(?<=access[_-]key)|(?<=[^a-z0-9]accesskey)"
    r"|(?<=private[_-]key)|(?<=[^a-z0-9]privatekey)|(?<=secretkey))(?:[_-]?id)?" + _SEP + _VALUE,
    "auth" + _camel("auth", ()) + r"(?:orization)?" + _SEP + _VALUE_EOL,
    "cookie" + _camel("cookie", ()) + r"s?" + _SEP + _VALUE_EOL,
    "credential" + _camel("credential", ()) + r"s?" + _SEP + _VALUE,
)

_TOKEN_CHARS = r"[A-Za-z0-9_-]"

BUILTIN_VALUE_RULES: tuple[ValueRule, ...] = (
    ValueRule(
        "pem_private_key",
        # A BEGIN without its END redacts to the end of the string: a cut key is still a key.
        (
            r"-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----[\s\S]*?"
            r"(?:-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----|\Z)",
        ),
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7bq0x\n-----END RSA PRIVATE KEY-----",
        need_all="-",
    ),
    ValueRule(
        "anthropic_key",
        (r"sk-ant-(?<![A-Za-z0-9]sk-ant-)" + _TOKEN_CHARS + "{20,}",),
        "sk-ant-api03-" + "Xy7" * 10,
        need_all="-",
    ),
    ValueRule(
        "openai_key",
        # At least one digit: real keys always have one, "sk-learn-is-a-library" does not.
        (
            r"sk-(?<![A-Za-z0-9]sk-)(?!ant-)(?=" + _TOKEN_CHARS + r"{20})"
            r"(?=" + _TOKEN_CHARS + r"*[0-9])" + _TOKEN_CHARS + "+",
        ),
        "sk-proj-" + "aB3dE5" * 6,
        need_all="-",
    ),
    ValueRule(
        "aws_access_key_id",
        (r"A(?<![A-Z0-9]A)(?:KIA|SIA|BIA|CCA|3T[A-Z0-9])[A-Z0-9]{16}(?![A-Z0-9])",),
        "AKIAIOSFODNN7EXAMPLE",
        need_all="A",
    ),
    ValueRule(
        "github_token",
        (r"gh(?<![A-Za-z0-9_]gh)(?:[pousr]_[A-Za-z0-9]{36,}|ithub_pat_[A-Za-z0-9_]{22,})",),
        "ghp_" + "a1B2c3D4e5" * 4,
        need_all="_",
    ),
    ValueRule(
        "slack_token",
        (r"xox(?<![A-Za-z0-9]xox)[abposre]-[A-Za-z0-9-]{10,}",),
        "xoxb-123456789012-abcdefABCDEF",
        need_all="-",
    ),
    ValueRule(
        "slack_webhook",
        (r"hooks\.slack\.com/(?:services|workflows)/[A-Za-z0-9/_-]+",),
        "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX",
        need_all="/",
    ),
    ValueRule(
        "google_api_key",
        (r"AIza[0-9A-Za-z_-]{35}",),
        "AIza" + "SyD-9tSrke72PouQMnMX" + "7cn9k3RyGjJ3t1e",
        need_all="A",
    ),
    ValueRule(
        "stripe_key",
        (
            r"sk_(?<![A-Za-z0-9]sk_)(?:live|test)_[0-9A-Za-z]{16,}",
            r"rk_(?<![A-Za-z0-9]rk_)(?:live|test)_[0-9A-Za-z]{16,}",
            r"whsec_[A-Za-z0-9]{24,}",
        ),
        "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
        need_all="_",
    ),
    ValueRule(
        "bearer_token",
        (
            r"earer(?<=[Bb]earer)(?<![A-Za-z0-9][Bb]earer)[ \t]+(?P<s>[A-Za-z0-9._~+/-]{16,}=*)",
            r"EARER(?<=BEARER)(?<![A-Za-z0-9]BEARER)[ \t]+(?P<s>[A-Za-z0-9._~+/-]{16,}=*)",
        ),
        "Authorization header value: Bearer abcdef0123456789abcdef",
        need_any="rR",
    ),
    ValueRule(
        "jwt",
        (
            r"eyJ(?<![A-Za-z0-9_-]eyJ)" + _TOKEN_CHARS + r"{8,}\." + _TOKEN_CHARS + r"{2,}"
            r"(?:\." + _TOKEN_CHARS + r"*)*",
        ),
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk",
        need_all=".",
    ),
    ValueRule(
        "url_credentials",
        (r"://" + r"(?!\[REDACTED:)(?P<s>[^/\s:@'\"<>]*:[^/\s@'\"<>]*)@",),
        "postgres://app:hunter2@db.internal:5432/prod",
        need_all=":@",
    ),
    ValueRule(
        "secret_param",
        _SECRET_PARAM,
        "https://api.example.com/v1?api_key=abc123&page=2",
        lower=True,
        need_any=":=",
    ),
)

BUILTIN_RULE_NAMES: frozenset[str] = frozenset(
    [r.name for r in BUILTIN_KEY_RULES] + [r.name for r in BUILTIN_VALUE_RULES]
)
