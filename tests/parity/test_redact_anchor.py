"""Value rules skip their regex when the pattern's literal prefix is not in the text: the
spans found are exactly those the regexes find without that check."""

from __future__ import annotations

import dataclasses
import re
import warnings

from hypothesis import given, settings
from hypothesis import strategies as st

from brokle_trace.capture import CaptureSettings, redact_text
from brokle_trace.capture._redact import Redactor, literal_prefix
from brokle_trace.capture._rules import BUILTIN_VALUE_RULES
from tests.capture.strategies import secrets
from tests.parity.fired import Fired, run


def _without_anchors(redactor: Redactor) -> Redactor:
    """The reference: the same redactor with every pattern's anchor check switched off."""
    groups = tuple(
        (
            gate,
            tuple(
                dataclasses.replace(
                    rule,
                    patterns=tuple(dataclasses.replace(p, anchor="") for p in rule.patterns),
                )
                for rule in rules
            ),
        )
        for gate, rules in redactor._groups
    )
    reference = object.__new__(Redactor)
    reference.__dict__.update(redactor.__dict__)
    reference._groups = groups
    return reference


ANCHORS = sorted(
    {literal_prefix(re.compile(p)) for rule in BUILTIN_VALUE_RULES for p in rule.patterns} - {""}
)
# Pieces real payloads are made of: every anchor, in both cases, next to the separators and
# quotes assignments use, the rules' own examples, secrets, JSON punctuation and prose.
PIECES = st.one_of(
    st.sampled_from(ANCHORS),
    st.sampled_from(ANCHORS).map(str.upper),
    st.sampled_from([r.example for r in BUILTIN_VALUE_RULES]),
    secrets().map(lambda pair: pair[0]),
    st.sampled_from(
        ['"', "'", ":", "=", ": ", " = ", "\\", "\t", "\n", "{", "}", "_", "-", "&", "?", "://"]
    ),
    st.sampled_from(["the", "user", "asked", "about", "api", "access", "keys", "Bearer "]),
    st.text(max_size=12),
)


def test_anchor_check_finds_what_the_regexes_find() -> None:
    redactor = CaptureSettings()._compiled.redactor
    reference = _without_anchors(redactor)
    anchored = [p for _, rules in redactor._groups for r in rules for p in r.patterns if p.anchor]

    @settings(max_examples=400, deadline=None)
    @given(pieces=st.lists(PIECES, max_size=14))
    def prop(fired: Fired, pieces: list[str]) -> None:
        text = "".join(pieces)
        lowered = " " + text.lower()
        # The shortcut fired when some anchored pattern was skipped for its anchor alone.
        fired.example(any(p.anchor not in text and p.anchor not in lowered for p in anchored))
        assert redactor.spans(text) == reference.spans(text)

    run(prop, min_share=0.3)


def test_every_builtin_assignment_rule_has_an_anchor() -> None:
    # The point of the check: the stems of secret_param (pass, secret, token, ...) are found
    # with a substring search; losing them to a parser change would silently cost ~25 us per
    # 3 KB of JSON again.
    rule = next(r for r in CaptureSettings()._compiled.redactor.rules if r.name == "secret_param")
    assert [p.anchor for p in rule.patterns][:4] == ["pass", "pwd", "secret", "token"]


def _parsed_prefix(pattern: str, flags: int = 0) -> str:
    """The reference: the literal prefix read from the regex parser's own parse tree."""
    try:
        from re import _constants as constants  # type: ignore[attr-defined]
        from re import _parser as parser  # type: ignore[attr-defined]
    except ImportError:  # Python 3.10
        import sre_constants as constants
        import sre_parse as parser
    if flags & (re.IGNORECASE | re.VERBOSE):
        return ""
    out = []
    for op, arg in parser.parse(pattern, flags):
        if op is constants.LITERAL:
            out.append(chr(arg))
            continue
        repeats = (constants.MAX_REPEAT, constants.MIN_REPEAT)
        repeats += (getattr(constants, "POSSESSIVE_REPEAT", constants.MAX_REPEAT),)  # 3.11+
        if op in repeats:
            low, _, body = arg
            if low >= 1 and len(body) == 1 and body[0][0] is constants.LITERAL:
                out.append(chr(body[0][1]))  # "a+", "a{2,}": every match starts with "a"
        break
    return "".join(out)


def test_builtin_anchors_are_what_the_parser_reads() -> None:
    for rule in BUILTIN_VALUE_RULES:
        for pattern in rule.patterns:
            assert literal_prefix(re.compile(pattern)) == _parsed_prefix(pattern), pattern


# Regex sources from the pieces the rules are written with.
REGEX_PIECES = st.sampled_from(
    [
        "a",
        "b",
        "key",
        "-",
        "_",
        ":",
        "/",
        "~",
        " ",
        "\\.",
        "\\-",
        "\\/",
        "\\|",
        "\\d",
        "\\b",
        "\\w",
        "?",
        "*",
        "+",
        "{2}",
        "{1,3}",
        "|",
        "(",
        ")",
        "(?:",
        "(?P<s>",
        "(?<=a)",
        "(?!b)",
        "[ab]",
        "[^a]",
        "[]a]",
        "[|]",
        "[\\]|]",
        ".",
        "^",
        "$",
        "(?i)",
        "(?i:",
        "=",
        '"',
        "'",
    ]
)


