"""Instruction counts of third-party spans: our processor path vs the SDK's stock path.

Run:  python benchmarks/callgrind_foreign.py [--times 150]

Records the instrumentors' spans once (natively), then runs ``bench_foreign``'s modes on
them under ``valgrind --tool=callgrind`` (every thread of the
process, the export worker included; the OTLP receiver is another process and is not
counted), each with N and 2N replays of the recorded instrumentor spans, and prints the
difference per span: repeatable on a noisy machine where CPU times are not. As in
``bench_foreign``, ``bare`` (creating the spans with no processor) is subtracted from the
ratios.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODES = ("bare", "sdk", "ours", "ours-noredact", "ours-noredact-userprices")

_CHILD = """
import sys
sys.path.insert(0, {here!r})
import bench_foreign as bf
mode, times = sys.argv[1], int(sys.argv[2])
spans = bf.load_spans(sys.argv[3])  # recorded once by the parent, natively
bf._variants(spans, times)  # built before counting starts, as in bench_foreign
rec = bf.Receiver()
try:
    if mode == "bare":
        cpu, n, got = bf.run_bare(spans, times)
    elif mode == "sdk":
        cpu, n, got = bf.run_sdk(spans, times, rec)
    else:
        cpu, n, got = bf.run_ours(
            spans, times, rec,
            redact=mode == "ours",
            prices=bf.USER_PRICES if mode.endswith("userprices") else None,
        )
    assert got == n, (got, n)
    print(n)
finally:
    rec.close()
"""


def count(mode: str, times: int, spans: str) -> tuple[int, int]:
    """(instructions, spans) of one run over the spans saved in ``spans``."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cg.out"
        script = Path(tmp) / "child.py"
        script.write_text(_CHILD.format(here=str(HERE)))
        done = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={out}",
                sys.executable,
                str(script),
                mode,
                str(times),
                spans,
            ],
            env={**os.environ, "PYTHONHASHSEED": "0"},
            capture_output=True,
            text=True,
            check=True,
        )
        m = re.search(r"Collected : (\d+)", done.stderr)
        assert m is not None, done.stderr[-2000:]
        return int(m.group(1)), int(done.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--times", type=int, default=150, help="N: replays of the 6 spans")
    parser.add_argument("--modes", nargs="*", default=list(MODES))
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    import bench_foreign

    per_span = {}
    saved = tempfile.NamedTemporaryFile(suffix=".json", delete=False)  # noqa: SIM115
    saved.close()
    bench_foreign.save_spans(bench_foreign.record_real_spans(), saved.name)
    for mode in args.modes:
        n = args.times
        (i1, n1), (i2, n2) = count(mode, n, saved.name), count(mode, 2 * n, saved.name)
        per_span[mode] = (i2 - i1) / (n2 - n1)
        print(f"{mode:28s} {per_span[mode]:>10,.0f} instructions/span", flush=True)
    os.unlink(saved.name)
    bare = per_span.get("bare", 0.0)
    if "sdk" in per_span:
        sdk = per_span["sdk"] - bare
        for mode in args.modes:
            if mode not in {"sdk", "bare"}:
                print(
                    f"{mode} / sdk, creating the spans (bare) subtracted: "
                    f"{(per_span[mode] - bare) / sdk:.2f}x"
                )


if __name__ == "__main__":
    main()
