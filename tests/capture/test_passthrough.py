"""The worker's passthrough of encoded snapshots (``capture/_passthrough.py``): what it
costs and keeps for values it has not seen before (documents, answers: new on every call).
Its parity with the reference walk is in tests/parity/test_capture_passthrough.py."""

from __future__ import annotations

import gc
import random
import threading
import uuid
import weakref
from collections.abc import Callable
from typing import Any
from unittest import mock

import orjson
import pytest

from brokle_trace.capture import CaptureSettings, finalize
from brokle_trace.capture import _passthrough as passthrough_module
from brokle_trace.capture._encoded import Encoded, encode
from brokle_trace.capture._passthrough import passthrough

#: Japanese prose: no token runs, no anchors (nothing for the redactor to look at).
_KANA = "日本語の文書テキストを読む"


def _document(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(_KANA) for _ in range(n))


def _encoded(value: object, s: CaptureSettings) -> Encoded:
    c = s._compiled
    snap = encode(value, c.limit, c.cut, c.max_items, c.max_depth)  # type: ignore[arg-type]
    assert type(snap) is Encoded
    return snap


def test_a_document_text_is_never_judged_as_a_key() -> None:
    # A retrieval result: each document's text is new. The walk asks the key rules about
    # keys only; asking them about a 4000-character text cost ~400 us of regex (7x the
    # walk itself) and filled the redactor's key cache with documents.
    s = CaptureSettings()
    red = s._compiled.redactor
    assert red is not None
    docs = [_document(random.Random(i), 3000) for i in range(3)]
    value = [{"id": i, "text": d, "metadata": {"source": "kb"}} for i, d in enumerate(docs)]
    snap = _encoded(value, s)
    assert passthrough(snap, s._compiled, None) == orjson.dumps(value)
    for d in docs:
        assert d not in red._key_cache


def test_a_long_key_naming_a_secret_still_takes_the_walk() -> None:
    s = CaptureSettings()
    key = "x" * 300 + "_password"
    snap = _encoded({key: "hunter2-value", "note": "y" * 300}, s)
    assert passthrough(snap, s._compiled, None) is None
    assert finalize(snap, s) == {key: "[REDACTED:password]", "note": "y" * 300}


def test_parts_remembered_stay_within_a_byte_budget() -> None:
    # Every new document was remembered (up to 4096 of them, ~16 MB of CJK at 4000
    # characters each, per settings object); the memory is bounded by bytes now.
    s = CaptureSettings()
    c = s._compiled
    rng = random.Random(7)
    for i in range(600):
        snap = _encoded([{"id": i, "text": _document(rng, 3900)}], s)
        assert passthrough(snap, c, None) is not None
    gate = passthrough_module._gate(c)
    held = sum(map(len, gate.known))
    assert held == gate.known_bytes <= passthrough_module.KNOWN_BYTES_MAX


def test_a_non_ascii_text_within_the_limit_is_measured_without_decoding_it() -> None:
    # 3990 kana are 11970 bytes: over the 4000 limit in bytes, within it in characters.
    # Decoding one to count its characters cost ~55 us a string, every span (CJK
    # documents); the bytes that start a character bound the count.
    s = CaptureSettings()
    c = s._compiled
    value = [{"id": 1, "text": _document(random.Random(3), 3990)}]
    for _ in range(2):  # judged once, and its short parts again: remembered
        assert passthrough(_encoded(value, s), c, None) is not None
    with mock.patch.object(passthrough_module, "_text", side_effect=AssertionError):
        assert passthrough(_encoded(value, s), c, None) == orjson.dumps(value)


@pytest.mark.parametrize("limit", [64, 100])
@pytest.mark.parametrize("text", ["é", "日", "🙂", "\n", "\x01", '"', "e\u0301", "aé"])
def test_strings_around_the_limit_in_characters_take_the_walk_exactly_when_cut(
    limit: int, text: str
) -> None:
    s = CaptureSettings(max_string_length=limit)
    for n in range(limit - 2, limit + 3):
        value = {"k": (text * n)[:n]}
        snap = _encoded(value, s)
        fast = passthrough(snap, s._compiled, None)
        assert (fast is None) == (n > limit)
        if fast is not None:
            assert orjson.loads(fast) == finalize(snap, s)


def test_settings_replaced_are_not_kept_alive_by_the_passthrough() -> None:
    # Each configure() makes new settings; the old ones' redactor (its caches hold up to
    # 4 M characters) was kept by the passthrough's table of gates, 64 of them at most.
    s = CaptureSettings(redact_keys=("session",))
    red = s._compiled.redactor
    assert red is not None
    snap = _encoded([{"role": "user", "content": "hi"}], s)
    assert passthrough(snap, s._compiled, None) is not None
    gone = weakref.ref(red)
    del s, red
    passthrough_module._last_miss[0] = None
    gc.collect()
    assert gone() is None


def test_new_ids_are_never_asked_the_key_rules() -> None:
    # Tool-call, message and document ids are new on every call: asking the key rules
    # about each (values, never keys) made the passthrough of 100 of them ~2.6x the walk.
    # Keys are told apart in the bytes, so values are never asked, first sighting or not.
    s = CaptureSettings()
    c = s._compiled
    red = c.redactor
    assert red is not None
    ids = [str(uuid.UUID(int=random.Random(i).getrandbits(128))) for i in range(100)]
    value = [{"id": i, "type": "document"} for i in ids]
    for _ in range(2):
        assert passthrough(_encoded(value, s), c, None) == orjson.dumps(value)
        assert not set(ids) & set(red._key_cache)
    gate = passthrough_module._gate(c)
    assert all(i.encode() in gate.known for i in ids)  # the next sighting: a set difference


