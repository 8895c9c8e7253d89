"""The token scanner: credentials found by prefix and by shape, in one pass over the text.

Almost every credential is a *run* of token characters (letters, digits, ``_ - + / .``) of
16 or more. Finding those runs is one C-level pass: the text is mapped to a class string
(``bytes.translate``, every token character becomes ``a``) and a literal-prefixed regex
finds each ``a{16,}``. Ordinary prose has almost none; a JSON payload a few dozen. Each run
is then judged in Python, cheapest test first:

1. all hex (digests, UUIDs), all digits (times, versions): skipped;
2. named families (``_families.py``): looked up by the first characters at the run's start
   and after each separator inside it, then confirmed by the family's regex;
3. ``prefixed_token``: a short lower-case prefix, ``_``/``-``, 20+ random-looking letters and
   digits, unless the prefix is a provider object id (``call_``, ``msg_``, ``cus_``...);
4. ``high_entropy``: 32+ characters (split at ``.``) that change character class at least
   as often as random text does and carry enough entropy for their length, unless they are
   an object id, a ``data:``/base64 file or a path.
"""

from __future__ import annotations

import functools
import math
import re
import string
from collections import Counter
from collections.abc import Iterable, Sequence

from brokle_trace.capture._families import TokenRule
from brokle_trace.capture._rules import ShapeRule

__all__ = [
    "MIN_RUN",
    "TOKEN_CHARS",
    "Scanner",
    "candidate_runs",
    "changes",
    "entropy",
    "exempt_piece",
]

TOKEN_CHARS = string.ascii_letters + string.digits + "_-+/."
_ALNUM = string.ascii_letters + string.digits
#: A candidate holds 16+ base64url characters (every family does) or 32+ base64 ones (the
#: entropy rule's minimum: a base64 key whose ``+``/``/`` split it into short pieces).
MIN_RUN = 16
MIN_B64_RUN = 32


def _table(chars: str) -> bytes:
    return bytes(ord("a") if chr(i) in chars else ord(" ") for i in range(256))


