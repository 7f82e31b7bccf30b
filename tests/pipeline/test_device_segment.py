"""The segmenter on the device in the device pipeline (``backend="emu"``, the CUDA kernels
emulated on the CPU), with no host round trip of the probability.

The runtime is :class:`emu_device_runtime.EmuDeviceRuntime`: TensorRT's device methods, the real
u2netp run by ONNX Runtime on the emulated device's memory. The pipeline uploads the image once,
makes the working image and the network input on the device, the preprocess kernel writes the
input binding, and the probability is copied out of the output binding on the device; only the
cutout comes down. The result is compared with the host plan (ONNX Runtime, the CPU ops) on real
photos, and with the true alpha."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from conftest import COMPOSITES, load_gray, load_rgb, shared_path

from alphacut import _core, device
from alphacut.models import get_manifest, list_manifests
from alphacut.pipeline import Pipeline
from alphacut.pipeline.modes import get_mode

pytestmark = pytest.mark.skipif(not _core.built_with_emu, reason="built without the emulation (-DALPHACUT_EMU=ON)")

# Large enough that the network input is a shrink (720 px on the long side: more pixels than
# u2netp's 320 x 320) and that the working image (160k px) is one too.
SIDE = 720
WORK = 160_000


def _photo(name, side=SIDE):
    from PIL import Image

    rgb = load_rgb(shared_path("images", "composites", "input", f"{name}.jpg"))
    gt = load_gray(shared_path("images", "composites", "alpha", f"{name}.png"))
    h, w = gt.shape
    s = side / max(h, w)
    size = (round(w * s), round(h * s))
    return (
        np.asarray(Image.fromarray(rgb).resize(size, Image.LANCZOS)),
        np.asarray(Image.fromarray(gt).resize(size, Image.BILINEAR)),
    )


@pytest.fixture(scope="module")
def model_path():
    return shared_path("models", "u2netp_320.onnx")


@pytest.fixture(scope="module")
def pipelines(model_path):
    from emu_device_runtime import EmuDeviceRuntime

    from alphacut.runtime import OrtRuntime

    m = get_manifest("u2netp")
    mode = get_mode("general", work_pixels=WORK)
    rt = EmuDeviceRuntime(model_path)
    host = Pipeline(m, OrtRuntime(str(model_path)), mode, backend="cpu")
    dev = Pipeline(m, rt, mode, backend="emu")
    return host, dev, rt


def _iou(a, b):
    return float(((a > 0.5) & (b > 0.5)).sum()) / max(1, int(((a > 0.5) | (b > 0.5)).sum()))


@pytest.mark.parametrize("refine", [False, True], ids=["plain", "refined"])
@pytest.mark.parametrize("name", COMPOSITES[:3])
def test_only_the_image_goes_up_and_the_cutout_matches_the_host_plan(pipelines, name, refine):
    from alphacut.metrics import matte_errors

    host, dev, rt = pipelines
    rgb, gt = _photo(name)
    dev.run(rgb, refine=refine)  # the first call allocates the engine's bindings
    execs, host_calls = rt.executions, rt.host_calls
    device.transfer_stats("emu", reset=True)
    r_dev = dev.run(rgb, refine=refine)
    stats = device.transfer_stats("emu", reset=True)
    r_host = host.run(rgb, refine=refine)
    # Up: the image, once. Down: the cutout, once. No probability in either direction.
    assert stats == {
        "uploads": 1,
        "upload_bytes": rgb.nbytes,
        "downloads": 1,
        "download_bytes": rgb.shape[0] * rgb.shape[1] * 4,
    }, stats
    assert (rt.executions, rt.host_calls) == (execs + 1, host_calls)
    assert r_dev.info["segment"] == "device" and "segment_host_reason" not in r_dev.info
    assert r_dev.info["network_size"] == (320, 320) and r_dev.probability is None
    assert "segment" in r_dev.timings and "preprocess" not in r_dev.timings
    if refine:
        assert r_dev.info["working_size"] == r_host.info["working_size"]
    # The network input is shrunk on the device with the host's filters (a box average, then
    # PIL's antialiased bilinear, within 1 of Pillow's); the engine reads the device preprocess.
    # Measured on these photos: IoU >= 0.997, mean |diff| <= 0.0014, SAD within -6 % .. +2.3 %
    # (with an area filter instead: IoU 0.9955, mean |diff| 0.0037, SAD +26 % on GT05__on_leaves).
    a_dev, a_host = r_dev.alpha, r_host.alpha
    diff = np.abs(a_dev - a_host)
    iou = _iou(a_dev, a_host)
    sad_dev, sad_host = matte_errors(a_dev, gt)["sad"], matte_errors(a_host, gt)["sad"]
    print(
        f"\n{name} refine={refine}: IoU {iou:.4f}, mean |diff| {diff.mean():.5f}, SAD {sad_dev:.3f} vs {sad_host:.3f}"
    )
    assert iou >= 0.995 and diff.mean() < 0.003, (iou, diff.mean())
    assert sad_dev <= 1.05 * sad_host + 0.05, (sad_dev, sad_host)


def test_a_large_image_matches_the_host_plan(pipelines):
    """At 4 times the network size and more, the host shrinks with a box average to twice the
    size and then PIL's filter (network.shrink_for_network); the device takes the same steps (the
    box average barely changes the result: this checks that path runs and agrees)."""
    host, dev, _ = pipelines
    rgb, _ = _photo(COMPOSITES[1], 1900)
    assert min(rgb.shape[:2]) >= 4 * 320
    dev.run(rgb, refine=False, foreground=False)
    device.transfer_stats("emu", reset=True)
    r_dev = dev.run(rgb, refine=False, foreground=False)
    assert device.transfer_stats("emu", reset=True)["uploads"] == 1
    r_host = host.run(rgb, refine=False, foreground=False)
    diff = np.abs(r_dev.alpha - r_host.alpha)
    iou = _iou(r_dev.alpha, r_host.alpha)
    print(f"\n1900 px plain: IoU {iou:.4f}, mean |diff| {diff.mean():.5f}")
    assert iou >= 0.995 and diff.mean() < 0.003, (iou, diff.mean())


def test_the_old_route_uploads_the_probability(model_path):
    """The counter sees a probability upload: with a host runtime on the same backend, the
    network runs on the host and its 320 x 320 probability goes up (the route the device
    segmenter removes)."""
    from alphacut.runtime import OrtRuntime

    p = Pipeline(get_manifest("u2netp"), OrtRuntime(str(model_path)), get_mode("general"), backend="emu")
    rgb, _ = _photo(COMPOSITES[0], 360)
    device.transfer_stats("emu", reset=True)
    r = p.run(rgb, refine=False, foreground=False)
    stats = device.transfer_stats("emu", reset=True)
    assert stats["uploads"] == 2 and stats["upload_bytes"] == rgb.nbytes + 320 * 320 * 4
    assert r.info["segment"] == "host"
    assert r.info["segment_host_reason"] == "the onnxruntime runtime does not run on emu device memory"


def test_the_probability_is_copied_out_of_the_engine_buffer(pipelines, monkeypatch):
    """Another call of the shared runtime (another thread, another session of the model) between
    this image's segment stage and its trimap rewrites the engine's output buffer: the pipeline
    reads its own copy, so its cutout is unchanged."""
    from alphacut.runtime.trt.runner import segment_on_device

    _, dev, rt = pipelines
    rgb, _ = _photo(COMPOSITES[0], 360)
    other, _ = _photo(COMPOSITES[3], 360)
    expected = dev.run(rgb, foreground=False).alpha
    from PIL import Image

    other_d = device.to_device(np.asarray(Image.fromarray(other).resize((320, 320))), "emu")
    seen = []
    segment = dev._segment_on_device

    def segment_then_another_call(s):
        segment(s)
        mine = s.prob_d.get()
        theirs = segment_on_device(rt, other_d, dev.manifest, backend="emu")  # in the engine's buffer
        seen.append((mine, theirs.get()))

    monkeypatch.setattr(dev, "_segment_on_device", segment_then_another_call)
    got = dev.run(rgb, foreground=False).alpha
    ((mine, theirs),) = seen
    assert np.abs(mine - theirs).max() > 0.5  # the other call did rewrite the engine's output
    np.testing.assert_array_equal(got, expected)


def test_run_batch_on_the_device_matches_single_runs(pipelines):
    _, dev, rt = pipelines
    imgs = [_photo(n, 360)[0] for n in COMPOSITES[:3]]
    singles = [dev.run(im, foreground=False).alpha for im in imgs]
    execs = rt.executions
    batch = dev.run_batch(imgs, foreground=False)
    assert rt.executions == execs + len(imgs)  # one engine call per image on the device path
    for r, a in zip(batch, singles):
        assert r.info["segment"] == "device" and r.info["batch_size"] == 1
        np.testing.assert_array_equal(r.alpha, a)


def test_an_output_with_an_activation_is_read_on_the_device(pipelines, model_path):
    """A manifest whose output needs a sigmoid: the probability kernel applies it on the device
    (no probability upload), and the cutout is the host network's (ONNX Runtime, NumPy's
    sigmoid in read_probability) on the same backend."""
    from alphacut.runtime import OrtRuntime

    _, _, rt = pipelines
    m = replace(get_manifest("u2netp"), output=replace(get_manifest("u2netp").output, activation="sigmoid"))
    p = Pipeline(m, rt, get_mode("general"), backend="emu")
    ref = Pipeline(m, OrtRuntime(str(model_path)), get_mode("general"), backend="emu")
    rgb, _ = _photo(COMPOSITES[0], 360)
    p.run(rgb, refine=False, foreground=False)
    execs, host_calls = rt.executions, rt.host_calls
    device.transfer_stats("emu", reset=True)
    r = p.run(rgb, refine=False, foreground=False)
    stats = device.transfer_stats("emu", reset=True)
    assert (rt.executions, rt.host_calls) == (execs + 1, host_calls)
    assert r.info["segment"] == "device" and stats["uploads"] == 1, (r.info, stats)
    r_ref = ref.run(rgb, refine=False, foreground=False)
    assert r_ref.info["segment"] == "host"
    # sigmoid of a probability in [0, 1]: values in [0.5, 0.73], so the plain mask is far from
    # u2netp's own, and equal (within float rounding of exp) to the host's sigmoid.
    assert r.alpha.min() >= 0.49 and np.abs(r.alpha - r_ref.alpha).max() <= 1.5 / 255


def test_nhwc_inputs_take_the_host_network(pipelines):
    _, _, rt = pipelines
    m = get_manifest("u2netp")
    nhwc = replace(m, input=replace(m.input, layout="NHWC"))
    assert Pipeline(nhwc, rt, backend="emu").why_segment_on_host("emu") == (
        "u2netp's input is NHWC; the device preprocess writes NCHW"
    )
    assert Pipeline(m, rt, backend="cpu").why_segment_on_host("cuda") == (
        "the emu-device runtime does not run on cuda device memory"
    )


def test_routing_takes_the_host_network(pipelines, model_path):
    from alphacut.runtime import OrtRuntime

    _, _, rt = pipelines
    person = get_manifest("mediapipe-selfie")
    p_rt = OrtRuntime(str(shared_path("models", "mediapipe_selfie_segmentation_256x256.onnx")))
    p = Pipeline(
        get_manifest("u2netp"), rt, get_mode("general"), backend="emu", person_manifest=person, person_runtime=p_rt
    )
    assert p.mode.route
    assert p.why_segment_on_host("emu") == "routing to the person model compares both probabilities on the host"


def test_every_shipped_segmenter_runs_on_the_device(pipelines):
    _, _, rt = pipelines
    for m in list_manifests("segmenter"):
        assert Pipeline(m, rt, backend="emu").why_segment_on_host("emu") is None, m.name
