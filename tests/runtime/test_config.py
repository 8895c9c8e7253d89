"""configure(): clear errors for bad values, environment variables, lifecycle basics."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import brokle_trace
from brokle_trace import ConfigError, configure, flush, observe, shutdown, stats
from brokle_trace.testing import InMemoryExporter


def test_unknown_option_names_a_close_match() -> None:
    with pytest.raises(
        ConfigError, match="unknown option 'servce_name'; did you mean 'service_name'"
    ):
        configure(servce_name="x")


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"max_queue_size": 0}, "max_queue_size"),
        ({"exporter": "carrier-pigeon"}, "exporter"),
        ({"schedule_delay": -1}, "schedule_delay"),
        ({"exporters": [object()]}, "is not an exporter"),
    ],
)
def test_bad_values_are_clear_errors(options: dict[str, object], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        configure(**options)


def test_bad_environment_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BROKLE_MAX_QUEUE_SIZE", "lots")
    with pytest.raises(ConfigError, match="environment variable BROKLE_MAX_QUEUE_SIZE"):
        configure()


def test_environment_configures_service_and_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    target = tmp_path / "t.jsonl"
    monkeypatch.setenv("BROKLE_TRACES_FILE", str(target))
    monkeypatch.setenv("OTEL_SERVICE_NAME", "svc-from-otel")
    monkeypatch.setenv("BROKLE_ENVIRONMENT", "staging")
    configure(exporter="jsonl")

    @observe
    def f() -> int:
        return 1

    f()
    assert flush(5)
    line = target.read_text().splitlines()[0]
    record = brokle_trace.SpanData.model_validate_json(line)
    assert (record.service, record.environment) == ("svc-from-otel", "staging")


def test_flush_and_stats_count_what_was_exported() -> None:
    mem = InMemoryExporter()
    configure(exporter="none", exporters=[mem])

    @observe
    def f() -> None:
        return None

    before = stats()
    for _ in range(25):
        f()
    assert flush(5)
    after = stats()
    assert len(mem.spans) == 25
    assert after["exported"] == 25
    assert after["started"] - before["started"] == 25
    assert after["queue_depth"] == 0


def test_shutdown_is_idempotent_and_counts_later_spans() -> None:
    mem = InMemoryExporter()
    configure(exporter="none", exporters=[mem])

    @observe
    def f() -> None:
        return None

    f()
    assert shutdown(5)
    assert shutdown(5)
    f()
    assert len(mem.spans) == 1
    assert stats()["dropped"]["shutdown"] == 1


def test_exporter_failure_is_counted_not_raised(lenient: None) -> None:
    class Broken:
        def export(self, spans: object) -> object:
            raise OSError("disk on fire")

        def shutdown(self) -> None:
            return None

    configure(exporter="none", exporters=[Broken()])

    @observe
    def f() -> int:
        return 7

    assert f() == 7
    assert flush(5)
    s = stats()
    assert s["export_failures"] == 1
    assert s["dropped"]["export_failed"] == 1


def test_zero_configuration_writes_jsonl_in_the_working_directory(tmp_path: Path) -> None:
    script = (
        "from brokle_trace import observe\n"
        "@observe\n"
        "def hello(name):\n"
        "    return 'hi ' + name\n"
        "hello('world')\n"
    )
    subprocess.run([sys.executable, "-c", script], cwd=tmp_path, check=True, timeout=60)
    lines = (tmp_path / "brokle_traces.jsonl").read_text().splitlines()
    record = brokle_trace.SpanData.model_validate_json(lines[0])
    assert (record.name, record.input, record.output) == ("hello", {"name": "world"}, "hi world")


def test_configure_resets_every_counter_together(lenient: None) -> None:
    configure(exporter="none", exporters=[InMemoryExporter()])

    @observe
    def f() -> None:
        return None

    for _ in range(5):
        f()
    assert flush(5)
    assert stats()["started"] == stats()["exported"] == 5
    configure(exporter="none", exporters=[InMemoryExporter()])
    s = stats()
    assert s["started"] == s["exported"] == sum(s["dropped"].values()) == 0
    assert s["internal_errors"] == {} and not any(s["capture"].values())
    for _ in range(3):
        f()
    assert flush(5)
    s = stats()
    assert s["started"] == s["exported"] + sum(s["dropped"].values()) == 3
