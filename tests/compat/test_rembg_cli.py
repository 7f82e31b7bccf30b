"""The drop-in's ``rembg`` command (i, p, b, s, d): every flag against what rembg 2.0.86's command
does, which is ``remove(data, session=new_session(model, **flags), **flags)`` with
``bgcolor=(0, 0, 0, 0)`` by default (rembg's command line itself needs click, filetype and watchdog,
so the comparison calls its API the way its commands do)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time

import _dropin
import numpy as np
import pytest
from _dropin import absdiff as _d
from _dropin import dropin_env, run_dropin, run_rembg_cli, scipy_trimap
from PIL import Image

car, real_rembg, rembg_home = _dropin.car, _dropin.real_rembg, _dropin.rembg_home  # fixtures

pytestmark = pytest.mark.usefixtures("rembg_home")

_DEFAULTS = {
    "alpha_matting": False,
    "alpha_matting_foreground_threshold": 240,
    "alpha_matting_background_threshold": 10,
    "alpha_matting_erode_size": 10,
    "only_mask": False,
    "post_process_mask": False,
    "decontaminate": False,
    "bgcolor": (0, 0, 0, 0),
}

# (name, flags of `rembg i`, the keywords rembg's i command hands to remove() for them)
FLAG_CASES = [
    ("plain", [], {}),
    ("only_mask", ["-om"], {"only_mask": True}),
    ("only_mask_long", ["--only-mask"], {"only_mask": True}),
    ("post_process", ["-ppm"], {"post_process_mask": True}),
    ("decontaminate", ["-dc"], {"decontaminate": True}),
    ("bgcolor", ["-bgc", "255", "0", "0", "255"], {"bgcolor": (255, 0, 0, 255)}),
    ("alpha_matting", ["-a"], {"alpha_matting": True}),
    (
        "alpha_matting_thresholds",
        ["-a", "-af", "200", "-ab", "60", "-ae", "3"],
        {
            "alpha_matting": True,
            "alpha_matting_foreground_threshold": 200,
            "alpha_matting_background_threshold": 60,
            "alpha_matting_erode_size": 3,
        },
    ),
    ("extras", ["-x", '{"putalpha": true}'], {"putalpha": True}),
]


@pytest.fixture
def cli_outputs(tmp_path, car):
    """Every FLAG_CASES invocation of `rembg i -m u2netp FLAGS car-1.jpg OUT.png`, in one process."""
    cases = [[name, ["i", "-m", "u2netp", *flags, str(car), f"{name}.png"]] for name, flags, _ in FLAG_CASES]
    script = f"""
