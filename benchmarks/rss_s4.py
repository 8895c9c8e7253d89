"""Peak RSS of 500 S4 calls (a fresh 200 000-char string and 1000 small dicts each call).

Run:  python benchmarks/rss_s4.py   (a process of its own, so its peak RSS is its own)

Prints the peak RSS of the whole process, the RSS of the same loop without tracing (the
baseline), and how many of the 500 spans were exported to the JSONL file.
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
from pathlib import Path
from typing import Any

CALLS = 500


def payload(i: int) -> dict[str, Any]:
    return {
        "text": chr(97 + i % 26) * 200_000,
        "items": [{"id": j, "text": "short", "score": 0.5} for j in range(1000)],
    }


def _peak_rss_mb() -> float:
    # VmHWM is the peak of this process's own memory map. ru_maxrss is not: on Linux it keeps
    # the high-water mark of the parent's map that fork() copied and exec() replaced.
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    traced = sys.argv[1:] != ["--bare"]
    if traced:
        import brokle_trace

        out = Path(tempfile.mkdtemp()) / "s4.jsonl"
        brokle_trace.configure(exporter="jsonl", traces_file=out)
        observe = brokle_trace.observe
    else:

        def observe(fn: Any) -> Any:
            return fn

    @observe
    def s4(data: dict[str, Any]) -> int:
        return len(data["text"])

    for i in range(CALLS):
        s4(payload(i))
    exported = 0
    if traced:
        brokle_trace.flush(60)
        exported = sum(1 for _ in out.open())
    peak_mb = _peak_rss_mb()
    print(json.dumps({"traced": traced, "peak_rss_mb": round(peak_mb, 1), "exported": exported}))


if __name__ == "__main__":
    main()