_URL_CLASS = _table(_ALNUM + "_-")
_HEX_CLASS = _table("0123456789abcdef-")
_B64_CLASS = _table(_ALNUM + "+/")
_TOKEN_CLASS = _table(TOKEN_CHARS)
# A separator inside base64: 6+ letters and digits on each side, 16 base64 characters before
# it and 15 after (a path's separators have a word, a dot or a dash next to them).
_B64_SEPS = tuple(
    (
        ord(sep),  # an int: ``in`` on bytes is a memchr (a bytes needle raises inside first)
        re.compile(
            rf"\{sep}(?<=[A-Za-z0-9]{{6}}\{sep})(?<=[A-Za-z0-9+/]{{16}}\{sep})"
            r"(?=[A-Za-z0-9]{6})(?=[A-Za-z0-9+/]{15})"
        ),
    )
    for sep in "+/"
)
_TOKEN_BYTES = frozenset(TOKEN_CHARS.encode())
# Bytes looked for as ints: ``int in bytes`` is a memchr, while ``bytes in bytes`` first
# tries the needle as an int and formats the TypeError it then clears (~2 000 instructions).
_PLUS, _SLASH = ord("+"), ord("/")
# A literal prefix ("aaaa...") lets re skip to each run with its fast (KMP) search;
# bytes.find degrades on a needle of one repeated character. The run's end is then one
# memchr (``find(b" ")``): an ``a*`` tail costs ~5 instructions a character.
_RUNS = re.compile(b"a" * MIN_RUN)
_HEX_BYTES = frozenset(b"0123456789abcdef-")
#: The separators inside a run of token characters; a family key after one of them, and the
#: prefixed rule's body, need one. A run without any (a long word, "xxxx...") skips those
#: regexes: a charset-led search costs ~40 instructions a character, ``in`` is a memchr.
_SEPARATORS = "_-+/."
# The three characters after each separator (a look-ahead: "x_hf_a" has two boundaries).
_BOUNDARY = re.compile(r"[_\-+/.](?=([A-Za-z0-9][A-Za-z0-9_\-+/.]{2}))")
# Whole runs that are never secrets: hex digests and UUIDs (one case), numbers and dates.
_BORING = re.compile(r"[0-9a-f.\-]+|[0-9A-F.\-]+|[0-9.\-+/_]+")
# Words, numbers, hex ids and short pieces joined by separators: model names, paths, slugs
# ("llama-v3p1-405b-instruct", "Mixtral-8x7B-Instruct", "post-title-1a2b3c4d5e6f");
# random text has long pieces of mixed case and digits.
_SEGMENT = (
    r"(?:[A-Z]?[a-z]+[0-9]*|[A-Z]+[0-9]*|[0-9]+[A-Za-z]{0,2}|[A-Za-z0-9]{1,4}"
    r"|[0-9a-f]{6,})"
)
_WORDY = re.compile(rf"[-_./+]*{_SEGMENT}(?:[-_./+]+{_SEGMENT})*[-_./+]*")
_CLASS_RUNS = re.compile(r"[A-Z]+|[a-z]+|[0-9]+|[^A-Za-z0-9]+")
_BODY = re.compile(r"[_-][A-Za-z0-9]{20}")
_SHAPE_STARTS = re.compile(r"[/.+](?=[a-z])")
_PREFIXED = re.compile(
    r"([a-z][a-z0-9]{1,9}(?:[_-][a-z0-9]{1,9}){0,2}[_-])([A-Za-z0-9]{20,})(?![A-Za-z0-9])"
)
_HEX_BODY = re.compile(r"[0-9a-f]+|[0-9A-F]+")
# Base64 file signatures: PNG, JPEG, GIF, WebP/RIFF, PDF, ZIP/docx, MP4, MP3 (ID3), gzip.
_MAGIC = ("iVBORw0KGgo", "/9j/", "R0lGOD", "UklGR", "JVBERi0", "UEsDB", "AAAA", "SUQz", "H4sI")
_CACHED_RUN_MAX = 512
_CACHE_MAX = 4096
_CLOG = [0.0] + [c * math.log2(c) for c in range(1, 4097)]


def candidate_runs(text: str, hex_keys: frozenset[str] = frozenset()) -> list[tuple[int, int]]:
    """Maximal runs of token characters that may hold a credential, in order.

    A run qualifies with 16+ consecutive base64url characters, unless it is nothing but
    lower-case hex and dashes (digests and UUIDs, the commonest runs in logs) and does not
    start with one of ``hex_keys`` (a family prefix made of hex: ``fc-``), or with 32+
    base64 characters around a ``+`` or ``/`` that has 6+ letters and digits on each side
    (base64 whose separators cut every base64url piece below 16; paths fail the test).

    Example:
        >>> candidate_runs("see /a/b.c and ghp_" + "x" * 36 + " " + "0f" * 20)
        [(15, 55)]
    """
    data = text.encode("ascii", "replace")  # one byte per code point, non-ASCII -> '?'
    classes = data.translate(_URL_CLASS)
    out: list[tuple[int, int]] = []
    full: bytes | None = None
    m = _RUNS.search(classes)
    if m is not None:
        hex_classes: bytes | None = None  # made for the first run that starts with hex
        hex_start = _HEX_BYTES
        token = _TOKEN_BYTES
        search = _RUNS.search
        n = len(data)
        while m is not None:
            k = m.start()
            e = classes.find(b" ", k + MIN_RUN)
            if e < 0:
                e = n
            digest = False
            if data[k] in hex_start:
                if hex_classes is None:
                    hex_classes = data.translate(_HEX_CLASS)
                digest = hex_classes.find(b" ", k, e) < 0
            if (
                digest
                and (k == 0 or data[k - 1] not in token)
                and (e == n or data[e] not in token)
                and text[k : k + 3] not in hex_keys
            ):
                m = search(classes, e)  # a digest or a UUID: the commonest run in logs
                continue
            if full is None:
                full = data.translate(_TOKEN_CLASS)
            j = full.find(b" ", e)  # widened to every token character ("." "/" "+" too)
            if j < 0:
                j = n
            out.append((full.rfind(b" ", 0, k) + 1, j))
            m = search(classes, j)
    if _PLUS in data or _SLASH in data:
        b64: bytes | None = None
        more: list[tuple[int, int]] = []
        for sep, rx in _B64_SEPS:
            if sep not in data:
                continue
            pos = 0
            while (hit := rx.search(text, pos)) is not None:
                if b64 is None:
                    b64 = data.translate(_B64_CLASS)
                if full is None:
                    full = data.translate(_TOKEN_CLASS)
                a, b = _widen(b64, hit.start())
                pos = b
                if b - a >= MIN_B64_RUN and data.count(b"/", a, b) * 12 < b - a:
                    more.append(_widen(full, a))
        if more:
            out = sorted(set(out + more))
    return out


