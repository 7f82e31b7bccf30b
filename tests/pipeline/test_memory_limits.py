"""The limits a cut checks from the header before decoding: the session's pixel limit (lower than
the decoder's) and the memory estimate against the memory available (#15: a 1 KB file that
declares 13000 × 13000 pixels must not cost gigabytes before it is refused)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from conftest import declared_jpeg
from PIL import Image

import alphacut
from alphacut import Session, config
from alphacut.image import ImageTooLargeError
from alphacut.image import decode as decode_mod
from alphacut.pipeline import memory


@pytest.fixture
def never_decodes(monkeypatch):
    """Decoding pixels fails the test: what is refused must be refused from the header."""

    def boom(*a, **k):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(decode_mod, "_from_pil", boom)


def tiny_session(tiny, **kwargs) -> Session:
    return Session(tiny.manifest, model_path=tiny.model_path, **kwargs)


def test_estimate_matches_the_documented_model():
    # independent arithmetic: 64 MiB + 32 bytes per pixel
    assert memory.estimate_bytes(3000, 4000) == 64 * 2**20 + 32 * 12_000_000
    assert memory.estimate_bytes(3000, 4000, base=False) == 32 * 12_000_000
    assert memory.estimate_bytes(13000, 13000) > 3.5e9  # the 13000² bomb: 2.8 GiB measured (bench/memory_13k.py)


def test_available_bytes_reads_the_machine():
    avail = memory.available_bytes()
    assert avail is not None  # Linux: /proc/meminfo
    with open("/proc/meminfo") as fh:
        meminfo = {line.split(":")[0]: int(line.split()[1]) * 1024 for line in fh}
    assert 0 < avail <= meminfo["MemTotal"]


def test_session_default_pixel_limit_is_lower_than_the_decoders(tiny, never_decodes):
    assert config.session_max_pixels() == 100_000_000 < config.max_pixels()
    s = tiny_session(tiny)
    assert s.max_pixels == 100_000_000
    bomb = declared_jpeg(13000, 13000)  # 169 MP: under the decoder's 179 MP, over the session's 100 MP
    assert len(bomb) < 2000
    with pytest.raises(ImageTooLargeError, match="ALPHACUT_SESSION_MAX_PIXELS"):
        s.run(bomb)
    with pytest.raises(ImageTooLargeError, match="above the limit of 100,000,000"):
        s.run(np.zeros((10001, 10000, 3), np.uint8))


def test_session_max_pixels_and_the_environment(tiny, monkeypatch, never_decodes):
    with pytest.raises(ImageTooLargeError, match="above the limit of 1,000"):
        tiny_session(tiny, max_pixels=1000).run(declared_jpeg(40, 40))
    monkeypatch.setenv("ALPHACUT_SESSION_MAX_PIXELS", "1000")
    with pytest.raises(ImageTooLargeError, match="above the limit of 1,000"):
        tiny_session(tiny).run(declared_jpeg(40, 40))
    for bad in (0, -5, 1.5, "many", True):
        with pytest.raises(alphacut.InputError, match="max_pixels"):
            tiny_session(tiny, max_pixels=bad)


def test_memory_check_refuses_before_decoding(tiny, monkeypatch, never_decodes):
    s = tiny_session(tiny, max_pixels=500_000_000)
    monkeypatch.setattr(memory, "available_bytes", lambda: 1 << 30)  # 1 GiB left
    with pytest.raises(ImageTooLargeError, match=r"8000x8000 image needs about 2,017 MiB.*1,024 MiB"):
        s.run(declared_jpeg(8000, 8000))
    with pytest.raises(ImageTooLargeError, match="needs about"):
        s.run(np.zeros((8000, 8000, 3), np.uint8))  # arrays: the cut's memory is checked too


def test_memory_check_passes_what_fits(tiny, monkeypatch):
    s = tiny_session(tiny)
    monkeypatch.setattr(memory, "available_bytes", lambda: 1 << 30)
    rgb = np.full((300, 400, 3), 128, np.uint8)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG")
    assert s.run(buf.getvalue()).rgba.shape == (300, 400, 4)
    monkeypatch.setattr(memory, "available_bytes", lambda: None)  # unknown: nothing refused
    assert s.run(rgb).rgba.shape == (300, 400, 4)


def test_remove_checks_the_session_limit_before_decoding(tiny, monkeypatch, never_decodes):
    bomb = declared_jpeg(13000, 13000)
    with pytest.raises(ImageTooLargeError, match="ALPHACUT_SESSION_MAX_PIXELS"):
        alphacut.remove(bomb, session=tiny_session(tiny))
    with pytest.raises(ImageTooLargeError, match="limit of 2,000"):
        alphacut.remove(bomb, session=tiny_session(tiny, max_pixels=2000))
    monkeypatch.setattr(memory, "available_bytes", lambda: 1 << 30)
    with pytest.raises(ImageTooLargeError, match="needs about"):
        alphacut.remove(bomb, session=tiny_session(tiny, max_pixels=200_000_000))


PROBE = textwrap.dedent(
    """
    import io, json, sys
    import numpy as np
    from PIL import Image
    import alphacut

    def hwm():
        with open("/proc/self/status") as fh:
            return int(fh.read().split("VmHWM:")[1].split()[0]) * 1024

    def rss():
        with open("/proc/self/status") as fh:
            return int(fh.read().split("VmRSS:")[1].split()[0]) * 1024

    photo = np.asarray(Image.open(sys.argv[1]).convert("RGB"))
    s = alphacut.Session("u2netp")
    s.run(photo[:64, :64].copy())
    out = []
    for mp, kind in [(int(sys.argv[2]), sys.argv[3])]:  # one image per process: a fresh allocator
        h = int((mp * 1e6 * 3 / 4) ** 0.5)
        w = h * 4 // 3
        if kind == "photo":
            img = np.asarray(Image.fromarray(photo).resize((w, h), Image.BILINEAR))
        else:  # random blocks: almost all of it is the unknown band, the worst case for memory
            blocks = np.random.default_rng(mp).integers(0, 256, (h // 16 + 1, w // 16 + 1, 3), dtype=np.uint8)
            img = np.asarray(Image.fromarray(blocks).resize((w, h), Image.BILINEAR))
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, "JPEG", quality=90)
        data = buf.getvalue()
        del img, buf
        base = rss()
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # resets the peak (VmHWM) to the current RSS
        s.run(data)
        out.append([h, w, kind, hwm() - base])
    print(json.dumps(out))
    """
)


def test_estimate_bounds_the_measured_peak(u2netp_home, tmp_path):
    """The estimate is an upper bound of the peak resident memory a cut adds over a warmed-up
    session (measured in a fresh process), and not a wild one."""
    from conftest import shared_path

    first = sorted(shared_path("images", "alphamatting_gt05", "input").iterdir())[0]
    script = tmp_path / "probe.py"
    script.write_text(PROBE)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    rows = []
    for mp, kind in (("1", "photo"), ("12", "photo"), ("12", "noise")):
        out = subprocess.run(
            [sys.executable, str(script), str(first), mp, kind], capture_output=True, text=True, env=env, timeout=300
        )
        assert out.returncode == 0, out.stderr[-2000:]
        rows += json.loads(out.stdout.strip().splitlines()[-1])
    worst: dict = {}
    for h, w, kind, peak in rows:
        est = memory.estimate_bytes(h, w)
        print(f"{w}x{h} {kind}: peak +{peak / 2**20:.0f} MiB, estimate {est / 2**20:.0f} MiB")
        assert peak <= est, (h, w, kind, peak, est)
        worst[(h, w)] = max(worst.get((h, w), 0), peak)
    for (h, w), peak in worst.items():  # the bound is not a wild one for the worst image of a size
        assert memory.estimate_bytes(h, w) <= 2.5 * peak, (h, w, peak)
