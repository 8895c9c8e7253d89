"""Export benchmark: OTLP delivery, CPU per span (encoding included) and peak RSS, S1-S4.

Each scenario runs in its own process (so peak RSS is its own) and sends over OTLP/HTTP to a
loopback receiver running in yet another process (so decoding is not billed to us). The
traced process's CPU is ``time.process_time()`` (every thread: the caller, the export worker,
the exporter's encoding and HTTP) from the first call until ``flush()`` returned.

    python benchmarks/bench_export.py            # the table
    python benchmarks/bench_export.py --quick    # fewer calls, for CI smoke runs

S1  flat sync call, a 100-char string argument and return value
S2  a root with 3 children
S3  an async root gathering 10 children
S4  an argument dict with a 200 000-char string and a 1000-element list of small dicts
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import resource
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CALLS = {"S1": 20_000, "S2": 5_000, "S3": 1_000, "S4": 500}
SPANS_PER_CALL = {"S1": 1, "S2": 4, "S3": 11, "S4": 1}


# -- receiver (its own process) ---------------------------------------------------------------


def serve(port_file: str) -> None:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    count = [0]
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _reply(self, body: bytes) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            request = ExportTraceServiceRequest.FromString(body)
            n = sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)
            with lock:
                count[0] += n
            self._reply(b"")

        def do_GET(self) -> None:
            with lock:
                value = count[0]
                if self.path == "/reset":
                    count[0] = 0
            self._reply(str(value).encode())

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(port_file, "w") as f:
        f.write(str(server.server_address[1]))
    server.serve_forever()


# -- scenarios (each in its own process) ----------------------------------------------------


def scenario(name: str, calls: int) -> dict[str, Any]:
    import brokle_trace
    from brokle_trace import observe

    @observe
    def s1(text: str) -> str:
        return text

    @observe
    def child(i: int) -> int:
        return i

    @observe
    def s2_root(i: int) -> int:
        return child(i) + child(i) + child(i)

    @observe
    async def achild(i: int) -> int:
        return i

    @observe
    async def s3_root(i: int) -> list[int]:
        return list(await asyncio.gather(*(achild(j) for j in range(10))))

    @observe
    def s4(payload: dict[str, Any]) -> int:
        return len(payload["text"])

    text = "x" * 100
    big = {"text": "y" * 200_000, "rows": [{"id": i, "ok": True} for i in range(1000)]}
    # Warm up (imports, first connection) before measuring; not counted.
    s1(text)
    brokle_trace.flush(10)
    started0 = brokle_trace.stats()["started"]
    exported0 = brokle_trace.stats()["exported"]

    cpu0, wall0 = time.process_time(), time.perf_counter()
    if name == "S1":
        for _ in range(calls):
            s1(text)
    elif name == "S2":
        for i in range(calls):
            s2_root(i)
    elif name == "S3":

        async def main() -> None:
            for i in range(calls):
                await s3_root(i)

        asyncio.run(main())
    else:
        for _ in range(calls):
            s4(big)
    flushed = brokle_trace.flush(120)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    stats = brokle_trace.stats()
    return {
        "spans": stats["started"] - started0,
        "exported": stats["exported"] - exported0,
        "dropped": {k: v for k, v in stats["dropped"].items() if v},
        "flushed": flushed,
        "cpu_s": cpu,
        "wall_s": wall,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


# -- driver ---------------------------------------------------------------------------------


def _get(port: int, path: str) -> int:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path)
    value = int(conn.getresponse().read())
    conn.close()
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--receiver", metavar="PORT_FILE")
    parser.add_argument("--scenario")
    parser.add_argument("--calls", type=int)
    args = parser.parse_args()
    if args.receiver:
        serve(args.receiver)
        return
    if args.scenario:
        print(json.dumps(scenario(args.scenario, args.calls)))
        return

    here = os.path.abspath(__file__)
    root = os.path.dirname(os.path.dirname(here))
    port_file = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"bench_export_{os.getpid()}")
    receiver = subprocess.Popen([sys.executable, here, "--receiver", port_file])
    try:
        port = 0
        for _ in range(200):
            if os.path.exists(port_file):
                with open(port_file) as f:
                    text = f.read()
                if text:
                    port = int(text)
                    break
            time.sleep(0.05)
        rows = []
        for name, full in CALLS.items():
            calls = max(1, full // 10) if args.quick else full
            _get(port, "/reset")
            env = {
                **os.environ,
                "PYTHONPATH": root,
                "BROKLE_EXPORTER": "otlp",
                "BROKLE_OTLP_ENDPOINT": f"http://127.0.0.1:{port}",
            }
            out = subprocess.run(
                [sys.executable, here, "--scenario", name, "--calls", str(calls)],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            result = json.loads(out.stdout.strip().splitlines()[-1])
            received = _get(port, "/count") - 1  # minus the warm-up span
            result["received"] = received
            rows.append((name, result))
    finally:
        receiver.terminate()
        receiver.wait(5)
        if os.path.exists(port_file):
            os.unlink(port_file)

    print(
        f"{'scenario':<9}{'spans':>8}{'delivered':>11}{'CPU us/span':>13}"
        f"{'wall s':>9}{'peak RSS MB':>13}  dropped"
    )
    for name, r in rows:
        share = 100.0 * r["received"] / r["spans"] if r["spans"] else 0.0
        print(
            f"{name:<9}{r['spans']:>8}{share:>10.1f}%{1e6 * r['cpu_s'] / r['spans']:>13.1f}"
            f"{r['wall_s']:>9.2f}{r['peak_rss_mb']:>13.1f}  {r['dropped'] or '-'}"
        )


if __name__ == "__main__":
    main()
