"""alphacut.video.process_video on small clips through a tiny segmenter (fast): every output
format read back with PyAV (the alpha really there), the audio carried, the frames in order and
batched, a bad input leaving nothing behind, and memory that does not grow with the length."""

from __future__ import annotations

import os
import tracemalloc

import av
import media
import numpy as np
import pytest
import tiny_models as tm
from PIL import Image

from alphacut import InputError
from alphacut.video.loop import process_video

N = 12
RATE = 12


@pytest.fixture
def clip(tmp_path):
    """A red disk sliding right 2 px a frame on blue, with a 440 Hz AAC track of the same length."""
    rgb, _ = tm.red_disk(96, 128, r=30)
    frames = [np.roll(rgb, 2 * i, axis=1) for i in range(N)]
    path = tmp_path / "in.mp4"
    media.write_clip(path, frames, rate=RATE)
    return path, frames


def _reference_alphas(tiny, frames):
    """The tiny segmenter's own alpha of each frame, one Session.run at a time, no stabiliser."""
    return [np.asarray(tiny.run(f, rgba=False, foreground=False).alpha) for f in frames]


def _decoded_input(path):
    frames, _ = media.read_video(path, fmt="rgb24")
    return frames


def _check_audio(info):
    assert info["audio_seconds"] == pytest.approx(N / RATE, abs=0.05), info


@pytest.mark.parametrize(
    "name,decoder,pix_fmt,audio_codec",
    [
        ("out.webm", "libvpx-vp9", "yuva420p", "opus"),
        ("out.mov", None, "yuva444p12le", "aac"),
    ],
)
def test_alpha_video_formats_carry_the_alpha(tiny, clip, tmp_path, name, decoder, pix_fmt, audio_codec):
    src, _ = clip
    res = process_video(src, tmp_path / name, tiny, stabilise=False)
    assert res.alpha and res.frames == N
    got, info = media.read_video(tmp_path / name, decoder=decoder)
    assert info["pix_fmt"] == pix_fmt and len(got) == N
    ref = _reference_alphas(tiny, _decoded_input(src))
    for g, r in zip(got, ref):
        err = np.abs(g[..., 3].astype(np.float32) / 255.0 - r)
        assert err.mean() < 0.01 and g[..., 3].min() < 10 and g[..., 3].max() > 245
    assert info["audio_codec"] == audio_codec
    _check_audio(info)


def test_webm_alpha_needs_the_libvpx_decoder(tiny, clip, tmp_path):
    """FFmpeg's own VP9 decoder (PyAV's default) drops the alpha: only libvpx-vp9 reads it."""
    process_video(clip[0], tmp_path / "out.webm", tiny, stabilise=False, audio=False)
    got, info = media.read_video(tmp_path / "out.webm")
    assert info["pix_fmt"] == "yuv420p" and all((g[..., 3] == 255).all() for g in got)


def test_png_sequence_is_rgba_with_the_alpha_and_the_audio_beside(tiny, clip, tmp_path):
    src, _ = clip
    out = tmp_path / "frames"
    res = process_video(src, str(out) + "/", tiny, stabilise=False)
    assert res.format == "png" and res.audio == "copy"
    names = sorted(os.listdir(out))
    assert names == ["audio.mka"] + [f"frame_{i:06d}.png" for i in range(1, N + 1)]
    ref = _reference_alphas(tiny, _decoded_input(src))
    for name, r in zip(names[1:], ref):
        with Image.open(out / name) as im:
            assert im.mode == "RGBA"
            a = np.asarray(im)[..., 3].astype(np.float32) / 255.0
        assert np.abs(a - r).max() <= 0.5 / 255 + 1e-6  # lossless: the alpha rounded to 8 bits
    _, info = media.read_video(src)
    with av.open(str(out / "audio.mka")) as c:
        s = c.streams.audio[0]
        assert s.codec_context.name == "aac"
        assert sum(f.samples for f in c.decode(s)) / s.codec_context.sample_rate == pytest.approx(
            info["audio_seconds"], abs=0.03
        )


def test_mp4_on_a_colour_audio_copied_frames_in_order(tiny, clip, tmp_path):
    src, frames = clip
    calls = []
    run_batch = tiny.run_batch

    def spy(images, **kw):
        calls.append(len(images))
        return run_batch(images, **kw)

    tiny.run_batch = spy
    res = process_video(src, tmp_path / "out.mp4", tiny, background=(0, 255, 0), batch=5)
    assert calls == [5, 5, 2] and not res.alpha and res.audio == "copy"
    got, info = media.read_video(tmp_path / "out.mp4", fmt="rgb24")
    assert info["codec"] == "h264" and info["audio_codec"] == "aac" and len(got) == N
    _check_audio(info)
    for i, g in enumerate(got):
        # the disk (red) sits where frame i put it; the rest is the new green background
        cx = 64 + 2 * i
        assert g[48, cx, 0] > 150 and g[48, cx, 1] < 120
        far = (cx + 64) % 128
        assert g[10, far, 1] > 220 and g[10, far, 0] < 40 and g[10, far, 2] < 40


