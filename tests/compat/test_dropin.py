"""The rembg drop-in (compat/rembg): rembg 2.0.86's public surface, run in a subprocess and
compared with the real rembg in this process on the same u2netp file."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import _dropin
import numpy as np
import pytest
from _dropin import DROPIN_SRC, dropin_env, run_dropin
from _dropin import absdiff as _d
from _dropin import scipy_trimap as _scipy_trimap
from conftest import SHARED_DATA, shared_path
from PIL import Image

car, real_rembg, rembg_home = _dropin.car, _dropin.real_rembg, _dropin.rembg_home  # fixtures

pytestmark = pytest.mark.usefixtures("rembg_home")


# ------------------------------------------------------------------------------------------------
# rembg's own test, unchanged, through the drop-in
# ------------------------------------------------------------------------------------------------


def test_rembg_own_hash_test_passes_through_the_dropin(tmp_path):
    pytest.importorskip("imagehash")
    shared_path("images", "rembg", "reference_u2netp_rgba", "anime-girl-1.png")
    suite = DROPIN_SRC.parents[2] / "tests" / "compat" / "rembg_suite" / "rembg_test_remove.py"
    env = dropin_env(ALPHACUT_SHARED_DATA=str(SHARED_DATA))
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-s",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(tmp_path),
            "--confcutdir",
            str(suite.parent),
            str(suite),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 passed" in r.stdout
    assert r.stdout.count("u2netp: actual") == 3


# ------------------------------------------------------------------------------------------------
# Every remove() keyword against the real rembg
# ------------------------------------------------------------------------------------------------

# (case name, input kind, keywords): each computed by the drop-in and by rembg 2.0.86.
CASES = [
    ("plain_bytes", "bytes", {}),
    ("plain_pil", "pil", {}),
    ("plain_ndarray", "ndarray", {}),
    ("only_mask", "bytes", {"only_mask": True}),
    ("post_process_mask", "bytes", {"post_process_mask": True}),
    ("post_process_only_mask", "bytes", {"post_process_mask": True, "only_mask": True}),
    ("bgcolor", "bytes", {"bgcolor": [0, 0, 255, 255]}),
    ("bgcolor_cli_default", "bytes", {"bgcolor": [0, 0, 0, 0]}),
    ("putalpha", "bytes", {"putalpha": True}),
    ("decontaminate", "bytes", {"decontaminate": True}),
    ("extra_kwargs", "bytes", {"sam_prompt": [{"type": "point", "data": [1, 1], "label": 1}]}),
    ("alpha_matting", "bytes", {"alpha_matting": True}),
    (
        "alpha_matting_thresholds",
        "bytes",
        {
            "alpha_matting": True,
            "alpha_matting_foreground_threshold": 200,
            "alpha_matting_background_threshold": 60,
            "alpha_matting_erode_size": 3,
        },
    ),
    ("alpha_matting_only_mask", "bytes", {"alpha_matting": True, "only_mask": True}),
]

_CASES_SCRIPT = r"""
import io, json, numpy as np
from PIL import Image
from rembg import new_session, remove
cases = json.loads(sys.argv[1]) if len(sys.argv) > 1 else json.load(open("cases.json"))
data = open(CAR, "rb").read()
session = new_session("u2netp")
out = {}
for name, kind, kw in cases:
    if "bgcolor" in kw:
        kw["bgcolor"] = tuple(kw["bgcolor"])
    src = data if kind == "bytes" else Image.open(io.BytesIO(data)) if kind == "pil" else \
        np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    r = remove(src, session=session, **kw)
    out[name + ":type"] = np.array(type(r).__name__)
    out[name] = np.asarray(Image.open(io.BytesIO(r)) if isinstance(r, bytes) else r)
