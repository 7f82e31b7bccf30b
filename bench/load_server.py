#!/usr/bin/env python
"""Load on a real server, alphacut's and ``rembg s`` side by side: the same client, the same
requests, the same model file, one after the other on the same machine.

For each server (a subprocess on 127.0.0.1; traffic goes nowhere else):

1. three warm-up requests (rembg loads its session on the first one);
2. ``--concurrency`` clients (threads) posting for ``--duration`` seconds in all, each waiting for
   its answer before the next request: throughput, latency p50/p99, statuses; for alphacut the
   batches its queue formed (from ``/metrics``);
3. ``--sequential`` requests one after the other: latency, and the server's resident memory
   (VmRSS) after request 100 and after the last one: the growth rembg's issues #289/#752 report.

The servers run at once; phase 1 alternates between them in ``--rounds`` rounds and phase 2 in
blocks of 100 requests, so that load drifting on a shared machine hits them alike (an idle server
costs nothing).

Every request is rembg's ``POST /api/remove`` with a multipart ``file`` and ``model=u2netp``
(both servers speak it; alphacut answers it as ``alphacut.remove`` does: the plain u2netp mask,
no matting), over a few photos of 0.3 to 0.7 MP from the shared data. Any loop stops by itself.

rembg's server needs ``pip install "rembg[cli]==2.0.86"``; it pins older FastAPI/uvicorn, so
install it in its own virtualenv and pass its ``rembg`` with ``--rembg-cmd`` (bench/README.md).

``alphacut[--workers 2 --threads 1]`` in ``--servers`` adds a server started with those options.

Usage::

    python bench/load_server.py --servers "alphacut,alphacut[--workers 2 --threads 1],rembg" \\
        --rembg-cmd /tmp/rembg-venv/bin/rembg --concurrency 8 --duration 60 --sequential 1000 \\
        --out bench/results/server_load.md --json bench/results/server_load.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

REPO = Path(__file__).resolve().parents[1]
try:
    import alphacut  # noqa: F401
except ImportError:
    sys.path.insert(0, str(REPO / "python"))

from alphacut.bench.machine import describe, machine_info  # noqa: E402
from alphacut.bench.stats import percentile  # noqa: E402

U2NETP_MD5 = "8e83ca70e441ab06c318d82300c84806"
PHOTOS = [
    ("images", "rembg", "input", "car-2.jpg"),
    ("images", "rembg", "input", "animal-1.jpg"),
    ("images", "rembg", "input", "girl-2.jpg"),
    ("images", "composites", "input", "lemur__on_leaves.jpg"),
]


def shared_data() -> Path:
    return Path(os.environ.get("ALPHACUT_SHARED_DATA", REPO.parent / "shared" / "data"))


def model_home(tmp: Path) -> Path:
    """A rembg-layout model folder holding a link to the shared u2netp, its md5 checked."""
    src = shared_data() / "models" / "u2netp_320.onnx"
    if hashlib.md5(src.read_bytes()).hexdigest() != U2NETP_MD5:
        raise SystemExit(f"{src} is not the u2netp rembg pins (md5)")
    d = tmp / "models" / "u2netp"
    d.mkdir(parents=True, exist_ok=True)
    (d / "u2netp.onnx").symlink_to(src)
    (tmp / "u2netp.onnx").symlink_to(src)  # U2NET_HOME's flat layout
    return tmp


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


class Server:
    def __init__(self, kind: str, args, home: Path, env: Dict[str, str]) -> None:
        self.kind = kind  # "alphacut", "alphacut[--more --options]" or "rembg"
        self.rss_ready = float("nan")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        if kind.startswith("alphacut"):
            extra = kind[len("alphacut") :].strip().strip("[]")
            cmd = [
                sys.executable,
                "-m",
                "alphacut",
                "serve",
                "--port",
                str(self.port),
                "--models",
                "u2netp",
                "--log-level",
                "warning",
                *shlex.split(args.alphacut_args),
                *shlex.split(extra),
            ]
        else:
            cmd = [args.rembg_cmd, "s", "--host", "127.0.0.1", "--port", str(self.port), "--no-ui", "-l", "warning"]
        self.cmd = cmd
        self.log = open(home / f"{kind}.log", "wb")
        self.proc = subprocess.Popen(cmd, env=env, stdout=self.log, stderr=subprocess.STDOUT, cwd=str(home))

    def wait_ready(self, timeout: float = 300.0) -> None:
        import requests

        probe = "/readyz" if self.kind.startswith("alphacut") else "/api"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"{self.kind} server exited with {self.proc.returncode}; see {self.log.name}")
            try:
                if requests.get(self.url + probe, timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise SystemExit(f"{self.kind} server not ready within {timeout} s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def post(session, url: str, photo: bytes):
    t0 = time.perf_counter()
    try:
        r = session.post(
            url + "/api/remove",
            files={"file": ("photo.jpg", photo, "image/jpeg")},
            data={"model": "u2netp"},
            timeout=300,
        )
        ok = r.status_code == 200 and r.content[:8] == b"\x89PNG\r\n\x1a\n"
        return time.perf_counter() - t0, r.status_code, ok
    except Exception:  # noqa: BLE001 - counted as a failed request (status 0)
        return time.perf_counter() - t0, 0, False


def batch_histogram(url: str) -> Dict[str, float]:
    import requests

    text = requests.get(url + "/metrics", timeout=10).text
    return {
        m.group(1): float(m.group(2))
        for m in re.finditer(r'alphacut_batch_size_bucket\{le="([^"]+)",model="u2netp"\} ([\d.e+]+)', text)
    }


def batches_between(before: Dict[str, float], after: Dict[str, float]) -> Dict[str, int]:
    """How many batches of each size (by histogram bucket) were formed between two scrapes."""
    cum = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in after}
    out, prev = {}, 0.0
    for le in sorted((k for k in cum if k != "+Inf"), key=float):
        n = cum[le] - prev
        if n > 0:
            out[f"{float(le):g}"] = int(n)
        prev = cum[le]
    return out


def summarize(samples: List[tuple], seconds: Optional[float] = None) -> Dict[str, object]:
    lat = [s[0] * 1000.0 for s in samples]
    statuses: Dict[str, int] = {}
    for s in samples:
        statuses[str(s[1])] = statuses.get(str(s[1]), 0) + 1
    out = {
        "requests": len(samples),
        "ok": sum(1 for s in samples if s[2]),
        "statuses": statuses,
        "errors_5xx": sum(1 for s in samples if s[1] >= 500),
        "failed_connections": statuses.get("0", 0),
        "p50_ms": percentile(lat, 50),
        "p99_ms": percentile(lat, 99),
        "mean_ms": sum(lat) / len(lat),
    }
    if seconds:
        out["seconds"] = seconds
        out["throughput_rps"] = len(samples) / seconds
    return out


def concurrent_round(srv: Server, args, photos: List[bytes], seconds: float) -> Tuple[List[tuple], float]:
    """``args.concurrency`` clients posting for ``seconds``: (samples, elapsed seconds)."""
    import requests

    samples: List[tuple] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(k: int) -> None:
        with requests.Session() as s:
            i = k
            while time.monotonic() < deadline:
                res = post(s, srv.url, photos[i % len(photos)])
                with lock:
                    samples.append(res)
                i += 1

    t0 = time.monotonic()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(args.concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return samples, time.monotonic() - t0


def run(kinds: List[str], args, photos: List[bytes], home: Path, env: Dict[str, str]) -> List[Dict[str, object]]:
    """Both servers up at once (the idle one costs nothing); phase 1 on each in turn; phase 2 in
    alternating blocks of 100 requests, so that load drifting on a shared machine hits both alike."""
    import requests

    servers = [Server(k, args, home, env) for k in kinds]
    try:
        for srv in servers:
            srv.wait_ready()
            with requests.Session() as s:
                for i in range(3):
                    post(s, srv.url, photos[i % len(photos)])
            srv.rss_ready = rss_mb(srv.proc.pid)
            print(f"[{srv.kind}] ready", flush=True)
        before = {srv.kind: batch_histogram(srv.url) for srv in servers if srv.kind.startswith("alphacut")}
        samples: Dict[str, List[tuple]] = {srv.kind: [] for srv in servers}
        elapsed: Dict[str, float] = {srv.kind: 0.0 for srv in servers}
        for r in range(args.rounds):  # rounds alternate between the servers, as phase 2's blocks do
            for srv in servers:
                print(f"[{srv.kind}] {args.concurrency} clients, round {r + 1}/{args.rounds}", flush=True)
                got, secs = concurrent_round(srv, args, photos, args.duration / args.rounds)
                samples[srv.kind] += got
                elapsed[srv.kind] += secs
        concurrent = {}
        for srv in servers:
            c = summarize(samples[srv.kind], elapsed[srv.kind])
            if srv.kind in before:
                c["batches_formed"] = batches_between(before[srv.kind], batch_histogram(srv.url))
            c["rss_mb_after"] = rss_mb(srv.proc.pid)
            concurrent[srv.kind] = c
        seq: Dict[str, List[tuple]] = {srv.kind: [] for srv in servers}
        secs: Dict[str, float] = {srv.kind: 0.0 for srv in servers}
        rss: Dict[str, Dict[int, float]] = {srv.kind: {} for srv in servers}
        block = min(100, args.sequential)
        sessions = {srv.kind: requests.Session() for srv in servers}
        done = 0
        while done < args.sequential:
            n = min(block, args.sequential - done)
            for srv in servers:
                t0 = time.monotonic()
                for i in range(done + 1, done + n + 1):
                    seq[srv.kind].append(post(sessions[srv.kind], srv.url, photos[i % len(photos)]))
                secs[srv.kind] += time.monotonic() - t0
                rss[srv.kind][done + n] = rss_mb(srv.proc.pid)
            done += n
            print(f"sequential: {done}/{args.sequential}", flush=True)
        results = []
        for srv in servers:
            sequential = summarize(seq[srv.kind], secs[srv.kind])
            r = rss[srv.kind]
            first, last = min(r), max(r)
            sequential.update(
                {
                    "rss_mb": {str(k): round(v, 1) for k, v in sorted(r.items())},
                    "rss_first_mb": r[first],
                    "rss_last_mb": r[last],
                    "rss_first_at": first,
                    "rss_last_at": last,
                    "rss_growth_pct": 100.0 * (r[last] - r[first]) / r[first],
                }
            )
            results.append(
                {
                    "server": srv.kind,
                    "command": " ".join(shlex.quote(c) for c in srv.cmd),
                    "rss_mb_after_warmup": srv.rss_ready,
                    "concurrent": concurrent[srv.kind],
                    "sequential": sequential,
                }
            )
        return results
    finally:
        for srv in servers:
            srv.stop()


def markdown(report: Dict[str, object]) -> str:
    a = report["args"]
    lines = [
        f"# Server load: {' vs '.join(r['server'] for r in report['results'])}",
        "",
        "```",
        report["command"],
        "```",
        "",
        *describe(report["machine"]),
        "",
        f"Environment: {report['env']}",
        "",
        f"Requests: rembg's `POST /api/remove` (multipart `file`, `model=u2netp`) on {len(PHOTOS)} photos of "
        f"{report['photo_mp']} MP, JPEG. Phase 1: {a['concurrency']} concurrent clients for {a['duration']:g} s "
        f"({a['rounds']} rounds alternating between the servers). "
        f"Phase 2: {a['sequential']} sequential requests; resident memory (VmRSS) of the server process.",
        "",
        "Phase 1 (concurrent):",
        "",
        "| server | req/s | p50 ms | p99 ms | requests | 5xx | batches formed (images: batches) "
        "| RSS after warm-up MB | RSS after phase 1 MB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["results"]:
        c = r["concurrent"]
        batches = ", ".join(f"{k}: {v}" for k, v in c.get("batches_formed", {}).items()) or "n/a (no batching)"
        lines.append(
            f"| {r['server']} | {c['throughput_rps']:.2f} | {c['p50_ms']:.0f} | {c['p99_ms']:.0f} | "
            f"{c['requests']} | {c['errors_5xx']} | {batches} | {r['rss_mb_after_warmup']:.1f} | "
            f"{c['rss_mb_after']:.1f} |"
        )
    lines += [
        "",
        f"Phase 2 ({a['sequential']} sequential):",
        "",
        "| server | req/s | p50 ms | p99 ms | 5xx | RSS @100 MB | RSS @last MB | growth 100 → last |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in report["results"]:
        s = r["sequential"]
        lines.append(
            f"| {r['server']} | {s['throughput_rps']:.2f} | {s['p50_ms']:.0f} | {s['p99_ms']:.0f} | "
            f"{s['errors_5xx']} | {s['rss_first_mb']:.1f} | {s['rss_last_mb']:.1f} (@{s['rss_last_at']}) | "
            f"{s['rss_growth_pct']:+.1f} % |"
        )
    lines += ["", "Server commands:", ""]
    lines += [f"- {r['server']}: `{r['command']}`" for r in report["results"]]
    lines += ["", "Resident memory every 100 sequential requests (MB):", ""]
    for r in report["results"]:
        lines.append(f"- {r['server']}: " + ", ".join(f"{k}: {v}" for k, v in r["sequential"]["rss_mb"].items()))
    lines += [
        "",
        "Statuses: "
        + "; ".join(
            f"{r['server']} phase 1 {r['concurrent']['statuses']}, phase 2 {r['sequential']['statuses']}"
            for r in report["results"]
        ),
        "",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--servers",
        default="alphacut,rembg",
        help="comma-separated, in this order: alphacut, alphacut[MORE SERVE OPTIONS], rembg",
    )
    p.add_argument("--rembg-cmd", default="rembg", help="the rembg executable with its [cli] extra")
    p.add_argument("--alphacut-args", default="", help="more options for alphacut serve")
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--duration", type=float, default=60.0, help="seconds of concurrent load per server")
    p.add_argument("--rounds", type=int, default=3, help="the concurrent phase in this many alternating rounds")
    p.add_argument("--sequential", type=int, default=1000)
    p.add_argument("--out", default=None, help="markdown report")
    p.add_argument("--json", default=None, help="JSON report")
    args = p.parse_args(argv)
    from PIL import Image

    def stop(signum, frame):  # SIGTERM ends the run like Ctrl-C: the servers are stopped on the way out
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)

    photos, mps = [], []
    for parts in PHOTOS:
        path = shared_data().joinpath(*parts)
        photos.append(path.read_bytes())
        with Image.open(path) as im:
            mps.append(im.width * im.height / 1e6)
    env = dict(os.environ)
    threads = str(os.cpu_count() or 1)
    for v in ("OMP_NUM_THREADS", "ALPHACUT_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(v, threads)
    with tempfile.TemporaryDirectory(prefix="alphacut-load-") as tmp:
        home = model_home(Path(tmp))
        env.update(
            {
                "U2NET_HOME": str(home),
                "REMBG_HOME": str(home),
                "ALPHACUT_HOME": str(Path(tmp) / "ac"),
                "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO / "python"), env.get("PYTHONPATH")])),
            }
        )
        for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
            env.pop(proxy, None)
        info = machine_info()
        results = run([k.strip() for k in args.servers.split(",") if k.strip()], args, photos, home, env)
    report = {
        "command": " ".join(shlex.quote(c) for c in [sys.executable, *sys.argv]),
        "machine": info,
        "env": ", ".join(f"{v}={env[v]}" for v in ("OMP_NUM_THREADS", "ALPHACUT_NUM_THREADS")),
        "photo_mp": "/".join(f"{m:.2f}" for m in mps),
        "args": vars(args),
        "results": results,
    }
    text = markdown(report)
    print(text)
    if args.out:
        Path(args.out).write_text(text)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