def _first_separator(run: str) -> int:
    """Where the first of ``_-+/.`` is in ``run``, or -1 (five memchr calls)."""
    first = -1
    for c in _SEPARATORS:
        k = run.find(c, 0, first) if first >= 0 else run.find(c)
        if k >= 0:
            first = k
    return first


def _widen(classes: bytes, k: int) -> tuple[int, int]:
    """The run of class characters (``a`` in ``classes``) around position ``k``."""
    j = classes.find(b" ", k)
    return classes.rfind(b" ", 0, k) + 1, len(classes) if j < 0 else j


def changes(piece: str) -> float:
    """Share of neighbouring characters whose class (upper, lower, digit, other) differs.

    Example:
        >>> changes("aB3"), changes("abc")
        (1.0, 0.0)
    """
    if len(piece) < 2:
        return 0.0
    return (len(_CLASS_RUNS.findall(piece)) - 1) / (len(piece) - 1)


def entropy(piece: str) -> float:
    """Shannon entropy in bits per character (``log2 n - sum(c log2 c) / n``).

    Example:
        >>> entropy("abab"), entropy("aaaa")
        (1.0, 0.0)
    """
    n = len(piece)
    if n == 0:
        return 0.0
    counts = Counter(piece).values()
    return math.log2(n) - sum(map(_CLOG.__getitem__, counts)) / n


def exempt_piece(text: str, start: int, end: int, id_prefixes: tuple[str, ...]) -> bool:
    """True for a run of token characters that is data or words, not a credential.

    Example:
        >>> exempt_piece("data:image/png;base64,iVBORw0KGgoAAAANSUhEUg", 22, 44, ())
        True
        >>> exempt_piece("accounts/fireworks/models/llama-v3p1-405b-instruct", 0, 50, ())
        True
    """
    if _BORING.fullmatch(text, start, end) or _WORDY.fullmatch(text, start, end):
        return True
    if text.startswith(id_prefixes, start) or text.startswith(_MAGIC, start):
        return True
    return text.endswith("base64,", 0, start)