forced = remove(np.asarray(Image.open(io.BytesIO(data)).convert("RGB")), session=session, force_return_bytes=True)
out["forced:type"] = np.array(type(forced).__name__)
out["forced"] = np.asarray(Image.open(io.BytesIO(forced)))
np.savez("out.npz", **out)
"""


def _rembg_output(real, name, kind, kw, data):
    kw = dict(kw)
    if "bgcolor" in kw:
        kw["bgcolor"] = tuple(kw["bgcolor"])
    src = (
        data
        if kind == "bytes"
        else Image.open(io.BytesIO(data))
        if kind == "pil"
        else np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    )
    r = real.remove(src, session=real.new_session("u2netp"), **kw)
    return type(r).__name__, np.asarray(Image.open(io.BytesIO(r)) if isinstance(r, bytes) else r)


@pytest.fixture
def dropin_cases(tmp_path, car):
    (tmp_path / "cases.json").write_text(json.dumps(CASES))
    run_dropin(f"CAR = {str(car)!r}\n" + _CASES_SCRIPT, cwd=tmp_path)
    with np.load(tmp_path / "out.npz") as z:
        return {k: z[k] for k in z.files}


def test_every_remove_keyword_matches_rembg(dropin_cases, real_rembg, car):
    ours = dropin_cases
    data = car.read_bytes()
    ref = {name: _rembg_output(real_rembg, name, kind, kw, data) for name, kind, kw in CASES}
    src_rgb = np.asarray(Image.open(car).convert("RGB"))

    # return types follow the input, as in rembg
    for name, _, _ in CASES:
        assert str(ours[name + ":type"]) == ref[name][0], name
    assert str(ours["forced:type"]) == "bytes"
    np.testing.assert_array_equal(ours["forced"], ours["plain_bytes"])

    # the plain paths: rembg's numbers, alpha (and the naive cutout's colour) within 1 LSB
    for name in ("plain_bytes", "plain_pil", "plain_ndarray", "extra_kwargs", "bgcolor", "bgcolor_cli_default"):
        assert ours[name].shape == ref[name][1].shape, name
        assert _d(ours[name], ref[name][1]).max() <= 1, name
    plain_alpha = ours["plain_bytes"][:, :, 3]
    assert 0 < plain_alpha.mean() < 255
    assert (ours["bgcolor"][:, :, 3] == 255).all()  # bgcolor was applied
    assert (ours["bgcolor"][plain_alpha == 0][:, :3] == [0, 0, 255]).all()

    # only_mask: the L mask
    assert ours["only_mask"].ndim == 2 and _d(ours["only_mask"], ref["only_mask"][1]).max() <= 1
    np.testing.assert_array_equal(ours["only_mask"], plain_alpha)

    # post_process_mask: rembg's opening + blur + threshold (a 1-LSB mask difference could flip a
    # pixel at the threshold: allow one in a thousand), and it did change the mask
    for name, alpha in (("post_process_mask", lambda a: a[:, :, 3]), ("post_process_only_mask", lambda a: a)):
        got, want = alpha(ours[name]), alpha(ref[name][1])
        assert (got != want).mean() < 1e-3, name
        assert set(np.unique(got)) <= {0, 255}
        assert (got != ours["only_mask"]).sum() > 100, name

    # putalpha: the image's own colours, the mask as alpha
    np.testing.assert_array_equal(ours["putalpha"][:, :, :3], src_rgb)
    assert _d(ours["putalpha"][:, :, 3], ref["putalpha"][1][:, :, 3]).max() <= 1

    # decontaminate: rembg's alpha, foreground colour (alphacut's estimator, rembg's method) close to
    # pymatting's on the soft pixels, and not the naive cutout's colour
    dc, dref = ours["decontaminate"], ref["decontaminate"][1]
    assert _d(dc[:, :, 3], dref[:, :, 3]).max() <= 1
    soft = (dc[:, :, 3] > 0) & (dc[:, :, 3] < 255)
    assert soft.sum() > 500
    print(f"decontaminate: |ours - rembg| on soft pixels: mean {_d(dc[soft][:, :3], dref[soft][:, :3]).mean():.2f}")
    assert _d(dc[soft][:, :3], dref[soft][:, :3]).mean() < 1.5
    assert _d(dc[soft][:, :3], ours["plain_bytes"][soft][:, :3]).mean() > 10
    opaque = dc[:, :, 3] == 255
    assert _d(dc[opaque][:, :3], dref[opaque][:, :3]).mean() < 3.0


def test_alpha_matting_keeps_rembg_trimap_semantics(dropin_cases, real_rembg, car):
    """alpha_matting runs alphacut's band solve, not rembg's: the same trimap (from rembg's mask,
    its thresholds and erosion), exact 0/255 where the trimap is sure, close to rembg's solve in the
    band; the thresholds change the result."""
    ours = dropin_cases
    mask = ours["only_mask"]
    ref = _rembg_output(real_rembg, "alpha_matting", "bytes", {"alpha_matting": True}, car.read_bytes())[1]
    for name, (fg, bg, erode) in (("alpha_matting", (240, 10, 10)), ("alpha_matting_thresholds", (200, 60, 3))):
        a = ours[name][:, :, 3]
        tri = _scipy_trimap(mask, fg, bg, erode)
        assert (a[tri == 255] == 255).all() and (a[tri == 0] == 0).all(), name
        band = tri == 128
        assert band.sum() > 1000
        assert not np.array_equal(a[band], mask[band]), name  # the band was solved, not copied
    default, other = ours["alpha_matting"][:, :, 3], ours["alpha_matting_thresholds"][:, :, 3]
    tri_default, tri_other = _scipy_trimap(mask, 240, 10, 10), _scipy_trimap(mask, 200, 60, 3)
    moved = (tri_other == 255) & (tri_default != 255)
    assert moved.sum() > 100 and (other[moved] == 255).all() and not (default[moved] == 255).all()
    # against rembg's closed-form solve on the same trimap
    band = tri_default == 128
    print(
        f"alpha_matting: |ours - rembg| in the band: mean {_d(default[band], ref[:, :, 3][band]).mean():.1f}, "
        f"sure pixels max {_d(default[~band], ref[:, :, 3][~band]).max()}"
    )
    assert _d(default[band], ref[:, :, 3][band]).mean() < 25
    assert _d(default[tri_default != 128], ref[:, :, 3][tri_default != 128]).max() <= 5
    # only_mask wins over alpha_matting, as in rembg
    np.testing.assert_array_equal(ours["alpha_matting_only_mask"], mask)


# ------------------------------------------------------------------------------------------------
# The public surface: modules, names, version, errors
# ------------------------------------------------------------------------------------------------


def test_module_paths_names_and_version(tmp_path, real_rembg):
    script = r"""
