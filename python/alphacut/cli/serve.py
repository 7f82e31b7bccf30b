"""``alphacut serve``: the HTTP server (rembg's and remove.bg's dialects and alphacut's own).

    alphacut serve                                   # 127.0.0.1:7000, u2netp
    alphacut serve --host 0.0.0.0 --models u2netp,mediapipe-selfie --max-batch 8 --cors '*'
    alphacut serve --api-key-file keys.txt --allow-url
    alphacut serve --ray --replicas 4 --host 0.0.0.0 # Ray Serve: a local cluster, or --address auto
    alphacut serve --ray --autoscale 1:8 --gpus-per-replica 0.5

The models are loaded before the server listens (a missing model fails here, with the reason).
SIGTERM (or Ctrl-C) stops accepting connections and lets the requests in flight finish (up to
--drain seconds).
"""

from __future__ import annotations

import argparse
import logging
import sys

from ..errors import InputError
from ..pipeline import BACKENDS
from ..runtime import RUNTIMES


def register(sub) -> None:
    p = sub.add_parser(
        "serve",
        help="run the HTTP server (rembg and remove.bg compatible)",
        description="Serve background removal over HTTP: rembg's /api/remove, remove.bg's /v1.0/removebg and "
        "/v1.0/account, and /v1/cutout, /v1/models, /healthz, /readyz, /metrics, /docs.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; 0.0.0.0 for all)")
    p.add_argument("--port", type=int, default=7000, help="port (default 7000, as rembg)")
    p.add_argument(
        "--models", default="u2netp", help="models to load, comma-separated; the first is the default (default u2netp)"
    )
    p.add_argument("--workers", type=int, default=1, help="inference threads, each running one batch (default 1)")
    p.add_argument("--max-batch", type=int, default=8, help="images per batch for the network (default 8)")
    p.add_argument(
        "--batch-wait-ms",
        type=float,
        default=10.0,
        help="how long a batch waits for more images after its first (default 10)",
    )
    p.add_argument(
        "--queue",
        type=int,
        default=16,
        help="requests held beyond those being processed; more get 503 with Retry-After (default 16)",
    )
    p.add_argument(
        "--timeout", type=float, default=60.0, help="per-request time limit in seconds; 504 past it (default 60)"
    )
    p.add_argument(
        "--max-upload-mb", type=float, default=25.0, help="largest image upload or download, MB (default 25)"
    )
    p.add_argument(
        "--max-pixels",
        type=int,
        default=25_000_000,
        help="largest image in pixels, checked before decoding (default 25000000)",
    )
    p.add_argument(
        "--max-memory-mb",
        type=float,
        default=None,
        help="memory the requests in flight may need together, each image's share estimated from its header "
        "before decoding (default: 80%% of the memory available at start)",
    )
    p.add_argument(
        "--allow-url",
        action="store_true",
        help="accept URL inputs (rembg url=, remove.bg image_url/bg_image_url); public addresses only",
    )
    p.add_argument(
        "--api-key-file", default=None, help="file of API keys, one per line: every route then needs X-Api-Key"
    )
    p.add_argument("--cors", default="", help="browser origins allowed, comma-separated ('*' for any; default none)")
    p.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    p.add_argument(
        "--runtime", default=None, choices=RUNTIMES, help="network runtime (default onnxruntime; with --ray: auto)"
    )
    p.add_argument(
        "--backend",
        default=None,
        choices=BACKENDS,
        help="where the kernels after the network run (default cpu; --ray: auto)",
    )
    p.add_argument(
        "--precision", default=None, choices=("fp32", "fp16"), help="default: fp16 for TensorRT, fp32 for ONNX Runtime"
    )
    p.add_argument("--threads", type=int, default=None, help="intra-op threads of the network (default: all cores)")
    p.add_argument(
        "--drain", type=float, default=30.0, help="seconds SIGTERM waits for requests in flight (default 30)"
    )
    r = p.add_argument_group(
        "Ray Serve",
        'serve the same HTTP API from replicas on a Ray cluster (pip install "alphacut[ray]"); '
        "auto runtime/backend: TensorRT and the CUDA kernels on replicas given a GPU, ONNX Runtime and the CPU elsewhere",
    )
    r.add_argument("--ray", action="store_true", help="run on Ray Serve (a local cluster unless --address)")
    r.add_argument("--address", default=None, help="join this Ray cluster (auto, or ray://host:10001) instead")
    g = r.add_mutually_exclusive_group()
    g.add_argument("--replicas", type=int, default=None, help="replicas, each one process with the models (default 1)")
    g.add_argument("--autoscale", default=None, metavar="MIN:MAX", help="autoscale between MIN and MAX replicas")
    r.add_argument(
        "--gpus-per-replica",
        type=float,
        default=None,
        help="GPUs each replica reserves (0.5: two share one; default 0)",
    )
    r.add_argument("--cpus-per-replica", type=float, default=None, help="CPUs each replica reserves (default 1)")
    p.set_defaults(func=_run)


