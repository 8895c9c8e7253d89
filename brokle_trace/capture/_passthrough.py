"""Encoded snapshots exported as they are: the worker's shortcut when the walk would change
nothing in them.

An ``Encoded`` snapshot (``_encoded.py``) is orjson's encoding of a JSON-native value. The
reference decodes it and walks every key and string through the redactor, then encodes the
result again: ~400 µs for a chat call's ten messages and two tool schemas, nearly all of
it interpreter overhead on strings that contain nothing to redact. Here a few C-level
passes over the whole encoding decide whether the walk could change anything; when it
could not, the snapshot's bytes are the exported JSON, with no decode, no walk, no encode.

What the walk does to a decoded snapshot (no mask, no serializer), and how each is ruled
out from the bytes:

* a container deeper than ``max_depth`` or longer than ``max_items`` gets a marker: the
  bracket skeleton (strings removed) is reduced level by level (``_shape_ok``);
* a key or string longer than the string limit is cut: no gap between two quotes is
  longer than the limit in bytes (a character is at least one byte), else the long ones
  are decoded and measured;
* a value over ``max_bytes`` is cut: the encoding's own length;
* a list of ``[name, value]`` pairs is redacted by name: no ``[["`` in the bytes;
* a key whose name is secret replaces its value: every key is read (one regex pass) and
  judged by the redactor's own ``key_rule``, remembered per key;
* a string a value rule or the token scanner redacts: see below.

Strings are judged by ``Redactor.redact`` itself, but only those that may hold a secret.
Each candidate is found in the whole encoding at once, by a test that finds a superset of
what the redactor's own gates let through in any single string:

* the token scanner only looks at runs of 16+ token characters (letters, digits,
  ``_ - + / .``). Those characters are never escaped by JSON and encode as one byte each,
  and a non-ASCII character's UTF-8 bytes are not token bytes (the scanner maps it to
  ``?``), so every such run inside a string is inside a run of the encoding's token bytes
  (which may be longer: an escape's letter, ``\\n``, joins the run; harmless);
* a value rule's pattern matches only where all of its ``need`` characters are in the
  text and its anchor (``literal_prefix``: every match starts with it) occurs. The
  characters and anchors used here are printable ASCII other than ``"`` and ``\\``, so an
  occurrence in a string is an occurrence in its encoding (ASCII-lower-cased for the rules
  run on lower-cased text: ``bytes.lower`` folds exactly A-Z, like ``ascii_lower``). A
  rule with no usable anchor (a user's ``(?i)`` pattern) turns the shortcut off.

Every candidate inside a string (quotes counted from the start, escaped ones neutralised
first) sends that whole string to ``redact``; one redaction anywhere, or any doubt, and
the caller takes the reference walk. So this is only ever a way to the same bytes, and
the counters stay the reference's: nothing was redacted or cut.

What it costs is passes over the bytes (~5-10 instructions a byte each, a memchr ~0.2),
plus one bytes object per key and string. So the passes are few: the key marking is a
same-length ``replace`` (one pass, in place), a fully known value is one ``issuperset``
(no set built), single needed characters are tested as ints. And the verdict is a pure
function of the bytes, the limits and the rules: an encoding judged clean is remembered
whole (``Gate.seen``: the latest one of each length, bounded in bytes), so the same value
again (a retried call, a fixed tool list, a document returned again) costs one ``memcmp``
and a value never seen before costs a dictionary lookup by its length, no hashing.
"""

from __future__ import annotations

import re
import threading
from bisect import bisect_right
from itertools import accumulate
from typing import NamedTuple

import orjson

from brokle_trace.capture._encoded import Encoded
from brokle_trace.capture._redact import Redactor
from brokle_trace.capture._rules import BUILTIN_VALUE_RULES
from brokle_trace.capture._scan import _TOKEN_CLASS, MIN_RUN
from brokle_trace.capture._settings import Compiled

