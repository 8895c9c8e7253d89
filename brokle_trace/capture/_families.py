"""Credential formats with a known prefix, and the provider object ids that look like them.

Each ``TokenRule`` is tried only where the token scanner (``_scan.py``) found a run of at
least 16 token characters, at the run's start and after each ``_ - + / .`` inside it, and
only when the text there starts with one of the rule's ``prefixes``: sixty families cost
one pass over the text plus a dictionary lookup per candidate. A pattern therefore begins
with one of its prefixes, and its first 16 characters are token characters.

Formats are the providers' documented ones (prefix, alphabet, length); where a family has a
checksum (GitHub's CRC32) the rule does not verify it: a key with a bad checksum is still
somebody's mistyped key. Examples are fake (``EXAMPLE``, counting digits).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BUILTIN_TOKEN_RULES", "ID_PREFIXES", "TokenRule"]


@dataclass(frozen=True)
class TokenRule:
    """A credential format recognised by its prefix.

    * ``prefixes``: literal starts (case-sensitive); the scanner looks them up by their
      first three (or fewer) characters.
    * ``pattern``: matched at the candidate position (``re.match``); the whole match is
      replaced. It may look behind (Telegram's bot id before ``:``).
    * ``example``: a fake string this rule redacts (docs and tests use it).
    """

    name: str
    prefixes: tuple[str, ...]
    pattern: str
    example: str


_B62 = "[A-Za-z0-9]"
_URL = "[A-Za-z0-9_-]"  # base64url
_HEX = "[0-9a-f]"
_END = "(?![A-Za-z0-9])"
_URL_END = "(?![A-Za-z0-9_-])"
_EX = "EXAMPLEfake0123456789abcdefABCDEF" * 8  # filler for the examples


def _ex(prefix: str, n: int, alphabet: str = _EX) -> str:
    return prefix + alphabet[:n]


_H = "0123456789abcdef" * 8

BUILTIN_TOKEN_RULES: tuple[TokenRule, ...] = (
    # -- LLM providers and their tooling ---------------------------------------------------
    TokenRule(
        "anthropic_admin_key",
        ("sk-ant-admin",),
        rf"sk-ant-admin\d*-{_URL}{{20,}}",
        _ex("sk-ant-admin01-", 95),
    ),
    TokenRule(
        "anthropic_key", ("sk-ant-",), rf"sk-ant-(?!admin){_URL}{{20,}}", _ex("sk-ant-api03-", 95)
    ),
    TokenRule(
        "openrouter_key", ("sk-or-",), rf"sk-or-v\d-{_HEX}{{64}}{_END}", "sk-or-v1-" + _H[:64]
    ),
    TokenRule(
        "langfuse_key",
        ("sk-lf-", "pk-lf-"),
        rf"[sp]k-lf-{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}{_END}",
        "sk-lf-01234567-89ab-cdef-0123-456789abcdef",
    ),
    # Legacy sk-<48>, sk-proj-/sk-svcacct-/sk-admin- base64url, DeepSeek's sk-<32 hex>.
    # A 16-character alphanumeric run and a digit: "sk-hynix-q3-2024-results" is a slug.
    TokenRule(
        "openai_key",
        ("sk-",),
        rf"sk-(?!ant-|or-v\d|lf-)(?={_URL}*[0-9])(?={_URL}*{_B62}{{16}}){_URL}{{20,}}",
        _ex("sk-proj-", 40),
    ),
    TokenRule(
        "huggingface_token",
        ("hf_", "api_org_"),
        rf"(?:hf|api_org)_{_B62}{{30,}}{_END}",
        _ex("hf_", 34, "EXAMPLEfakeTokenXyzAbcdefGhijklmnop"),
    ),
    TokenRule("groq_key", ("gsk_",), rf"gsk_{_B62}{{40,}}{_END}", _ex("gsk_", 52)),
    TokenRule("replicate_token", ("r8_",), rf"r8_{_B62}{{30,}}{_END}", _ex("r8_", 37)),
    TokenRule("xai_key", ("xai-",), rf"xai-{_B62}{{50,}}{_END}", _ex("xai-", 80)),
    TokenRule("perplexity_key", ("pplx-",), rf"pplx-{_B62}{{32,}}{_END}", _ex("pplx-", 48)),
    TokenRule(
        "tavily_key", ("tvly-",), rf"tvly-(?:dev-|prod-)?{_B62}{{24,}}{_END}", _ex("tvly-dev-", 32)
    ),
    TokenRule(
        "pinecone_key",
        ("pcsk_",),
        rf"pcsk_{_B62}{{4,10}}_{_B62}{{32,}}{_END}",
        _ex("pcsk_", 6) + "_" + _EX[:63],
    ),
    TokenRule(
        "langsmith_key",
        ("lsv2_",),
        rf"lsv2_(?:pt|sk)_{_HEX}{{32}}_{_HEX}{{10}}{_END}",
        "lsv2_pt_" + _H[:32] + "_" + _H[:10],
    ),
    TokenRule("fireworks_key", ("fw_",), rf"fw_{_B62}{{20,}}{_END}", _ex("fw_", 24)),
    TokenRule("together_key", ("tgp_v1_",), rf"tgp_v1_{_URL}{{40,}}", _ex("tgp_v1_", 43)),
    TokenRule("cerebras_key", ("csk-",), rf"csk-{_B62}{{40,}}{_END}", _ex("csk-", 48)),
    TokenRule("nvidia_key", ("nvapi-",), rf"nvapi-{_URL}{{60,}}", _ex("nvapi-", 64)),
    TokenRule("llamacloud_key", ("llx-",), rf"llx-{_B62}{{40,}}{_END}", _ex("llx-", 48)),
    TokenRule("jina_key", ("jina_",), rf"jina_{_URL}{{50,}}", _ex("jina_", 60)),
    TokenRule(
        "voyage_key",
        ("pa-",),
        rf"pa-(?={_URL}*[0-9])(?={_URL}*{_B62}{{16}}){_URL}{{40,}}",
        _ex("pa-", 43),
    ),
    TokenRule("elevenlabs_key", ("sk_",), rf"sk_{_HEX}{{48}}{_END}", "sk_" + _H[:48]),
    TokenRule("firecrawl_key", ("fc-",), rf"fc-{_HEX}{{32}}{_END}", "fc-" + _H[:32]),
    TokenRule("e2b_key", ("e2b_",), rf"e2b_{_HEX}{{40}}{_END}", "e2b_" + _H[:40]),
    # -- code hosting and package registries ------------------------------------------------
    TokenRule(
        "github_token",
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
        rf"(?:gh[pousr]_{_B62}{{36,}}|github_pat_[A-Za-z0-9_]{{22,}}){_END}",
        _ex("ghp_", 36),
    ),
    TokenRule(
        "gitlab_token",
        (
            "glpat-",
            "gldt-",
            "glrt-",
            "glptt-",
            "glcbt-",
            "glimt-",
            "gloas-",
            "glft-",
            "glsoat-",
            "GR1348941",
        ),
        rf"(?:gl(?:pat|dt|rt|ptt|cbt|imt|oas|ft|soat)-|GR1348941){_URL}{{20,}}",
        _ex("glpat-", 20),
    ),
    TokenRule("bitbucket_token", ("ATBB",), rf"ATBB{_URL}{{28,}}", _ex("ATBB", 40)),
    TokenRule("npm_token", ("npm_",), rf"npm_{_B62}{{36}}{_END}", _ex("npm_", 36)),
    TokenRule(
        "pypi_token", ("pypi-Ag",), rf"pypi-Ag{_URL}{{50,}}", "pypi-AgEIcHlwaS5vcmc" + _EX[:70]
    ),
    # -- cloud, data and infrastructure -----------------------------------------------------
    TokenRule(
        "aws_access_key_id",
        ("AKIA", "ASIA", "ABIA", "ACCA", "A3T"),
        r"(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}(?![A-Z0-9])",
        "AKIAIOSFODNN7EXAMPLE",
    ),
    TokenRule(
        "aws_session_token",
        ("IQoJb3JpZ2luX2Vj", "FwoGZXIvYXdzE"),
        r"(?:IQoJb3JpZ2luX2Vj|FwoGZXIvYXdzE)[A-Za-z0-9+/=]{50,}",
        "IQoJb3JpZ2luX2Vj" + _EX[:120],
    ),
    TokenRule("google_api_key", ("AIza",), rf"AIza{_URL}{{35}}", _ex("AIza", 35)),
    TokenRule("google_oauth_token", ("ya29.",), rf"ya29\.{_URL}{{30,}}", _ex("ya29.", 60)),
    TokenRule(
        "google_oauth_client_secret", ("GOCSPX-",), rf"GOCSPX-{_URL}{{28}}", _ex("GOCSPX-", 28)
    ),
    TokenRule("databricks_token", ("dapi",), rf"dapi{_HEX}{{32}}(?:-\d)?{_END}", "dapi" + _H[:32]),
    TokenRule(
        "digitalocean_token",
        ("dop_v1_", "doo_v1_", "dor_v1_"),
        rf"do[opr]_v1_{_HEX}{{64}}{_END}",
        "dop_v1_" + _H[:64],
    ),
    TokenRule("vault_token", ("hvs.", "hvb.", "hvr."), rf"hv[sbr]\.{_URL}{{24,}}", _ex("hvs.", 90)),
    TokenRule(
        "doppler_token",
        ("dp.",),
        rf"dp\.(?:pt|st|sa|ct|scim|audit)\.{_B62}{{40,}}{_END}",
        _ex("dp.pt.", 43),
    ),
    TokenRule(
        "supabase_token",
        ("sbp_", "sb_secret_"),
        rf"(?:sbp_{_HEX}{{40}}{_END}|sb_secret_{_URL}{{20,}})",
        "sbp_" + _H[:40],
    ),
    TokenRule("netlify_token", ("nfp_",), rf"nfp_{_B62}{{36,}}{_END}", _ex("nfp_", 36)),
    TokenRule("heroku_key", ("HRKU-",), rf"HRKU-{_URL}{{20,}}", _ex("HRKU-AA", 58)),
    TokenRule(
        "grafana_token",
        ("glsa_", "glc_"),
        rf"(?:glsa_{_B62}{{32}}_{_HEX}{{8}}|glc_[A-Za-z0-9+/]{{32,}}={{0,2}})",
        "glsa_" + _EX[:32] + "_" + _H[:8],
    ),
    TokenRule(
        "new_relic_key",
        ("NRAK-", "NRII-"),
        r"NR(?:AK|II)-[A-Z0-9]{27}(?![A-Z0-9])",
        "NRAK-" + "EXAMPLE0123456789ABCDEFGHIJ",
    ),
    TokenRule(
        "sentry_token",
        ("sntrys_", "sntryu_"),
        r"sntry[su]_[A-Za-z0-9+/=_-]{40,}",
        "sntryu_" + _H[:64],
    ),
    TokenRule(
        "age_secret_key",
        ("AGE-SECRET-KEY-1",),
        r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}",
        "AGE-SECRET-KEY-1" + ("QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L" * 2)[:58],
    ),
    # -- SaaS APIs ----------------------------------------------------------------------
    TokenRule(
        "stripe_key",
        ("sk_live_", "sk_test_", "rk_live_", "rk_test_", "whsec_"),
        rf"(?:[sr]k_(?:live|test)_{_B62}{{16,}}|whsec_{_B62}{{24,}}){_END}",
        "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
    ),
    TokenRule(
        "shopify_token",
        ("shpat_", "shpss_", "shpca_", "shppa_"),
        r"shp(?:at|ss|ca|pa)_[0-9a-fA-F]{32}(?![A-Za-z0-9])",
        "shpat_" + _H[:32],
    ),
    TokenRule(
        "atlassian_token",
        ("ATATT3", "ATCTT3"),
        r"AT[AC]TT3[A-Za-z0-9_=-]{100,}",
        "ATATT3xFfGF0" + _EX[:170] + "=" + _H[:8].upper(),
    ),
    TokenRule(
        "linear_key",
        ("lin_api_", "lin_oauth_"),
        rf"lin_(?:api|oauth)_{_B62}{{40}}{_END}",
        _ex("lin_api_", 40),
    ),
    TokenRule(
        "notion_token",
        ("secret_", "ntn_"),
        rf"(?:secret_{_B62}{{43}}|ntn_\d{{11}}{_B62}{{35}}){_END}",
        _ex("secret_", 43),
    ),
    TokenRule("figma_token", ("figd_",), rf"figd_{_URL}{{38,}}", _ex("figd_", 40)),
    TokenRule(
        "airtable_token",
        ("pat",),
        rf"pat{_B62}{{14}}\.{_HEX}{{64}}{_END}",
        _ex("pat", 14) + "." + _H[:64],
    ),
    TokenRule(
        "postman_key",
        ("PMAK-",),
        rf"PMAK-{_HEX}{{24}}-{_HEX}{{34}}{_END}",
        "PMAK-" + _H[:24] + "-" + _H[:34],
    ),
    TokenRule(
        "sendgrid_key",
        ("SG.",),
        rf"SG\.{_URL}{{22}}\.{_URL}{{43}}",
        "SG." + _EX[:22] + "." + _EX[:43],
    ),
    TokenRule("mailgun_key", ("key-",), rf"key-{_HEX}{{32}}{_END}", "key-" + _H[:32]),
    TokenRule(
        "brevo_key",
        ("xkeysib-",),
        rf"xkeysib-{_HEX}{{64}}-{_B62}{{16}}{_END}",
        "xkeysib-" + _H[:64] + "-" + _EX[:16],
    ),
    TokenRule(
        "resend_key",
        ("re_",),
        rf"re_{_B62}{{8}}_{_B62}{{20,}}{_END}",
        "re_" + _EX[:8] + "_" + _EX[:24],
    ),
    TokenRule("twilio_api_key", ("SK",), rf"SK{_HEX}{{32}}{_END}", "SK" + _H[:32]),
    TokenRule("twilio_account_sid", ("AC",), rf"AC{_HEX}{{32}}{_END}", "AC" + _H[:32]),
    TokenRule(
        "square_token",
        ("sq0atp-", "sq0csp-", "EAAA"),
        rf"(?:sq0(?:atp|csp)-{_URL}{{22,}}|EAAA{_URL}{{60,}})",
        _ex("sq0csp-", 43),
    ),
    TokenRule("meta_access_token", ("EAA",), rf"EAA(?!A){_B62}{{80,}}{_END}", _ex("EAAB", 120)),
    # -- chat and messaging -------------------------------------------------------------
    TokenRule(
        "slack_token",
        ("xoxa-", "xoxb-", "xoxp-", "xoxo-", "xoxs-", "xoxr-", "xoxe-"),
        r"xox[abposre]-[A-Za-z0-9-]{10,}",
        "xoxb-123456789012-abcdefABCDEF",
    ),
    TokenRule(
        "slack_app_token",
        ("xapp-",),
        r"xapp-\d-[A-Z0-9]+-\d+-[A-Za-z0-9]{20,}",
        "xapp-1-A0EXAMPLE1-1234567890123-" + _H[:64],
    ),
    # Bot id (digits) ':' secret; only the secret part is replaced.
    TokenRule(
        "telegram_bot_token",
        ("AA",),
        rf"(?<=[0-9]{{6}}:)A{_URL}{{34}}{_URL_END}",
        "123456789:AA" + _EX[:33],
    ),
    # The first part is the base64 of a numeric user id: "MT", "Mj", ... "OT".
    TokenRule(
        "discord_bot_token",
        ("MT", "Mj", "Mz", "ND", "NT", "Nj", "Nz", "OD", "OT"),
        rf"[MNO]{_URL}{{23,27}}\.{_URL}{{6}}\.{_URL}{{27,40}}{_URL_END}",
        "MTIzNDU2Nzg5MDEyMzQ1Njc4OTA." + "GhRzAb." + _EX[:38],
    ),
    # -- tokens with a standard shape -----------------------------------------------------
    # Three parts (five for an encrypted one); a part after a '.' is not a new token.
    TokenRule(
        "jwt",
        ("eyJ",),
        rf"eyJ(?<!\.eyJ){_URL}{{8,}}\.{_URL}{{2,}}\.{_URL}*(?:\.{_URL}+\.{_URL}+)?",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk",
    ),
)

#: Provider object ids and digests that share a credential's shape: the shape detectors
#: (``prefixed_token``, ``high_entropy``) never redact a string starting with one. Named
#: families are not affected (``sk_live_`` is a Stripe key, ``cus_`` a Stripe customer).
ID_PREFIXES: tuple[str, ...] = (
    # OpenAI
    "chatcmpl-",
    "cmpl-",
    "call_",
    "resp_",
    "run_",
    "thread_",
    "asst_",
    "file-",
    "file_",
    "batch_",
    "msg_",
    "step_",
    "vs_",
    "vsfb_",
    "ftjob-",
    "ftckpt_",
    "ft-",
    "modr-",
    "org-",
    "proj_",
    "user-",
    "fc_",
    "rs_",
    "ws_",
    "ci_",
    "ig_",
    "mcp_",
    "conv_",
    "item_",
    "evt_",
    # Anthropic
    "toolu_",
    "srvtoolu_",
    "req_",
    "msgbatch_",
    "compl_",
    # Stripe objects (their keys are sk_/rk_/whsec_, named families)
    "cus_",
    "pi_",
    "ch_",
    "in_",
    "ii_",
    "sub_",
    "si_",
    "price_",
    "prod_",
    "txn_",
    "pm_",
    "seti_",
    "src_",
    "acct_",
    "cs_test_",
    "cs_live_",
    "py_",
    "po_",
    "tr_",
    "card_",
    "ba_",
    "btok_",
    "tok_",
    "plink_",
    "promo_",
    "coupon_",
    "dp_",
    "du_",
    "cbtxn_",
    # traces, runs and digests
    "trace_",
    "span_",
    "trace-",
    "span-",
    "run-",
    "sha1-",
    "sha256-",
    "sha384-",
    "sha512-",
    "sha256_",
    "md5-",
    "git-",
    "commit_",
)