import json
import alphacut
import rembg
from rembg import remove, new_session
from rembg.bg import (remove as bg_remove, new_session as bg_new_session, post_process, naive_cutout,
    alpha_matting_cutout, putalpha_cutout, decontaminate_cutout, get_concat_v, get_concat_v_multi,
    apply_background_color, fix_image_orientation, download_models, ReturnType, kernel)
from rembg.session_factory import new_session as sf_new_session
from rembg.sessions import sessions_class, sessions_names, sessions, BaseSession, U2netpSession, U2netSession
from rembg.sessions.base import BaseSession as Base2
from rembg.sessions.u2netp import U2netpSession as U2
from rembg.sessions.dis_general_use import DisSession
import rembg.sessions as S
assert remove is bg_remove and new_session is bg_new_session is sf_new_session
assert BaseSession is Base2 and U2 is U2netpSession and issubclass(U2netpSession, BaseSession)
print(json.dumps({
    "version": rembg.__version__, "alphacut": rembg.__alphacut_version__, "alphacut_real": alphacut.__version__,
    "names": sessions_names, "classes": [[c.__name__, c.__module__, c.name()] for c in sessions_class],
    "dis": DisSession.name(), "kernel": kernel.tolist(),
    "local": {n: [c.is_local(), c.requires_credentials(), c.has_usage_cost()] for n, c in sessions.items()},
    "downloadable": S.sessions_names_downloadable, "no_credentials": S.sessions_names_no_credentials,
}))
"""
    got = json.loads(run_dropin(script, cwd=tmp_path).stdout)
    assert got["version"] == real_rembg.__version__ == "2.0.86"
    assert got["alphacut"] == got["alphacut_real"]
    from rembg import sessions as real_sessions

    assert got["names"] == real_sessions.sessions_names
    assert got["classes"] == [[c.__name__, c.__module__, c.name()] for c in real_sessions.sessions_class]
    assert got["dis"] == "isnet-general-use"
    assert got["downloadable"] == real_sessions.sessions_names_downloadable
    assert got["no_credentials"] == real_sessions.sessions_names_no_credentials
    assert got["local"] == {
        n: [c.is_local(), c.requires_credentials(), c.has_usage_cost()] for n, c in real_sessions.sessions.items()
    }
    from rembg.bg import kernel

    assert got["kernel"] == np.asarray(kernel).tolist()


def test_defaults_and_signatures_are_rembgs(tmp_path, real_rembg):
    script = r"""
