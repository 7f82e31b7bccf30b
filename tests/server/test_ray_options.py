"""The decisions of alphacut on Ray Serve that need no cluster: the engine each replica picks (GPU
placement: TensorRT and the CUDA kernels on a replica given a GPU, ONNX Runtime and the CPU
elsewhere), the deployment options from the command line / builder arguments, the shipped Serve
config file, ``alphacut serve``'s --ray options, and the proxy middleware that turns a lost replica
into a 503 the client retries."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

if sys.version_info < (3, 10):
    pytest.skip("Ray supports Python >= 3.10 (the ray extra is not installed below it)", allow_module_level=True)

# Part of the test install (the `test` extra): a missing ray is a failure here, not a skip.
import ray  # noqa: F401
import yaml
from server_harness import PACKAGE_DIR

import alphacut
from alphacut.server import ServerConfig
from alphacut.server import ray as acray

REPO = Path(__file__).resolve().parents[2]


# -- the engine of one replica ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "gpus,trt,cuda,expected",
    [
        ([], None, None, ("onnxruntime", "cpu")),  # a CPU replica on a GPU node: no GPU reserved, none used
        (["0"], None, None, ("tensorrt", "cuda")),
        (["0"], "the tensorrt package is not installed", None, ("onnxruntime", "cuda")),
        (["0"], None, "built without CUDA kernels", ("tensorrt", "cpu")),
        (["1", "2"], "no TensorRT", "no CUDA", ("onnxruntime", "cpu")),
    ],
)
def test_auto_engine_follows_the_gpu_ray_gave(gpus, trt, cuda, expected):
    got = acray.choose_engine("auto", "auto", gpu_ids=gpus, tensorrt_reason=trt, cuda_reason=cuda)
    assert got == expected


def test_explicit_engine_is_kept():
    assert acray.choose_engine("onnxruntime", "cpu", gpu_ids=["0"], tensorrt_reason=None, cuda_reason=None) == (
        "onnxruntime",
        "cpu",
    )
    # An explicit GPU choice on a CPU replica is kept: it then fails to load, with the reason.
    assert acray.choose_engine("tensorrt", "cuda", gpu_ids=[], tensorrt_reason="x", cuda_reason="y") == (
        "tensorrt",
        "cuda",
    )


def test_replica_config_here_and_threads():
    """On this machine (no GPU): a replica without GPUs runs ONNX Runtime on the CPU with as many
    threads as the CPUs it reserved; an explicit thread count stays."""
    base = ServerConfig(runtime="auto", backend="auto")
    c = acray.replica_config(base, gpu_ids=[], num_cpus=0.5)
    assert (c.runtime, c.backend, c.threads) == ("onnxruntime", "cpu", 1)
    assert acray.replica_config(base, gpu_ids=[], num_cpus=3.0).threads == 3
    assert (
        acray.replica_config(ServerConfig(runtime="auto", backend="auto", threads=2), gpu_ids=[], num_cpus=8).threads
        == 2
    )
    if alphacut.device.is_available():  # pragma: no cover - a CUDA machine
        pytest.skip("this check is for a machine without a GPU")
    # Ray says a GPU was given but this process cannot use it: the CPU engine, never a failing GPU one.
    c = acray.replica_config(base, gpu_ids=["0"], num_cpus=1)
    assert (c.runtime, c.backend) == ("onnxruntime", "cpu")


# -- deployment options ----------------------------------------------------------------------------


def test_deployment_options_cpu_replicas():
    cfg = ServerConfig(max_batch=4, queue=8, workers=2, drain_s=12)
    d = acray.deployment_options(cfg, acray.RayOptions(replicas=3, cpus_per_replica=0.5))
    assert d["num_replicas"] == 3 and "autoscaling_config" not in d
    assert d["ray_actor_options"] == {"num_cpus": 0.5}  # no num_gpus key at all for a CPU replica
    assert d["max_ongoing_requests"] == cfg.capacity == 2 * 4 + 8
    assert d["max_queued_requests"] == 8
    assert d["graceful_shutdown_timeout_s"] == 12.0
    assert d["health_check_period_s"] > 0 and d["health_check_timeout_s"] > 0


def test_deployment_options_gpu_share_and_autoscale():
    cfg = ServerConfig(max_batch=8, workers=1)
    d = acray.deployment_options(cfg, acray.RayOptions(autoscale=(1, 6), gpus_per_replica=0.25, cpus_per_replica=2))
    assert d["ray_actor_options"] == {"num_cpus": 2, "num_gpus": 0.25}
    assert "num_replicas" not in d
    assert d["autoscaling_config"] == {
        "min_replicas": 1,
        "initial_replicas": 1,
        "max_replicas": 6,
        "target_ongoing_requests": 8,
    }
    assert (
        acray.deployment_options(cfg, acray.RayOptions(autoscale=(0, 2)))["autoscaling_config"]["initial_replicas"] == 1
    )


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"replicas": 0}, "replicas"),
        ({"autoscale": (3, 2)}, "autoscale"),
        ({"autoscale": (0, 0)}, "autoscale"),
        ({"gpus_per_replica": -1}, "gpus_per_replica"),
        ({"gpus_per_replica": 1.5}, "whole number"),
        ({"cpus_per_replica": float("nan")}, "cpus_per_replica"),
    ],
)
def test_bad_ray_options(kwargs, match):
    with pytest.raises(alphacut.InputError, match=match):
        acray.RayOptions(**kwargs)


@pytest.mark.parametrize("text", ["4", "1:2:3", "a:b", ""])
def test_bad_autoscale_text(text):
    with pytest.raises(alphacut.InputError, match="MIN:MAX"):
        acray.parse_autoscale(text)


def _bound(application):
    """(deployment options, the ServerConfig bound) of an application from :func:`acray.build`."""
    dep = application._bound_deployment
    return dep, dep.init_args[0]


def test_builder_arguments_from_serve_run_text():
    """`serve run alphacut.server.ray:app max_batch=4 ...` hands the builder strings."""
    dep, cfg = _bound(
        acray.app(
            {
                "models": "u2netp,mediapipe-selfie",
                "max_batch": "4",
                "batch_wait_ms": "25",
                "allow_url": "false",
                "replicas": "3",
                "gpus_per_replica": "0.5",
            }
        )
    )
    assert cfg.models == ("u2netp", "mediapipe-selfie")
    assert (cfg.max_batch, cfg.batch_wait_ms, cfg.allow_url) == (4, 25.0, False)
    assert (cfg.runtime, cfg.backend) == ("auto", "auto")
    assert dep.num_replicas == 3
    assert dep.ray_actor_options["num_gpus"] == 0.5
    dep, _ = _bound(acray.app({"autoscale": "2:5"}))
    assert (
        dep._deployment_config.autoscaling_config.min_replicas,
        dep._deployment_config.autoscaling_config.max_replicas,
    ) == (2, 5)
    _, cfg = _bound(
        acray.app({"api_key_file": "keys.txt", "threads": "2", "model_paths": '{"u2netp": "/m/u2netp.onnx"}'})
    )
    assert (cfg.api_key_file, cfg.threads, cfg.model_paths) == ("keys.txt", 2, {"u2netp": "/m/u2netp.onnx"})
    with pytest.raises(alphacut.InputError, match="JSON object"):
        acray.app({"model_paths": "u2netp"})
    with pytest.raises(alphacut.InputError, match="unknown argument"):
        acray.app({"max_batchh": 4})
    with pytest.raises(alphacut.InputError, match="max_batch must be a number"):
        acray.app({"max_batch": "many"})


def test_shipped_serve_config_is_valid():
    """deploy/ray-serve.yaml: Ray's own schema accepts it, and its args build the application."""
    from ray.serve.schema import ServeDeploySchema

    doc = yaml.safe_load((REPO / "deploy" / "ray-serve.yaml").read_text())
    schema = ServeDeploySchema.model_validate(doc)
    (application,) = schema.applications
    assert application.import_path == "alphacut.server.ray:app"
    (dep_cfg,) = application.deployments
    assert dep_cfg.name == acray.DEPLOYMENT_NAME
    assert dep_cfg.health_check_period_s and dep_cfg.health_check_timeout_s
    assert dep_cfg.autoscaling_config is not None and dep_cfg.ray_actor_options is not None
    _, cfg = _bound(acray.app(application.args))
    assert cfg.max_batch >= 1 and cfg.models
    # the KubeRay manifest embeds the same application
    kube = yaml.safe_load((REPO / "deploy" / "kuberay-rayservice.yaml").read_text())
    assert kube["kind"] == "RayService"
    inner = yaml.safe_load(kube["spec"]["serveConfigV2"])
    assert inner["applications"][0]["import_path"] == "alphacut.server.ray:app"
    envs = {
        e["name"]: e.get("value")
        for group in [kube["spec"]["rayClusterConfig"]["headGroupSpec"]]
        + kube["spec"]["rayClusterConfig"]["workerGroupSpecs"]
        for c in group["template"]["spec"]["containers"]
        for e in c.get("env", [])
    }
    assert envs.get(acray.PROXY_CALLBACK_ENV) == acray.PROXY_CALLBACK