__all__ = ["KNOWN_BYTES_MAX", "TALLY", "WHOLE_BYTES_MAX", "Gate", "passthrough"]

#: Hand-written anchors for built-in patterns whose ``literal_prefix`` is too short to be of
#: use, by pattern source (a user's rule of the same name is not this pattern): every match
#: of ``auth_scheme``'s ``b(?:earer...|asic...)`` holds one of them (tests hold it so).
ANCHOR_OVERRIDES: dict[str, tuple[str, ...]] = {
    next(r for r in BUILTIN_VALUE_RULES if r.name == "auth_scheme").patterns[0]: (
        "bearer",
        "basic",
    )
}

_RUNS = re.compile(b"a" * MIN_RUN + b"a*")
# Escaped backslashes first, then escaped quotes: what is left of every quote is structure.
# The stand-ins are control bytes, which orjson always escapes, so no text is confused.
_ESC_BACKSLASH, _ESC_QUOTE = b"\x01\x01", b"\x02\x02"
_BACKSLASH = ord("\\")  # an int: see _Pattern
#: Put at the end of each key in place of its closing quote, which takes the colon's place:
#: another control byte orjson escapes. Same length, so ``replace`` makes one pass, in place.
_KEY_MARK = b"\x03"
_KEY_END = _KEY_MARK + b'"'
_BRACKETS = bytes.maketrans(b"{}", b"[]")
_NOT_SKELETON = bytes(sorted(set(range(256)) - set(b"[]{},")))
_INNERMOST = re.compile(rb"\[,*\]")
#: Every byte but UTF-8 continuation bytes: deleted, what is left is the continuations.
_NOT_CONTINUATION = bytes(sorted(set(range(256)) - set(range(0x80, 0xC0))))
_CACHE_MAX = 4096
#: Bytes of remembered parts, at most: prompts repeat, but each is user text kept alive.
KNOWN_BYTES_MAX = 1 << 20
#: Whole encodings remembered (``Gate.seen``), at most, and the bytes they may hold.
WHOLE_MAX = 256
WHOLE_BYTES_MAX = 1 << 19


class _Pattern(NamedTuple):
    """One value-rule pattern as bytes tests: ``need_all``/``need_any`` on the encoding,
    ``needs`` and one of ``anchors`` on it or (``folded``) on its lower-cased copy.

    A needed character is an int when it is one byte: ``int in bytes`` is a memchr, where
    ``bytes in bytes`` first tries its needle as an int and builds, then clears, a
    TypeError (~2 000 instructions a test, ~60 000 a new text's pass)."""

    need_all: tuple[int | bytes, ...]
    need_any: tuple[int | bytes, ...]
    needs: tuple[int | bytes, ...]
    anchors: tuple[bytes, ...]
    folded: bool


class _Tally:
    """How often the shortcut was taken and refused (benchmarks and tests read it)."""

    __slots__ = ("hit", "miss")

    def __init__(self) -> None:
        self.hit = 0
        self.miss = 0


TALLY = _Tally()


