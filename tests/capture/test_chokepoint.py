"""Every free-text field and every log line passes ``redact_text``: span names, resource
fields, the whole stack trace before it is cut, the library's own warnings, and the
messages of the configuration errors it raises."""

from __future__ import annotations

import logging
import traceback
from typing import Any

import pytest

import brokle_trace
from brokle_trace import ConfigError, observe, start_span, update_current_span
from brokle_trace.testing import InMemoryExporter

KEY = "sk-proj-" + "Zq9xWv3T" * 5
HF = "hf_" + "QwErTyUiOpAsDfGhJkLzXcVbNmQwErTyUi"


def _configure(**kw: Any) -> InMemoryExporter:
    memory = InMemoryExporter()
    brokle_trace.configure(exporter="none", exporters=[memory], strict=True, **kw)
    return memory


def test_span_names_and_resource_fields_are_redacted() -> None:
    memory = _configure(service_name=f"svc {HF}", environment=f"env {KEY}", release="1.2")

    @observe(name=f"fetch {KEY}")
    def fetch() -> None:
        with start_span(f"load {HF}"):
            update_current_span(name=f"renamed {KEY}")

    fetch()
    assert brokle_trace.flush(5.0)
    names = sorted(s.name for s in memory.spans)
    assert names == ["fetch [REDACTED:openai_key]", "renamed [REDACTED:openai_key]"]
    span = memory.spans[0]
    assert (span.service, span.environment, span.release) == (
        "svc [REDACTED:huggingface_token]",
        "env [REDACTED:openai_key]",
        "1.2",
    )


@pytest.mark.parametrize("shift", [-30, -12, -1, 0, 5, 25])
def test_a_secret_straddling_the_stack_trace_cut_is_replaced_whole(shift: int) -> None:
    memory = _configure()
    # Where the 16 000-character tail starts: a trial run of the same trace measures it.
    tail = " " + "z" * 200

    def boom(pad: str) -> None:
        raise RuntimeError(pad)

    try:
        boom(KEY + tail)
    except RuntimeError as exc:
        trial = "".join(traceback.format_exception(exc))
    after_key = len(trial) - trial.index(KEY) - len(KEY)  # the text after the key
    # Put the cut (16 000 minus the marker, ~40) inside the key, ``shift`` from its middle.
    extra = 16_000 - 40 - after_key - len(KEY) // 2 + shift

    @observe(name="failing")
    def failing() -> None:
        boom("x" * 30_000 + " " + KEY + tail + "y" * extra)

    with pytest.raises(RuntimeError):
        failing()
    assert brokle_trace.flush(5.0)
    stack = memory.spans[0].error.stacktrace  # type: ignore[union-attr]
    assert stack is not None and len(stack) <= 16_000
    assert not any(KEY[i : i + 6] in stack for i in range(len(KEY) - 5)), stack[:200]
    assert stack.startswith("[TRUNCATED: ") and stack.rstrip().endswith("y")


def test_the_librarys_warnings_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    brokle_trace.configure(exporter="none", strict=False)  # errors logged, not raised

    @observe
    def step() -> None:
        update_current_span(level=f"warn {KEY}")  # invalid: logged, not raised

    with caplog.at_level(logging.WARNING, logger="brokle_trace"):
        step()
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "level must be one of" in text
    assert KEY not in text and "[REDACTED:openai_key]" in text


def test_a_logged_exception_text_is_redacted_too() -> None:
    from brokle_trace._runtime.errors import logger

    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep()
    logger.addHandler(handler)
    try:
        try:
            raise ValueError(f"bad {HF}")
        except ValueError:
            logger.warning("export failed: %s", f"password={KEY}", exc_info=True)
    finally:
        logger.removeHandler(handler)
    formatted = logging.Formatter().format(records[0])
    assert HF not in formatted and KEY not in formatted
    assert "[REDACTED:huggingface_token]" in formatted


def test_configuration_errors_do_not_quote_credentials() -> None:
    with pytest.raises(ConfigError) as info:
        brokle_trace.configure(exporter="otlp", otlp_endpoint="htps://admin:hunter2@collector")
    assert "hunter2" not in str(info.value) and "[REDACTED:url_credentials]" in str(info.value)
    with pytest.raises(ConfigError) as info:
        brokle_trace.configure(max_items=f"password={KEY}")
    assert KEY not in str(info.value)


def test_an_environment_misconfiguration_is_logged_without_its_password(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from brokle_trace._runtime import lifecycle

    monkeypatch.setenv("BROKLE_OTLP_ENDPOINT", "htps://admin:hunter2@collector:4318")
    monkeypatch.setattr(lifecycle, "_pipeline", None)
    with caplog.at_level(logging.WARNING, logger="brokle_trace"):
        lifecycle.ensure_configured()
    text = "\n".join(r.getMessage() for r in caplog.records)
    # The variable is named (and ignored alone, issue 15), its password never shown.
    assert "BROKLE_OTLP_ENDPOINT" in text and "hunter2" not in text


def test_unpriced_model_names_in_stats_are_redacted() -> None:
    from brokle_trace.llm import Usage, compute_cost, unpriced_models

    _configure()
    assert compute_cost(f"my-model {HF}", Usage(input_tokens=10, output_tokens=1)) is None
    assert unpriced_models().get("my-model [REDACTED:huggingface_token]", 0) >= 1
    assert not any(HF in name for name in unpriced_models())


def test_a_shortcut_that_gives_up_on_the_byte_budget_counts_each_secret_once() -> None:
    # The flat-dict shortcut redacted (and counted) a value, then found the dict over
    # max_bytes and handed it to the full walk, which counted it again: from the second
    # call on (the key cache filled) stats showed 2 redactions for 1 secret.
    from brokle_trace.capture import CaptureSettings, finalize, snapshot
    from brokle_trace.capture import _counters as counters

    s = CaptureSettings(max_string_length=64, max_bytes=256)
    value = {"role": "my key is sk-000007000000000000000000000000000 ok"}
    seen = []
    for _ in range(3):
        counters.reset_counters()
        out = finalize(snapshot(value, s), s)
        seen.append(counters.counters()["redactions"])
        assert out == {"role": "my key is [REDACTED:openai_key] ok"}
    assert seen == [1, 1, 1]
