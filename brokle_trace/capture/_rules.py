"""The built-in redaction rules: secret-naming keys, secret-looking text, and token shapes.

Kept as plain data so the docs, the tests and the redactor read the same table:

* ``BUILTIN_KEY_RULES``: dict keys whose value is replaced whole (the structured walk);
* ``BUILTIN_VALUE_RULES``: regexes run over every string (assignments such as ``password=``,
  URLs with credentials, private-key blocks, ...); a rule may name a ``check`` that
  confirms a match and names its family (``_checks.py``);
* ``BUILTIN_TOKEN_RULES`` (``_families.py``): credential formats with a known prefix
  (``ghp_``, ``hf_``, ``sk-ant-``, ...), tried only where the token scanner found a long run
  of token characters (``_scan.py``), so 60 families cost one pass over the text;
* ``BUILTIN_SHAPE_RULES``: the two detectors that need no family: a prefixed token and a
  high-entropy string, with their thresholds.

Every regex of a value rule starts with a literal so ``re`` can use its fast prefix search
(a leading look-behind or alternation makes a 4 KB scan ~30x slower, measured), and
boundary checks therefore sit *after* the literal as look-behinds.
"""

from __future__ import annotations

from dataclasses import dataclass

from brokle_trace.capture._families import BUILTIN_TOKEN_RULES, ID_PREFIXES, TokenRule

__all__ = [
    "BUILTIN_KEY_RULES",
    "BUILTIN_RULE_NAMES",
    "BUILTIN_SHAPE_RULES",
    "BUILTIN_TOKEN_RULES",
    "BUILTIN_VALUE_RULES",
    "ID_PREFIXES",
    "KeyRule",
    "ShapeRule",
    "TokenRule",
    "ValueRule",
]


@dataclass(frozen=True)
class KeyRule:
    """A key-name rule: the value under a matching key is replaced whole.

    ``pattern`` is matched against the *normalised* key (camelCase split, lower case, ``-``,
    ``.`` and spaces turned into ``_``) as its last ``_``-separated segment(s). A value that
    is a ``bool`` or ``None`` is kept: a flag (``"private": true``) is never a secret.
    """

    name: str
    pattern: str
    examples: tuple[str, ...]


@dataclass(frozen=True)
class ValueRule:
    """A value rule: text that looks like a secret, replaced wherever it appears.

    * ``patterns``: regexes; a group whose name starts with ``s`` marks the part to replace
      (``Bearer <s>``), otherwise the whole match is replaced (so no other group's name may
      start with ``s``).
    * ``lower``: patterns are written in lower case and run on the ASCII-lower-cased text
      (same indices), i.e. ASCII case-insensitive without ``re.IGNORECASE``'s slow path.
    * ``need_all`` / ``need_any``: single characters checked with ``in`` (a ``memchr``,
      ~40 ns on 4 KB) before any regex runs; a rule whose gate fails cannot match.
    * ``check``: the name of a function in ``_checks.CHECKS`` that sees each match and
      returns the span to replace and the family to name, or None (not a secret after all).
    * ``families``: the names ``check`` may return besides ``name`` (each can be disabled).
    * ``pattern_needs``: per pattern, characters that must all occur in the (lower-cased)
      text for it to match (``k`` for ``token``): a ``memchr`` each, cheaper than a scan.
    * ``example``: a string that must be redacted by this rule (docs and tests use it).
    """

    name: str
    patterns: tuple[str, ...]
    example: str
    lower: bool = False
    need_all: str = ""
    need_any: str = ""
    check: str = ""
    families: tuple[str, ...] = ()
    pattern_needs: tuple[str, ...] = ()


@dataclass(frozen=True)
class ShapeRule:
    """A detector that finds a credential by its shape alone (see ``_scan.py``).

    ``min_length``/``max_length`` bound the part judged; ``min_changes`` is the least share
    of neighbouring characters that change class (upper, lower, digit, other): random keys
    change class at ~60 % of positions, words and camelCase names at 10-25 %. ``entropy``
    is the Shannon-entropy factor: a string of ``n`` characters needs at least
    ``entropy * log2(n)`` bits per character, capped at ``entropy_cap`` (0 = not checked).
    """

    name: str
    example: str
    min_length: int
    max_length: int
    min_changes: float
    entropy: float = 0.0
    entropy_cap: float = 0.0