import inspect, json
from rembg import remove, new_session
from rembg.bg import alpha_matting_cutout
def sig(f):
    return [(p.name, repr(p.default), str(p.kind)) for p in inspect.signature(f).parameters.values()]
print(json.dumps({"remove": sig(remove), "new_session": sig(new_session)}))
"""
    got = json.loads(run_dropin(script, cwd=tmp_path).stdout)

    def sig(f):
        return [[p.name, repr(p.default), str(p.kind)] for p in __import__("inspect").signature(f).parameters.values()]

    assert got["remove"] == sig(real_rembg.remove)  # every keyword, same defaults (session None -> bria-rmbg)
    assert (
        got["new_session"][0]
        == sig(real_rembg.new_session)[0]
        == ["model_name", "'bria-rmbg'", "POSITIONAL_OR_KEYWORD"]
    )
    assert [p[0] for p in got["new_session"]] == [p[0] for p in sig(real_rembg.new_session)]


def test_errors_keep_rembgs_types(tmp_path, real_rembg):
    script = r"""
import json, numpy as np
from rembg import new_session, remove
s = new_session("u2netp")
out = {}
def kind(f):
    try:
        f()
    except Exception as e:
        return [type(e).__name__, [c.__name__ for c in type(e).__mro__], str(e)]
    return None
out["unknown"] = kind(lambda: new_session("no-such-model"))
out["unsupported"] = kind(lambda: new_session("sam"))
out["cloth"] = kind(lambda: new_session("u2net_cloth_seg"))
out["garbage"] = kind(lambda: remove(b"not an image at all", session=s))
out["type"] = kind(lambda: remove("a string", session=s))
out["float_array"] = kind(lambda: remove(np.zeros((4, 4, 3)), session=s))
out["custom_no_path"] = kind(lambda: new_session("u2net_custom"))
out["custom_outside"] = kind(lambda: new_session("u2net_custom", model_path="/etc/passwd"))
print(json.dumps(out))
"""
    got = json.loads(run_dropin(script, cwd=tmp_path).stdout)
    s = real_rembg.new_session("u2netp")

    def kind(f):
        try:
            f()
        except Exception as e:  # noqa: BLE001
            return type(e)
        return None

    assert "ValueError" in got["unknown"][1] and kind(lambda: real_rembg.new_session("no-such-model")) is ValueError
    assert "No session class found for model 'no-such-model'" in got["unknown"][2]
    for name in ("unsupported", "cloth"):
        assert "ValueError" in got[name][1] and "not served by alphacut" in got[name][2]
    assert got["garbage"][0] == kind(lambda: real_rembg.remove(b"not an image at all", session=s)).__name__
    assert got["garbage"][0] == "UnidentifiedImageError"
    assert got["type"][0] == kind(lambda: real_rembg.remove("a string", session=s)).__name__ == "ValueError"
    assert got["float_array"][0] == kind(lambda: real_rembg.remove(np.zeros((4, 4, 3)), session=s)).__name__
    assert got["custom_no_path"][0] == "ValueError" and "model_path is required" in got["custom_no_path"][2]
    assert got["custom_outside"][0] == "ValueError" and "within the models directory" in got["custom_outside"][2]


# ------------------------------------------------------------------------------------------------
# Sessions: inner_session, subclasses, custom models, sess_opts
# ------------------------------------------------------------------------------------------------


def test_inner_session_and_subclasses(tmp_path, rembg_home, car):
    """What scripts do with rembg's sessions: read ``inner_session``, subclass a model's class,
    subclass ``BaseSession`` with their own file and ``predict``, append to ``sessions_class``."""
    script = f"""
