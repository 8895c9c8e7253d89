"""Instruction counts of third-party spans: our processor path vs the SDK's stock path.

Run:  python benchmarks/callgrind_foreign.py [--times 150]

Records the instrumentors' spans once (natively), then runs ``bench_foreign``'s modes on
them under ``valgrind --tool=callgrind`` (every thread of the
process, the export worker included; the OTLP receiver is another process and is not
counted), each with N and 2N replays of the recorded instrumentor spans, and prints the
difference per span: repeatable on a noisy machine where CPU times are not. As in
``bench_foreign``, ``bare`` (creating the spans with no processor) is subtracted from the
ratios.

``--split`` measures the worker's stages instead, in-process on the recorded spans' records
(no queue, no worker thread, no HTTP): ``caller`` (the spans created through our
processor, records kept in a list), ``convert`` (plus ``foreign.to_span_data``: capture,
redaction, pricing) and ``encode`` (plus the direct OTLP bytes), redaction on and off; the
differences between rows are each stage's instructions per span.
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

_SPLIT_CHILD = """
import sys
sys.path.insert(0, {here!r})
import bench_foreign as bf
import brokle_trace
from brokle_trace import capture
from brokle_trace._export import foreign, foreign_otlp
from brokle_trace._export.convert import Resource
from brokle_trace._trace import processor
from brokle_trace.exporters._structure import structure_of
mode, times = sys.argv[1], int(sys.argv[2])
stage, redact = mode.split(":")
spans = bf.load_spans(sys.argv[3])
bf._variants(spans, times)
brokle_trace.configure(exporter="none", redact=redact == "on")
settings = capture.CaptureSettings(redact=redact == "on")
records = []
processor._state.enqueue_record = records.append  # the records, not the queue
bf.replay(brokle_trace.tracer_provider(), spans, times)
if stage != "caller":
    for record in records:
        data = foreign.to_span_data(record, settings, Resource())
        if stage == "encode":
            foreign_otlp._span_bytes(data, structure_of(data.attributes))
print(len(records))
"""
SPLIT_MODES = ("caller:on", "convert:on", "encode:on", "convert:off", "encode:off")


def count(mode: str, times: int, spans: str) -> tuple[int, int]:
    """(instructions, spans) of one run over the spans saved in ``spans``."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cg.out"
        script = Path(tmp) / "child.py"
        child = _SPLIT_CHILD if ":" in mode else _CHILD
        script.write_text(child.format(here=str(HERE)))
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
    parser.add_argument("--modes", nargs="*", default=None)
    parser.add_argument("--split", action="store_true", help="the worker's stages, in-process")
    args = parser.parse_args()
    if args.modes is None:
        args.modes = list(SPLIT_MODES if args.split else MODES)
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
    if args.split:
        for stage, before in (("convert", "caller"), ("encode", "convert")):
            for redact in ("on", "off"):
                here, there = f"{stage}:{redact}", f"{before}:{redact}"
                if there not in per_span:
                    there = f"{before}:on"  # the caller's side does not redact
                if here in per_span and there in per_span:
                    print(f"{stage} (redact {redact}): {per_span[here] - per_span[there]:,.0f}")
        if "convert:on" in per_span and "convert:off" in per_span:
            print(f"redaction: {per_span['convert:on'] - per_span['convert:off']:,.0f}")
        return
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
