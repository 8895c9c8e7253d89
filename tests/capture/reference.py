"""A naive reading of the redaction rules, for the differential property test.

Everything the optimised redactor does to go fast is absent here: no character gates, no
lower-cased copy (``re.IGNORECASE`` instead), no byte translation, no prefix dictionary
(every family is tried at every position that may start one), no caches, and entropy,
class changes and candidate runs are computed by plain loops. The rule table and the
checks are shared: they *are* the rules.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Sequence

from brokle_trace.capture._checks import CHECKS
from brokle_trace.capture._rules import ShapeRule, TokenRule, ValueRule

TOKEN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+/.")
ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
URL = ALNUM | frozenset("_-")
B64 = ALNUM | frozenset("+/")
HEXDASH = frozenset("0123456789abcdef-")
SEPS = "_-+/."


def _run_around(text: str, k: int, chars: frozenset[str]) -> tuple[int, int]:
    i = j = k
    while i > 0 and text[i - 1] in chars:
        i -= 1
    while j < len(text) and text[j] in chars:
        j += 1
    return i, j


def candidates(text: str, hex_keys: frozenset[str]) -> list[tuple[int, int]]:
    found = set()
    k = 0
    while k < len(text):  # every maximal base64url run of 16+
        if text[k] not in URL:
            k += 1
            continue
        a, b = _run_around(text, k, URL)
        k = b
        if b - a < 16:
            continue
        whole = _run_around(text, a, TOKEN)
        if set(text[a:b]) <= HEXDASH and whole == (a, b) and text[a : a + 3] not in hex_keys:
            continue
        found.add(whole)
    for q, c in enumerate(text):  # a base64 separator with base64 around it
        if c not in "+/" or q < 16:
            continue
        if not (
            all(ch in ALNUM for ch in text[q - 6 : q])
            and all(ch in B64 for ch in text[q - 16 : q])
            and all(ch in ALNUM for ch in text[q + 1 : q + 7])
            and all(ch in B64 for ch in text[q + 1 : q + 16])
            and len(text[q + 1 : q + 16]) == 15
        ):
            continue
        a, b = _run_around(text, q, B64)
        if b - a >= 32 and text.count("/", a, b) * 12 < b - a:
            found.add(_run_around(text, a, TOKEN))
    return sorted(found)


def changes(piece: str) -> float:
    def kind(c: str) -> int:
        return (
            0
            if c.isupper() and c.isascii()
            else 1
            if c.islower() and c.isascii()
            else (2 if c.isdigit() and c.isascii() else 3)
        )

    if len(piece) < 2:
        return 0.0
    return sum(kind(a) != kind(b) for a, b in itertools.pairwise(piece)) / (len(piece) - 1)


def entropy(piece: str) -> float:
    n = len(piece)
    return -sum(c / n * math.log2(c / n) for c in Counter(piece).values())


_SEGMENT = re.compile(
    r"[A-Z]?[a-z]+[0-9]*|[A-Z]+[0-9]*|[0-9]+[A-Za-z]{0,2}|[A-Za-z0-9]{1,4}"
    r"|[0-9a-f]{6,}"
)
_MAGIC = ("iVBORw0KGgo", "/9j/", "R0lGOD", "UklGR", "JVBERi0", "UEsDB", "AAAA", "SUQz", "H4sI")


def wordy(piece: str) -> bool:
    parts = [p for p in re.split(r"[-_./+]+", piece) if p]
    return bool(parts) and all(_SEGMENT.fullmatch(p) for p in parts)


def boring(piece: str) -> bool:
    return bool(re.fullmatch(r"[0-9a-f.\-]+|[0-9A-F.\-]+|[0-9.\-+/_]+", piece))


def pieces(text: str, i: int, j: int, minimum: int) -> list[tuple[int, int]]:
    out = []
    start = i
    for k in range(i, j + 1):
        if k < j and text[k] != ".":
            continue
        a, b = start, k
        start = k + 1
        if b - a < minimum:
            continue
        slashes = text.count("/", a, b)
        parts = [(a, b)]
        segments, s = [], a
        for m in range(a, b + 1):
            if m == b or text[m] == "/":
                segments.append((s, m))
                s = m + 1
        if slashes and (
            text[a] == "/"
            or slashes * 12 >= b - a
            or any(d - c >= 5 and wordy(text[c:d]) for c, d in segments)
        ):
            parts = segments
        for first, last in parts:
            c, d = first, last
            while c < d and text[c] in "_-+/":
                c += 1
            while d > c and text[d - 1] in "_-+/":
                d -= 1
            if d - c >= minimum:
                out.append((c, d))
    return out


def token_spans(
    text: str, families: Sequence[TokenRule], shapes: Sequence[ShapeRule], ids: tuple[str, ...]
) -> list[tuple[int, int, str]]:
    """Family matches, and shape matches that overlap none of their run's family matches."""
    compiled = [(re.compile(f.pattern), f.name) for f in families]
    hex_keys = frozenset(
        p[:3] for f in families for p in f.prefixes if len(p) >= 3 and set(p[:3]) <= HEXDASH
    )
    by_name = {s.name: s for s in shapes}
    found = []
    for i, j in candidates(text, hex_keys):
        if (boring(text[i:j]) and text[i : i + 3] not in hex_keys) or text[:i].endswith("base64,"):
            continue
        named = []
        ends: set[int] = set()  # a key pasted right after another starts where it ends
        for p in range(i, j):
            if (p == i or text[p - 1] in SEPS or p in ends) and text[p] in ALNUM:
                for rx, name in compiled:
                    m = rx.match(text, p)
                    if m is not None:
                        named.append((p, m.end(), name))
                        ends.add(m.end())
        found += named
        shaped: list[tuple[int, int, str]] = []
        if text[i:j].startswith(ids):  # a run that starts as an object id: no shape rule
            continue
        rule = by_name.get("prefixed_token")
        if rule is not None:
            starts = [i] + [
                p + 1 for p in range(i, j - 1) if text[p] in "/.+" and "a" <= text[p + 1] <= "z"
            ]
            for p in starts:
                m = re.match(
                    r"([a-z][a-z0-9]{1,9}(?:[_-][a-z0-9]{1,9}){0,2}[_-])"
                    r"([A-Za-z0-9]{20,})(?![A-Za-z0-9])",
                    text[p:j],
                )
                if m is None or text[p:].startswith(ids):
                    continue
                body = m.group(2)
                if (
                    len(body) <= rule.max_length
                    and not re.fullmatch(r"[0-9a-f]+|[0-9A-F]+", body)
                    and not body.isalpha()
                    and not body.isdigit()
                    and changes(body) >= rule.min_changes
                ):
                    shaped.append((p, p + m.end(), rule.name))
        rule = by_name.get("high_entropy")
        if rule is not None:
            for a, b in pieces(text, i, j, rule.min_length):
                piece = text[a:b]
                if (
                    b - a > rule.max_length
                    or boring(piece)
                    or wordy(piece)
                    or piece.startswith(ids)
                    or piece.startswith(_MAGIC)
                    or text[:a].endswith("base64,")
                ):
                    continue
                if changes(piece) < rule.min_changes:
                    continue
                if entropy(piece) >= min(rule.entropy * math.log2(b - a), rule.entropy_cap):
                    shaped.append((a, b, rule.name))
        found += [(a, b, n) for a, b, n in shaped if all(b <= s or a >= e for s, e, _ in named)]
    return found


