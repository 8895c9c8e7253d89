"""The default pipeline from the environment: each variable stands alone, a broken exporter
never moves data elsewhere, odd but legal values work; configure() names every problem."""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import brokle_trace
from brokle_trace import ConfigError, observe
from brokle_trace._export.pipeline import Pipeline
from brokle_trace._runtime import lifecycle as _lifecycle
from brokle_trace.exporters import JsonlExporter, OTLPExporter
from tests.export.receiver import Receiver

_OURS = ("BROKLE_", "OTEL_")


@observe
def work(x: object = None) -> object:
    return x


@pytest.fixture
def from_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> Iterator[Callable[..., Pipeline]]:
    """Build the default pipeline (no configure() call) from the variables given, in an
    empty working directory, as the first span of a process would."""
    for name in list(os.environ):
        if name.startswith(_OURS):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    caplog.set_level(logging.WARNING, "brokle_trace")

    def build(**variables: str) -> Pipeline:
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        brokle_trace.shutdown(1.0)
        _lifecycle._pipeline = None
        _lifecycle.ensure_configured()
        return _lifecycle.current_pipeline()

    yield build
    brokle_trace.shutdown(1.0)
    monkeypatch.undo()
    brokle_trace.configure(exporter="none", strict=True)


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


# -- 1. one bad variable is ignored alone ---------------------------------------------------