import io, json, numpy as np, onnxruntime as ort
from PIL import Image
from rembg import new_session, remove
from rembg.sessions import BaseSession, U2netpSession, sessions_class
from rembg.sessions.u2netp import U2netpSession as U2
CAR = {str(car)!r}
MODEL = {str(rembg_home / "models" / "u2netp" / "u2netp.onnx")!r}
img = Image.open(CAR)
s = new_session("u2netp")
out = {{"inner": type(s.inner_session).__name__, "input": s.inner_session.get_inputs()[0].name,
        "providers": s.inner_session.get_providers()}}
ref = np.asarray(remove(img, session=s, only_mask=True))

class Inverted(U2netpSession):
    def predict(self, img, *args, **kwargs):
        return [Image.fromarray(255 - np.asarray(m)) for m in super().predict(img, *args, **kwargs)]

inv = np.asarray(remove(img, session=Inverted("u2netp", ort.SessionOptions()), only_mask=True))
out["inverted"] = bool((inv == 255 - ref).all())

class Mine(BaseSession):
    # as rembg's own sessions are written: inner_session.run on normalize, min-max stretch
    def predict(self, img, *args, **kwargs):
        y = self.inner_session.run(None, self.normalize(img, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225),
                                                        (320, 320)))[0][:, 0]
        y = np.squeeze((y - y.min()) / (y.max() - y.min()))
        m = Image.fromarray((y * 255).astype("uint8"), mode="L").resize(img.size, Image.Resampling.LANCZOS)
        return [m, Image.fromarray(255 - np.asarray(m))]
    @classmethod
    def download_models(cls, *args, **kwargs):
        return MODEL
    @classmethod
    def name(cls, *args, **kwargs):
        return "mine"

sessions_class.append(Mine)
mine = new_session("mine", providers=["CPUExecutionProvider"])
out["mine_type"] = type(mine).__name__
two = np.asarray(remove(img, session=mine, only_mask=True))
out["mine_shape"] = list(two.shape)
out["mine_matches"] = int(np.abs(two[: ref.shape[0], :, 0].astype(int) - ref).max())
out["mine_second"] = int(np.abs(two[ref.shape[0]:, :, 0].astype(int) - (255 - ref)).max())
am = np.asarray(remove(img, session=mine, alpha_matting=True))
out["mine_alpha_matting"] = list(am.shape)

class FineTuned(U2netpSession):
    @classmethod
    def download_models(cls, *args, **kwargs):
        return MODEL
ft = FineTuned("u2netp", None)
out["fine_tuned"] = int(np.abs(np.asarray(remove(img, session=ft, only_mask=True)).astype(int) - ref).max())
print(json.dumps(out))
"""
    got = json.loads(run_dropin(script, cwd=tmp_path).stdout)
    h, w = Image.open(car).size[::-1]
    assert got["inner"] == "InferenceSession" and got["input"] == "input.1"
    assert got["providers"] == ["CPUExecutionProvider"]
    assert got["inverted"] is True
    assert got["mine_type"] == "Mine"
    # one cutout per mask, stacked on an RGBA canvas (rembg's get_concat_v_multi), as rembg does
    assert got["mine_shape"] == [2 * h, w, 4]
    assert got["mine_matches"] <= 1 and got["mine_second"] <= 1
    assert got["mine_alpha_matting"] == [2 * h, w, 4]
    assert got["fine_tuned"] <= 1


def test_custom_model_path_sessions(tmp_path, rembg_home, car):
    """u2net_custom runs a file from rembg's model folder with u2net's numbers."""
    import shutil

    custom = rembg_home / "models" / "my_u2netp.onnx"
    shutil.copy(shared_path("models", "u2netp_320.onnx"), custom)
    script = f"""