_RAY_FLAGS = ("address", "replicas", "autoscale", "gpus_per_replica", "cpus_per_replica")


def config_from_args(args: argparse.Namespace):
    """The :class:`~alphacut.server.ServerConfig` of the command line."""
    from ..server import ServerConfig

    return ServerConfig(
        host=args.host,
        port=args.port,
        models=tuple(m.strip() for m in args.models.split(",") if m.strip()),
        workers=args.workers,
        max_batch=args.max_batch,
        batch_wait_ms=args.batch_wait_ms,
        queue=args.queue,
        timeout_s=args.timeout,
        max_upload_mb=args.max_upload_mb,
        max_pixels=args.max_pixels,
        max_memory_mb=args.max_memory_mb,
        allow_url=args.allow_url,
        api_key_file=args.api_key_file,
        cors=args.cors,
        log_level=args.log_level,
        runtime=args.runtime or ("auto" if getattr(args, "ray", False) else "onnxruntime"),
        backend=args.backend or ("auto" if getattr(args, "ray", False) else "cpu"),
        precision=args.precision,
        threads=args.threads,
        drain_s=args.drain,
    )


def _run(args: argparse.Namespace) -> int:
    from ..server import require_server_packages

    require_server_packages()
    if not args.ray:
        given = [f"--{k.replace('_', '-')}" for k in _RAY_FLAGS if getattr(args, k) is not None]
        if given:
            raise InputError(f"{', '.join(given)} need --ray")
    config = config_from_args(args)
    logging.basicConfig(
        level=getattr(logging, config.log_level.upper()),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.ray:
        from ..server.ray import RayOptions, parse_autoscale, serve_on_ray

        options = RayOptions(
            replicas=1 if args.replicas is None else args.replicas,
            autoscale=None if args.autoscale is None else parse_autoscale(args.autoscale),
            gpus_per_replica=args.gpus_per_replica or 0.0,
            cpus_per_replica=1.0 if args.cpus_per_replica is None else args.cpus_per_replica,
        )
        return serve_on_ray(config, options, address=args.address)
    return serve(config)


def serve(config) -> int:
    """Load the models, then serve until SIGTERM/SIGINT (the requests in flight finish first)."""
    import uvicorn

    from ..server.app import create_app
    from ..server.service import CutoutService

    config.api_keys()  # an unreadable key file is reported before the models load
    service = CutoutService(config)
    service.load()  # before listening: a missing model is reported here, not on the first request
    app = create_app(config, service=service)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=config.host,
            port=config.port,
            log_level=config.log_level,
            access_log=False,
            timeout_graceful_shutdown=config.drain_s,
            lifespan="on",
            server_header=False,
        )
    )
    logging.getLogger("alphacut.server").info(
        "serving %s on http://%s:%d (docs at /docs)", ", ".join(config.model_names), config.host, config.port
    )
    server.run()
    return 0