def test_literal_prefix_never_claims_more_than_the_parser() -> None:
    @settings(max_examples=600, deadline=None)
    @given(pieces=st.lists(REGEX_PIECES, max_size=10))
    def prop(fired: Fired, pieces: list[str]) -> None:
        source = "".join(pieces)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # 3.10 warns where 3.11+ refuses ("(?i)" late)
                rx = re.compile(source)
        except (re.error, DeprecationWarning):
            return
        ours = literal_prefix(rx)
        fired.example(bool(ours))
        assert _parsed_prefix(source, rx.flags).startswith(ours), source
        # What it claims is true of every match: each starts with it.
        for text in ("", ours, ours + "ab", "a" + ours, "keyab-:/"):
            m = rx.search(text)
            if m is not None and ours:
                assert text.startswith(ours, m.start()), (source, text)

    run(prop, min_share=0.2)


def test_literal_prefix_stops_where_the_match_may_vary() -> None:
    cases = {
        r"secret(?:s|_key)?=": "secret",
        r"secrets?=": "secret",  # the optional s is not part of every match
        r"ab+c": "ab",  # one b at least
        r"a|b": "",
        r"ab(?:c|d)|x": "",
        r"(?:ab|ac)x": "",  # the parser finds "a"; stopping early is safe
        r"-u(?<![a-z])": "-u",
        r"(?<=x)abc": "",
        r"[ab]cd": "",
        r"\.com/": ".com/",
        r"\d+x": "",
        r"-----BEGIN": "-----BEGIN",
        r"ab{2}c": "a",
        r"a[|]b": "a",
    }
    for pattern, prefix in cases.items():
        assert literal_prefix(re.compile(pattern)) == prefix, pattern
    assert literal_prefix(re.compile("secret", re.IGNORECASE)) == ""
    assert literal_prefix(re.compile("(?i)secret")) == ""


# A user's pattern may carry comments and verbose groups: brackets inside those are text, so
# counting them as groups hid a top-level "|", the anchor claimed the first alternative's
# prefix and the other alternative's secrets were never searched (a leak).
HIDDEN_ALTERNATIVES = [
    "ref(?#(note)|ORD-\\d{6}",
    "ref(?#[)|ORD-\\d{6}",
    "ref(?#\\)()|ORD-\\d{6}",
    "ref(?x: en # (\n)|ORD-\\d{6}",
    "ref(?x: en # [\n)|ORD-\\d{6}",
    "ref(?x: en # )\n)|ORD-\\d{6}",
    "ref(?ix: en # (\n)|ORD-\\d{6}",
]


def test_comments_and_verbose_groups_hide_no_alternative() -> None:
    for source in HIDDEN_ALTERNATIVES:
        rx = re.compile(source)
        assert rx.search("see ORD-123456") is not None, source
        assert literal_prefix(rx) == "", source
        settings_ = CaptureSettings(redact_patterns=(("order_id", source),))
        redacted = redact_text("see ORD-123456", settings_)
        assert redacted == "see [REDACTED:order_id]", source


# Pieces of user patterns the built-ins never use: comments, verbose groups and their
# comments, numeric and named escapes, non-quantifier braces, atomic and conditional groups.
USER_REGEX_PIECES = st.sampled_from(
    [
        "a",
        "ref",
        "ORD",
        "-",
        "|",
        "(",
        ")",
        "[",
        "]",
        "(?#",
        "(?#(",
        "(?#[",
        "(?x:",
        "(?x: # (\n",
        "# ",
        "\n",
        " ",
        "\\)",
        "\\]",
        "\\x41",
        "\\u0041",
        "\\N{LATIN SMALL LETTER A}",
        "\\0",
        "\\101",
        "{x",
        "{",
        "}",
        "(?(1)a|b)",
        "(?:",
        "(a)",
        "+",
        "?",
        "é",
        "É",
    ]
)


def test_literal_prefix_holds_for_every_match_of_user_patterns() -> None:
    @settings(max_examples=800, deadline=None)
    @given(
        pieces=st.lists(USER_REGEX_PIECES, max_size=8),
        tail=st.sampled_from(["", "|ORD", ")|ORD", "\n)|ORD"]),
        text=st.text("aAref-ORDé #(\n)[]"),
    )
    def prop(fired: Fired, pieces: list[str], tail: str, text: str) -> None:
        source = "ref" + "".join(pieces) + tail
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                rx = re.compile(source)
        except (re.error, DeprecationWarning, FutureWarning, OverflowError):
            return
        ours = literal_prefix(rx)
        fired.example(bool(ours))
        for m in rx.finditer("ORD-a ref" + text + "A" + text):
            assert m.string.startswith(ours, m.start()), (source, m)

    run(prop, min_share=0.05)