#: Words that make a following "token" a count, a time or a tokenizer's special token, not
#: a credential (``max_token``, Hugging Face's ``eos_token``/``add_bos_token``).
NOT_SECRET_TOKENS = (
    "first",
    "last",
    "max",
    "min",
    "num",
    "total",
    "per",
    "eos",
    "bos",
    "pad",
    "unk",
    "sep",
    "cls",
    "mask",
)
#: Compound names ending in ``key`` that name a credential (``accountKey``, ``x-functions-key``).
SECRET_KEY_NAMES = (
    "api",
    "access",
    "private",
    "secret",
    "account",
    "master",
    "client",
    "subscription",
    "functions",
    "sharedaccess",
    "shared_access",
    "signing",
    "encryption",
    "ssh",
    "auth",
    "admin",
    "app",
    "service_role",
    "license",
    "webhook",
    "session",
    "consumer",
    "x_api",
    "ingest",
    "deploy",
)

# Normalised key names (see KeyRule). ``tokens``, ``author``, ``session_id`` and friends must
# *not* match: LLM apps use ``max_tokens``/``input_tokens``/``token_count`` everywhere.
BUILTIN_KEY_RULES: tuple[KeyRule, ...] = (
    KeyRule(
        "password",
        r"passw(?:or)?ds?|passphrase|passcode|pwd|pass",
        ("password", "db_passwd", "Pwd", "db_pass"),
    ),
    KeyRule(
        "secret",
        r"secrets?|secret_?keys?|secret_access_key",
        ("client_secret", "secretKey", "AWS_SECRET_ACCESS_KEY"),
    ),
    # ``time_to_first_token``, ``max_token``, ``eos_token`` count, time or mark tokens.
    KeyRule(
        "token",
        "".join(f"(?<!{w}_)" for w in NOT_SECRET_TOKENS) + "token",
        ("token", "access_token", "refreshToken", "x-auth-token", "hf_token"),
    ),
    KeyRule("api_key", r"api_?keys?", ("api_key", "api-key", "apikey", "apiKey", "X-Api-Key")),
    KeyRule("access_key", r"access_?keys?(?:_id)?", ("access_key", "aws_access_key_id")),
    KeyRule(
        "service_key",
        r"(?:account|master|client|subscription|functions|shared_?access|auth|admin|app"
        r"|service_role|license|webhook|consumer|ingest|deploy)_?keys?",
        (
            "accountKey",
            "masterKey",
            "clientKey",
            "subscription_key",
            "x-functions-key",
            "Ocp-Apim-Subscription-Key",
            "SharedAccessKey",
        ),
    ),
    KeyRule(
        "private_key",
        # ``private`` only as the whole key: ``is_private`` is a flag (and bools are kept).
        r"priv(?:ate)?_?keys?(?:_id)?|signing_key|encryption_key|ssh_key|(?<!_)private",
        ("private_key", "privateKey", "signing_key", "private"),
    ),
    KeyRule("signature", r"sig|signature", ("sig", "signature", "X-Amz-Signature")),
    KeyRule(
        "authorization",
        r"authorization|auth|bearer",
        ("Authorization", "proxy-authorization", "auth", "bearer"),
    ),
    KeyRule("cookie", r"cookies?", ("cookie", "Set-Cookie", "session_cookie")),
    KeyRule("credential", r"credentials?|creds?", ("credentials", "db_credential")),
)

