#!/usr/bin/env python
"""Throughput at 1 MP of alphacut on Ray Serve (1 and 2 replicas) and of the single-process server
(``alphacut serve``), side by side in one run on this machine.

- The single-process server: a subprocess ``alphacut serve`` (its defaults: one inference thread,
  the network's threads on every core), and one with ``--also`` options (default ``--workers 2
  --threads 1``: two inference threads of one network thread, as the two 1-CPU replicas have).
- Ray: a local cluster started here, Serve's proxy on a free port, two applications at once:
  ``/r1`` with one replica reserving ``--cpus`` CPUs and ``/r2`` with two replicas of
  ``--cpus / 2`` each (a replica's network and native ops get as many threads as the CPUs it
  reserved). Both live at once so that the rounds can alternate; an idle replica costs nothing.

Each target gets ``--concurrency`` clients (threads) posting rembg's ``POST /api/remove`` (model
u2netp) with photos from the shared data resized to 1 MP (JPEG), for ``--duration`` seconds in all,
in ``--rounds`` rounds alternating between the targets so that load drifting on a shared machine
hits them alike. Reported: images/s, its ratio to the single-process server's, latency p50/p99,
statuses, and the batches ``@serve.batch`` / the server's queue formed (``/metrics``; for Ray, the
replica that answered the scrape).

Usage::

    python bench/load_ray.py --concurrency 8 --duration 90 --rounds 3 \\
        --out bench/results/ray_load.md --json bench/results/ray_load.json
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shlex
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
try:
    import alphacut  # noqa: F401
except ImportError:
    sys.path.insert(0, str(REPO / "python"))

from alphacut.bench.machine import describe, machine_info  # noqa: E402
from load_server import (  # noqa: E402
    PHOTOS,
    Server,
    batch_histogram,
    batches_between,
    concurrent_round,
    free_port,
    model_home,
    post,
    shared_data,
    summarize,
)


class Target:
    """Where a round's clients post: ``url`` (+ ``/api/remove``)."""

    def __init__(self, kind: str, url: str, replicas: str, cpus: str, detail: str) -> None:
        self.kind, self.url, self.replicas, self.cpus, self.detail = kind, url, replicas, cpus, detail


def photos_1mp() -> List[bytes]:
    from PIL import Image

    out = []
    for parts in PHOTOS:
        with Image.open(shared_data().joinpath(*parts)) as im:
            im = im.convert("RGB")
            s = (1e6 / (im.width * im.height)) ** 0.5
            im = im.resize((round(im.width * s), round(im.height * s)), Image.LANCZOS)
            buf = io.BytesIO()
            im.save(buf, "JPEG", quality=92)
            out.append(buf.getvalue())
    return out


def start_ray(args, model: str, env: Dict[str, str]) -> int:
    """The local cluster and the two applications; returns the proxy's port."""
    os.environ.update({k: env[k] for k in ("PYTHONPATH", "ALPHACUT_HOME")})
    import ray
    from ray import serve

    from alphacut.server import ServerConfig
    from alphacut.server import ray as acray

    os.environ.setdefault(acray.PROXY_CALLBACK_ENV, acray.PROXY_CALLBACK)
    port = free_port()
    # Logical CPUs for both applications at once (r1's replica and r2's two); they do not run together.
    ray.init(num_cpus=2 * args.cpus, include_dashboard=False, log_to_driver=False, configure_logging=False)
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    cfg = ServerConfig(models=("u2netp",), model_paths={"u2netp": model}, runtime="auto", backend="auto")
    serve.run(acray.build(cfg, acray.RayOptions(replicas=1, cpus_per_replica=args.cpus)), name="r1", route_prefix="/r1")
    serve.run(
        acray.build(cfg, acray.RayOptions(replicas=2, cpus_per_replica=args.cpus / 2)), name="r2", route_prefix="/r2"
    )
    return port


