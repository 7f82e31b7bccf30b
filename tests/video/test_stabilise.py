"""The temporal stabiliser (alphacut.video.stabilise): its pieces against SciPy / plain NumPy, and
on clips made from an exact-GT composite: a still subject under camera shake and sensor noise
(flicker at least halved, SAD against the exact GT within 5 %) and a subject that moves (the
stabilised edge does not lag behind the GT; a blanket average does)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from alphacut.video import FlickerMeter, TemporalStabiliser, estimate_shift, shift_image

# ---------------------------------------------------------------------------------------------
# pieces


@pytest.mark.parametrize("dy,dx", [(0.3, -1.7), (-2.25, 0.5), (1.0, 2.0)])
def test_shift_image_bilinear_is_scipys_order_1(dy, dx):
    a = np.random.default_rng(0).random((23, 31)).astype(np.float32)
    ref = ndimage.shift(a, (dy, dx), order=1, mode="nearest")
    np.testing.assert_allclose(shift_image(a, dy, dx), ref, atol=1e-5)


def test_shift_image_cubic_exact_on_integers_and_on_linear_ramps():
    a = np.random.default_rng(1).random((20, 24, 3)).astype(np.float32)
    ref = ndimage.shift(a, (2, -3, 0), order=0, mode="nearest")
    np.testing.assert_allclose(shift_image(a, 2.0, -3.0, cubic=True), ref, atol=1e-6)
    yy, xx = np.mgrid[0:30, 0:40].astype(np.float32)
    ramp = 0.5 * yy - 0.25 * xx
    out = shift_image(ramp, 0.4, -1.3, cubic=True)
    np.testing.assert_allclose(out[4:-4, 4:-4], (0.5 * (yy - 0.4) - 0.25 * (xx + 1.3))[4:-4, 4:-4], atol=1e-4)


def _texture(h=160, w=200, seed=0):
    rng = np.random.default_rng(seed)
    return ndimage.gaussian_filter(rng.random((h, w)) * 255.0, 2.0)


@pytest.mark.parametrize("dy,dx", [(0.37, -1.21), (-1.8, 0.6), (0.0, 0.0), (3.5, -2.25)])
def test_estimate_shift_sub_pixel(dy, dx):
    base = _texture()
    moved = ndimage.shift(base, (dy, dx), order=3, mode="reflect")
    ey, ex = estimate_shift(base[10:-10, 10:-10], moved[10:-10, 10:-10])
    assert abs(ey - dy) < 0.05 and abs(ex - dx) < 0.05, (ey, ex)


def test_estimate_shift_follows_the_still_background_not_a_moving_subject():
    """A textured subject over a third of the frame moves 3 px; the camera moved (0.4, -0.7)."""
    bg = _texture(seed=1)
    subj = _texture(seed=2)
    mask = np.zeros(bg.shape, bool)
    mask[40:120, 60:140] = True
    prev = np.where(mask, subj, bg)
    cur = np.where(np.roll(mask, 3, axis=1), np.roll(subj, 3, axis=1), bg)
    cur = ndimage.shift(cur, (0.4, -0.7), order=3, mode="reflect")
    ey, ex = estimate_shift(prev[8:-8, 8:-8], cur[8:-8, 8:-8])
    assert abs(ey - 0.4) < 0.1 and abs(ex + 0.7) < 0.1, (ey, ex)


def test_flicker_meter_against_a_direct_computation():
    rng = np.random.default_rng(3)
    frames = [rng.integers(0, 256, (12, 14, 3), dtype=np.uint8) for _ in range(4)]
    frames[1][:6] = frames[0][:6]  # some pixels keep their colour
    frames[2][:, :7] = frames[1][:, :7]
    alphas = [rng.random((12, 14)).astype(np.float32) for _ in range(4)]
    m = FlickerMeter(threshold=12)
    for f, a in zip(frames, alphas):
        m.update(f, a, 1.0 - a)
    num = den = 0.0
    for t in range(1, 4):
        same = (np.abs(frames[t].astype(int) - frames[t - 1].astype(int)) <= 12).all(axis=2)
        num += np.abs(alphas[t] - alphas[t - 1])[same].sum()
        den += same.sum()
    assert m.pixels == den and m.values[0] == pytest.approx(num / den) and m.values[1] == pytest.approx(num / den)


def test_unchanged_frame_blends_and_a_changed_one_does_not():
    rgb = np.full((40, 50, 3), 120, np.uint8)
    a0 = np.zeros((40, 50), np.float32)
    a1 = np.full((40, 50), 0.2, np.float32)
    st = TemporalStabiliser(0.7)
    st.update(rgb, a0)
    np.testing.assert_allclose(st.update(rgb, a1), 0.2 * 0.3, atol=1e-6)  # blended 70 % toward 0
    other = np.full((40, 50, 3), 200, np.uint8)  # a scene cut: every pixel changed
    np.testing.assert_array_equal(st.update(other, a1), a1)


# ---------------------------------------------------------------------------------------------
# clips from the exact-GT composite, matted by u2netp once per module


@pytest.fixture(scope="module")
def u2netp_session():
    from conftest import shared_path

    from alphacut import Session

    return Session("u2netp", model_path=shared_path("models", "u2netp_320.onnx"), route=False)


def _matte(session, frames):
    return [np.asarray(r.alpha, np.float32) for r in session.run_batch(frames, rgba=False, foreground=False)]


@pytest.fixture(scope="module")
def still_clip(u2netp_session):
    import clips

    frames, gts, shifts = clips.shaky_still()
    return frames, gts, shifts, _matte(u2netp_session, frames)


@pytest.fixture(scope="module")
def moving_clip(u2netp_session):
    import clips

    frames, gts = clips.moving_subject()
    return frames, gts, _matte(u2netp_session, frames)


def _sad(alphas, gts):
    return float(np.mean([np.abs(a - g).sum() / 1000.0 for a, g in zip(alphas, gts)]))


def _run(st, frames, raw):
    return [st.update(f, a) for f, a in zip(frames, raw)]


def _flicker(frames, shifts, *streams):
    """The flicker figure with the camera's true motion followed (independent of the stabiliser's
    own estimate)."""
    m = FlickerMeter()
    for t, f in enumerate(frames):
        rel = None if t == 0 else (shifts[t][0] - shifts[t - 1][0], shifts[t][1] - shifts[t - 1][1])
        m.update(f, *(s[t] for s in streams), shift=rel)
    return m.values


def test_still_subject_under_shake_flicker_halved_sad_within_5_percent(still_clip):
    frames, gts, shifts, raw = still_clip
    out = _run(TemporalStabiliser(), frames, raw)
    before, after, gt = _flicker(frames, shifts, raw, out, gts)
    sad_raw, sad_out = _sad(raw, gts), _sad(out, gts)
    print(f"flicker {before:.5f} -> {after:.5f} (GT {gt:.5f}); SAD {sad_raw:.3f} -> {sad_out:.3f}")
    assert after <= 0.5 * before
    assert sad_out <= 1.05 * sad_raw


def test_still_subject_shake_must_be_followed(still_clip):
    """Without the camera shift the colour test refuses most edge pixels: the flicker stays."""
    frames, gts, shifts, raw = still_clip
    before, after = _flicker(frames, shifts, raw, _run(TemporalStabiliser(motion=False), frames, raw))
    assert after > 0.5 * before


def _centroid_x(a):
    return float((a.sum(axis=0) * np.arange(a.shape[1])).sum() / a.sum())


def test_moving_subject_is_not_dragged(moving_clip):
    frames, gts, raw = moving_clip
    out = _run(TemporalStabiliser(), frames, raw)
    # a blanket average: the same blend everywhere, no colour or alpha test
    blanket = _run(TemporalStabiliser(noise_floor=255.0, noise_cap=255.0, alpha_tol=0.0, motion=False), frames, raw)
    lag = lambda xs: float(np.mean([_centroid_x(g) - _centroid_x(a) for a, g in zip(xs[1:], gts[1:])]))  # noqa: E731
    sad_raw, sad_out, sad_blanket = _sad(raw, gts), _sad(out, gts), _sad(blanket, gts)
    print(
        f"SAD raw {sad_raw:.3f} stabilised {sad_out:.3f} blanket {sad_blanket:.3f}; lag px raw {lag(raw):.2f} "
        f"stabilised {lag(out):.2f} blanket {lag(blanket):.2f}"
    )
    assert sad_out <= 1.10 * sad_raw
    assert lag(out) - lag(raw) < 0.35  # the subject moves 3 px a frame
    assert sad_blanket > 1.3 * sad_raw and lag(blanket) - lag(raw) > 0.8  # what the test guards against


def test_large_frames_are_tested_reduced_and_blended_at_full_size():
    """A 1300x820 frame (reduced by 3 for the shift and the colour test): the camera shift is
    found in full-size pixels and the noisy alpha of a still scene is smoothed at full size."""
    rng = np.random.default_rng(5)
    h, w = 820, 1300
    scene = np.stack([ndimage.gaussian_filter(rng.random((h + 20, w + 20)) * 255, 3.0) for _ in range(3)], axis=2)
    truth = (ndimage.gaussian_filter(rng.random((h + 20, w + 20)), 20.0) > 0.5).astype(np.float32)
    st = TemporalStabiliser()
    assert st.max_side == 640
    errs_raw, errs_out = [], []
    for t, (dy, dx) in enumerate([(0, 0), (2, -3), (1, 1), (3, 0)]):
        f = np.clip(scene[10 - dy : 10 - dy + h, 10 - dx : 10 - dx + w] + rng.normal(0, 2, (h, w, 3)), 0, 255)
        gt = truth[10 - dy : 10 - dy + h, 10 - dx : 10 - dx + w]
        raw = (gt + rng.normal(0, 0.05, gt.shape)).astype(np.float32)  # unclipped: its mean error is 0
        out = st.update(f.astype(np.uint8), raw)
        if t:
            prev = [(0, 0), (2, -3), (1, 1), (3, 0)][t - 1]
            assert st.last_shift == pytest.approx((dy - prev[0], dx - prev[1]), abs=0.15)
            assert out.shape == (h, w)
            errs_raw.append(np.abs(raw - gt).mean())
            errs_out.append(np.abs(out - gt).mean())
    assert np.mean(errs_out) < 0.8 * np.mean(errs_raw)


@pytest.mark.parametrize("step", [1, 2])
def test_flicker_meter_follows_the_shift_on_a_pixel_sample(step):
    """Against SciPy's shift (order 1 vs the meter's cubic: compared on a smooth scene)."""
    rng = np.random.default_rng(4)
    yy, xx = np.mgrid[0:60, 0:80].astype(np.float64)
    scene = lambda y, x: np.stack([100 + 40 * np.sin(y / 9 + c) * np.cos(x / 11) for c in range(3)], axis=2)  # noqa: E731
    f0, f1 = scene(yy, xx), scene(yy - 0.5, xx + 1.25)  # the camera moved by (0.5, -1.25)
    a0 = (0.5 + 0.4 * np.sin(yy / 7) * np.sin(xx / 13)).astype(np.float32)
    a1 = (ndimage.shift(a0, (0.5, -1.25), order=3, mode="nearest") + rng.normal(0, 0.01, a0.shape)).astype(np.float32)
    f1[20:30, 30:50] += 60  # a patch whose colour changed: not counted
    m = FlickerMeter(step=step)
    m.update(f0.astype(np.uint8), a0)
    m.update(f1.astype(np.uint8), a1, shift=(0.5, -1.25))
    prev_f = ndimage.shift(f0.astype(np.uint8).astype(np.float64), (0.5, -1.25, 0), order=3, mode="nearest")
    prev_a = ndimage.shift(a0, (0.5, -1.25), order=3, mode="nearest")
    same = (np.abs(f1.astype(np.uint8) - prev_f) <= 12).all(axis=2)[::step, ::step]
    ref = np.abs(a1 - prev_a)[::step, ::step][same].mean()
    assert 0.5 * same.size < same.sum() < 0.97 * same.size  # the changed patch is left out
    assert m.pixels == pytest.approx(same.sum(), rel=0.02)
    assert m.values[0] == pytest.approx(ref, rel=0.05, abs=2e-4)
