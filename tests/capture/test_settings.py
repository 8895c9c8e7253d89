"""CaptureSettings validation and the public surface of the package."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from brokle_trace import capture
from brokle_trace.capture import CaptureSettings, counters, reset_counters


def test_public_names_are_exactly_these() -> None:
    assert sorted(capture.__all__) == capture.__all__
    assert set(capture.__all__) == {
        "BUILTIN_RULE_NAMES",
        "COUNTER_NAMES",
        "CaptureSettings",
        "RedactingFilter",
        "counters",
        "finalize",
        "redact_text",
        "redact_value",
        "reset_counters",
        "snapshot",
    }


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_items": 0}, "max_items must be >= 1, got 0"),
        ({"max_string_length": 10}, "max_string_length must be >= 64, got 10"),
        ({"max_depth": 0}, "max_depth must be >= 1"),
        ({"max_depth": 1000}, "max_depth must be <= 64"),
        ({"max_bytes": 10}, "max_bytes must be >= 256"),
        ({"max_items": "5"}, "max_items must be an int"),
        ({"max_items": True}, "max_items must be an int"),
        ({"redaction_margin": 0}, "redaction_margin must be >= 128"),
        ({"snapshot_budget": -1}, "snapshot_budget must be >= 0"),
        ({"redact": "yes"}, "redact must be True or False"),
        ({"redact_keys": "ssn"}, "redact_keys must be a tuple of strings"),
        ({"allow_keys": ("",)}, "allow_keys entries must be non-empty strings"),
        ({"disabled_rules": ("nope",)}, "disabled_rules has unknown rule names ['nope']"),
        ({"redact_patterns": ("(",)}, "redact_patterns[0] is not a valid regex"),
        ({"redact_patterns": (("Bad Name", "x"),)}, "redact_patterns[0] name 'Bad Name'"),
        ({"redact_patterns": (1,)}, "redact_patterns[0] must be a regex string"),
        ({"mask": "not callable"}, "mask must be a callable"),
        ({"serializer": 3}, "serializer must be a callable"),
        ({"type_serializers": {"int": len}}, "type_serializers must map classes to callables"),
    ],
)
def test_invalid_settings_name_the_field_and_the_fix(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("(", r"\(")):
        CaptureSettings(**kwargs)


def test_lists_are_accepted_and_frozen() -> None:
    s = CaptureSettings(redact_keys=["ssn"], allow_keys=["next_token"])  # type: ignore[arg-type]
    assert s.redact_keys == ("ssn",) and s.allow_keys == ("next_token",)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.max_items = 3  # type: ignore[misc]


def test_compiled_once_per_settings_object() -> None:
    s = CaptureSettings()
    assert s._compiled is s._compiled
    assert s._compiled.redactor is not None
    other = dataclasses.replace(s, max_items=5)
    assert other._compiled.max_items == 5 and other == CaptureSettings(max_items=5)
    assert CaptureSettings(redact=False)._compiled.redactor is None


def test_counters_are_all_present_and_resettable() -> None:
    reset_counters()
    assert set(counters()) == set(capture.COUNTER_NAMES)
    assert all(v == 0 for v in counters().values())
