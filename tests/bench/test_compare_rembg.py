"""The side-by-side script's plumbing: rembg pinned to the shared file (md5 checked, no download),
alpha decoding, the GT image list, and the rendered tables."""

import importlib.util
import io
import math
import os
from pathlib import Path

import numpy as np
import pytest
from conftest import shared_path
from PIL import Image

import alphacut

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "compare_rembg.py"


@pytest.fixture(scope="module")
def cmp():
    spec = importlib.util.spec_from_file_location("compare_rembg", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture
def clean_env(monkeypatch):
    # set, then delete: monkeypatch records the variable either way, so what the code under test
    # writes into os.environ is undone after the test (a bare delenv of an unset one records nothing)
    for name in ("U2NET_HOME", "REMBG_HOME"):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)


def test_wrong_md5_is_refused(cmp, tmp_path, clean_env):
    fake = tmp_path / "u2netp.onnx"
    fake.write_bytes(b"not a model")
    with pytest.raises(alphacut.ModelError, match="md5"):
        cmp.rembg_home_with(fake, tmp_path / "home")
    with pytest.raises(alphacut.ModelError, match="not found"):
        cmp.rembg_home_with(tmp_path / "missing.onnx", tmp_path / "home")


def test_rembg_reproduces_its_golden_output_without_downloading(cmp, tmp_path, clean_env, monkeypatch):
    pytest.importorskip("rembg")
    import pooch

    monkeypatch.setattr(pooch, "retrieve", pooch.retrieve)  # restored after the test
    model = shared_path("models", "u2netp_320.onnx")
    src = shared_path("images", "rembg", "input", "car-1.jpg")
    ref = shared_path("images", "rembg", "reference_u2netp_rgba", "car-1.png")
    expected = cmp.rembg_home_with(model, tmp_path)
    assert expected == tmp_path / "models" / "u2netp" / "u2netp.onnx" and expected.is_symlink()
    assert os.environ["U2NET_HOME"] == str(tmp_path) == os.environ["REMBG_HOME"]
    session = cmp.rembg_session(expected)
    out = cmp.rembg_remover(session)(src.read_bytes())
    alpha = cmp.decode_alpha(out).astype(int)
    with Image.open(ref) as im:
        ref_alpha = np.asarray(im.convert("RGBA"))[:, :, 3].astype(int)
    assert np.abs(alpha - ref_alpha).max() <= 1  # the comparison runs rembg as rembg's own tests do

    with pytest.raises(RuntimeError, match="tried to download"):
        pooch.retrieve("https://example.invalid/x.onnx", None)


def test_decode_alpha_forms(cmp):
    rgba = np.zeros((5, 6, 4), np.uint8)
    rgba[..., 3] = np.arange(30, dtype=np.uint8).reshape(5, 6)
    buf = io.BytesIO()
    Image.fromarray(rgba).save(buf, "PNG")
    for form in (buf.getvalue(), Image.fromarray(rgba), rgba):
        np.testing.assert_array_equal(cmp.decode_alpha(form), rgba[..., 3])
    with pytest.raises(ValueError, match="RGBA"):
        cmp.decode_alpha(np.zeros((2, 2, 3), np.uint8))


def test_gt_images_pairs_inputs_with_their_alpha(cmp):
    root = shared_path()
    imgs = cmp.gt_images(root, ["composites", "alphamatting_gt05"])
    names = [n for n, _, _ in imgs]
    assert len(imgs) == 12 and "gt05/GT05" in names and "gt05/GT05_on_GT26r" in names
    for _, src, gt in imgs:
        with Image.open(src) as a, Image.open(gt) as b:
            assert a.size == b.size


def test_interleaved_times_every_method(cmp):
    calls = []
    methods = {"a": lambda d: calls.append("a") or d, "b": lambda d: calls.append("b") or d * 2}
    times, outs = cmp.interleaved(methods, 3, repeat=3, warmup=1)
    assert calls == ["a", "b", "a", "b", "b", "a", "a", "b"]  # warm-up, then alternating order
    assert outs == {"a": 3, "b": 6} and all(len(v) == 3 for v in times.values())


def test_render_tables(cmp):
    from alphacut.bench.machine import machine_info
    from alphacut.bench.stats import ratio, summarize

    q = {k: 1.0 for k in cmp.QUALITY_KEYS}
    res = {
        "command": "python bench/compare_rembg.py --repeat 1",
        "machine": machine_info(),
        "model": "m.onnx",
        "model_md5": cmp.U2NETP_MD5,
        "rows": ["plain"],
        "methods": ["rembg plain", "alphacut plain"],
        "missing": {},
        "repeat": 1,
        "warmup": 0,
        "images": ["x"],
        "per_image": {"x": {"rembg plain": dict(q, sad=4.0), "alphacut plain": dict(q, sad=2.0)}},
        "latency_gt_ms": {"rembg plain": summarize([600.0]), "alphacut plain": summarize([200.0])},
        "latency_sizes": {"12mp": {"rembg plain": summarize([3000.0]), "alphacut plain": None, "_input": "p"}},
        "slow_max_mp": 2.0,
    }
    md = cmp.render(res, ratio)
    assert "```bash\npython bench/compare_rembg.py --repeat 1\n```" in md
    assert "| plain | 600 | 200 | 3.00 |" in md
    assert "| plain | 3,000 | – | – |" in md and "Skipped at this size" in md
    assert "| x | 4.00 | 2.00 |" in md
    assert math.isnan(ratio(1.0, 0.0))


def test_unknown_row_is_a_user_error(cmp, capsys):
    assert cmp.main(["--rows", "plain,magic", "--rembg-only"]) == 1
    assert "unknown" in capsys.readouterr().err