class Scanner:
    """Finds token-shaped secrets: named families by prefix, then the two shape rules.

    Example:
        >>> from brokle_trace.capture._rules import (BUILTIN_SHAPE_RULES, BUILTIN_TOKEN_RULES,
        ...     ID_PREFIXES)
        >>> s = Scanner(BUILTIN_TOKEN_RULES, BUILTIN_SHAPE_RULES, ID_PREFIXES)
        >>> s.spans("id chatcmpl-9pQx2Lk7RtYzWvB3nM5cD8eF1gH4j key hf_" + "Ab1" * 12)
        [(46, 85, 'huggingface_token')]
    """

    def __init__(
        self,
        families: Sequence[TokenRule],
        shapes: Iterable[ShapeRule],
        id_prefixes: Sequence[str],
    ) -> None:
        self.ids = tuple(id_prefixes)
        #: first three characters at a candidate position -> the families starting so
        self._by_key, self._hex_keys = _index(tuple(families))
        named = {s.name: s for s in shapes}
        self.prefixed = named.get("prefixed_token")
        #: run text -> (a family key occurs in it, what the shape rules find in it)
        self._cache: dict[str, tuple[bool, tuple[tuple[int, int, str], ...]]] = {}
        self.entropy = named.get("high_entropy")

    def spans(self, text: str) -> list[tuple[int, int, str]]:
        """``(start, end, family)`` of every token-shaped secret in ``text`` (unmerged)."""
        found: list[tuple[int, int, str]] = []
        cache = self._cache
        hit: tuple[bool, tuple[tuple[int, int, str], ...]] | None
        for i, j in candidate_runs(text, self._hex_keys):
            if text.endswith("base64,", 0, i):
                continue  # a data: URI's payload
            run = text[i:j]
            # Whether a family starts in the run, and what the shape rules find in it,
            # depend on its text alone (ids, paths and names repeat: a tool call's id,
            # every frame's file); only a family's own match may look around the run.
            # A long run is never kept, so never looked up (hashing it costs ~3 a character).
            hit = cache.get(run) if j - i <= _CACHED_RUN_MAX else None
            if hit is None:
                hit = self._judge(run)
                if j - i <= _CACHED_RUN_MAX:
                    if len(cache) >= _CACHE_MAX:
                        cache.clear()
                    cache[run] = hit
            if not hit[0]:
                if hit[1]:
                    found.extend((a + i, b + i, name) for a, b, name in hit[1])
                continue
            first = len(found)
            self._families(text, i, j, found)
            named = found[first:]
            # A shape never overlaps a family: the family names the secret (and a token in
            # a URL path keeps the path around it).
            for a, b, name in hit[1]:
                start, end = a + i, b + i
                if all(end <= s or start >= e for s, e, _ in named):
                    found.append((start, end, name))
        return found

    def _judge(self, run: str) -> tuple[bool, tuple[tuple[int, int, str], ...]]:
        """(a family key occurs in the run, what the shape rules find in it)."""
        if _BORING.fullmatch(run) and run[:3] not in self._hex_keys:
            return False, ()  # digests, UUIDs, numbers
        shapes: list[tuple[int, int, str]] = []
        sep = _first_separator(run)
        if not run.startswith(self.ids):  # an object id (or a digest) is never a secret
            self._shapes(run, sep, shapes)
        keys = _BOUNDARY.findall(run, sep) if sep >= 0 else []
        keys.append(run[:3])
        return not self._by_key.keys().isdisjoint(keys), tuple(shapes)

    def _shapes(self, run: str, sep: int, found: list[tuple[int, int, str]]) -> None:
        """What the shape rules find in ``run``, whose first separator is at ``sep``."""
        n = len(run)
        if self.prefixed is not None and sep >= 0 and _BODY.search(run, sep):
            self._prefixed(run, 0, n, found)
        if self.entropy is not None and n >= self.entropy.min_length:
            self._entropy(run, 0, n, found)

    def _families(self, text: str, i: int, j: int, found: list[tuple[int, int, str]]) -> None:
        by_key = self._by_key
        starts = [i] + [m.start(1) for m in _BOUNDARY.finditer(text, i, j)]
        seen = set(starts)
        for p in starts:  # grows: a secret may start right where another one ends
            candidates = by_key.get(text[p : p + 3])
            if candidates is not None:
                for rx, name in candidates:
                    m = rx.match(text, p)
                    if m is not None:
                        found.append((p, m.end(), name))
                        # Keys pasted together ("AKIA...sk-..."): the next one starts with
                        # no separator before it, where no boundary would look.
                        if m.end() < j and m.end() not in seen:
                            seen.add(m.end())
                            starts.append(m.end())

    def _prefixed(self, text: str, i: int, j: int, found: list[tuple[int, int, str]]) -> None:
        rule = self.prefixed
        assert rule is not None
        for p in [i] + [m.end() for m in _SHAPE_STARTS.finditer(text, i, j)]:
            m = _PREFIXED.match(text, p, j)
            if m is None or text.startswith(self.ids, p):
                continue
            body = m.group(2)
            if (
                len(body) <= rule.max_length
                and not _HEX_BODY.fullmatch(body)
                and not body.isalpha()
                and not body.isdigit()
                and changes(body) >= rule.min_changes
            ):
                found.append((p, m.end(), rule.name))

    def _entropy(self, text: str, i: int, j: int, found: list[tuple[int, int, str]]) -> None:
        rule = self.entropy
        assert rule is not None
        for a, b in _pieces(text, i, j, rule.min_length):
            n = b - a
            if n > rule.max_length or exempt_piece(text, a, b, self.ids):
                continue
            piece = text[a:b]
            if changes(piece) < rule.min_changes:
                continue
            if entropy(piece) >= min(rule.entropy * math.log2(n), rule.entropy_cap):
                found.append((a, b, rule.name))


