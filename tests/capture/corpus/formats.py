"""Credential formats: a generator per family, filled from a seeded ``random.Random``.

Each follows the provider's documented format (prefix, alphabet, length, and the checksum
where one exists: GitHub's CRC32). ``needles`` are the random parts of a secret: none of
them, nor any 12-character window of them, may appear in an exported byte.
"""

from __future__ import annotations

import base64
import binascii
import json
import random
import re
import string
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["B62", "B64", "B64URL", "HEX", "UPPER", "Family", "Secret"]

B62 = string.ascii_letters + string.digits
B64URL = B62 + "-_"
B64 = B62 + "+/"
HEX = "0123456789abcdef"
UPPER = string.ascii_uppercase + string.digits


@dataclass(frozen=True)
class Secret:
    """A planted credential: ``text`` is what the user's code holds, ``needles`` its secret
    parts; ``url`` is how it travels in a URL (default: a path segment)."""

    family: str
    text: str
    needles: tuple[str, ...]
    url: str = ""


@dataclass(frozen=True)
class Family:
    name: str
    make: Callable[[random.Random], Secret]
    named: bool = True


def _r(rng: random.Random, alphabet: str, n: int) -> str:
    # At least one digit and one letter where the alphabet has both: the needle is then
    # never a plain word.
    digits = any(c.isdigit() for c in alphabet)
    letters = any(c.isalpha() for c in alphabet)
    while True:
        s = "".join(rng.choice(alphabet) for _ in range(n))
        if (
            n < 8
            or not (digits and letters)
            or (any(c.isdigit() for c in s) and any(c.isalpha() for c in s))
        ):
            return s


def _base62(n: int, width: int) -> str:
    out = ""
    while n:
        n, d = divmod(n, 62)
        out = (string.digits + string.ascii_uppercase + string.ascii_lowercase)[d] + out
    return out.rjust(width, "0")


def simple(name: str, prefix: str, alphabet: str, n: int, suffix: str = "") -> Family:
    def make(rng: random.Random) -> Secret:
        body = _r(rng, alphabet, n)
        return Secret(name, prefix + body + suffix, (body,))

    return Family(name, make)


def github(rng: random.Random) -> Secret:
    random30 = _r(rng, B62, 30)
    checksum = _base62(binascii.crc32(random30.encode()), 6)
    prefix = rng.choice(["ghp_", "gho_", "ghu_", "ghs_", "ghr_"])
    return Secret("github_token", prefix + random30 + checksum, (random30,))


def github_pat(rng: random.Random) -> Secret:
    a, b = _r(rng, B62, 22), _r(rng, B62, 59)
    return Secret("github_fine_grained_pat", f"github_pat_11{a[:20]}_{b}", (a[:20], b))


def anthropic(kind: str) -> Callable[[random.Random], Secret]:
    def make(rng: random.Random) -> Secret:
        body = _r(rng, B64URL, 93)
        name = "anthropic_admin_key" if kind == "admin01" else "anthropic_key"
        return Secret(name, f"sk-ant-{kind}-{body}AA", (body,))

    return make


def openai(rng: random.Random) -> Secret:
    kind = rng.choice(["proj", "svcacct", "legacy"])
    if kind == "legacy":
        a, b = _r(rng, B62, 20), _r(rng, B62, 20)
        return Secret("openai_key", f"sk-{a}T3BlbkFJ{b}", (a, b))
    body = _r(rng, B62, 24) + "_" + _r(rng, B64URL, 60) + "T3BlbkFJ" + _r(rng, B64URL, 40)
    return Secret("openai_key", f"sk-{kind}-{body}", (body[:24], body[25:85]))


def _uuid(rng: random.Random) -> str:
    h = _r(rng, HEX, 32)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


def langfuse(rng: random.Random) -> Secret:
    u = _uuid(rng)
    return Secret("langfuse_key", rng.choice(["sk-lf-", "pk-lf-"]) + u, (u,))


def pinecone(rng: random.Random) -> Secret:
    a, b = _r(rng, B62, 6), _r(rng, B62, 63)
    return Secret("pinecone_key", f"pcsk_{a}_{b}", (b,))


def langsmith(rng: random.Random) -> Secret:
    a, b = _r(rng, HEX, 32), _r(rng, HEX, 10)
    return Secret("langsmith_key", f"lsv2_{rng.choice(['pt', 'sk'])}_{a}_{b}", (a,))


def aws_key_id(rng: random.Random) -> Secret:
    body = _r(rng, UPPER, 16)
    return Secret("aws_access_key_id", rng.choice(["AKIA", "ASIA"]) + body, (body,))