class Gate:
    """What one settings object's redactor needs looked at in an encoding.

    ``usable`` is False when some value rule has no anchor usable on bytes (the shortcut
    is then never taken). ``patterns`` holds, per pattern, the bytes that must all be in
    the encoding as it is, those of which one must be, those that must all be in its
    lower-cased copy, the anchors, and whether anchors are looked for lower-cased.

    Example:
        >>> from brokle_trace.capture import CaptureSettings
        >>> g = Gate(CaptureSettings()._compiled.redactor)
        >>> g.usable, len(g.patterns) > 10
        (True, True)
    """

    __slots__ = ("_lock", "known", "known_bytes", "patterns", "usable", "whole", "whole_bytes")

    def __init__(self, redactor: Redactor | None) -> None:
        # The redactor is not kept (``clean`` is given it): the gate is kept by it.
        self.usable = True
        #: parts (see ``clean``) judged before: keys with no key rule, strings (and the
        #: structure between them) that ``redact`` leaves as they are
        self.known: set[bytes] = set()
        self.known_bytes = 0  # what the remembered parts hold (user text: bounded)
        #: length -> (an encoding judged clean whole, the limits it was judged for)
        self.whole: dict[int, tuple[bytes, tuple[int, int, int]]] = {}
        self.whole_bytes = 0
        # Writers only (finalize runs on any thread): a byte count updated across another's
        # clear undercounts for good. Readers see one tuple or set entry, swapped whole.
        self._lock = threading.Lock()
        self.patterns: list[_Pattern] = []
        self._build(redactor)

    def _build(self, red: Redactor | None) -> None:
        if red is None:
            return
        for rule in red.rules:
            need_all = _safe_chars(rule.need_all)
            need_any = _safe_chars(rule.need_any)
            if len(need_any) < len(rule.need_any):
                need_any = ()  # an unusable character may be the one present: no gate
            for pattern in rule.patterns:
                anchors = ANCHOR_OVERRIDES.get(pattern.rx.pattern) or (
                    (pattern.anchor,) if pattern.anchor else ()
                )
                # A rule run on lower-cased text sees a leading space that is not in the text.
                if not anchors or not all(
                    _usable(a) and not (rule.lower and a.startswith(" ")) for a in anchors
                ):
                    self.usable = False
                    return
                self.patterns.append(
                    _Pattern(
                        need_all,
                        need_any,
                        _safe_chars(pattern.needs),
                        tuple(a.encode() for a in anchors),
                        rule.lower,
                    )
                )

    def seen(self, data: bytes, limits: tuple[int, int, int]) -> bool:
        """Whether ``data`` itself was judged clean for ``limits`` (string limit, max_items,
        max_depth): looked up by length, then compared (a miss costs no hash of the data;
        a hit one ``memcmp``)."""
        entry = self.whole.get(len(data))
        return entry is not None and entry[1] == limits and entry[0] == data

    def remember(self, data: bytes, limits: tuple[int, int, int]) -> None:
        """Keep ``data`` (judged clean for ``limits``) for ``seen``: the latest one of each
        length, within ``WHOLE_MAX`` entries and ``WHOLE_BYTES_MAX`` bytes."""
        with self._lock:
            whole = self.whole
            if len(whole) >= WHOLE_MAX or self.whole_bytes + len(data) > WHOLE_BYTES_MAX:
                whole.clear()
                self.whole_bytes = 0
            old = whole.get(len(data))
            if old is not None:
                self.whole_bytes -= len(old[0])
            whole[len(data)] = (data, limits)
            self.whole_bytes += len(data)

    def clean(self, parts: list[bytes], norm: bytes, red: Redactor) -> bool:
        """Whether ``redact`` and ``key_rule`` leave every key and string as it is.

        ``parts``: ``norm`` (the encoding, its escaped quotes and backslashes neutralised)
        split at its quotes: strings (a key ends with ``_KEY_MARK``), and the structure
        between them, which the walk never changes (numbers, brackets). Strings judged
        before are found by one C-level set difference; only new ones are judged.
        """
        strings = parts[1::2]  # the walk changes nothing else
        known = self.known
        if known.issuperset(strings):  # no set built: each string hashed and looked up once
            return True
        novel = set(strings).difference(known)
        fresh = self._judge(novel, norm, red)
        if fresh is None:
            return False
        size = sum(map(len, fresh))
        with self._lock:
            if len(known) + len(fresh) > _CACHE_MAX or self.known_bytes + size > KNOWN_BYTES_MAX:
                known.clear()
                self.known_bytes = 0
            known.update(fresh)
            self.known_bytes += size
        return True

    def _judge(self, novel: set[bytes], norm: bytes, red: Redactor) -> list[bytes] | None:
        """None if a new part is redacted, or is a key a key rule names; else the parts
        that are clean wherever they stand (to remember)."""
        texts = list(novel)
        # One pass over all new texts at once, joined by a byte no rule or token contains.
        blob = b"\x00".join(texts)
        candidates = set()
        starts = self._candidates(blob)
        if starts:
            ends = list(accumulate(len(t) + 1 for t in texts))
            candidates = {bisect_right(ends, at) for at in starts}
        for i, part in enumerate(texts):
            if i in candidates or part.endswith(_KEY_MARK):
                text = _text(part)
                if text is None or (i in candidates and red.redact(text)[1]):
                    return None
                if part.endswith(_KEY_MARK) and red.key_rule(text) is not None:
                    return None  # a key a key rule names: its value is replaced
        return texts

    def _candidates(self, blob: bytes) -> list[int]:
        """Where in ``blob`` a run of 16+ token bytes starts, or an anchor occurs whose
        pattern's needed characters are all in ``blob`` (a superset of the strings the
        redactor could change: see the module's docstring)."""
        starts: list[int] = []
        classes = blob.translate(_TOKEN_CLASS)
        m = _RUNS.search(classes)
        while m is not None:
            starts.append(m.start())
            m = _RUNS.search(classes, m.end())
        lowered: bytes | None = None
        for need_all, need_any, needs, anchors, folded in self.patterns:
            for ch in need_all:
                if ch not in blob:
                    break
            else:
                if need_any:
                    for ch in need_any:
                        if ch in blob:
                            break
                    else:
                        continue
                if folded:
                    if lowered is None:
                        lowered = blob.lower()
                    target = lowered
                else:
                    target = blob
                for ch in needs:
                    if ch not in target:
                        break
                else:
                    for anchor in anchors:
                        at = target.find(anchor)
                        while at >= 0:
                            starts.append(at)
                            at = target.find(anchor, at + 1)
        return starts