# Shared tails for the text form ``name = value`` / ``"name": "value"`` (on lower-cased text).
# ``=>`` (Ruby, PHP) and ``:=`` are separators too.
_SEP = r"\\*[\"']?[ \t]*(?::=?|=>?)[ \t]*"
_NOT_MARKER = r"(?!\[redacted:|\.\.\.\[truncated)"
# Quoted values run to the closing quote (escapes consumed in pairs); braced ones (ODBC
# ``Pwd={a;b}``) to the brace; bare ones to a delimiter.
_VALUE = (
    r"(?:(?P<q>\\*[\"'])" + _NOT_MARKER + r"(?P<s>(?:(?!(?P=q))(?:\\.|[^\r\n\\]))+)"
    r"|" + _NOT_MARKER + r"(?P<s3>\{[^}\r\n]*\})"
    r"|" + _NOT_MARKER + r"(?P<s2>[^\s\"'&,;\\<>(){}\[\]]+))"
)
# Header-like names (Authorization, Cookie) keep going to the end of the line: the scheme
# ("Bearer x", "Basic x") and every cookie pair are part of the secret. The value may not
# start with a blank, or backtracking into the separator would slip past _NOT_MARKER.
_VALUE_EOL = (
    r"(?P<q>\\*[\"'])?"
    + _NOT_MARKER
    + r"(?![ \t])(?P<s>(?(q)(?:(?!(?P=q))(?:\\.|[^\r\n\\]))+|[^\r\n\\\"']+))"
)
# A bearer/basic credential after its scheme word: base64/base64url characters.
_SCHEME_VALUE = r"[ \t]+" + _NOT_MARKER + r"(?P<s%d>[a-z0-9._~+/-]{%d,}=*)"
_USER_PASS = r"[^\s:'\"]+:[^\s'\"]+"

#: The families an assignment's name may give it (``_checks.assignment``); the rest are
#: ``secret_param``.
ASSIGNMENT_FAMILIES = (
    "azure_storage_key",
    "azure_service_bus_key",
    "azure_sas_token",
    "aws_presigned_url",
    "url_signature",
    "oauth_code",
)

