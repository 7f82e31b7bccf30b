"""Three frontends that embed rembg, reduced to the calls they make (tests/compat/callers/), run
unchanged against the drop-in (a subprocess) and against rembg 2.0.86 (this process)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import _dropin
import numpy as np
import pytest
from _dropin import absdiff as _d
from _dropin import dropin_env, run_dropin
from conftest import shared_path

car, real_rembg, rembg_home = _dropin.car, _dropin.real_rembg, _dropin.rembg_home  # fixtures

CALLERS = Path(__file__).parent / "callers"


def _run_caller_with_dropin(module, call, tmp_path, **env):
    script = f"""
import sys, numpy as np
sys.path.insert(0, {str(CALLERS)!r})
import {module}
np.savez("out.npz", **{call})
"""
    e = dropin_env(**env)
    for k in [k for k, v in env.items() if v is None]:
        e.pop(k)
    run_dropin(script, cwd=tmp_path, env=e)
    with np.load(tmp_path / "out.npz") as z:
        return {k: z[k] for k in z.files}


def _caller_in_process(module):
    sys.path.insert(0, str(CALLERS))
    try:
        return __import__(module)
    finally:
        sys.path.remove(str(CALLERS))


@pytest.fixture
def no_model_env(tmp_path, monkeypatch):
    """No REMBG_HOME model and no U2NET_HOME: each caller points rembg at its own folder."""
    empty = tmp_path / "empty_rembg_home"
    empty.mkdir()
    monkeypatch.setenv("REMBG_HOME", str(empty))
    monkeypatch.setenv("U2NET_HOME", "placeholder")  # recorded, so that teardown removes what callers set
    monkeypatch.delenv("U2NET_HOME")
    return empty


def test_automatic1111_rembg_extension(tmp_path, car, real_rembg, no_model_env):
    models_path = tmp_path / "webui_models"
    (models_path / "u2net").mkdir(parents=True)
    shutil.copy(shared_path("models", "u2netp_320.onnx"), models_path / "u2net" / "u2netp.onnx")  # legacy layout
    call = f"a1111_rembg.run({str(car)!r}, {str(models_path)!r})"
    ours = _run_caller_with_dropin("a1111_rembg", call, tmp_path, REMBG_HOME=str(no_model_env), U2NET_HOME=None)
    ref = _caller_in_process("a1111_rembg").run(car, str(models_path))
    assert str(ours["u2net_home"]) == str(models_path / "u2net")
    for k in ("cutout", "mask", "api", "none"):
        assert ours[k].shape == ref[k].shape and _d(ours[k], ref[k]).max() <= 1, k
    assert ours["mask"].ndim == 2 and ours["cutout"].shape[2] == 4
    # alpha matting: alphacut's solve on rembg's trimap; sure pixels agree, the band is close
    a, r = ours["matting"][:, :, 3], ref["matting"][:, :, 3]
    sure = (r == 0) | (r == 255)
    assert (_d(a, r)[sure] <= 5).mean() > 0.99
    assert _d(a, r).mean() < 3


def test_comfyui_essentials_nodes(tmp_path, car, real_rembg, rembg_home):
    provs = ["CPU", "CUDA", "ROCM", "DirectML", "OpenVINO", "CoreML", "Tensorrt", "Azure"]
    call = f"comfyui_essentials.run({str(car)!r}, {provs!r})"
    ours = _run_caller_with_dropin("comfyui_essentials", call, tmp_path)
    ref = _caller_in_process("comfyui_essentials").run(car, ("CPU",))
    assert ours["mask_CPU"].shape == (2, 120, 160) and ours["image_CPU"].shape == (2, 120, 160, 3)
    assert np.abs(ours["mask_CPU"] - ref["mask_CPU"]).max() <= 1 / 255 + 1e-6
    assert np.abs(ours["image_CPU"] - ref["image_CPU"]).max() <= 1 / 255 + 1e-6
    for p in provs:  # every drop-down choice gives a working session (the GPU ones here fall back, saying so)
        assert np.abs(ours[f"mask_{p}"] - ours["mask_CPU"]).max() <= 1 / 255 + 1e-6, p


def test_iopaint_remove_bg_plugin(tmp_path, car, real_rembg, no_model_env, monkeypatch):
    hub = tmp_path / "torch_hub"
    (hub / "checkpoints").mkdir(parents=True)
    shutil.copy(shared_path("models", "u2netp_320.onnx"), hub / "checkpoints" / "u2netp.onnx")
    call = f"iopaint_remove_bg.run({str(car)!r}, {str(hub)!r})"
    ours = _run_caller_with_dropin("iopaint_remove_bg", call, tmp_path, REMBG_HOME=str(no_model_env), U2NET_HOME=None)
    pytest.importorskip("cv2")
    ref = _caller_in_process("iopaint_remove_bg").run(car, str(hub))
    assert bool(ours["gate"]) is True and bool(ref["gate"]) is True  # "2.0.86" < "2.0.59" is False
    assert ours["image"].shape == ref["image"].shape and ours["image"].shape[2] == 4
    assert _d(ours["image"], ref["image"]).max() <= 1
    assert ours["mask"].ndim == 2 and _d(ours["mask"], ref["mask"]).max() <= 1