def run(args, photos: List[bytes], home: Path, env: Dict[str, str]) -> List[Dict[str, object]]:
    import requests

    single = Server("alphacut", args, home, env)
    singles = [single]
    if args.also.strip():  # the single-process server with as many inference threads as r2 has replicas
        singles.append(Server(f"alphacut[{args.also.strip()}]", args, home, env))
    try:
        port = start_ray(args, str(shared_data() / "models" / "u2netp_320.onnx"), env)
        base = f"http://127.0.0.1:{port}"
        for srv in singles:
            srv.wait_ready()
        targets = [
            Target(
                "alphacut serve" + srv.kind[len("alphacut") :].replace("[", " ").replace("]", ""),
                srv.url,
                "-",
                "all",
                " ".join(shlex.quote(c) for c in srv.cmd),
            )
            for srv in singles
        ] + [
            Target(
                "Ray Serve, 1 replica",
                base + "/r1",
                "1",
                f"{args.cpus:g}",
                f"RayOptions(replicas=1, cpus_per_replica={args.cpus:g})",
            ),
            Target(
                "Ray Serve, 2 replicas",
                base + "/r2",
                "2",
                f"{args.cpus / 2:g}",
                f"RayOptions(replicas=2, cpus_per_replica={args.cpus / 2:g})",
            ),
        ]
        for t in targets:
            with requests.Session() as s:
                for i in range(6):  # both replicas of r2 see a request or more
                    res = post(s, t.url, photos[i % len(photos)])
                    if not res[2]:
                        raise SystemExit(f"[{t.kind}] warm-up request failed with status {res[1]}")
            print(f"[{t.kind}] ready", flush=True)
        before = {t.kind: batch_histogram(t.url) for t in targets}
        samples: Dict[str, List[tuple]] = {t.kind: [] for t in targets}
        elapsed = {t.kind: 0.0 for t in targets}
        for r in range(args.rounds):
            for t in targets:
                print(f"[{t.kind}] {args.concurrency} clients, round {r + 1}/{args.rounds}", flush=True)
                got, secs = concurrent_round(t, args, photos, args.duration / args.rounds)
                samples[t.kind] += got
                elapsed[t.kind] += secs
        out = []
        for t in targets:
            c = summarize(samples[t.kind], elapsed[t.kind])
            c["batches_formed_seen_by_one_scrape"] = batches_between(before[t.kind], batch_histogram(t.url))
            out.append({"server": t.kind, "replicas": t.replicas, "cpus_per_replica": t.cpus, "how": t.detail, **c})
        return out
    finally:
        for srv in singles:
            srv.stop()
        try:
            import ray
            from ray import serve

            if ray.is_initialized():
                serve.shutdown()
                ray.shutdown()
        except ImportError:
            pass


def markdown(report: Dict[str, object]) -> str:
    a = report["args"]
    res = report["results"]
    ref = res[0]["throughput_rps"]
    lines = [
        "# alphacut on Ray Serve vs the single-process server: throughput at 1 MP",
        "",
        "```",
        report["command"],
        "```",
        "",
        *describe(report["machine"]),
        "",
        f"Requests: rembg's `POST /api/remove` (multipart `file`, `model=u2netp`) on {len(PHOTOS)} photos resized to "
        f"1 MP ({report['photo_sizes']}), JPEG; {a['concurrency']} concurrent clients for {a['duration']:g} s per "
        f"target in {a['rounds']} rounds alternating between the targets. Ray {report['ray_version']}, a local "
        "cluster on this machine (CPU only); every target on the same cores.",
        "",
        "| target | replicas | CPUs per replica | images/s | vs alphacut serve | p50 ms | p99 ms | requests | statuses |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in res:
        lines.append(
            f"| {r['server']} | {r['replicas']} | {r['cpus_per_replica']} | {r['throughput_rps']:.2f} | "
            f"{r['throughput_rps'] / ref:.2f}× | {r['p50_ms']:.0f} | {r['p99_ms']:.0f} | {r['requests']} | "
            f"{r['statuses']} |"
        )
    lines += ["", "Batches formed (images: batches; for Ray, the replica that answered the /metrics scrape):", ""]
    for r in res:
        lines.append(
            f"- {r['server']}: "
            + (", ".join(f"{k}: {v}" for k, v in r["batches_formed_seen_by_one_scrape"].items()) or "none seen")
        )
    lines += ["", "How each target ran:", ""]
    lines += [f"- {r['server']}: `{r['how']}`" for r in res]
    lines.append("")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--duration", type=float, default=90.0, help="seconds of load per target, in all")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--cpus", type=float, default=float(os.cpu_count() or 1), help="CPUs of the Ray replica(s) in all")
    p.add_argument("--alphacut-args", default="", help="more options for the single-process alphacut serve")
    p.add_argument(
        "--also",
        default="--workers 2 --threads 1",
        help="a second single-process server with these options ('' for none; default: two inference threads "
        "of one network thread each, as the two 1-CPU replicas)",
    )
    p.add_argument("--out", default=None)
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    import ray
    from PIL import Image

    photos = photos_1mp()
    sizes = []
    for b in photos:
        with Image.open(io.BytesIO(b)) as im:
            sizes.append(f"{im.width}×{im.height}")
    env = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="alphacut-ray-load-") as tmp:
        home = model_home(Path(tmp))
        env.update(
            {
                "REMBG_HOME": str(home),
                "ALPHACUT_HOME": str(Path(tmp) / "ac"),
                "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO / "python"), env.get("PYTHONPATH")])),
            }
        )
        for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
            env.pop(proxy, None)
        info = machine_info()
        t0 = time.monotonic()
        results = run(args, photos, home, env)
    report = {
        "command": " ".join(shlex.quote(c) for c in [sys.executable, *sys.argv]),
        "machine": info,
        "ray_version": ray.__version__,
        "photo_sizes": ", ".join(sizes),
        "args": vars(args),
        "wall_s": time.monotonic() - t0,
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