def aws_secret(rng: random.Random) -> Secret:
    # The secret access key is 40 base64 characters with no prefix: found by its name.
    body = _r(rng, B64, 40)
    form = rng.choice(
        ["aws_secret_access_key = {}", "AWS_SECRET_ACCESS_KEY={}", '"SecretAccessKey": "{}"']
    )
    return Secret(
        "aws_secret_access_key",
        form.format(body),
        (body,),
        url=f"https://s3.example.com/?aws_secret_access_key={body}",
    )


def aws_session(rng: random.Random) -> Secret:
    body = _r(rng, B64, 300)
    return Secret("aws_session_token", "IQoJb3JpZ2luX2Vj" + body, (body[:60], body[-60:]))


def presigned(rng: random.Random) -> Secret:
    sig, cred = _r(rng, HEX, 64), _r(rng, UPPER, 16)
    url = (
        f"https://bucket.s3.amazonaws.com/report.pdf?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        f"&X-Amz-Credential=AKIA{cred}%2F20240501%2Fus-east-1%2Fs3%2Faws4_request"
        f"&X-Amz-Date=20240501T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host"
        f"&X-Amz-Signature={sig}"
    )
    return Secret("aws_presigned_url", url, (sig, cred), url=url)


def google_key(rng: random.Random) -> Secret:
    body = _r(rng, B64URL, 35)
    return Secret("google_api_key", "AIza" + body, (body,))


def slack(rng: random.Random) -> Secret:
    kind = rng.choice("bpa")
    a, b, c = _r(rng, string.digits, 12), _r(rng, string.digits, 13), _r(rng, B62, 24)
    return Secret("slack_token", f"xox{kind}-{a}-{b}-{c}", (c,))


def slack_app(rng: random.Random) -> Secret:
    a, b, c = _r(rng, UPPER, 10), _r(rng, string.digits, 13), _r(rng, HEX, 64)
    return Secret("slack_app_token", f"xapp-1-A{a}-{b}-{c}", (c,))


def slack_webhook(rng: random.Random) -> Secret:
    a, b, c = _r(rng, UPPER, 8), _r(rng, UPPER, 10), _r(rng, B62, 24)
    url = f"https://hooks.slack.com/services/T{a}/B{b}/{c}"
    return Secret("slack_webhook", url, (c,), url=url)


def discord_webhook(rng: random.Random) -> Secret:
    a, b = _r(rng, string.digits, 18), _r(rng, B64URL, 68)
    url = f"https://discord.com/api/webhooks/{a}/{b}"
    return Secret("discord_webhook", url, (b,), url=url)


def teams_webhook(rng: random.Random) -> Secret:
    a, b, c = _uuid(rng), _r(rng, HEX, 32), _uuid(rng)
    url = f"https://acme.webhook.office.com/webhookb2/{a}@{_uuid(rng)}/IncomingWebhook/{b}/{c}"
    return Secret("teams_webhook", url, (b,), url=url)


def stripe(rng: random.Random) -> Secret:
    prefix = rng.choice(["sk_live_", "sk_test_", "rk_live_"])
    body = _r(rng, B62, 99)
    return Secret("stripe_key", prefix + "51" + body, (body,))


def stripe_webhook(rng: random.Random) -> Secret:
    body = _r(rng, B62, 32)
    return Secret("stripe_webhook_secret", "whsec_" + body, (body,))