def test_background_image(tiny, clip, tmp_path):
    src, frames = clip
    bg = np.zeros((48, 64, 3), np.uint8)
    bg[:, :32] = (255, 255, 0)  # yellow left half, black right half (resized to the frame)
    Image.fromarray(bg).save(tmp_path / "bg.png")
    process_video(src, tmp_path / "out.mkv", tiny, background=tmp_path / "bg.png", audio=False, stabilise=False)
    got, _ = media.read_video(tmp_path / "out.mkv", fmt="rgb24")
    assert (got[0][5, 5].astype(int) - (255, 255, 0)).__abs__().max() < 20
    assert got[0][5, 120].max() < 20


def test_unreadable_input_leaves_nothing(tiny, tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(2000))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    for name in ("x.mp4", "x.webm", "seq/"):
        with pytest.raises(InputError):
            process_video(bad, str(out_dir / name), tiny)
    assert os.listdir(out_dir) == []


def test_failure_mid_video_leaves_nothing(tiny, clip, tmp_path):
    calls = []

    def boom(images, **kw):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("network failed")
        return type(tiny).run_batch(tiny, images, **kw)

    tiny.run_batch = boom
    (tmp_path / "out").mkdir()
    with pytest.raises(RuntimeError, match="network failed"):
        process_video(clip[0], tmp_path / "out" / "x.mov", tiny, batch=2)
    assert os.listdir(tmp_path / "out") == []


def test_memory_does_not_grow_with_the_length(tiny, tmp_path):
    """Python-traced memory (NumPy's arrays included) for a 24-frame and a 72-frame clip: its peak,
    and the memory held each time a frame has been written (what a leak or a growing queue would
    show: the peak alone can be a transient of the matting)."""
    rgb, _ = tm.red_disk(96, 128, r=30)
    peaks, held = [], []
    for n in (4, 24, 72):  # the first run, not counted, makes the one-time allocations (imports, caches)
        path = tmp_path / f"in{n}.mp4"
        media.write_clip(path, [np.roll(rgb, i, axis=1) for i in range(n)], rate=RATE, audio=None)
        samples = []
        tracemalloc.start()
        try:
            res = process_video(
                path,
                tmp_path / f"out{n}.mkv",
                tiny,
                batch=4,
                progress=lambda _, samples=samples: samples.append(tracemalloc.get_traced_memory()[0]),
            )
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
        assert res.frames == n and len(samples) == n
        held.append(max(samples))
    peaks, held = peaks[1:], held[1:]
    # holding the 48 extra frames (RGB in, RGB out, two alphas) would add about 7 MB; the frames of
    # a batch are cut side by side (Session.run_batch's workers), so what is in flight when a frame
    # is written varies with timing by up to a batch's arrays (~0.2 MB measured under load)
    frame = 96 * 128 * 3
    assert peaks[1] < 1.3 * peaks[0], peaks
    assert held[1] - held[0] < 16 * frame, held


def test_output_format_errors(tiny, clip, tmp_path):
    with pytest.raises(InputError, match="extension"):
        process_video(clip[0], tmp_path / "out.avi", tiny)
    with pytest.raises(InputError, match="carries no alpha"):
        process_video(clip[0], tmp_path / "out.mp4", tiny, keep_alpha=True)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    with pytest.raises(InputError, match="not an empty folder"):
        process_video(clip[0], tmp_path / "full", tiny)
    assert os.listdir(tmp_path / "full") == ["keep.txt"]


def test_frames_share_one_network_call_with_a_dynamic_batch_model(clip, tmp_path, fresh_sessions):
    from alphacut import Session
    from alphacut.models.manifest import InputSpec, ModelManifest, OutputSpec

    path = tm.segmenter(tmp_path / "seg_dyn.onnx", size=(64, 64), batch="N")
    man = ModelManifest(
        name="tiny_dyn",
        kind="segmenter",
        file="seg_dyn.onnx",
        input=InputSpec(name="input", size=(64, 64)),
        output=OutputSpec(channel=1, activation="softmax"),
    )
    session = Session(man, model_path=path)
    sizes = []
    run_batch = session.run_batch

    def spy(images, **kw):
        out = run_batch(images, **kw)
        sizes.extend(r.info["batch_size"] for r in out)
        return out

    session.run_batch = spy  # type: ignore[method-assign]
    process_video(clip[0], tmp_path / "o.webm", session, batch=5, audio=False)
    assert sizes == [5] * 10 + [2] * 2