def test_health_check_fails_a_replica_that_lost_its_models_or_threads():
    """What makes Ray replace a replica (its process dying is tested on a live cluster)."""
    from concurrent.futures import ThreadPoolExecutor
    from types import SimpleNamespace

    check = acray.AlphacutDeployment.func_or_class.check_health
    pool = ThreadPoolExecutor(1)
    replica = SimpleNamespace(
        config=ServerConfig(models=("u2netp", "tiny")),
        service=SimpleNamespace(sessions={"u2netp": object(), "tiny": object()}, infer_pool=pool),
    )
    check(replica)  # healthy
    replica.service.sessions.pop("tiny")
    with pytest.raises(RuntimeError, match="models loaded"):
        check(replica)
    replica.service.sessions["tiny"] = object()
    pool.shutdown()
    with pytest.raises(RuntimeError, match="shut down"):
        check(replica)


# -- alphacut serve --ray ----------------------------------------------------------------------------


def _serve(*args):
    env = dict(os.environ, PYTHONPATH=PACKAGE_DIR)
    return subprocess.run(
        [sys.executable, "-m", "alphacut", "serve", *args], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    "args,match",
    [
        (["--replicas", "2"], "--replicas need --ray"),
        (["--gpus-per-replica", "1", "--address", "auto"], "--address, --gpus-per-replica need --ray"),
        (["--ray", "--autoscale", "5"], "MIN:MAX"),
        (["--ray", "--replicas", "0"], "replicas must be"),
        (["--ray", "--gpus-per-replica", "1.5"], "whole number"),
    ],
)
def test_cli_ray_option_errors_are_one_line(args, match):
    r = _serve(*args, "--port", "0")
    assert r.returncode == 1, r.stderr
    assert match in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("alphacut: error:")


