"""The TensorRT engine cache and build specs: plain Python, tested without a GPU."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from alphacut import InputError, ModelError
from alphacut.models import get_manifest
from alphacut.runtime.trt.cache import EngineCache
from alphacut.runtime.trt.spec import SPEC_DIR, BuildSpec, Profile, default_profile, load_build_spec

KEY_ARGS = dict(
    onnx_sha256="a" * 64, trt_version="10.3.0", gpu_name="NVIDIA H100", compute_capability="9.0", manifest_version=1
)


def test_key_changes_with_every_ingredient():
    spec = load_build_spec(get_manifest("u2netp"))
    base = EngineCache.key(spec=spec, **KEY_ARGS)
    assert base == EngineCache.key(spec=spec, **KEY_ARGS)  # deterministic
    variants = [
        dict(KEY_ARGS, onnx_sha256="b" * 64),
        dict(KEY_ARGS, trt_version="10.4.0"),
        dict(KEY_ARGS, gpu_name="NVIDIA L4"),
        dict(KEY_ARGS, compute_capability="8.9"),
        dict(KEY_ARGS, manifest_version=2),
    ]
    keys = {EngineCache.key(spec=spec, **v) for v in variants}
    keys.add(EngineCache.key(spec=replace(spec, precision="fp32"), **KEY_ARGS))
    keys.add(EngineCache.key(spec=replace(spec, workspace=spec.workspace * 2), **KEY_ARGS))
    other_profile = Profile({"input.1": ((1, 3, 320, 320), (1, 3, 320, 320), (8, 3, 320, 320))})
    keys.add(EngineCache.key(spec=replace(spec, profiles=(other_profile,)), **KEY_ARGS))
    keys.add(EngineCache.key(spec=replace(spec, tf32=True), **KEY_ARGS))
    recipe = {"recipe": 2, "strongly_typed": False, "fp16_onnx": False, "fp16_flag": True}
    keys.add(EngineCache.key(spec=spec, recipe=recipe, **KEY_ARGS))
    keys.add(EngineCache.key(spec=spec, recipe=dict(recipe, strongly_typed=True), **KEY_ARGS))
    keys.add(EngineCache.key(spec=spec, recipe=dict(recipe, recipe=3), **KEY_ARGS))
    assert base not in keys and len(keys) == 12


def test_put_get_atomic_with_sidecar(tmp_path):
    cache = EngineCache(tmp_path / "engines")
    assert cache.get("k1") is None
    p = cache.put("k1", b"PLAN" * 100, {"model": "u2netp", "precision": "fp16"})
    assert p == tmp_path / "engines" / "k1.plan"
    assert cache.get("k1") == b"PLAN" * 100
    side = cache.sidecar("k1")
    assert side["model"] == "u2netp" and side["bytes"] == 400 and side["key"] == "k1" and "built_at" in side
    assert sorted(x.name for x in (tmp_path / "engines").iterdir()) == ["k1.json", "k1.plan"]
    with pytest.raises(ModelError, match="empty"):
        cache.put("k2", b"", {})


def test_get_or_build_builds_once_under_the_lock(tmp_path):
    cache = EngineCache(tmp_path)
    calls = []

    def build():
        calls.append(1)
        time.sleep(0.3)
        return b"ENGINE"

    results = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.get_or_build("k", build, {"m": 1}))) for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == [b"ENGINE"] * 3
    assert len(calls) == 1
    assert cache.sidecar("k")["build_seconds"] >= 0.3
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


def test_failed_build_leaves_nothing(tmp_path):
    cache = EngineCache(tmp_path)

    def build():
        raise ModelError("TensorRT failed to build the engine")

    with pytest.raises(ModelError):
        cache.get_or_build("k", build, {})
    assert cache.get("k") is None and cache.sidecar("k") is None


def test_specs_are_package_data_of_the_imported_alphacut():
    """The specs ship inside the package (in CI the installed wheel): the batch profiles and
    FP16 of the specs reach an installed alphacut instead of silently becoming batch 1."""
    import importlib.resources

    import alphacut

    pkg = Path(alphacut.__file__).resolve().parent
    assert SPEC_DIR == pkg / "engines"
    shipped = importlib.resources.files("alphacut") / "engines"
    names = sorted(p.name for p in shipped.iterdir() if p.name.endswith(".json"))
    assert names == ["mediapipe-selfie.json", "modnet.json", "pp-humanseg-v1-lite.json", "u2netp.json"]
    spec = load_build_spec(get_manifest("u2netp"))
    assert spec.precision == "fp16" and spec.max_batch == 4 and spec.tf32 is False


def test_checked_in_specs_load_and_match_their_manifests():
    files = sorted(SPEC_DIR.glob("*.json"))
    assert files, f"no engine specs in {SPEC_DIR}"
    for f in files:
        m = get_manifest(f.stem)
        spec = load_build_spec(m)
        assert spec.precision in ("fp16", "fp32") and spec.workspace >= 1 << 20
        for prof in spec.profiles:
            for name, (lo, opt, hi) in prof.shapes.items():
                if m.input.name is not None:
                    assert name == m.input.name, f.name
                assert all(a <= b <= c for a, b, c in zip(lo, opt, hi)), f.name
                if m.input.size is not None:
                    assert tuple(opt[2:]) == m.input.size, f.name
                assert opt[1] == m.input.channels


def test_default_profiles_from_manifests():
    p = default_profile(get_manifest("sinet"))
    assert p.shapes == {"data": ((1, 3, 320, 320),) * 3}
    p = default_profile(get_manifest("pp-humanseg-v1-lite"))
    assert p.shapes["x"] == ((1, 3, 144, 256), (1, 3, 224, 398), (1, 3, 448, 796))
    p = default_profile(get_manifest("vitmatte"))
    assert p.shapes["pixel_values"][1] == (1, 4, 1024, 1024)
    p = default_profile(get_manifest("fba"), input_names=["image", "trimap"])
    assert set(p.shapes) == {"image", "trimap"} and p.shapes["trimap"][0] == (1, 1, 256, 256)
    assert p.shapes["image"] == ((1, 3, 256, 256), (1, 3, 728, 728), (1, 3, 2048, 2048))  # sqrt(256*2048)=724 -> 728
    with pytest.raises(ModelError, match="names no input"):
        default_profile(get_manifest("modnet"))
    assert default_profile(get_manifest("modnet"), ["input"]).shapes["input"][1] == (1, 3, 512, 512)


def test_spec_files_override_and_validate(tmp_path):
    m = get_manifest("sinet")
    (tmp_path / "sinet.json").write_text(
        json.dumps({"precision": "fp32", "workspace_mib": 64, "profiles": [{"data": [[1, 3, 320, 320]] * 3}]})
    )
    spec = load_build_spec(m, spec_dir=tmp_path)
    assert spec.precision == "fp32" and spec.workspace == 64 << 20
    assert load_build_spec(m, "fp16", spec_dir=tmp_path).precision == "fp16"
    (tmp_path / "sinet.json").write_text(json.dumps({"profiles": [{"data": [[1, 3, 320, 320]]}]}))
    with pytest.raises(ModelError, match="malformed"):
        load_build_spec(m, spec_dir=tmp_path)
    with pytest.raises(InputError, match="precision"):
        load_build_spec(m, "int8", spec_dir=tmp_path / "none")
    assert load_build_spec(m, spec_dir=tmp_path / "none") == BuildSpec(profiles=(default_profile(m),))
    (tmp_path / "sinet.json").write_text(json.dumps({"tf32": True, "profiles": [{"data": [[1, 3, 320, 320]] * 3}]}))
    assert load_build_spec(m, spec_dir=tmp_path).tf32 is True


def test_max_batch_override():
    spec = load_build_spec(get_manifest("u2netp")).with_max_batch(16)
    assert spec.profiles[0].shapes["input.1"] == ((1, 3, 320, 320), (1, 3, 320, 320), (16, 3, 320, 320))
    assert spec.max_batch == 16
    assert load_build_spec(get_manifest("u2netp")).with_max_batch(1).max_batch == 1
    with pytest.raises(InputError, match="max batch"):
        spec.with_max_batch(0)


def test_cache_entries_evict_and_clear(tmp_path):
    cache = EngineCache(tmp_path)
    assert cache.entries() == [] and cache.clear() == 0
    cache.put("a", b"P1", {"model": "u2netp", "precision": "fp16"})
    cache.put("b", b"P22", {"model": "modnet", "precision": "fp32"})
    ents = cache.entries()
    assert [(e["key"], e["model"], e["bytes"]) for e in ents] == [("a", "u2netp", 2), ("b", "modnet", 3)]
    cache.evict("a")
    assert cache.get("a") is None and cache.sidecar("a") is None and cache.get("b") == b"P22"
    assert cache.clear() == 1 and list(tmp_path.iterdir()) == []
