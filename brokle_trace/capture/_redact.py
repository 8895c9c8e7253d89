"""The redactor: key-name rules and value rules compiled once per settings object.

Value rules run independently and their spans are *merged*, rather than being alternatives
of one big regex: with alternation a match of one rule can hide an overlapping secret found
by another (``Authorization: Bearer x`` matched as a header name, leaving the token); with
merging the union of everything any rule found is replaced.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from brokle_trace.capture._checks import CHECKS, Check
from brokle_trace.capture._rules import KeyRule, ShapeRule, TokenRule, ValueRule
from brokle_trace.capture._scan import Scanner

__all__ = [
    "CACHE_TEXT_MAX",
    "SHORT",
    "Redactor",
    "ascii_lower",
    "literal_prefix",
    "marker",
    "normalize_key",
]

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_KEY_SEPARATORS = re.compile(r"[\s.\-]+")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_KEY_CACHE_MAX = 4096
#: Longer keys are not cached by ``key_rule`` (4096 documents would be ~16 M characters).
_KEY_CACHED_MAX = 256
#: Strings up to this length have their redaction cached: keys and enum-like values
#: ("role": "user") repeat endlessly, and a lookup is ~20x cheaper than the rule scan.
SHORT = 64
#: Longest text whose redaction is cached, and the most characters the cache may hold.
CACHE_TEXT_MAX = 4096
_CACHE_CHARS_MAX = 4_000_000
_MAX_PASSES = 4


def marker(rule: str) -> str:
    """The text that replaces a secret: names the rule, never any part of the match."""
    return f"[REDACTED:{rule}]"


def normalize_key(key: str) -> str:
    """``"X-Api-Key"`` -> ``"x_api_key"``; ``"apiKey"`` and ``"API_KEY"`` -> ``"api_key"``."""
    return _KEY_SEPARATORS.sub("_", _CAMEL.sub("_", key)).lower()


def ascii_lower(text: str) -> str:
    """Lower-case A-Z only, so indices in the result are indices in ``text``.

    ``str.lower`` may change the length of non-ASCII text (``"İ".lower()`` is two code points),
    which would shift every span found on the lowered copy.
    """
    return text.lower() if text.isascii() else text.translate(_ASCII_LOWER)


@dataclass(frozen=True)
class _Pattern:
    rx: re.Pattern[str]
    secret_groups: tuple[int, ...]
    needs: str
    #: The literal every match starts with ("secret" for ``secret(?:s|_key)?...``): looked
    #: for with ``in`` (CPython's fast substring search) before the regex scans. The
    #: regex engine's own prefix scan walks the text a character at a time: on 3 KB of JSON
    #: it cost 8-60 us per pattern where ``in`` costs well under 1 us.
    anchor: str
    #: ``needs``' characters then ``anchor``: every one must occur in the text.
    required: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        required = tuple(self.needs) + ((self.anchor,) if self.anchor else ())
        object.__setattr__(self, "required", required)


def literal_prefix(rx: re.Pattern[str]) -> str:
    """Literal text every match of ``rx`` begins with ("" when there is none found).

    A quick reading of the pattern's source (parsing it again with the regex parser cost
    ~60 ms at import): it stops at the first group, class, escape sequence other than an
    escaped punctuation mark, or anchor; a quantified character ends it (``+`` keeps one);
    an alternative at the top level, case-insensitive or verbose matching give "". It may
    stop early, never late: the result is always a prefix of what the parser would say
    (``tests/parity/test_redact_anchor.py``).

    Example:
        >>> literal_prefix(re.compile(r"secret(?:s|_key)?=")), literal_prefix(re.compile("a|b"))
        ('secret', '')
    """
    if rx.flags & (re.IGNORECASE | re.VERBOSE):
        return ""
    src = rx.pattern
    if _alternates_at_top(src):
        return ""
    out: list[str] = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c == "\\":
            lit = src[i + 1 : i + 2]
            if not lit or lit.isalnum() or lit == "_":  # \d, \b, \1, \A ...: not literal
                break
            step = 2
        elif c in _META:
            break
        else:
            lit, step = c, 1
        after = src[i + step : i + step + 1]
        if after and after in "?*{+":
            if after == "+":
                out.append(lit)
            break
        out.append(lit)
        i += step
    return "".join(out)


_META = frozenset(".^$*+?{}[]|()")


_VERBOSE_GROUP = re.compile(r"\(\?[aiLmsux]*x[aiLmsux]*(?:-[imsx]*)?:")


def _alternates_at_top(src: str) -> bool:
    """Whether ``src`` has (or may have) a ``|`` outside every group and class.

    A comment ``(?#...)`` is skipped to its first unescaped ``)`` (its ``(`` and ``[`` are
    text, not a group or class); a group in verbose mode (``(?x:...)``) answers True
    outright, since its ``#`` comments may hold any bracket: both once miscounted the
    depth and hid a top-level ``|``, so the other alternative's matches were never searched.
    """
    if _VERBOSE_GROUP.search(src):
        return True
    depth = 0
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c == "\\":
            i += 2
            continue
        if src.startswith("(?#", i):
            i += 3
            while i < n and src[i] != ")":
                i += 2 if src[i] == "\\" else 1
            i += 1
            continue
        if c == "[":
            i += 1
            if src[i : i + 1] == "^":
                i += 1
            if src[i : i + 1] == "]":  # a ']' first is a member
                i += 1
            while i < n and src[i] != "]":
                i += 2 if src[i] == "\\" else 1
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth < 0:  # unbalanced as read here: this reading is wrong, claim nothing
                return True
        elif c == "|" and depth == 0:
            return True
        i += 1
    return False


@dataclass(frozen=True)
class _Rule:
    name: str
    patterns: tuple[_Pattern, ...]
    lower: bool
    need_all: str
    need_any: str
    check: Check | None


def _compile(rule: ValueRule) -> _Rule:
    patterns = []
    needs = rule.pattern_needs or ("",) * len(rule.patterns)
    for source, need in zip(rule.patterns, needs, strict=True):
        # Rules matched on ASCII-lowered text use ASCII classes too: a bare secret value then
        # ends only at ASCII whitespace, so "password=\x1f..." is redacted, not skipped
        # because \x1f is Unicode whitespace (found by the differential property test).
        rx = re.compile(source, re.ASCII if rule.lower else 0)
        groups = tuple(sorted(i for n, i in rx.groupindex.items() if n.startswith("s")))
        patterns.append(_Pattern(rx, groups, need, literal_prefix(rx)))
    return _Rule(
        rule.name,
        tuple(patterns),
        rule.lower,
        rule.need_all,
        rule.need_any,
        CHECKS[rule.check] if rule.check else None,
    )


class Redactor:
    """Finds secrets by key name and by value, for one settings object.

    Value rules are regexes (``value_rules``); token families and shape rules run in one
    ``Scanner`` pass. ``disabled`` names families a rule's check may report but that are
    switched off.

    Example:
        >>> from brokle_trace.capture._rules import (BUILTIN_KEY_RULES, BUILTIN_SHAPE_RULES,
        ...     BUILTIN_TOKEN_RULES, BUILTIN_VALUE_RULES, ID_PREFIXES)
        >>> r = Redactor(BUILTIN_KEY_RULES, BUILTIN_VALUE_RULES, (),
        ...              token_rules=BUILTIN_TOKEN_RULES, shape_rules=BUILTIN_SHAPE_RULES,
        ...              id_prefixes=ID_PREFIXES)
        >>> r.redact("key sk-proj-abc123def456ghi789jkl0 and hf_" + "Ab1" * 12)[0]
        'key [REDACTED:openai_key] and [REDACTED:huggingface_token]'
        >>> r.key_rule("max_tokens") is None, r.key_rule("X-Api-Key")
        (True, 'api_key')
    """

    def __init__(
        self,
        key_rules: Sequence[KeyRule],
        value_rules: Sequence[ValueRule],
        allow_keys: Iterable[str],
        *,
        token_rules: Sequence[TokenRule] = (),
        shape_rules: Sequence[ShapeRule] = (),
        id_prefixes: Sequence[str] = (),
        disabled: Iterable[str] = (),
    ) -> None:
        self._allow = frozenset(normalize_key(k) for k in allow_keys)
        self._key_names = tuple(r.name for r in key_rules)
        alternatives = "|".join(f"(?P<k{i}>{r.pattern})" for i, r in enumerate(key_rules))
        self._key_rx = re.compile(f"(?:^|_)(?:{alternatives})$") if key_rules else None
        self._key_cache: dict[str, str | None] = {}
        self._disabled = frozenset(disabled)
        self.rules = tuple(_compile(r) for r in value_rules)
        # Rules grouped by their required characters, checked once per group: most strings
        # fail every gate and cost a handful of memchr calls.
        groups: dict[str, list[_Rule]] = {}
        for rule in self.rules:
            groups.setdefault(rule.need_all, []).append(rule)
        self._groups = tuple((gate, tuple(rules)) for gate, rules in groups.items())
        self.scanner = (
            Scanner(token_rules, shape_rules, id_prefixes) if token_rules or shape_rules else None
        )
        self._markers: dict[str, str] = {}
        #: text -> (redacted text, redactions), for strings up to CACHE_TEXT_MAX characters.
        self.short_cache: dict[str, tuple[str, int]] = {}
        self._cached_chars = 0
        #: dict key -> (exported key text, key rule, redactions), same bound.
        self.key_info: dict[str, tuple[str, str | None, int]] = {}
        #: The export worker's ``_passthrough.Gate`` for this redactor, made on first use: kept
        #: here, it lives exactly as long as the settings do.
        self.gate: object = None

    # -- keys ---------------------------------------------------------------------------
    def key_rule(self, key: str) -> str | None:
        """The name of the key rule that makes ``key`` secret, or None (cached per key)."""
        cache = self._key_cache
        try:
            return cache[key]
        except KeyError:
            pass
        result: str | None = None
        if self._key_rx is not None:
            norm = normalize_key(key)
            if norm not in self._allow:
                m = self._key_rx.search(norm)
                if m is not None and m.lastgroup is not None:
                    result = self._key_names[int(m.lastgroup[1:])]
        if len(key) > _KEY_CACHED_MAX:
            return result  # a text asked about (the passthrough's): not kept
        if len(cache) >= _KEY_CACHE_MAX:
            cache.clear()  # bounded; a service with unbounded key variety just recomputes
        cache[key] = result
        return result

    def remember_key(self, key: str, text: str, rule: str | None, count: int) -> None:
        """Cache how a short key is exported (the walker asks for every row of a list)."""
        if len(self.key_info) >= _KEY_CACHE_MAX:
            self.key_info.clear()
        self.key_info[key] = (text, rule, count)

    # -- values -------------------------------------------------------------------------
    def spans(self, text: str) -> list[tuple[int, int, str]]:
        """Merged ``(start, end, family)`` spans of every secret in ``text``."""
        found: list[tuple[int, int, str]] = []
        lowered: str | None = None
        disabled = self._disabled
        # Plain loops with ``else``, not ``all(<generator>)``: these gates run ~30 times per
        # text, and on the short texts most attributes are, a generator's set-up costs more
        # than the searches themselves.
        for gate, rules in self._groups:
            for c in gate:
                if c not in text:
                    break
            else:
                for rule in rules:
                    for c in rule.need_any:
                        if c in text:
                            break
                    else:
                        if rule.need_any:
                            continue
                    if rule.lower:
                        if lowered is None:
                            # The leading space gives camelCase look-behinds a boundary at 0.
                            lowered = " " + ascii_lower(text)
                        target, offset = lowered, 1
                    else:
                        target, offset = text, 0
                    for pattern in rule.patterns:
                        for need in pattern.required:
                            if need not in target:
                                break
                        else:
                            self._matches(
                                text, target, offset, pattern, rule, found=found, disabled=disabled
                            )
        if self.scanner is not None:
            found += self.scanner.spans(text)
        if len(found) < 2:
            return found
        found.sort()
        merged = [found[0]]
        for start, end, name in found[1:]:
            last_start, last_end, last_name = merged[-1]
            if start < last_end:
                if end > last_end:
                    merged[-1] = (last_start, end, last_name)
            else:
                merged.append((start, end, name))
        return merged

    @staticmethod
    def _matches(
        text: str,
        target: str,
        offset: int,
        pattern: _Pattern,
        rule: _Rule,
        *,
        found: list[tuple[int, int, str]],
        disabled: frozenset[str],
    ) -> None:
        """Append what ``pattern`` (of ``rule``) finds in ``target`` (``text`` or its
        lowered copy, ``offset`` characters longer)."""
        check = rule.check
        for m in pattern.rx.finditer(target):
            start, end = m.span()
            for g in pattern.secret_groups:
                if m.start(g) != -1:
                    start, end = m.span(g)
                    break
            if end <= start:
                continue
            if check is None:
                found.append((start - offset, end - offset, rule.name))
                continue
            hit = check(text, start - offset, end - offset, m.start() - offset)
            if hit is not None and hit[1] > hit[0] and hit[2] not in disabled:
                found.append(hit)

    def redact(self, text: str, keep: int | None = None) -> tuple[str, int]:
        """Replace every secret in ``text``; return the text and how many were replaced.

        With ``keep``, only ``text[:keep]`` survives (original coordinates): a secret that
        *starts* before ``keep`` is replaced whole even if it runs past it, so cutting
        after redaction never leaves part of a secret.

        Repeats until nothing changes (at most a few passes): a marker can create a word
        boundary that exposes a neighbour (``AKIA...sk-...`` only shows its ``sk-`` key
        once the AWS id is gone), and a fixpoint also makes redaction idempotent.
        """
        # Redaction is a pure function of the text: prompts, templates and system messages
        # repeat on every call, so medium strings are cached too (bounded by total chars).
        short = keep is None and len(text) <= CACHE_TEXT_MAX
        if short:
            hit = self.short_cache.get(text)
            if hit is not None:
                return hit
        out, count = self._redact(text, self.spans(text), keep)
        passes = 1
        while count and passes < _MAX_PASSES:
            again, more = self._redact(out, self.spans(out), None)
            if not more:
                break
            out, count, passes = again, count + more, passes + 1
        if short:
            self._cached_chars += len(text) + len(out)
            if len(self.short_cache) >= _KEY_CACHE_MAX or self._cached_chars > _CACHE_CHARS_MAX:
                self.short_cache.clear()
                self._cached_chars = len(text) + len(out)
            self.short_cache[text] = (out, count)
        return out, count

    def _redact(
        self, text: str, spans: list[tuple[int, int, str]], keep: int | None
    ) -> tuple[str, int]:
        if not spans:
            return (text if keep is None else text[:keep]), 0
        end_of_text = len(text) if keep is None else keep
        parts: list[str] = []
        pos = 0
        count = 0
        markers = self._markers
        for start, end, name in spans:
            if start >= end_of_text:
                break
            parts.append(text[pos:start])
            mark = markers.get(name)
            if mark is None:
                mark = markers[name] = marker(name)
            parts.append(mark)
            pos = end
            count += 1
        if pos < end_of_text:
            parts.append(text[pos:end_of_text])
        return "".join(parts), count