import json
from rembg.cli import main
codes = {{name: main(argv) for name, argv in {cases!r}}}
print(json.dumps(codes))
"""
    codes = json.loads(run_dropin(script, cwd=tmp_path, stdin=b"").stdout)
    assert all(c == 0 for c in codes.values()), codes
    return {name: np.asarray(Image.open(tmp_path / f"{name}.png")) for name, _, _ in FLAG_CASES}


def _rembg_cli_equivalent(real, car, kw):
    full = dict(_DEFAULTS, **kw)
    out = real.remove(car.read_bytes(), session=real.new_session("u2netp"), **full)
    return np.asarray(Image.open(io.BytesIO(out)))


def test_i_flags_match_rembg(cli_outputs, real_rembg, car):
    ours = cli_outputs
    ref = {
        name: _rembg_cli_equivalent(real_rembg, car, kw)
        for name, _, kw in FLAG_CASES
        if not name.startswith("alpha_matting")
    }
    src = np.asarray(Image.open(car).convert("RGB"))
    for name in ("plain", "only_mask", "only_mask_long", "bgcolor"):
        assert ours[name].shape == ref[name].shape and _d(ours[name], ref[name]).max() <= 1, name
    mask = ours["only_mask"]
    assert mask.ndim == 2 and not (mask == 255).all()
    np.testing.assert_array_equal(ours["plain"][:, :, 3], mask)
    assert (ours["bgcolor"][mask == 0][:, :3] == [255, 0, 0]).all() and (ours["bgcolor"][:, :, 3] == 255).all()
    # -ppm: rembg's post-processing of the mask (binary), which changed it
    assert (ours["post_process"][:, :, 3] != ref["post_process"][:, :, 3]).mean() < 1e-3
    assert set(np.unique(ours["post_process"][:, :, 3])) <= {0, 255}
    # -dc: the mask as alpha, decontaminated colour close to rembg's and unlike the naive cutout's
    dc = ours["decontaminate"]
    soft = (dc[:, :, 3] > 0) & (dc[:, :, 3] < 255)
    assert _d(dc[:, :, 3], mask).max() == 0
    assert _d(dc[soft][:, :3], ref["decontaminate"][soft][:, :3]).mean() < 1.5
    assert _d(dc[soft][:, :3], ours["plain"][soft][:, :3]).mean() > 10
    # -x: extra keywords reach remove() (putalpha keeps the image's colours where alpha > 0; the
    # command's default -bgc 0 0 0 0 composite then blacks out alpha 0, as in rembg)
    assert _d(ours["extras"], ref["extras"]).max() <= 1
    np.testing.assert_array_equal(ours["extras"][:, :, 3], mask)
    soft_px = (mask > 0) & (mask < 255)
    assert _d(ours["extras"][soft_px][:, :3], src[soft_px]).max() <= 1
    assert _d(ours["plain"][soft_px][:, :3], src[soft_px]).mean() > 10
    # -a / -af / -ab / -ae: rembg's trimap from the mask, sure pixels exact, the band solved
    for name, (fg, bg, er) in (("alpha_matting", (240, 10, 10)), ("alpha_matting_thresholds", (200, 60, 3))):
        tri = scipy_trimap(mask, fg, bg, er)
        a = ours[name][:, :, 3]
        assert (a[tri == 255] == 255).all() and (a[tri == 0] == 0).all(), name
        assert not np.array_equal(a[tri == 128], mask[tri == 128]), name
    moved = (scipy_trimap(mask, 200, 60, 3) == 0) & (scipy_trimap(mask, 240, 10, 10) != 0)
    assert moved.sum() > 100
    assert (ours["alpha_matting_thresholds"][:, :, 3][moved] == 0).all()
    assert not (ours["alpha_matting"][:, :, 3][moved] == 0).all()


def test_i_stdin_stdout_and_defaults(tmp_path, car):
    tmp_path = tmp_path / "work"  # nothing but what the command writes
    tmp_path.mkdir()
    data = car.read_bytes()
    r = run_rembg_cli(["i", "-m", "u2netp", "-om", "-", "-"], cwd=tmp_path, stdin=data)
    assert r.returncode == 0, r.stderr
    mask = np.asarray(Image.open(io.BytesIO(r.stdout)))
    assert mask.ndim == 2 and mask.shape == Image.open(car).size[::-1]
    # stdin not a terminal: INPUT and OUTPUT default to '-', as in rembg
    r = run_rembg_cli(["i", "-m", "u2netp", "-om"], cwd=tmp_path, stdin=data)
    assert r.returncode == 0 and np.array_equal(np.asarray(Image.open(io.BytesIO(r.stdout))), mask)
    r = subprocess.run(
        [sys.executable, "-m", "rembg", "i", "-m", "u2netp", "-om", str(car)],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=dropin_env(),
        timeout=300,
    )
    assert r.returncode == 0 and np.array_equal(np.asarray(Image.open(io.BytesIO(r.stdout))), mask)
    assert list(tmp_path.iterdir()) == []


def test_i_errors_are_clear_and_write_nothing(tmp_path, car):
    tmp_path = tmp_path / "work"
    tmp_path.mkdir()
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"this is not an image")
    cases = [
        (["i", "-m", "u2netp", str(tmp_path / "missing.jpg"), "o1.png"], 2, "No such file"),
        (["i", "-m", "u2netp", str(bad), "o2.png"], 1, "bad.jpg"),
        (["i", "-m", "u2netp", "-vm", str(car), "o3.png"], 2, "vitmatte"),
        (["i", "-m", "sam", str(car), "o4.png"], 1, "not served by alphacut"),
        (["i", "-m", "no-such", str(car), "o5.png"], 2, "invalid choice"),
        (["i", "-m", "u2netp", "-x", "{not json", str(car), "o6.png"], 2, "JSON"),
        (["i", "-m", "u2netp", str(bad), str(bad)], 1, "bad.jpg"),
    ]
    for argv, code, text in cases:
        r = run_rembg_cli(argv, cwd=tmp_path, stdin=b"")
        assert r.returncode == code, (argv, r.stderr)
        assert text.encode() in r.stderr, (argv, r.stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.jpg"]
    assert bad.read_bytes() == b"this is not an image"
    # an output that is the input is refused, the input untouched
    img = tmp_path / "img.png"
    Image.open(car).save(img)
    before = img.read_bytes()
    r = run_rembg_cli(["i", "-m", "u2netp", str(img), str(img)], cwd=tmp_path, stdin=b"")
    assert r.returncode == 1 and img.read_bytes() == before


def test_providers_through_extras_are_reported(tmp_path, car):
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("ONNX Runtime has the CUDA provider here: nothing to report")
    r = run_rembg_cli(
        ["i", "-m", "u2netp", "-om", "-x", '{"providers": ["CUDAExecutionProvider"]}', str(car), "o.png"],
        cwd=tmp_path,
        stdin=b"",
    )
    assert r.returncode == 0, r.stderr
    assert b"CUDAExecutionProvider" in r.stderr and b"onnxruntime-gpu" in r.stderr
    assert Image.open(tmp_path / "o.png").mode == "L"


def test_p_folder(tmp_path, car):
    src, out = tmp_path / "in", tmp_path / "out"
    (src / "sub").mkdir(parents=True)
    Image.open(car).resize((120, 90)).save(src / "a.jpg")
    Image.open(car).resize((100, 80)).save(src / "sub" / "b.png")
    Image.open(car).resize((90, 60)).save(src / "sub" / "a.png")  # maps onto out/a.png as well
    (src / "notes.txt").write_text("not an image")
    (src / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated jpeg")
    r = run_rembg_cli(["p", "-m", "u2netp", "-om", str(src), str(out)], cwd=tmp_path, stdin=b"")
    assert r.returncode == 1  # broken.jpg failed, and says so
    assert b"broken.jpg" in r.stderr and b"already written" in r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png"]
    assert Image.open(out / "a.png").size in ((120, 90), (90, 60)) and Image.open(out / "b.png").mode == "L"
    # again: existing outputs are skipped (rembg's resume), and --delete_input deletes only what it wrote
    (out / "b.png").unlink()
    r = run_rembg_cli(["p", "-m", "u2netp", "-om", "-d", str(src), str(out)], cwd=tmp_path, stdin=b"")
    assert (out / "b.png").is_file() and not (src / "sub" / "b.png").exists()
    assert (src / "a.jpg").exists() and (src / "sub" / "a.png").exists() and (src / "notes.txt").exists()
    r = run_rembg_cli(["p", "-m", "u2netp", str(tmp_path / "nope"), str(out)], cwd=tmp_path, stdin=b"")
    assert r.returncode == 2 and b"does not exist" in r.stderr


def test_p_watch(tmp_path, car):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "rembg", "p", "-m", "u2netp", "-om", "-w", str(src), str(out)],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dropin_env(),
    )
    try:
        deadline = time.time() + 180
        time.sleep(1.0)
        Image.open(car).resize((80, 60)).save(src / "new.jpg")  # before or after the first pass: both cut it
        while not (out / "new.png").exists() and time.time() < deadline and proc.poll() is None:
            time.sleep(0.3)
        assert (out / "new.png").exists(), proc.stderr.read() if proc.poll() is not None else "timed out"
        (src / "stop.txt").write_text("")
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
    assert Image.open(out / "new.png").mode == "L"
    assert b"processed:" in proc.stdout.read() and not (src / "stop.txt").exists()


def test_b_raw_frames(tmp_path, car, real_rembg):
    w, h = 96, 72
    frames = [
        np.asarray(Image.open(car).convert("RGB").resize((w, h))),
        np.asarray(Image.open(car).convert("RGB").resize((w, h)).transpose(Image.FLIP_LEFT_RIGHT)),
    ]
    stream = b"".join(f.tobytes() for f in frames) + b"\x00" * 100  # and a partial frame
    r = run_rembg_cli(["b", "-m", "u2netp", "-om", str(w), str(h), "-o", "frames/f-%d.png"], cwd=tmp_path, stdin=stream)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (tmp_path / "frames").iterdir()) == ["f-0.png", "f-1.png"]
    assert b"100 trailing bytes" in r.stderr
    s = real_rembg.new_session("u2netp")
    for i, f in enumerate(frames):
        want = np.asarray(real_rembg.remove(Image.fromarray(f), session=s, only_mask=True, bgcolor=(0, 0, 0, 0)))
        assert _d(np.asarray(Image.open(tmp_path / "frames" / f"f-{i}.png")), want).max() <= 1
    # to stdout: one PNG after the other
    r = run_rembg_cli(["b", "-m", "u2netp", str(w), str(h)], cwd=tmp_path, stdin=stream[: 2 * w * h * 3])
    assert r.returncode == 0, r.stderr
    pngs = [b"\x89PNG" + part for part in r.stdout.split(b"\x89PNG")[1:]]
    assert len(pngs) == 2 and all(Image.open(io.BytesIO(p)).size == (w, h) for p in pngs)


def test_s_d_version_and_help(tmp_path, rembg_home):
    r = run_rembg_cli(["s", "-p", "7001", "-h", "127.0.0.1", "-t", "2", "--no-ui"], cwd=tmp_path, stdin=b"")
    assert r.returncode == 1 and b"not part of this alphacut release" in r.stderr
    r = run_rembg_cli(["d", "u2netp"], cwd=tmp_path, stdin=b"")
    assert r.returncode == 0 and b"Downloading model: u2netp" in r.stdout and b"u2netp.onnx" in r.stdout
    r = run_rembg_cli(["d", "no-such-model"], cwd=tmp_path, stdin=b"")
    assert r.returncode == 1 and b"Error: no model found: no-such-model" in r.stdout
    r = run_rembg_cli(["--version"], cwd=tmp_path, stdin=b"")
    assert r.returncode == 0 and r.stdout.split()[:3] == [b"rembg,", b"version", b"2.0.86"]
    r = run_rembg_cli(["--help"], cwd=tmp_path, stdin=b"")
    assert r.returncode == 0 and all(f" {c} ".encode() in r.stdout for c in "ipbsd")
