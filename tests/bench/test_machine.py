import json
import os

import numpy as np

from alphacut.bench import machine


def test_machine_info_fields_are_real():
    info = machine.machine_info()
    json.dumps(info)  # JSON-ready
    assert info["cpu_cores"] == len(os.sched_getaffinity(0))
    assert info["versions"]["numpy"] == np.__version__
    import onnxruntime

    assert info["versions"]["onnxruntime"] == onnxruntime.__version__
    import alphacut

    assert info["versions"]["alphacut"] == alphacut.__version__
    assert "tensorrt" not in info["versions"] or info["versions"]["tensorrt"]
    assert isinstance(info["gpus"], list)
    assert info["memory_mb"] is None or info["memory_mb"] > 100


def test_cpu_model_matches_proc_cpuinfo():
    try:
        with open("/proc/cpuinfo") as f:
            names = [ln.split(":", 1)[1].strip() for ln in f if ln.lower().startswith("model name")]
    except OSError:
        names = []
    if names:
        assert machine.cpu_model() == names[0]
    else:
        assert machine.cpu_model() is None or isinstance(machine.cpu_model(), str)


def test_missing_package_is_none_not_a_guess():
    assert machine.package_version("surely-not-installed-xyz") is None


def test_thread_env_is_reported(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    info = machine.machine_info()
    assert info["thread_env"]["OMP_NUM_THREADS"] == "3"
    assert "OPENBLAS_NUM_THREADS" not in info["thread_env"]


def test_gpus_parses_nvidia_smi(monkeypatch, tmp_path):
    fake = tmp_path / "nvidia-smi"
    fake.write_text("#!/bin/sh\necho 'NVIDIA H100 80GB HBM3, 550.54.15, 81559 MiB, 9.0'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    g = machine.gpus()
    assert g == [
        {"name": "NVIDIA H100 80GB HBM3", "driver": "550.54.15", "memory": "81559 MiB", "compute_capability": "9.0"}
    ]
    lines = machine.describe({**machine.machine_info(), "gpus": g})
    assert any("H100" in ln and "550.54.15" in ln for ln in lines)


def test_failing_nvidia_smi_means_no_gpu(monkeypatch, tmp_path):
    fake = tmp_path / "nvidia-smi"
    fake.write_text("#!/bin/sh\necho 'NVIDIA-SMI has failed' >&2\nexit 9\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    assert machine.gpus() == []
    assert any("none found" in ln for ln in machine.describe(machine.machine_info()))


def test_source_commit_names_this_checkout():
    import re
    import shutil
    import subprocess
    from pathlib import Path

    here = Path(machine.__file__).resolve().parent
    if not shutil.which("git") or subprocess.run(["git", "-C", str(here), "rev-parse"], capture_output=True).returncode:
        assert machine.source_commit() is None
        return
    head = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    c = machine.source_commit()
    assert re.fullmatch(r"[0-9a-f]{10,}(-dirty)?", c) and head.startswith(c.split("-")[0])