def jwt(rng: random.Random) -> Secret:
    def b64url(obj: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    sub = _r(rng, B62, 24)
    payload = b64url({"sub": sub, "iat": 1714521600, "scope": "read write"})
    sig = _r(rng, B64URL, 43)
    token = b64url({"alg": "HS256", "typ": "JWT"}) + "." + payload + "." + sig
    return Secret("jwt", token, (payload[:24], sig))


def pem(kind: str) -> Callable[[random.Random], Secret]:
    def make(rng: random.Random) -> Secret:
        lines = [_r(rng, B64, 64) for _ in range(20)]
        block = (
            f"-----BEGIN {kind}PRIVATE KEY-----\n"
            + "\n".join(lines)
            + f"\n-----END {kind}PRIVATE KEY-----"
        )
        name = {
            "RSA ": "rsa_private_key",
            "EC ": "ec_private_key",
            "OPENSSH ": "openssh_private_key",
            "": "pkcs8_private_key",
        }[kind]
        return Secret(name, block, (lines[0], lines[10], lines[-1]))

    return make


def putty(rng: random.Random) -> Secret:
    public, private = _r(rng, B64, 64), [_r(rng, B64, 64) for _ in range(3)]
    mac = _r(rng, HEX, 64)
    text = (
        "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: deploy@ci\n"
        f"Public-Lines: 1\n{public}\nPrivate-Lines: 3\n"
        + "\n".join(private)
        + f"\nPrivate-MAC: {mac}"
    )
    return Secret("putty_private_key", text, (*private, mac))


def gcp(rng: random.Random) -> Secret:
    lines = [_r(rng, B64, 64) for _ in range(12)]
    key_id = _r(rng, HEX, 40)
    doc = {
        "type": "service_account",
        "project_id": "acme-prod",
        "private_key_id": key_id,
        "private_key": "-----BEGIN PRIVATE KEY-----\n"
        + "\n".join(lines)
        + "\n-----END PRIVATE KEY-----\n",
        "client_email": "svc@acme-prod.iam.gserviceaccount.com",
    }
    return Secret("gcp_service_account", json.dumps(doc), (key_id, lines[0], lines[-1]))


def db_url(rng: random.Random) -> Secret:
    pw = _r(rng, B62, 10) + rng.choice(["/", "@", "/x@", "#"]) + _r(rng, B62, 8)
    scheme, port = rng.choice(
        [("postgresql", 5432), ("mysql", 3306), ("mongodb", 27017), ("redis", 6379), ("amqp", 5672)]
    )
    url = f"{scheme}://app_user:{pw}@db-7.internal.example.com:{port}/prod"
    return Secret("database_url", url, (pw[:10], pw[-8:]), url=url)


def sentry(rng: random.Random) -> Secret:
    key, org, proj = _r(rng, HEX, 32), _r(rng, string.digits, 6), _r(rng, string.digits, 7)
    url = f"https://{key}@o{org}.ingest.us.sentry.io/{proj}"
    return Secret("sentry_dsn", url, (key,), url=url)


def azure_storage(rng: random.Random) -> Secret:
    key = _r(rng, B64, 86) + "=="
    text = (
        f"DefaultEndpointsProtocol=https;AccountName=acmeprod;AccountKey={key};"
        "EndpointSuffix=core.windows.net"
    )
    return Secret("azure_storage_key", text, (key[:40], key[40:86]))


def azure_sas(rng: random.Random) -> Secret:
    sig = _r(rng, B64, 43)
    encoded = sig.replace("+", "%2B").replace("/", "%2F") + "%3D"
    url = (
        f"https://acmeprod.blob.core.windows.net/reports/q3.pdf?sv=2022-11-02&ss=b&srt=o"
        f"&sp=r&se=2025-01-01T00:00:00Z&spr=https&sig={encoded}"
    )
    return Secret(
        "azure_sas_token", url, tuple(p for p in _pieces(encoded) if len(p) >= 12), url=url
    )


def _pieces(encoded: str) -> list[str]:
    return encoded.replace("%2B", " ").replace("%2F", " ").replace("%3D", " ").split()


def service_bus(rng: random.Random) -> Secret:
    key = _r(rng, B64, 43) + "="
    text = (
        "Endpoint=sb://acme.servicebus.windows.net/;SharedAccessKeyName="
        f"RootManageSharedAccessKey;SharedAccessKey={key}"
    )
    return Secret("azure_service_bus_key", text, (key[:43],))


def azure_ad(rng: random.Random) -> Secret:
    head, tail = _r(rng, B62, 3), _r(rng, B62 + "_~.-", 34)
    value = f"{head}{rng.choice(string.digits)}Q~{tail}"
    return Secret("azure_ad_client_secret", value, (tail,))


def odbc(rng: random.Random) -> Secret:
    pw = _r(rng, B62, 16)
    form = rng.choice(
        [
            "Driver={{ODBC Driver 18 for SQL Server}};Server=tcp:acme.database.windows.net,1433;"
            "Database=prod;Uid=app;Pwd={};Encrypt=yes;",
            "Server=db.internal;Database=prod;User Id=app;Password={};TrustServerCertificate=True",
        ]
    )
    return Secret("odbc_connection_string", form.format(pw), (pw,))


def oauth_code(rng: random.Random) -> Secret:
    code = _r(rng, B64URL, 40)
    url = f"https://app.example.com/oauth/callback?state=xyz123&code={code}&scope=openid"
    return Secret("oauth_code", url, (code,), url=url)


def url_signature(rng: random.Random) -> Secret:
    sig = _r(rng, B64URL, 44)
    url = f"https://cdn.example.com/v/clip.mp4?expires=1714521600&signature={sig}"
    return Secret("url_signature", url, (sig,), url=url)


def curl(rng: random.Random) -> Secret:
    pw = _r(rng, B62, 14)
    flag = rng.choice(["-u", "--user"])
    text = f"curl {flag} deploy:{pw} https://api.example.com/v1/builds"
    return Secret("curl_credentials", text, (pw,))


def basic(rng: random.Random) -> Secret:
    pw = _r(rng, B62, 18)
    token = base64.b64encode(f"svc-user:{pw}".encode()).decode()
    return Secret("basic_auth", f"Basic {token}", (token[8:],))


def bearer(rng: random.Random) -> Secret:
    token = _r(rng, B64URL, 40)
    return Secret("bearer_token", f"Bearer {token}", (token,))


def telegram(rng: random.Random) -> Secret:
    bot, secret = _r(rng, string.digits, 10), "AA" + _r(rng, B64URL, 33)
    return Secret("telegram_bot_token", f"{bot}:{secret}", (secret[2:],))


def discord_bot(rng: random.Random) -> Secret:
    user_id = str(rng.randrange(10**17, 10**18))
    first = base64.b64encode(user_id.encode()).decode().rstrip("=")
    mid, last = _r(rng, B64URL, 6), _r(rng, B64URL, 38)
    return Secret("discord_bot_token", f"{first}.{mid}.{last}", (last,))


def sendgrid(rng: random.Random) -> Secret:
    a, b = _r(rng, B64URL, 22), _r(rng, B64URL, 43)
    return Secret("sendgrid_key", f"SG.{a}.{b}", (a, b))


def atlassian(rng: random.Random) -> Secret:
    body, check = _r(rng, B64URL, 170), _r(rng, "0123456789ABCDEF", 8)
    return Secret("atlassian_token", f"ATATT3xFfGF0{body}={check}", (body[:60], body[-60:]))


def vault(rng: random.Random) -> Secret:
    body = _r(rng, B64URL, 90)
    return Secret("vault_token", "hvs." + body, (body,))


def doppler(rng: random.Random) -> Secret:
    body = _r(rng, B62, 43)
    return Secret("doppler_token", "dp.pt." + body, (body,))


def airtable(rng: random.Random) -> Secret:
    a, b = _r(rng, B62, 14), _r(rng, HEX, 64)
    return Secret("airtable_token", f"pat{a}.{b}", (b,))


def postman(rng: random.Random) -> Secret:
    a, b = _r(rng, HEX, 24), _r(rng, HEX, 34)
    return Secret("postman_key", f"PMAK-{a}-{b}", (a, b))


def brevo(rng: random.Random) -> Secret:
    a, b = _r(rng, HEX, 64), _r(rng, B62, 16)
    return Secret("brevo_key", f"xkeysib-{a}-{b}", (a,))


def resend(rng: random.Random) -> Secret:
    a, b = _r(rng, B62, 8), _r(rng, B62, 24)
    return Secret("resend_key", f"re_{a}_{b}", (b,))


def grafana(rng: random.Random) -> Secret:
    a, b = _r(rng, B62, 32), _r(rng, HEX, 8)
    return Secret("grafana_token", f"glsa_{a}_{b}", (a,))


def new_relic(rng: random.Random) -> Secret:
    body = _r(rng, UPPER, 27)
    return Secret("new_relic_key", "NRAK-" + body, (body,))


def age(rng: random.Random) -> Secret:
    body = _r(rng, "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L", 58)
    return Secret("age_secret_key", "AGE-SECRET-KEY-1" + body, (body,))


def notion(rng: random.Random) -> Secret:
    if rng.random() < 0.5:
        body = _r(rng, B62, 43)
        return Secret("notion_token", "secret_" + body, (body,))
    digits, body = _r(rng, string.digits, 11), _r(rng, B62, 35)
    return Secret("notion_token", f"ntn_{digits}{body}", (body,))


def assignment(family: str, forms: tuple[str, ...], alphabet: str = B62, n: int = 32) -> Family:
    """A credential without a prefix (hex or base62 of a fixed length): found by its name."""

    def make(rng: random.Random) -> Secret:
        value = _r(rng, alphabet, n)
        form = rng.choice(forms)
        name = re.search(r"[A-Za-z][A-Za-z0-9_.\-]*", form).group()  # type: ignore[union-attr]
        return Secret(
            family,
            form.format(value),
            (value,),
            url=f"https://api.example.com/v1/run?{name.lower()}={value}",
        )

    return Family(family, make)


def unknown_prefix(rng: random.Random) -> Secret:
    # A vendor this library has never heard of, shaped like most modern keys.
    prefix = rng.choice(["acme_live", "zk", "qx_sk", "vnd-prod", "lk"])
    body = _r(rng, B62, 40)
    return Secret("unknown_prefixed_key", f"{prefix}_{body}", (body,))


def bare_entropy(rng: random.Random) -> Secret:
    # Cohere- and Mistral-style keys: 32-40 random characters and nothing else.
    body = _r(rng, B62, rng.choice([32, 40]))
    return Secret("bare_high_entropy_key", body, (body,))
