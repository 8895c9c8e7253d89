"""Redaction cost per 4 KB of text: the current rule table against an older one, same process.

Run: ``python benchmarks/bench_redact.py [--baseline REV] [--quick]``. The baseline's
``brokle_trace/capture/_rules.py`` and ``_redact.py`` are read from git at ``REV`` (default:
the commit before the rule table grew, issue 14) and loaded as a separate package, so both
redactors run on the same texts, interleaved, in one process: the ratio is what to compare
(the machine is noisy; absolute numbers are not).

Every call bypasses the redactor's text cache (``keep=len(text)``), so this is the cost of a
text seen for the first time. Texts are ~4 KB each, shaped like what LLM apps log: prose,
chat JSON with provider ids, a stack trace, code with configuration, a log with UUIDs and
hashes, and a base64 image data URI.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import importlib.util
import json
import random
import string
import subprocess
import sys
import time
import types
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from brokle_trace.capture import CaptureSettings  # noqa: E402
from brokle_trace.capture._rules import BUILTIN_TOKEN_RULES, BUILTIN_VALUE_RULES  # noqa: E402

#: The last commit with the 13-family rule table (main before issue 14).
DEFAULT_BASELINE = "8a3e8bc"
SIZE = 4096


_PROSE = (
    "the model read contract then summarised each clause for user indemnity section caps "
    "liability at twelve months of fees and renewal is automatic unless either party "
    "objects ninety days before end date invoice shipped carrier tracking refund policy "
    "customer asked whether support team could confirm delivery window"
)
_WORDS = _PROSE.split(" ")
_B62 = string.ascii_letters + string.digits


def _fit(parts: list[str]) -> str:
    return "".join(parts)[:SIZE]


def texts(seed: int = 14) -> dict[str, str]:
    """~4 KB samples, one per kind of text; nothing repeats inside a sample (a text of
    repeated lines would hit the scanner's per-run cache), deterministic per seed."""
    rng = random.Random(seed)

    def word() -> str:
        return rng.choice(_WORDS)

    def ident(prefix: str, n: int) -> str:
        return prefix + "".join(rng.choice(_B62) for _ in range(n))

    prose = [
        " ".join(word() for _ in range(rng.randint(8, 20))).capitalize() + ". " for _ in range(80)
    ]
    chat = []
    for _ in range(12):
        call = ident("call_", 24)
        chat.append(
            json.dumps(
                {
                    "id": ident("chatcmpl-", 29),
                    "model": "gpt-4o-mini",
                    "max_tokens": 512,
                    "messages": [
                        {"role": "user", "content": " ".join(word() for _ in range(12))},
                        {
                            "role": "assistant",
                            "tool_calls": [
                                {
                                    "id": call,
                                    "type": "function",
                                    "function": {
                                        "name": "lookup_order",
                                        "arguments": json.dumps(
                                            {"order_id": rng.randint(1, 99999)}
                                        ),
                                    },
                                }
                            ],
                        },
                        {"role": "tool", "tool_call_id": call, "content": word()},
                    ],
                    "usage": {"prompt_tokens": rng.randint(10, 999), "completion_tokens": 64},
                }
            )
        )
    modules = [
        "httpx/_transports/default",
        "openai/_base_client",
        "anyio/_backends/_asyncio",
        "starlette/routing",
        "fastapi/routing",
        "pydantic/main",
        "app/services/answer",
        "app/retrieval/search",
        "langchain_core/runnables/base",
    ]
    trace = ["Traceback (most recent call last):\n"]
    for i in range(40):
        mod = rng.choice(modules)
        trace.append(
            f'  File "/srv/app/.venv/lib/python3.12/site-packages/{mod}.py", line '
            f"{rng.randint(10, 2000)}, in {word()}_{word()}\n"
            f"    result = {word()}.{word()}({word()}={word()}, timeout={i})\n"
        )
    trace.append("openai.APIConnectionError: Connection error.\n")
    code = ["import os\nfrom openai import OpenAI\n\n"]
    for _ in range(30):
        name = f"{word()}_{word()}"
        code.append(
            f"def {name}(question: str, *, max_tokens: int = {rng.randint(1, 999)})"
            f" -> str:\n    messages = [{{'role': 'user', 'content': question}}]\n"
            f"    return client.chat.completions.create(model=MODEL, messages="
            f"messages)  # {word()} {word()}\n"
        )
    log = [
        f"2024-05-0{i % 9 + 1}T12:00:{i % 60:02d}Z INFO "
        f"request_id={uuid.UUID(int=rng.getrandbits(128))} "
        f"commit={hashlib.sha1(str(i).encode()).hexdigest()} "
        f"sha256={hashlib.sha256(str(i).encode()).hexdigest()} status=200 path=/v1/items/{i}\n"
        for i in range(30)
    ]
    png = ["data:image/png;base64," + base64.b64encode(rng.randbytes(3100)).decode()]
    return {
        name: _fit(parts)
        for name, parts in {
            "prose": prose,
            "chat_json": chat,
            "stack_trace": trace,
            "code": code,
            "log": log,
            "png_data_uri": png,
        }.items()
    }


def load_baseline(rev: str) -> tuple[Any, Any] | None:
    """(rules module, redact module) of ``rev``, loaded under a private package name."""
    package = types.ModuleType("_baseline_capture")
    package.__path__ = []
    sys.modules["_baseline_capture"] = package
    modules = []
    for name in ("_rules", "_redact"):
        try:
            source = subprocess.run(
                ["git", "show", f"{rev}:brokle_trace/capture/{name}.py"],
                cwd=ROOT,
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        except (OSError, subprocess.CalledProcessError) as exc:
            print(f"baseline {rev} not readable from git ({exc}); current rules only")
            return None
        source = source.replace("brokle_trace.capture._rules", "_baseline_capture._rules")
        spec = importlib.util.spec_from_loader(f"_baseline_capture.{name}", loader=None)
        assert spec is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        exec(compile(source, f"{rev}:{name}.py", "exec"), module.__dict__)
        modules.append(module)
    return modules[0], modules[1]


def best_us(fns: dict[str, Callable[[], object]], number: int, repeats: int) -> dict[str, float]:
    """Best mean per call of each function, in microseconds of this thread's CPU time.

    The functions take turns within every repeat, so a noisy neighbour slows them alike;
    the minimum over repeats filters the rest."""
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.thread_time_ns()
            for _ in range(number):
                fn()
            best[name] = min(best[name], (time.thread_time_ns() - start) / number / 1000)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default=DEFAULT_BASELINE, help="git revision")
    parser.add_argument("--quick", action="store_true", help="fewer iterations")
    opts = parser.parse_args()
    number, repeats = (40, 15) if opts.quick else (50, 60)

    now = CaptureSettings()._compiled.redactor
    redactors: dict[str, Any] = {"now": now}
    base = load_baseline(opts.baseline)
    if base is not None:
        rules, redact = base
        redactors["before"] = redact.Redactor(
            rules.BUILTIN_KEY_RULES, rules.BUILTIN_VALUE_RULES, ()
        )
    samples = texts()
    print(
        f"{'text (4 KB)':<14} "
        + " ".join(f"{n + ' us':>10}" for n in redactors)
        + ("   now/before" if base is not None else "")
    )
    totals = dict.fromkeys(redactors, 0.0)
    for label, text in samples.items():
        row = best_us(
            {
                name: (lambda red=red, text=text: red.redact(text, len(text)))
                for name, red in redactors.items()
            },
            number,
            repeats,
        )
        for name in redactors:
            totals[name] += row[name]
        ratio = f"   {row['now'] / row['before']:.2f}x" if "before" in row else ""
        print(f"{label:<14} " + " ".join(f"{row[n]:>10.1f}" for n in redactors) + ratio)
    ratio = f"   {totals['now'] / totals['before']:.2f}x" if "before" in totals else ""
    print(f"{'all (sum)':<14} " + " ".join(f"{totals[n]:>10.1f}" for n in redactors) + ratio)
    print(
        f"rules: now {len(BUILTIN_VALUE_RULES)} value rules and {len(BUILTIN_TOKEN_RULES)} "
        "token families"
        + (f"; before {len(base[0].BUILTIN_VALUE_RULES)} value rules" if base is not None else "")
    )


if __name__ == "__main__":
    main()