@functools.lru_cache(maxsize=8)
def _index(
    families: tuple[TokenRule, ...],
) -> tuple[dict[str, tuple[tuple[re.Pattern[str], str], ...]], frozenset[str]]:
    """The prefix dictionary of a family table, built once per table (settings objects are
    created often: one per ``configure``, and tests make many)."""
    by_key: dict[str, list[tuple[re.Pattern[str], str]]] = {}
    for rule in families:
        rx = re.compile(rule.pattern)
        for key in sorted(_keys(rule.prefixes)):
            entries = by_key.setdefault(key, [])
            if (rx, rule.name) not in entries:
                entries.append((rx, rule.name))
    hex_keys = frozenset(k for k in by_key if not k.strip("0123456789abcdef-"))
    return {k: tuple(v) for k, v in by_key.items()}, hex_keys


def _keys(prefixes: Iterable[str]) -> set[str]:
    """Three-character lookup keys: a shorter prefix is expanded over the token characters
    that may follow it (``SK`` -> ``SK0`` ... ``SKz``, ``SK_``...)."""
    keys: set[str] = set()
    for prefix in prefixes:
        options = {prefix[:3]}
        while len(next(iter(options))) < 3:
            options = {k + c for k in options for c in TOKEN_CHARS}
        keys |= options
    return keys


def _pieces(text: str, i: int, j: int, minimum: int) -> list[tuple[int, int]]:
    """The parts of a run the entropy rule judges: split at ``.``, and at ``/`` in paths
    (a leading slash, a slash every dozen characters, or a component that is a word of five
    or more letters); separators trimmed from the ends."""
    out: list[tuple[int, int]] = []
    for a, b in _split(text, i, j, "."):
        if b - a < minimum:
            continue
        parts = [(a, b)]
        slashes = text.count("/", a, b) if text.find("/", a, b) >= 0 else 0  # find: memchr
        if slashes:
            segments = _split(text, a, b, "/")
            if (
                text[a] == "/"
                or slashes * 12 >= b - a
                or any(d - c >= 5 and _WORDY.fullmatch(text, c, d) for c, d in segments)
            ):
                parts = segments  # a path: its components are judged one by one
        for first, last in parts:
            c, d = first, last
            while c < d and text[c] in "_-+/":
                c += 1
            while d > c and text[d - 1] in "_-+/":
                d -= 1
            if d - c >= minimum:
                out.append((c, d))
    return out


def _split(text: str, i: int, j: int, sep: str) -> list[tuple[int, int]]:
    out = []
    a = i
    while True:
        k = text.find(sep, a, j)
        if k < 0:
            out.append((a, j))
            return out
        out.append((a, k))
        a = k + 1