# One pattern per stem, on lower-cased text: the stem is the literal the search looks for,
# the check reads the whole name before it and decides (``_checks.assignment``).
_ASSIGNMENTS = (
    r"pass(?:wo?rds?|phrase|code|wd)?" + _SEP + _VALUE,
    r"pwd" + _SEP + _VALUE,
    r"secret(?:s|[_-]?(?:access[_-]?)?keys?)?" + _SEP + _VALUE,
    r"token" + _SEP + _VALUE,
    # ``key`` alone is far too common (``key=``, ``sort_key:``): the check wants a compound.
    r"key(?<=[a-z0-9_-]key)(?:[_-]?id)?" + _SEP + _VALUE,
    r"auth(?:orization)?" + _SEP + _VALUE_EOL,
    r"cookies?" + _SEP + _VALUE_EOL,
    r"credentials?" + _SEP + _VALUE,
    r"sig(?:nature)?" + _SEP + _VALUE,
    r"private" + _SEP + _VALUE,
    r"code(?<=\?code)=" + _NOT_MARKER + r"(?P<s>[^\s\"'&#<>\\]+)",
    r"code(?<=&code)=" + _NOT_MARKER + r"(?P<s>[^\s\"'&#<>\\]+)",
)
# A rare letter of each stem (logs, digests and JSON keys often lack k, w, g, v; prose
# lacks ? and &).
_ASSIGNMENT_NEEDS = ("", "w", "", "k", "ky", "h", "k", "", "g", "v", "?", "&")

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
        pattern_needs=("BGKY",),
    ),
    ValueRule(
        "putty_private_key",
        # The whole file: header, public and private lines, to the MAC (or the end).
        (r"PuTTY-User-Key-File-[\s\S]*?(?:Private-MAC:[ \t]*[0-9a-fA-F]+|\Z)",),
        "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nPrivate-Lines: 1\n"
        "AAAAIFAKEFAKEFAKE\nPrivate-MAC: 0123456789abcdef",
        need_all="TY",
    ),
    ValueRule(
        "url_credentials",
        # userinfo up to the *last* '@' of the URL: passwords with '/' or '@' in them (the
        # check keeps a plain ``user@host`` and names Sentry DSNs).
        (r"://(?!\[REDACTED:)(?P<s>[^\s/:'\"<>]*:[^\s'\"<>]*|[^\s/:@'\"<>]{16,})@",),
        "postgres://app:hunter2@db.internal:5432/prod",
        need_all=":@",
        check="userinfo",
        families=("sentry_dsn",),
    ),
    ValueRule(
        "webhook_url",
        (
            r"\.com/(?:(?<=hooks\.slack\.com/)(?:services|workflows|triggers)/"
            r"|(?<=discord\.com/)api/webhooks/|(?<=discordapp\.com/)api/webhooks/"
            r"|(?<=webhook\.office\.com/)webhookb2/)(?P<s>[A-Za-z0-9/_@.-]{8,})",
        ),
        "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX",
        need_all="/",
        check="webhook",
        families=("slack_webhook", "discord_webhook", "teams_webhook"),
    ),
    ValueRule(
        "azure_ad_client_secret",
        # Entra ID client secrets: 3 characters, a digit, "Q~", 31-34 more (the check moves
        # the start back over the four characters before the literal).
        (r"Q~(?<=[A-Za-z0-9_~.-]{3}[0-9]Q~)[A-Za-z0-9_~.-]{31,34}(?![A-Za-z0-9_~.-])",),
        "abc8Q~" + "EXAMPLEfakeSecretValue0123456789ab",
        need_all="~",
        check="back4",
    ),
    ValueRule(
        "auth_scheme",
        # "Bearer <token>" (or "bearer": "<token>") and "Basic <base64>"; the check keeps
        # English ("Bearer authentication", "basic information") and names the family.
        (
            r"b(?:earer(?<![a-z0-9]bearer)(?:"
            + _SCHEME_VALUE % (9, 16)
            + r"|"
            + _SEP
            + _VALUE
            + r")|asic(?<![a-z0-9]basic)"
            + _SCHEME_VALUE % (8, 8)
            + r")",
        ),
        "Authorization header value: Bearer abcdef0123456789abcdef",
        lower=True,
        need_any="bB",
        check="scheme",
        families=("bearer_token", "basic_auth"),
    ),
    ValueRule(
        "cli_credentials",
        # curl -u user:pass, --user user:pass, --password x, --api-key x (space-separated;
        # ``--name=value`` is an assignment).
        (
            r"-u(?<![a-z0-9_-]-u)[ \t]+(?P<q>['\"])?" + _NOT_MARKER + r"(?P<s>" + _USER_PASS + ")",
            r"--(?<![a-z0-9_-]--)(?:user[ \t]+(?P<q>['\"])?"
            + _NOT_MARKER
            + r"(?P<s>"
            + _USER_PASS
            + r")|(?:[a-z0-9]+-)*(?:pass(?:word|wd|phrase)?|token|secret|api-?key|access-?key"
            r"|secret-?key|client-secret|auth-token|private-key)[ \t]+(?P<q2>['\"])?"
            + _NOT_MARKER
            + r"(?P<s2>[^\s'\"-][^\s'\"]*))",
        ),
        "curl -u admin:hunter2 https://api.example.com",
        lower=True,
        need_all="-",
    ),
    ValueRule(
        "secret_param",
        _ASSIGNMENTS,
        "https://api.example.com/v1?api_key=abc123&page=2",
        lower=True,
        need_any=":=",
        check="assignment",
        families=ASSIGNMENT_FAMILIES,
        pattern_needs=_ASSIGNMENT_NEEDS,
    ),
)

BUILTIN_SHAPE_RULES: tuple[ShapeRule, ...] = (
    # A short lower-case prefix, ``_`` or ``-``, then 20+ letters and digits with both
    # present: the shape of almost every modern API key (``abc_9fQ2...``).
    ShapeRule("prefixed_token", "zq_" + "4fA9kQ2mX7vB1nR8tL3wC6yH", 20, 512, 0.3),
    # 32+ characters of base64/base62 with a high entropy (UUIDs, hex digests, data: URIs,
    # known file signatures, words and provider object ids exempt).
    ShapeRule(
        "high_entropy",
        "Zq8" + "xK2vNp7LwR4mT9bY3cH6jD1fG5sA0eQ",
        32,
        512,
        0.3,
        entropy=0.8,
        entropy_cap=4.8,
    ),
)

BUILTIN_RULE_NAMES: frozenset[str] = frozenset(
    [r.name for r in BUILTIN_KEY_RULES]
    + [name for r in BUILTIN_VALUE_RULES for name in (r.name, *r.families)]
    + [r.name for r in BUILTIN_TOKEN_RULES]
    + [r.name for r in BUILTIN_SHAPE_RULES]
)
