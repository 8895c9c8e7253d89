"""What every reader shares: rotated parts and several files, closed pipes, small costs,
``--version``, and LLM calls counted once (stats, view, html alike)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brokle_trace.cli import main
from brokle_trace.cli._calls import LlmCalls, format_cost
from tests.cli.conftest import llm_attrs, span, tid, write_jsonl

CLI = [sys.executable, "-m", "brokle_trace"]


def run(*args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=60, check=False, **kw
    )


def traces_shown(out: str) -> list[str]:
    return [line.split()[1] for line in out.splitlines() if line.startswith("trace ")]


def rotated(tmp_path: Path) -> Path:
    """A file rotated twice: trace 1 in .2, trace 2 straddling .1 and the active file."""
    f = tmp_path / "brokle_traces.jsonl"
    write_jsonl(f.with_name(f.name + ".2"), [span(1, 11, None, "oldest", 0, 5)])
    write_jsonl(f.with_name(f.name + ".1"), [span(2, 22, 21, "child", 11, 12)])
    write_jsonl(f, [span(2, 21, None, "straddler", 10, 20), span(3, 31, None, "newest", 30, 31)])
    (tmp_path / "brokle_traces.jsonl.bak").write_text("not a rotated part\n")
    return f


def test_rotated_parts_are_read_with_the_active_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = rotated(tmp_path)
    assert main(["view", str(f), "--no-preview"]) == 0
    out = capsys.readouterr().out
    assert traces_shown(out) == [tid(3), tid(2), tid(1)]
    assert "straddler  10.0 ms" in out and "└─ child" in out  # one tree across the rotation
    assert main(["view", str(f), "--no-rotated"]) == 0
    assert traces_shown(capsys.readouterr().out) == [tid(3), tid(2)]
    assert main(["stats", str(f), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["spans"], report["traces"], len(report["files"])) == (4, 3, 3)
    # The default file, from the working directory, is read with its parts too.
    monkey = pytest.MonkeyPatch()
    monkey.chdir(tmp_path)
    try:
        assert main(["stats", "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["spans"] == 4
    finally:
        monkey.undo()


def test_several_files_and_a_shell_glob_read_each_file_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rotated(tmp_path)
    other = write_jsonl(tmp_path / "other.jsonl", [span(4, 41, None, "elsewhere", 40, 41)])
    glob = sorted(str(p) for p in tmp_path.glob("brokle_traces.jsonl*") if p.suffix != ".bak")
    assert main(["stats", *glob, str(other), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["spans"] == 5  # not 9: no part read twice
    torn = write_jsonl(tmp_path / "torn.jsonl", [], extra=b"{oops\n")
    assert main(["view", str(other), str(torn)]) == 0
    assert "torn.jsonl line 1: invalid JSON" in capsys.readouterr().err
    assert main(["view", str(other), str(tmp_path / "missing.jsonl")]) == 2
    assert "no such file: " in capsys.readouterr().err


def test_closed_pipe_exits_quietly(tmp_path: Path) -> None:
    spans = [span(t, t, None, f"name-{t}", t, t + 1) for t in range(1, 3000)]
    f = write_jsonl(tmp_path / "many.jsonl", spans)
    for args in (["stats", str(f), "--top", "0"], ["view", str(f), "--all"]):
        proc = subprocess.Popen([*CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdout is not None and proc.stderr is not None
        first = proc.stdout.readline()  # what `| head -1` reads, then it goes away
        proc.stdout.close()
        err = proc.stderr.read().decode()
        assert proc.wait(timeout=60) == 141, err
        assert first and err == "", err  # no BrokenPipeError traceback, no "Exception ignored"


def test_version() -> None:
    from brokle_trace import __version__

    result = run("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"brokle-trace {__version__}"


@pytest.mark.parametrize(
    ("usd", "text"),
    [
        (0.0000189, "$0.000019"),
        (0.000019, "$0.000019"),
        (0.00042, "$0.00042"),
        (0.0015, "$0.0015"),
        (0.02, "$0.0200"),
        (1.5, "$1.50"),
        (1234.5, "$1,234.50"),
        (0.0, "$0.00"),
        (3e-9, "$0.0000000030"),
    ],
)
def test_small_costs_keep_two_significant_digits(usd: float, text: str) -> None:
    assert format_cost(usd) == text


def test_small_costs_in_every_reader(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = write_jsonl(
        tmp_path / "cheap.jsonl",
        [
            span(
                1,
                2,
                1,
                "chat",
                1,
                2,
                type="llm",
                attributes=llm_attrs("gpt-4o-mini", "openai", 30, 24, 0.0000189),
            ),
            span(1, 1, None, "root", 0, 3),
        ],
    )
    assert main(["view", str(f)]) == 0
    out = capsys.readouterr().out
    assert "$0.000019" in out.splitlines()[0] and "30→24 tok  $0.000019" in out
    assert main(["stats", str(f)]) == 0
    assert "$0.000019" in capsys.readouterr().out


# -- one LLM call, counted once -------------------------------------------------------------


def wrapped_call_file(tmp_path: Path) -> Path:
    """The issue's case, recorded for real: ``@observe_llm(model="gpt-4")`` around a call on
    a ``wrap_openai`` client (the SDK talking to the loopback fake server)."""
    script = tmp_path / "app.py"
    script.write_text(
        "import openai, brokle_trace\n"
        "from brokle_trace import observe, observe_llm\n"
        "from brokle_trace.llm import wrap_openai\n"
        "from brokle_trace.testing._fake_server import FakeLLMServer\n"
        "brokle_trace.configure(traces_file='calls.jsonl')\n"
        "with FakeLLMServer() as srv:\n"
        "    client = wrap_openai(openai.OpenAI(base_url=srv.url + '/v1', api_key='sk-x'))\n"
        "    @observe_llm(model='gpt-4')\n"
        "    def story(topic):\n"
        "        return client.chat.completions.create(model='gpt-4',\n"
        "            messages=[{'role': 'user', 'content': 'A story about ' + topic}])\n"
        "    @observe(name='request')\n"
        "    def request():\n"
        "        story('cats'); story('dogs')\n"
        "    request()\n"
        "brokle_trace.flush()\n"
    )
    subprocess.run(
        [sys.executable, str(script)], check=True, cwd=tmp_path, timeout=60, capture_output=True
    )
    return tmp_path / "calls.jsonl"


def test_wrapper_and_client_span_are_one_call(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = wrapped_call_file(tmp_path)
    assert main(["stats", str(f), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [(r["key"], r["calls"]) for r in report["by_model"]] == [("openai / gpt-4", 2)]
    total = report["total"]
    one = report["by_model"][0]
    assert (total["calls"], total["input_tokens"], total["cost_usd"]) == (
        2,
        one["input_tokens"],
        one["cost_usd"],
    )
    by_name = {r["key"]: r["calls"] for r in report["by_name"]}
    assert by_name["story"] == 2 and by_name["chat gpt-4"] == 2  # spans are still spans
    assert main(["view", str(f)]) == 0
    assert "2 LLM calls" in capsys.readouterr().out.splitlines()[0]


def llm(sid: int, parent: int | None, **extra: Any) -> dict[str, Any]:
    return span(
        1,
        sid,
        parent,
        f"call-{sid}",
        0,
        1,
        type="llm",
        attributes=llm_attrs("m", "p", 10, 5, 0.001),
        **extra,
    )


def test_unmarked_wrapper_counted_once_in_either_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Spans from another tool carry no roll-up mark; the parent may even come first (it
    # returned a stream its child consumed later).
    for order in ([llm(2, 1), llm(1, None)], [llm(1, None), llm(2, 1)]):
        f = write_jsonl(tmp_path / "u.jsonl", order)
        assert main(["stats", str(f), "--json"]) == 0
        report = json.loads(capsys.readouterr().out)
        total = report["total"]
        assert (total["calls"], total["input_tokens"], total["cost_usd"]) == (1, 10, 0.001)
        assert report["by_model"][0]["calls"] == 1 and report["slowest_traces"][0]["llm_calls"] == 1


@st.composite
def call_forests(draw: st.DrawFn) -> tuple[list[dict[str, Any]], int]:
    """Random trees of spans, some LLM calls nested in LLM calls, in a random file order;
    and how many LLM calls have no LLM call below them (the real calls)."""
    n = draw(st.integers(1, 25))
    parents = [None] + [draw(st.integers(0, i - 1)) for i in range(1, n)]
    is_llm = [draw(st.booleans()) for _ in range(n)]
    spans = [
        span(
            1,
            i + 1,
            None if p is None else p + 1,
            f"s{i}",
            0,
            1,
            type="llm" if is_llm[i] else "span",
            attributes=llm_attrs("m", "p", 1, 1, 0.5) if is_llm[i] else {},
        )
        for i, p in enumerate(parents)
    ]
    has_llm_child = {parents[i] for i in range(n) if is_llm[i] and parents[i] is not None}
    real = sum(1 for i in range(n) if is_llm[i] and i not in has_llm_child)
    return draw(st.permutations(spans)), real


@settings(max_examples=200, deadline=None)
@given(call_forests())
def test_each_call_counted_once_whatever_the_order(
    forest: tuple[list[dict[str, Any]], int],
) -> None:
    spans, real = forest
    calls = LlmCalls()
    counted = 0
    for s in spans:
        added, retracted = calls.feed(s)
        counted += (added is not None) - (retracted is not None)
    assert counted == real


def test_grand_total_and_groupings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spans = []
    for t, (user, session, tags) in enumerate(
        [("a", "s1", ["prod"]), ("a", "s2", ["prod", "v2"]), ("b", "s2", [])], start=1
    ):
        common = {"user_id": user, "session_id": session, "tags": tags}
        spans += [
            span(
                t,
                t * 10 + 1,
                t * 10,
                "chat",
                t * 100,
                t * 100 + 5,
                type="llm",
                attributes=llm_attrs("gpt-4o", "openai", 100, 10, 0.0025),
                **({"status": "error"} if t == 3 else {}),
                **common,
            ),
            span(t, t * 10, None, "request", t * 100, t * 100 + 9, **common),
        ]
    f = write_jsonl(tmp_path / "g.jsonl", spans)
    assert main(["stats", str(f), "--json", "--by", "user", "--by", "session", "--by", "tag"]) == 0
    r = json.loads(capsys.readouterr().out)
    t = r["total"]
    assert (t["key"], t["calls"], t["errors"], t["input_tokens"], t["output_tokens"]) == (
        "total",
        3,
        1,
        300,
        30,
    )
    assert t["cost_usd"] == pytest.approx(0.0075) and t["error_rate"] == pytest.approx(1 / 3)
    assert (r["spans"], r["errors"]) == (6, 1)
    users = {u["key"]: (u["traces"], u["llm_calls"], u["errors"]) for u in r["by_user"]}
    assert users == {"a": (2, 2, 0), "b": (1, 1, 1)}
    assert {s["key"]: s["traces"] for s in r["by_session"]} == {"s1": 1, "s2": 2}
    assert {g["key"]: g["llm_calls"] for g in r["by_tag"]} == {"prod": 2, "v2": 1, "(no tag)": 1}
    assert main(["stats", str(f), "--by", "user"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].endswith(
        "6 spans in 3 traces · 1 error (16.7%) · 3 LLM calls · 300→30 tokens · $0.0075"
    )
    total_row = next(line for line in out.splitlines() if line.startswith("total"))
    assert total_row.split()[:4] == ["total", "3", "1", "(33.3%)"]
    assert total_row.split()[-1] == "$0.0075"
    assert "By user" in out and next(
        line for line in out.splitlines() if line.startswith("b ")
    ).split()[:6] == ["b", "1", "2", "1", "(50.0%)", "1"]


def test_view_header_carries_the_totals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = write_jsonl(
        tmp_path / "h.jsonl",
        [
            llm(2, 1),
            span(1, 3, 1, "tool", 0, 1, type="tool", status="error"),
            span(1, 1, None, "root", 0, 2),
        ],
    )
    assert main(["view", str(f)]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert "3 spans  1 LLM call  10→5 tok  $0.0010  1 error" in header
