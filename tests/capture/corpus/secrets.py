"""Real-format fake secrets: one generator per credential family, three secrets each.

Every generator follows the provider's documented format (prefix, alphabet, length, and the
checksum where one exists: GitHub's CRC32) and fills it from a seeded ``random.Random``,
so the corpus is the same on every run and no credential-shaped literal sits in the
repository (secret scanners would flag one). ``needles`` are the random parts: none of
them, nor any 12-character window of them, may appear in an exported byte.

``named`` families have a rule of their own (a leak fails the suite); the others are
found by shape only (an unknown prefix, high entropy) and are reported.
"""

from __future__ import annotations

import random
import string

from . import formats as f
from .formats import Family, Secret

__all__ = ["FAMILIES", "PER_FAMILY", "SECRETS", "Family", "Secret", "make_secret"]

FAMILIES: tuple[Family, ...] = (
    # LLM providers and tooling
    Family("openai_key", f.openai),
    Family("anthropic_key", f.anthropic("api03")),
    Family("anthropic_admin_key", f.anthropic("admin01")),
    f.simple("openrouter_key", "sk-or-v1-", f.HEX, 64),
    Family("langfuse_key", f.langfuse),
    f.simple("huggingface_token", "hf_", string.ascii_letters, 34),
    f.simple("groq_key", "gsk_", f.B62, 52),
    f.simple("replicate_token", "r8_", f.B62, 37),
    f.simple("xai_key", "xai-", f.B62, 80),
    f.simple("perplexity_key", "pplx-", f.B62, 48),
    f.simple("tavily_key", "tvly-dev-", f.B62, 32),
    Family("pinecone_key", f.pinecone),
    Family("langsmith_key", f.langsmith),
    f.simple("fireworks_key", "fw_", f.B62, 24),
    f.simple("together_key", "tgp_v1_", f.B64URL, 43),
    f.simple("cerebras_key", "csk-", f.B62, 48),
    f.simple("nvidia_key", "nvapi-", f.B64URL, 64),
    f.simple("llamacloud_key", "llx-", f.B62, 48),
    f.simple("jina_key", "jina_", f.B64URL, 60),
    f.simple("voyage_key", "pa-", f.B64URL, 43),
    f.simple("elevenlabs_key", "sk_", f.HEX, 48),
    f.simple("firecrawl_key", "fc-", f.HEX, 32),
    f.simple("e2b_key", "e2b_", f.HEX, 40),
    # code hosting and registries
    Family("github_token", f.github),
    Family("github_fine_grained_pat", f.github_pat),
    f.simple("gitlab_pat", "glpat-", f.B64URL, 20),
    f.simple("gitlab_deploy_token", "gldt-", f.B64URL, 20),
    f.simple("npm_token", "npm_", f.B62, 36),
    f.simple("pypi_token", "pypi-AgEIcHlwaS5vcmc", f.B64URL, 140),
    f.simple("bitbucket_token", "ATBB", f.B62, 32),
    # cloud and infrastructure
    Family("aws_access_key_id", f.aws_key_id),
    Family("aws_secret_access_key", f.aws_secret),
    Family("aws_session_token", f.aws_session),
    Family("aws_presigned_url", f.presigned),
    Family("google_api_key", f.google_key),
    f.simple("google_oauth_token", "ya29.", f.B64URL, 150),
    f.simple("google_oauth_client_secret", "GOCSPX-", f.B64URL, 28),
    Family("gcp_service_account", f.gcp),
    f.simple("databricks_token", "dapi", f.HEX, 32),
    f.simple("digitalocean_token", "dop_v1_", f.HEX, 64),
    Family("vault_token", f.vault),
    Family("doppler_token", f.doppler),
    f.simple("supabase_token", "sbp_", f.HEX, 40),
    f.simple("netlify_token", "nfp_", f.B62, 36),
    f.simple("heroku_key", "HRKU-AA", f.B64URL, 58),
    Family("grafana_token", f.grafana),
    Family("new_relic_key", f.new_relic),
    f.simple("sentry_auth_token", "sntryu_", f.HEX, 64),
    Family("sentry_dsn", f.sentry),
    Family("age_secret_key", f.age),
    Family("azure_storage_key", f.azure_storage),
    Family("azure_sas_token", f.azure_sas),
    Family("azure_service_bus_key", f.service_bus),
    Family("azure_ad_client_secret", f.azure_ad),
    Family("database_url", f.db_url),
    Family("odbc_connection_string", f.odbc),
    # SaaS APIs
    Family("stripe_key", f.stripe),
    Family("stripe_webhook_secret", f.stripe_webhook),
    f.simple("shopify_token", "shpat_", f.HEX, 32),
    f.simple("shopify_shared_secret", "shpss_", f.HEX, 32),
    Family("atlassian_token", f.atlassian),
    f.simple("linear_key", "lin_api_", f.B62, 40),
    Family("notion_token", f.notion),
    f.simple("figma_token", "figd_", f.B64URL, 40),
    Family("airtable_token", f.airtable),
    Family("postman_key", f.postman),
    Family("sendgrid_key", f.sendgrid),
    f.simple("mailgun_key", "key-", f.HEX, 32),
    Family("brevo_key", f.brevo),
    Family("resend_key", f.resend),
    f.simple("twilio_api_key", "SK", f.HEX, 32),
    f.simple("twilio_account_sid", "AC", f.HEX, 32),
    f.simple("square_token", "sq0csp-", f.B64URL, 43),
    f.simple("meta_access_token", "EAAB", f.B62, 150),
    # chat
    Family("slack_token", f.slack),
    Family("slack_app_token", f.slack_app),
    Family("slack_webhook", f.slack_webhook),
    Family("discord_webhook", f.discord_webhook),
    Family("discord_bot_token", f.discord_bot),
    Family("teams_webhook", f.teams_webhook),
    Family("telegram_bot_token", f.telegram),
    # standard shapes and text forms
    Family("jwt", f.jwt),
    Family("rsa_private_key", f.pem("RSA ")),
    Family("ec_private_key", f.pem("EC ")),
    Family("openssh_private_key", f.pem("OPENSSH ")),
    Family("pkcs8_private_key", f.pem("")),
    Family("putty_private_key", f.putty),
    Family("bearer_token", f.bearer),
    Family("basic_auth", f.basic),
    Family("curl_credentials", f.curl),
    Family("oauth_code", f.oauth_code),
    Family("url_signature", f.url_signature),
    # assigned to a secret-naming name, in every text form
    f.assignment("twilio_auth_token", ("TWILIO_AUTH_TOKEN={}", "twilio.auth_token: {}"), f.HEX),
    f.assignment("azure_openai_key", ("api-key: {}", "Ocp-Apim-Subscription-Key: {}"), f.HEX),
    f.assignment(
        "azure_functions_key", ("x-functions-key: {}", '"x-functions-key": "{}"'), f.B64URL, 54
    ),
    f.assignment("wandb_api_key", ("WANDB_API_KEY={}", "wandb_api_key = '{}'"), f.HEX, 40),
    f.assignment(
        "cohere_api_key", ("COHERE_API_KEY={}", '"cohere_api_key": "{}"', "--api-key {}"), f.B62, 40
    ),
    f.assignment(
        "env_password",
        ("DB_PASSWORD={}", "password: {}", "--password {}", "db.password={}", '{{"passwd": "{}"}}'),
        f.B62,
        18,
    ),
    f.assignment(
        "client_secret",
        ("CLIENT_SECRET={}", '"client_secret": "{}"', "clientSecret: {}"),
        f.B64URL,
        40,
    ),
    f.assignment(
        "generic_token",
        ("access_token={}", "X-Auth-Token: {}", "'token': '{}'", 'refreshToken = "{}"'),
        f.B64URL,
        36,
    ),
    f.assignment("cosmos_master_key", ("masterKey={}", "AccountKey={}"), f.B64, 64),
    # found by shape alone
    Family("unknown_prefixed_key", f.unknown_prefix, named=False),
    Family("bare_high_entropy_key", f.bare_entropy, named=False),
)

PER_FAMILY = 3


def make_secret(family: Family, seed: int) -> Secret:
    """The ``seed``-th secret of ``family`` (deterministic)."""
    return family.make(random.Random(f"{family.name}/{seed}"))


#: The corpus: three secrets per family.
SECRETS: tuple[Secret, ...] = tuple(make_secret(f, i) for f in FAMILIES for i in range(PER_FAMILY))
