"""The default pipeline's settings, read from the environment one variable at a time.

Without a ``configure()`` call, the first span builds the pipeline from ``BROKLE_*`` and
``OTEL_*`` variables. That happens inside a user's call, so nothing here raises; and a
mistake in one variable must cost only that variable:

* a bad value is ignored alone, with one warning naming the variable, the value (secrets
  never shown) and the default used; every valid variable applies;
* a value that says *where* spans go (an exporter name, an endpoint, headers, a key) is
  never replaced by a default destination: the exporter it belongs to becomes an
  ``UnavailableExporter`` (its spans counted under ``exporter_unavailable``), the other
  exporters run, and nothing is written to a local file the user did not ask for.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping

from pydantic import ValidationError

from brokle_trace._runtime import config as _config
from brokle_trace._runtime.errors import logger
from brokle_trace.typing import Exporter

__all__ = ["from_environment"]

#: Settings that choose where an exporter sends spans: a bad one disables that exporter
#: instead of falling back to a default destination.
_DESTINATIONS = {
    "otlp_endpoint": "otlp",
    "otlp_headers": "otlp",
    "api_key": "otlp",
    "traces_file": "jsonl",
}
_KNOWN = typing.get_args(_config.ExporterName)
_UNAVAILABLE = "its spans are counted as dropped (exporter_unavailable), none is sent elsewhere"


def from_environment(environ: Mapping[str, str]) -> tuple[_config.Settings, list[Exporter]]:
    """The settings and exporters the variables describe; warns for each one it cannot use.

    Example:
        >>> settings, exporters = from_environment({"BROKLE_EXPORTER": "none"})
        >>> settings.exporter, exporters
        (['none'], [])
    """
    good: dict[str, object] = {}
    broken: dict[str, str] = {}  # exporter name -> why it cannot be built
    typed_names: list[str] = []
    for field, (var, value) in sorted(_config.env_values(environ).items()):
        if field == "exporter":
            typed_names = [part.strip() for part in value.split(",") if part.strip()]
            good[field] = [name for name in typed_names if name in _KNOWN]
            for name in typed_names:
                if name not in _KNOWN:
                    broken[name] = (
                        f"{var}={value!r}: unknown exporter {name!r}; known: {', '.join(_KNOWN)}"
                    )
            continue
        try:
            _config.Settings.model_validate({field: value})
        except ValidationError as exc:
            reason = f"{var}={_config.shown(field, value)}: {_first_error(exc)}"
            if field in _DESTINATIONS:
                broken.setdefault(_DESTINATIONS[field], reason)
            else:
                logger.warning(
                    "brokle_trace: ignoring %s; using the default %s", reason, _default_of(field)
                )
            continue
        good[field] = value
    try:
        settings = _config.Settings.model_validate(good)
    except ValidationError as exc:  # pragma: no cover - every field was checked alone
        logger.warning("brokle_trace: %s; using the defaults", _first_error(exc))
        settings = _config.Settings()
    names = typed_names or list(settings.exporter)
    return settings, _build(names, settings, broken)


def _build(names: list[str], settings: _config.Settings, broken: dict[str, str]) -> list[Exporter]:
    from brokle_trace.exporters import _registry
    from brokle_trace.exporters._unavailable import UnavailableExporter

    exporters: list[Exporter] = []
    for name in names:
        if name == "none":
            continue
        reason = broken.pop(name, None)
        if reason is None:
            try:
                exporters.append(_registry.build(name, settings))
                continue
            except Exception as exc:
                reason = str(exc)
        logger.warning("brokle_trace: exporter %r unavailable: %s; %s", name, reason, _UNAVAILABLE)
        exporters.append(UnavailableExporter(name, reason))
    for reason in broken.values():  # a bad variable of an exporter that is not configured
        logger.warning("brokle_trace: ignoring %s", reason)
    exporters.extend(_registry.adapt(item) for item in settings.exporters)
    return exporters


def _first_error(exc: ValidationError) -> str:
    message = str(exc.errors()[0]["msg"])
    return message.removeprefix("Value error, ")


def _default_of(field: str) -> str:
    default = _config.Settings.model_fields[field].get_default(call_default_factory=True)
    return "(unset)" if default is None else repr(default)