def _safe(c: str) -> bool:
    """Whether ``c`` is written as itself in orjson's output: not a control character,
    ``"`` or ``\\`` (escaped), nor a lone surrogate (never encoded)."""
    return c >= " " and c not in '"\\' and not "\ud800" <= c <= "\udfff"


def _safe_chars(chars: str) -> tuple[int | bytes, ...]:
    encoded = [c.encode() for c in chars if _safe(c)]
    return tuple(b[0] if len(b) == 1 else b for b in encoded)


def _usable(anchor: str) -> bool:
    return all(map(_safe, anchor))


def _text(encoded: bytes) -> str | None:
    """The string whose encoding (between its quotes, escapes neutralised) is ``encoded``."""
    raw = encoded.removesuffix(_KEY_MARK)
    raw = raw.replace(_ESC_BACKSLASH, b"\\\\").replace(_ESC_QUOTE, b'\\"')
    try:
        text = orjson.loads(b'"' + raw + b'"')
    except orjson.JSONDecodeError:  # pragma: no cover - orjson's own output decodes
        return None
    return text if type(text) is str else None


def _shape_ok(structure: bytes, max_items: int, max_depth: int) -> bool:
    """No container nested ``max_depth`` deep or holding more than ``max_items`` entries.

    ``structure``: what lies between the strings (a quote for each). Its brackets are
    reduced level by level (each round removes the innermost containers), empty after as
    many rounds as the value is deep. Entries are counted from commas only when there may
    be too many: a container's commas are consecutive once its children are gone.
    """
    skeleton = structure.translate(_BRACKETS, _NOT_SKELETON)
    if skeleton.count(b",") < max_items:
        skeleton = skeleton.replace(b",", b"")
        for _ in range(max_depth):
            skeleton = skeleton.replace(b"[]", b"")
            if not skeleton:
                return True
        return False
    too_many = b"," * max_items
    for _ in range(max_depth):
        if skeleton.find(too_many) >= 0:  # not ``in``: see _Pattern
            return False
        skeleton = _INNERMOST.sub(b"", skeleton)
        if not skeleton:
            return True
    return False


