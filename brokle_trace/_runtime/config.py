"""Configuration: validated settings from ``configure()`` and ``BROKLE_*`` variables.

``configure`` validates everything up front, exporters included (a clear ``ConfigError``
naming the field or variable and the fix), then swaps the process-wide state whole. Without
a ``configure`` call the first span builds the default pipeline from the environment
(``env``), where each variable is checked alone and a bad one only warns, because that
happens inside a user's call and must not raise.

Values read from the environment are cleaned once here: bytes that are not UTF-8 (which
``os.environ`` holds as lone surrogates) become U+FFFD, so no span fails to encode later.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)

from brokle_trace import capture
from brokle_trace._runtime.text import clean_text
from brokle_trace.typing import Exporter

__all__ = [
    "SECRET_FIELDS",
    "ConfigError",
    "Settings",
    "build_exporters",
    "build_settings",
    "clean_text",
    "env_values",
    "shown",
    "validate",
]

ExporterName = Literal["jsonl", "console", "otlp", "none"]


class ConfigError(ValueError):
    """Raised by :func:`configure` for a value it cannot use; the message says the fix."""


#: Fields whose values are never shown in a message (only their length).
SECRET_FIELDS = frozenset({"api_key", "otlp_headers"})


class Settings(BaseModel):
    """Everything ``configure()`` accepts besides the capture options.

    Every field also reads from ``BROKLE_<FIELD_NAME>`` (upper case) when not given.
    """

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, frozen=True)

    enabled: bool = True
    service_name: str | None = None
    environment: str | None = None
    release: str | None = None
    exporter: list[ExporterName] = Field(default_factory=lambda: list[ExporterName](["jsonl"]))
    exporters: list[Any] = Field(default_factory=list)
    traces_file: Path = Path("brokle_traces.jsonl")
    capture_inputs: bool = True
    capture_outputs: bool = True
    max_queue_size: int = Field(default=100_000, ge=1)
    max_export_batch_size: int = Field(default=512, ge=1)
    schedule_delay: float = Field(default=0.2, gt=0, le=60)
    #: Seconds the exit flush may take (None: 2 s, or with OTLP its timeout capped at 10 s).
    shutdown_timeout: float | None = Field(default=None, ge=0)
    strict: bool = False
    # -- export (docs/reliability.md, docs/exporters.md) --
    #: The queue's memory bound, besides ``max_queue_size`` (encoded span bytes, estimated).
    max_queue_bytes: int = Field(default=128 * 1024 * 1024, ge=1024)
    #: A batch handed to exporters is cut at this many (estimated) bytes.
    max_export_batch_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    #: A full queue: drop the span at once, counted (``"drop"``), or make the thread that
    #: ended it wait for room up to ``queue_block_timeout`` s, then drop and count it
    #: (``"block"``: lossless mode for batch and evaluation jobs; never waits on the
    #: library's own threads, in a flush, after fork or at shutdown).
    on_queue_full: Literal["drop", "block"] = "drop"
    queue_block_timeout: float = Field(default=5.0, gt=0, le=3600, allow_inf_nan=False)
    #: How long the worker waits for one exporter call before counting it failed.
    exporter_timeout: float = Field(default=30.0, gt=0)
    #: Share of traces kept (head sampling on the trace id; children follow their root).
    sample_rate: float = Field(default=1.0, ge=0.0, le=1.0)
    #: Install ``tracer_provider()`` as OpenTelemetry's global provider (auto-instrumentation
    #: and ``trace.get_tracer()`` then feed brokle_trace too).
    otel_global: bool = False
    #: OTLP: base URL (``/v1/traces`` is appended) or the full traces URL.
    otlp_endpoint: str | None = None
    #: OTLP: extra headers, a dict or ``k1=v1,k2=v2`` (the OTEL_EXPORTER_OTLP_HEADERS syntax).
    otlp_headers: dict[str, str] = Field(default_factory=dict)
    #: Sent as ``Authorization: Bearer <key>``; never logged.
    api_key: SecretStr | None = None
    #: OTLP: seconds per export, retries included (default: OTEL_EXPORTER_OTLP_TIMEOUT or 10).
    otlp_timeout: float | None = Field(default=None, gt=0)
    otlp_compression: Literal["gzip", "none"] | None = None
    #: OTLP: a request's cap before compression; bigger batches are split.
    otlp_max_request_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    #: JSONL: rotate the file when it reaches this size (0: never).
    traces_file_max_bytes: int = Field(default=100 * 1024 * 1024, ge=0)
    #: JSONL: how many rotated files (``.1`` .. ``.N``) to keep.
    traces_file_backups: int = Field(default=5, ge=0)

    @field_validator("service_name", "environment", "release", mode="before")
    @classmethod
    def _clean(cls, value: object) -> object:
        return clean_text(value) if isinstance(value, str) else value

    @field_validator("otlp_endpoint")
    @classmethod
    def _check_endpoint(cls, value: str | None) -> str | None:
        if value is not None:
            from brokle_trace.exporters.otlp import check_endpoint

            try:
                check_endpoint(value.strip())
            except ValueError:
                raise ValueError(
                    "must be an http:// or https:// URL with a host, e.g. http://localhost:4318"
                ) from None
            return value.strip()
        return value

    @field_validator("otlp_headers", mode="before")
    @classmethod
    def _parse_headers(cls, value: object) -> object:
        from brokle_trace.exporters.otlp import check_header, parse_headers

        if isinstance(value, str):
            value = parse_headers(value, strict=True, source="otlp_headers")
        if isinstance(value, Mapping):
            return {
                k: check_header(k, v, "otlp_headers") if isinstance(v, str) else v
                for k, v in value.items()
            }
        return value

    @field_validator("api_key", mode="before")
    @classmethod
    def _strip_key(cls, value: object) -> object:
        # A Kubernetes secret made with `echo` ends with a newline; never part of a key.
        if isinstance(value, str):
            value = value.strip()
            if not value.isprintable() or " " in value:
                raise ValueError("contains whitespace or a control character")
        return value

    #: Model prices (USD per 1M tokens) added to / overriding the built-in table; see
    #: ``brokle_trace.llm``. ``{"my-model": {"input": 1.0, "output": 2.0}, "alias": "gpt-4o"}``
    prices: dict[str, Any] = Field(default_factory=dict)

    @field_validator("prices", mode="before")
    @classmethod
    def _check_prices(cls, value: object) -> object:
        from brokle_trace.llm._prices import parse_prices

        if isinstance(value, str):  # BROKLE_PRICES holds JSON
            import json

            value = json.loads(value) if value.strip() else {}
        parse_prices(value)  # raises ValueError naming the bad entry
        return value

    @field_validator("exporter", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("exporters")
    @classmethod
    def _check_exporters(cls, value: list[Any]) -> list[Any]:
        for item in value:
            if not callable(getattr(item, "export", None)):
                raise ValueError(
                    f"{item!r} is not an exporter: it needs export(spans) and shutdown()"
                )
        return value


_SETTINGS_FIELDS = frozenset(Settings.model_fields)
_CAPTURE_FIELDS = frozenset(f.name for f in dataclasses.fields(capture.CaptureSettings) if f.init)
_ENV_ALIASES = {"service_name": ("OTEL_SERVICE_NAME",)}
#: The default rules, for messages about the configuration itself (quoted values redacted).
_PLAIN = capture.CaptureSettings()


def env_values(environ: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """``{field: (variable, cleaned value)}`` for every setting given by a variable."""
    values: dict[str, tuple[str, str]] = {}
    for name in _SETTINGS_FIELDS - {"exporters"}:
        for var in (f"BROKLE_{name.upper()}", *_ENV_ALIASES.get(name, ())):
            if var in environ:
                values[name] = (var, clean_text(environ[var]))
                break
    return values


def build_settings(kwargs: Mapping[str, Any], environ: Mapping[str, str]) -> Settings:
    """Arguments over variables over defaults; ``ConfigError`` naming every bad one."""
    env = env_values(environ)
    try:
        return Settings.model_validate(
            {
                **{name: value for name, (_var, value) in env.items()},
                **dict(kwargs.items()),
            }
        )
    except ValidationError as exc:
        # The message quotes the values it rejects (an endpoint with its password).
        raise ConfigError(capture.redact_text(_explain(exc, env, kwargs), _PLAIN)) from None


def shown(field: str, value: object) -> str:
    """``value`` as a message may show it: secrets by length only, text redacted and short.

    Example:
        >>> print(shown("api_key", "sk-live-1234"), shown("sample_rate", "1.5"))
        <12 characters, not shown> '1.5'
    """
    if field in SECRET_FIELDS:
        return f"<{len(str(value))} characters, not shown>"
    if isinstance(value, str):
        text = capture.redact_text(value, _PLAIN, field="config")
        return repr(text if len(text) <= 80 else text[:77] + "...")
    return repr(value)


def _explain(
    exc: ValidationError, env: Mapping[str, tuple[str, str]], kwargs: Mapping[str, Any]
) -> str:
    lines = ["brokle_trace.configure(): invalid configuration"]
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"][:1]) or "?"
        source = (
            f"environment variable {env[field][0]}"
            if field in env and field not in kwargs
            else f"argument {field!r}"
        )
        lines.append(f"  - {source}: {err['msg']} (got {shown(field, err.get('input'))})")
    return "\n".join(lines)


def _split_kwargs(kwargs: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    general: dict[str, Any] = {}
    cap: dict[str, Any] = {}
    for key, value in kwargs.items():
        # A name in both (strict) configures both layers.
        if key in _CAPTURE_FIELDS:
            cap[key] = value
        if key in _SETTINGS_FIELDS:
            general[key] = value
        if key not in _CAPTURE_FIELDS and key not in _SETTINGS_FIELDS:
            known = sorted(_SETTINGS_FIELDS | _CAPTURE_FIELDS)
            hint = difflib.get_close_matches(key, known, n=1)
            did_you_mean = f"; did you mean {hint[0]!r}?" if hint else ""
            raise ConfigError(f"configure() got an unknown option {key!r}{did_you_mean}")
    return general, cap


def build_exporters(settings: Settings) -> list[Exporter]:
    """The exporter objects ``settings`` names, built and checked; ``ConfigError`` naming
    the option (or variable) of the first one that cannot work."""
    from brokle_trace.exporters import _registry
    from brokle_trace.exporters.jsonl import JsonlExporter

    built: list[Exporter] = []
    for name in settings.exporter:
        if name == "none":
            continue
        try:
            exporter = _registry.build(name, settings)
            if isinstance(exporter, JsonlExporter):
                exporter.open()
        except OSError as exc:
            raise ConfigError(
                f"brokle_trace.configure(): traces_file={str(settings.traces_file)!r} cannot "
                f"be written ({exc.strerror or exc})"
            ) from None
        except Exception as exc:
            raise ConfigError(f"brokle_trace.configure(): exporter {name!r}: {exc}") from None
        built.append(exporter)
    built.extend(_registry.adapt(item) for item in settings.exporters)
    return built


def validate(
    options: Mapping[str, Any],
) -> tuple[Settings, capture.CaptureSettings]:
    """Check every ``configure()`` option (and ``BROKLE_*`` variable) before anything changes.

    Returns the general settings and the capture settings; raises :class:`ConfigError`
    naming the option and the fix.
    """
    general, cap = _split_kwargs(options)
    settings = build_settings(general, os.environ)
    try:
        cap_settings = capture.CaptureSettings(**cap)
    except (TypeError, ValueError) as exc:
        raise ConfigError(capture.redact_text(f"brokle_trace.configure(): {exc}", _PLAIN)) from None
    return settings, cap_settings