import numpy as np
from PIL import Image
from rembg import new_session, remove
img = Image.open({str(car)!r})
a = np.asarray(remove(img, session=new_session("u2net_custom", model_path={str(custom)!r}), only_mask=True))
b = np.asarray(remove(img, session=new_session("u2netp"), only_mask=True))
print(int(np.abs(a.astype(int) - b).max()))
"""
    assert int(run_dropin(script, cwd=tmp_path).stdout) <= 1


def test_sess_opts_threads_and_unapplied_settings(tmp_path):
    script = r"""
import warnings, onnxruntime as ort
from rembg import new_session
o = ort.SessionOptions()
o.intra_op_num_threads = 1
s = new_session("u2netp", sess_opts=o)
print(s.alphacut.threads)
o2 = ort.SessionOptions()
o2.intra_op_num_threads = 2
o2.enable_profiling = True
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    s2 = new_session("u2netp", sess_opts=o2)
print(s2.alphacut.threads)
print([str(x.message) for x in w])
"""
    out = run_dropin(script, cwd=tmp_path).stdout.decode().splitlines()
    assert out[0] == "1" and out[1] == "2"
    assert "enable_profiling=True" in out[2] and "not applied" in out[2]
    r = run_dropin(
        "from rembg import new_session\nprint(new_session('u2netp').alphacut.threads)",
        cwd=tmp_path,
        env=dropin_env(OMP_NUM_THREADS="1"),
    )
    assert r.stdout.decode().strip() == "1"  # rembg's OMP_NUM_THREADS rule


# ------------------------------------------------------------------------------------------------
# providers: never silently ignored
# ------------------------------------------------------------------------------------------------


def test_providers_map_to_runtimes_with_the_reason_printed(tmp_path, car):
    import onnxruntime

    from alphacut.runtime import tensorrt_unavailable_reason

    script = r"""
import json, warnings
from rembg import new_session, remove
out = {}
for providers in (["CUDAExecutionProvider", "CPUExecutionProvider"], ["TensorrtExecutionProvider"],
                  ["ROCMExecutionProvider", "CPUExecutionProvider"], ["CPUExecutionProvider"],
                  [("CUDAExecutionProvider", {"device_id": 0}), "CPUExecutionProvider"]):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        s = new_session("u2netp", providers=providers)
    key = providers[0] if isinstance(providers[0], str) else "tuple"
    out[key] = {"runtime": s.alphacut.runtime_name, "backend": s.alphacut.backend,
                "warnings": [str(x.message) for x in w if issubclass(x.category, RuntimeWarning)]}
print(json.dumps(out))
"""
    got = json.loads(run_dropin(script, cwd=tmp_path).stdout)
    assert got["CPUExecutionProvider"] == {"runtime": "onnxruntime", "backend": "cpu", "warnings": []}
    assert got["ROCMExecutionProvider"]["runtime"] == "onnxruntime"
    assert any("ROCMExecutionProvider" in w for w in got["ROCMExecutionProvider"]["warnings"])
    if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
        for key in ("CUDAExecutionProvider", "tuple"):
            assert got[key]["runtime"] == "onnxruntime", key
            assert any("onnxruntime-gpu" in w for w in got[key]["warnings"]), got[key]
    else:
        assert got["CUDAExecutionProvider"]["runtime"] == "onnxruntime-cuda"
    why = tensorrt_unavailable_reason()
    if why is not None:
        assert got["TensorrtExecutionProvider"]["runtime"] == "onnxruntime"
        assert any(why in w for w in got["TensorrtExecutionProvider"]["warnings"])
    else:
        assert got["TensorrtExecutionProvider"]["runtime"] == "tensorrt"
    # and the warning reaches stderr without any filter set: printed, not swallowed
    r = run_dropin(
        "from rembg import new_session\nnew_session('u2netp', providers=['CoreMLExecutionProvider'])", cwd=tmp_path
    )
    assert b"CoreMLExecutionProvider" in r.stderr and b"RuntimeWarning" in r.stderr