def _lengths_ok(parts: list[bytes], limit: int) -> bool:
    """No key or string longer than ``limit`` characters: a part longer than ``limit``
    bytes (a character is one byte or more) is decoded and measured."""
    strings = parts[1::2]
    if max(map(len, strings), default=0) <= limit:
        return True
    for part in strings:
        if len(part) > limit:
            # Bytes that start a character (a UTF-8 lead byte, an escape's first: each
            # starts one at most): decoded only when even those are too many.
            if len(part) - len(part.translate(None, _NOT_CONTINUATION)) <= limit:
                continue
            text = _text(part)
            if text is None or len(text) > limit:
                return False
    return True


_UNREDACTED = Gate(None)


def _gate(c: Compiled) -> Gate:
    """The gate of ``c``'s redactor, kept by the redactor (so by the settings) alone: a
    table of gates by settings kept replaced settings alive, with their caches."""
    red = c.redactor
    if red is None:
        return _UNREDACTED
    gate = red.gate
    if type(gate) is not Gate:
        gate = red.gate = Gate(red)
    return gate


def passthrough(snap: Encoded, c: Compiled, max_string_length: int | None) -> bytes | None:
    """``snap.data`` when finalising ``snap`` would give back exactly that JSON, else None.

    ``max_string_length``: the field's own limit (a decorator's ``max_input_length``), as
    for ``finalize_value``.

    Example:
        >>> from brokle_trace.capture import CaptureSettings
        >>> from brokle_trace.capture._encoded import encode
        >>> c = CaptureSettings()._compiled
        >>> passthrough(encode([{"role": "user", "content": "hi"}], 4000, 5024, 100, 10), c, None)
        b'[{"role":"user","content":"hi"}]'
        >>> passthrough(encode({"api_key": "abc"}, 4000, 5024, 100, 10), c, None) is None
        True
    """
    if snap is _last_miss[0]:
        return None  # refused a moment ago (the caller's reference walk asks again)
    try:
        done = _decide(snap, c, max_string_length)
    except Exception:  # pragma: no cover - any doubt at all: the reference walk decides
        done = False
    if done:
        TALLY.hit += 1
        return snap.data
    TALLY.miss += 1
    _last_miss[0] = snap
    return None


#: The last snapshot refused: its reference walk (``finalize_value``) need not ask again.
_last_miss: list[Encoded | None] = [None]


def _decide(snap: Encoded, c: Compiled, max_string_length: int | None) -> bool:
    if c.mask is not None:
        return False
    data = snap.data
    if len(data) > c.max_bytes:
        return False
    gate = _gate(c)
    if not gate.usable:
        return False
    limit = c.string_limits(max_string_length)[0]
    if snap.limit < limit:
        limit = c.string_limits(snap.limit)[0]
    limits = (limit, c.max_items, c.max_depth)
    if gate.seen(data, limits):
        return True  # the same bytes, the same limits, the same rules: the same verdict
    if _judged_clean(data, limit, c, gate):
        gate.remember(data, limits)
        return True
    return False


def _judged_clean(data: bytes, limit: int, c: Compiled, gate: Gate) -> bool:
    norm = data
    if _BACKSLASH in data:
        norm = data.replace(b"\\\\", _ESC_BACKSLASH).replace(b'\\"', _ESC_QUOTE)
    # With escaped quotes neutralised, '":' only ever closes a key: marked, a key is its own
    # part, judged (and remembered) as a key, apart from the same text as a value.
    parts = norm.replace(b'":', _KEY_END).split(b'"')
    structure = b'"'.join(parts[::2])  # a quote where each string was
    red = c.redactor
    if red is not None and structure.find(b'[["') >= 0:
        return False  # maybe a list of [name, value] pairs: redacted by name
    if not _shape_ok(structure, c.max_items, c.max_depth):
        return False
    if len(data) > limit + 2 and not _lengths_ok(parts, limit):
        return False
    return red is None or gate.clean(parts, norm, red)