@pytest.mark.parametrize("name", ["api_key", "x" * 300 + "_password"], ids=["short", "long"])
def test_a_secret_name_seen_as_a_value_is_still_a_secret_key_later(name: str) -> None:
    s = CaptureSettings()
    c = s._compiled
    for _ in range(2):  # remembered as a clean value, then seen again
        assert passthrough(_encoded(["field", name], s), c, None) is not None
    snap = _encoded({name: "hunter2-value"}, s)
    assert passthrough(snap, c, None) is None
    assert finalize(snap, s) == {name: f"[REDACTED:{c.redactor.key_rule(name)}]"}  # type: ignore[union-attr]


def test_an_encoding_seen_clean_before_is_remembered_whole_and_only_for_its_limits() -> None:
    # The verdict is a pure function of the bytes, the limits and the rules: the same bytes
    # again skip the passes (one memcmp); other limits or other rules are judged afresh.
    s = CaptureSettings()
    c = s._compiled
    value = [{"role": "user", "content": "hello there " * 20}]
    first = _encoded(value, s)
    assert passthrough(first, c, None) == first.data
    gate = passthrough_module._gate(c)
    assert gate.seen(first.data, (c.limit, c.max_items, c.max_depth))
    twin = Encoded(bytes(first.data), first.limit)
    with mock.patch.object(passthrough_module, "_judged_clean", side_effect=AssertionError):
        assert passthrough(twin, c, None) == twin.data
    # A field limit under the text's length: judged again, and cut by the walk.
    assert passthrough(Encoded(bytes(first.data), first.limit), c, 100) is None
    # Other rules (a redactor of their own): judged again, and redacted.
    keyed = CaptureSettings(redact_keys=("role",))
    snap = Encoded(bytes(first.data), first.limit)
    assert passthrough(snap, keyed._compiled, None) is None
    assert finalize(snap, keyed) == [{"role": "[REDACTED:role]", "content": value[0]["content"]}]


def test_an_encoding_of_the_same_length_holding_a_secret_is_still_refused() -> None:
    # Remembered by length, but compared whole: a same-sized value is never taken for it.
    s = CaptureSettings()
    c = s._compiled
    clean = _encoded({"note": "x" * 40}, s)
    secret = _encoded({"note": "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"}, s)
    assert len(clean.data) == len(secret.data)
    assert passthrough(clean, c, None) == clean.data
    assert passthrough(secret, c, None) is None
    assert b"ghp_" not in orjson.dumps(finalize(secret, s))


def test_whole_encodings_remembered_stay_within_a_byte_budget() -> None:
    s = CaptureSettings()
    c = s._compiled
    gate = passthrough_module._gate(c)
    for i in range(400):  # 400 different lengths of ~3 KB: ~1.2 MB if all were kept
        snap = _encoded([{"id": i, "text": "plain words " * 250 + "x" * i}], s)
        assert passthrough(snap, c, None) == snap.data
        held = sum(len(data) for data, _ in gate.whole.values())
        assert held == gate.whole_bytes <= passthrough_module.WHOLE_BYTES_MAX
        assert len(gate.whole) <= passthrough_module.WHOLE_MAX


def test_single_needed_characters_are_looked_for_as_ints() -> None:
    # ``bytes in bytes`` builds and clears a TypeError before its search (~2 000
    # instructions); ``int in bytes`` is a memchr. A multi-byte character stays bytes.
    assert passthrough_module._safe_chars("k?\u00e9") == (ord("k"), ord("?"), "\u00e9".encode())
    gate = passthrough_module._gate(CaptureSettings()._compiled)
    needles = [n for p in gate.patterns for n in (*p.need_all, *p.need_any, *p.needs)]
    assert needles and all(type(n) is int for n in needles)


class _Interleaved(dict):  # type: ignore[type-arg]
    """``Gate.whole`` whose first ``get`` lets another thread remember a value meanwhile
    (waiting for it at most a moment: a lock taken first makes it wait for us instead)."""

    def __init__(self, other: Callable[[], None]) -> None:
        super().__init__()
        self.other: Callable[[], None] | None = other
        self.thread = threading.Thread(target=other)

    def get(self, key: Any, default: Any = None) -> Any:
        found = super().get(key, default)
        other, self.other = self.other, None
        if other is not None:  # between the read and what the caller does with it
            self.thread.start()
            self.thread.join(0.2)
        return found


def test_the_whole_encodings_byte_count_holds_with_threads_remembering_at_once() -> None:
    # finalize runs on any thread with the same settings (and two workers share them for a
    # while when configure() is given the same settings object): a value remembered while
    # another thread cleared the table subtracted an entry already gone, so the count fell
    # below what is held and the 512 KiB bound stopped holding.
    gate = passthrough_module.Gate(CaptureSettings()._compiled.redactor)
    limits = (4000, 100, 10)
    big = b"y" * (passthrough_module.WHOLE_BYTES_MAX - 50)
    gate.remember(b"x" * 100, limits)
    interleaved = _Interleaved(lambda: gate.remember(big, limits))  # clears the table
    interleaved.update(gate.whole)
    gate.whole = interleaved
    gate.remember(b"z" * 100, limits)  # replaces the 100-byte entry
    interleaved.thread.join(5)
    assert gate.whole_bytes == sum(len(data) for data, _ in gate.whole.values())