def value_spans(
    text: str, rules: Sequence[ValueRule], disabled: frozenset[str] = frozenset()
) -> list[tuple[int, int, str]]:
    found = []
    for rule in rules:
        flags = re.IGNORECASE | re.ASCII if rule.lower else 0
        target, offset = (" " + text, 1) if rule.lower else (text, 0)
        check = CHECKS[rule.check] if rule.check else None
        for source in rule.patterns:
            rx = re.compile(source, flags)
            for m in rx.finditer(target):
                span = m.span()
                for name in sorted(
                    (n for n in rx.groupindex if n.startswith("s")), key=rx.groupindex.__getitem__
                ):
                    if m.start(name) != -1:
                        span = m.span(name)
                        break
                if span[1] <= span[0]:
                    continue
                start, end = span[0] - offset, span[1] - offset
                if check is None:
                    found.append((start, end, rule.name))
                    continue
                hit = check(text, start, end, m.start() - offset)
                if hit is not None and hit[1] > hit[0] and hit[2] not in disabled:
                    found.append(hit)
    return found


def redact(
    text: str,
    rules: Sequence[ValueRule],
    families: Sequence[TokenRule] = (),
    shapes: Sequence[ShapeRule] = (),
    ids: tuple[str, ...] = (),
) -> str:
    """Union of every rule's spans, leftmost name per run; repeated until stable (4 passes)."""
    for _ in range(4):
        found = sorted(value_spans(text, rules) + token_spans(text, families, shapes, ids))
        if not found:
            break
        runs: list[list[object]] = []
        for start, end, name in found:
            if runs and start < runs[-1][1]:  # type: ignore[operator]
                runs[-1][1] = max(runs[-1][1], end)  # type: ignore[type-var]
            else:
                runs.append([start, end, name])
        out, pos = [], 0
        for start, end, name in runs:
            out += [text[pos:start], f"[REDACTED:{name}]"]  # type: ignore[misc]
            pos = end  # type: ignore[assignment]
        text = "".join(out) + text[pos:]
    return text