@pytest.mark.usefixtures("lenient")
def test_one_bad_variable_does_not_discard_the_others(
    from_env: Callable[..., Pipeline],
    receiver: Receiver,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    pipeline = from_env(
        BROKLE_EXPORTER="otlp",
        BROKLE_OTLP_ENDPOINT=receiver.url,
        BROKLE_SAMPLE_RATE="1.5",
        BROKLE_SERVICE_NAME="support-bot",
    )
    (exporter,) = pipeline.exporters
    assert isinstance(exporter, OTLPExporter) and exporter.endpoint.startswith(receiver.url)
    work()
    assert brokle_trace.flush(5.0)
    assert len(receiver.spans()) == 1
    assert receiver.resources()[0]["service.name"] == "support-bot"
    assert not (tmp_path / "brokle_traces.jsonl").exists()
    (warning,) = warnings_of(caplog)
    assert "BROKLE_SAMPLE_RATE" in warning and "'1.5'" in warning and "1.0" in warning


@pytest.mark.usefixtures("lenient")
def test_a_bad_secret_variable_is_named_but_never_shown(
    from_env: Callable[..., Pipeline], caplog: pytest.LogCaptureFixture
) -> None:
    from_env(
        BROKLE_EXPORTER="none",
        BROKLE_OTLP_HEADERS="x-api-key sk-live-0123456789abcdef",
        BROKLE_MAX_QUEUE_SIZE="lots",
    )
    text = "\n".join(warnings_of(caplog))
    assert "BROKLE_OTLP_HEADERS" in text and "BROKLE_MAX_QUEUE_SIZE" in text
    assert "'lots'" in text and "100000" in text
    assert "sk-live" not in text
    assert len(warnings_of(caplog)) == 2


def test_configure_still_raises_for_a_bad_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BROKLE_SAMPLE_RATE", "1.5")
    with pytest.raises(ConfigError, match="BROKLE_SAMPLE_RATE"):
        brokle_trace.configure(exporter="none")


# -- 2. a broken exporter never moves data elsewhere, nor takes the others down --------------


@pytest.mark.usefixtures("lenient")
def test_an_unknown_exporter_name_leaves_the_others_running(
    from_env: Callable[..., Pipeline], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pipeline = from_env(BROKLE_EXPORTER="jsonl,carrier-pigeon")
    assert isinstance(pipeline.exporters[0], JsonlExporter)
    for _ in range(3):
        work()
    assert brokle_trace.flush(5.0)
    assert len((tmp_path / "brokle_traces.jsonl").read_text().splitlines()) == 3
    s = brokle_trace.stats()
    assert s["dropped"]["exporter_unavailable"] == 3  # not delivered to every exporter
    (warning,) = warnings_of(caplog)[:1]
    assert "BROKLE_EXPORTER" in warning and "carrier-pigeon" in warning


@pytest.mark.usefixtures("lenient")
def test_a_malformed_otel_endpoint_never_falls_back_to_a_local_file(
    from_env: Callable[..., Pipeline], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from_env(BROKLE_EXPORTER="otlp", OTEL_EXPORTER_OTLP_ENDPOINT="localhost:4318")
    for _ in range(4):
        work()
    assert brokle_trace.flush(5.0)
    assert list(tmp_path.iterdir()) == []  # nothing written where the user did not ask
    s = brokle_trace.stats()
    assert s["exported"] == 0 and s["dropped"]["exporter_unavailable"] == 4
    (warning,) = [w for w in warnings_of(caplog) if "OTEL_EXPORTER_OTLP_ENDPOINT" in w]
    assert "'localhost:4318'" in warning


@pytest.mark.usefixtures("lenient")
def test_bad_otlp_headers_break_only_the_otlp_exporter(
    from_env: Callable[..., Pipeline], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from_env(BROKLE_EXPORTER="otlp,jsonl", OTEL_EXPORTER_OTLP_HEADERS="novalue")
    work()
    assert brokle_trace.flush(5.0)
    assert len((tmp_path / "brokle_traces.jsonl").read_text().splitlines()) == 1
    assert brokle_trace.stats()["dropped"]["exporter_unavailable"] == 1
    assert any("OTEL_EXPORTER_OTLP_HEADERS" in w for w in warnings_of(caplog))


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"exporter": "otlp", "otlp_endpoint": "http://"}, "otlp_endpoint"),
        ({"exporter": "otlp", "otlp_headers": "novalue"}, "otlp_headers"),
        ({"exporter": "otlp", "otlp_headers": {"x-team": "ml\r\nInjected: 1"}}, "otlp_headers"),
    ],
)
def test_configure_names_every_exporter_problem(options: dict[str, object], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        brokle_trace.configure(**options)


def test_configure_rejects_an_unwritable_traces_file(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match="traces_file"):
        brokle_trace.configure(exporter="jsonl", traces_file=blocker / "traces.jsonl")


def test_configure_names_the_variable_of_a_malformed_endpoint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4318")
    with pytest.raises(ConfigError, match="OTEL_EXPORTER_OTLP_ENDPOINT='localhost:4318'"):
        brokle_trace.configure(exporter="otlp")


# -- 3. odd but legal values ------------------------------------------------------------------


def test_infinite_timeouts_wait_without_overflowing(receiver: Receiver) -> None:
    brokle_trace.configure(exporter="otlp", otlp_endpoint=receiver.url, exporter_timeout=math.inf)
    work()
    assert brokle_trace.flush(math.inf) is True
    work()
    assert brokle_trace.shutdown(math.inf) is True
    assert len(receiver.spans()) == 2


def test_infinite_timeouts_from_the_environment(
    from_env: Callable[..., Pipeline], receiver: Receiver
) -> None:
    from_env(
        BROKLE_EXPORTER="otlp",
        BROKLE_OTLP_ENDPOINT=receiver.url,
        BROKLE_SHUTDOWN_TIMEOUT="inf",
        OTEL_EXPORTER_OTLP_TIMEOUT="inf",
    )
    for _ in range(3):
        work()
    _lifecycle._at_exit()  # what the interpreter runs at exit
    s = brokle_trace.stats()
    assert len(receiver.spans()) == 3 and s["exported"] == 3, s
    assert sum(s["dropped"].values()) == 0


def test_non_utf8_bytes_in_service_name_and_release_are_replaced_once(
    from_env: Callable[..., Pipeline], tmp_path: Path
) -> None:
    # What os.environ holds for the bytes b"caf\xe9" (Latin-1 on a UTF-8 system).
    from_env(BROKLE_SERVICE_NAME="caf\udce9", BROKLE_RELEASE="v1\udcff")
    for _ in range(2):
        work()
    assert brokle_trace.flush(5.0)
    s = brokle_trace.stats()
    assert s["exported"] == 2 and s["dropped"]["serialize_error"] == 0, s
    span = brokle_trace.SpanData.model_validate_json(
        (tmp_path / "brokle_traces.jsonl").read_text().splitlines()[0]
    )
    assert (span.service, span.release) == ("caf\ufffd", "v1\ufffd")


def test_an_api_key_with_a_trailing_newline_is_stripped(
    from_env: Callable[..., Pipeline], receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    # kubectl create secret --from-file of a file written by `echo`.
    from_env(
        BROKLE_EXPORTER="otlp", BROKLE_OTLP_ENDPOINT=receiver.url, BROKLE_API_KEY="sk-test-42\n"
    )
    work()
    assert brokle_trace.flush(5.0)
    assert brokle_trace.stats()["exported"] == 1
    assert receiver.received[0].headers["Authorization"] == "Bearer sk-test-42"
    assert "sk-test-42" not in caplog.text