def test_cli_replicas_and_autoscale_exclusive():
    r = _serve("--ray", "--replicas", "2", "--autoscale", "1:3")
    assert r.returncode == 2 and "not allowed with argument" in r.stderr


# -- the proxy middleware --------------------------------------------------------------------------


def _asgi(app, path):
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(msg):
        sent.append(msg)

    scope = {"type": "http", "method": "POST", "path": path, "headers": [(b"x-request-id", b"rid-1")]}
    asyncio.run(app(scope, receive, send))
    return sent


@pytest.mark.parametrize(
    "path,status,check",
    [
        ("/api/remove", 503, lambda b: "retry" in b["detail"]),  # rembg's FastAPI-shaped error
        # remove.bg's answer for "busy, retry" is its rate limit, 429, as the single-process server's
        ("/v1.0/removebg", 429, lambda b: "retry" in b["errors"][0]["title"]),
        ("/v1/cutout", 503, lambda b: b["error"]["code"] == "busy" and b["error"]["request_id"] == "rid-1"),
    ],
)
def test_lost_replica_becomes_busy_in_the_dialect(path, status, check):
    async def dead(scope, receive, send):  # Ray's proxy when the replica died: nothing sent
        return None

    async def raising(scope, receive, send):
        raise RuntimeError("actor died")

    for inner in (dead, raising):
        sent = _asgi(acray.ReplicaLost(inner), path)
        start = sent[0]
        assert start["status"] == status
        assert (b"retry-after", b"1") in [(k.lower(), v) for k, v in start["headers"]]
        assert check(json.loads(b"".join(m.get("body", b"") for m in sent[1:])))


def test_answers_pass_through_the_middleware():
    async def ok(scope, receive, send):
        await send({"type": "http.response.start", "status": 500, "headers": []})
        await send({"type": "http.response.body", "body": b"mine"})

    sent = _asgi(acray.ReplicaLost(ok), "/v1/cutout")
    assert [m.get("status") for m in sent] == [500, None] and sent[1]["body"] == b"mine"
    (mw,) = acray.proxy_middlewares()
    assert mw.cls is acray.ReplicaLost
