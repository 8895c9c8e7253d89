"""``brokle-trace view``: trees, order, filters, colour/plain, bounds."""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import Any

import pytest

from brokle_trace.cli import main
from tests.cli.conftest import span, three_traces, tid, write_jsonl


def view(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["view", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_demo_trace_shows_as_a_tree(demo_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = view(capsys, str(demo_file), "--last", "1")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("trace ") and "14 spans" in lines[0] and "user=demo-user" in lines[0]
    assert lines[1].startswith("demo-request  ")
    assert any(line.startswith("└─ document-analysis  [agent]") for line in lines)
    assert sum("summarize-section  [llm]" in line and "gpt-4o-mini" in line for line in lines) == 4
    assert any("ERROR TransientProviderError: provider overloaded" in line for line in lines)
    # a one-line preview under a span, inside the tree's guides
    assert any(line.lstrip(" │").startswith('in: {"document":"Quarterly report') for line in lines)


def test_newest_first_with_facts(three: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = view(capsys, str(three))
    headers = [line.split()[1] for line in out.splitlines() if line.startswith("trace ")]
    assert headers == [tid(3), tid(2), tid(1)]
    chat = next(line for line in out.splitlines() if "chat" in line)
    assert "[llm]" in chat and "80.0 ms" in chat and "gpt-4o" in chat
    assert "120→30 tok" in chat and "$0.0015" in chat
    # children under their parent even when the child was written first
    lines = out.splitlines()
    assert lines.index(next(x for x in lines if x.startswith("agent-run"))) < lines.index(chat)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--trace", tid(2)[:6]], [2]),  # a prefix is enough
        (["--last", "2"], [3, 2]),
        (["--errors"], [2]),
        (["--session", "s1"], [1]),
        (["--user", "b"], [3]),
        (["--name", "LOOK"], [2]),  # any span of the trace, any case
        (["--errors", "--user", "a"], []),  # filters combine with AND
    ],
)
def test_filters(
    three: Path, capsys: pytest.CaptureFixture[str], args: list[str], expected: list[int]
) -> None:
    code, out, err = view(capsys, str(three), *args)
    shown = [int(line.split()[1][:2], 16) for line in out.splitlines() if line.startswith("trace ")]
    assert shown == expected
    assert code == (0 if expected else 1)
    if not expected:
        assert "none of the 3 traces matches" in err


def test_last_defaults_to_20_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = write_jsonl(
        tmp_path / "many.jsonl", [span(i, i, None, f"t{i}", i, i + 1) for i in range(1, 26)]
    )
    _, out, err = view(capsys, str(f))
    assert sum(line.startswith("trace ") for line in out.splitlines()) == 20
    assert "showing the 20 newest of 25 traces" in err
    _, out, _ = view(capsys, str(f), "--all")
    assert sum(line.startswith("trace ") for line in out.splitlines()) == 25


def test_bad_lines_are_counted_not_fatal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = write_jsonl(
        tmp_path / "torn.jsonl",
        three_traces(),
        extra=b'[1, 2]\n{"name": "x"}\n\n{"name": "torn", "trace_id": "ab',
    )
    code, out, err = view(capsys, str(f))
    assert code == 0 and sum(line.startswith("trace ") for line in out.splitlines()) == 3
    assert "3 bad lines skipped" in err
    assert "line 7: not a JSON object" in err and "missing 'trace_id'" in err
    assert "line 10: invalid JSON (truncated)" in err


def test_missing_and_empty_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert view(capsys, str(tmp_path / "nope.jsonl"))[0] == 2
    (tmp_path / "empty.jsonl").write_text("")
    code, _, err = view(capsys, str(tmp_path / "empty.jsonl"))
    assert code == 1 and "no traces" in err


def test_orphans_and_deep_traces(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    depth = 1200  # deeper than the recursion limit: the walk is iterative
    spans = [span(1, 1, None, "root", 0, depth + 1)]
    spans += [span(1, i, i - 1, f"d{i}", i - 1, depth + 1 - i) for i in range(2, depth + 1)]
    spans.append(span(1, 99999, 88888, "orphan", 1, 2))  # parent not in the file
    f = write_jsonl(tmp_path / "deep.jsonl", spans)
    _, out, _ = view(capsys, str(f), "--max-spans", "0", "--no-preview")
    lines = out.strip().splitlines()
    assert len(lines) == 1 + depth + 1
    assert lines[-1].startswith("orphan")  # shown as a root, after the older root's tree
    _, out, _ = view(capsys, str(f), "--max-spans", "10")
    assert "… 1191 more spans (--max-spans 0 shows all)" in out


def test_colour_with_rich(three: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("rich")
    _, out, _ = view(capsys, str(three), "--color", "always")
    assert "\x1b[" in out and "agent-run" in out and "└──" in out
    _, out, _ = view(capsys, str(three), "--color", "never")
    assert "\x1b[" not in out


def test_plain_when_rich_is_missing(
    three: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real_import = builtins.__import__

    def no_rich(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "rich" or name.startswith("rich."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_rich)
    code, out, err = view(capsys, str(three), "--color", "always")
    assert code == 0 and "\x1b[" not in out and "└─ chat" in out
    assert "pip install brokle-trace[view]" in err


def test_file_defaults_to_the_librarys_default(
    three: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(three.parent)
    three.rename(three.parent / "brokle_traces.jsonl")
    assert main(["view", "--last", "1"]) == 0
    assert "agent-run" in capsys.readouterr().out
    monkeypatch.setenv("BROKLE_TRACES_FILE", "elsewhere.jsonl")
    assert main(["stats"]) == 2
