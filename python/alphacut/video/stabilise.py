"""Temporal stability for per-frame mattes: :class:`TemporalStabiliser` and the flicker figure.

A network mattes each frame on its own, so where nothing changed its alpha still jitters with
the sensor noise and the codec. The stabiliser is a motion-aware recursive filter:

1. the global (camera) shift between the previous frame and this one is estimated by phase
   correlation with a sub-pixel peak (:func:`estimate_shift`);
2. the previous frame and the previous *stabilised* alpha are moved by that shift (bilinear);
3. per pixel, the colour change against the moved previous frame is compared with a tolerance:
   the noise level of this pair of frames (from the median change, bounded) plus what a small
   registration error costs on the local image gradient (``slack`` pixels times the gradient);
4. where the change is within the tolerance the alpha is blended toward the moved previous alpha
   (``strength``); the weight falls linearly to zero at twice the tolerance, so where the colour
   changed (a moving subject, a scene cut) the frame's own alpha is kept as it is and edges are
   not dragged; a large jump of the alpha itself (``alpha_tol``) is not blended either.

It holds one previous frame and one previous alpha: its memory does not grow with the video.
"""

from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

__all__ = ["FlickerMeter", "TemporalStabiliser", "estimate_shift", "shift_image"]


def _grey(rgb: np.ndarray) -> np.ndarray:
    rgb = np.asarray(rgb, dtype=np.float32)
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


def _box3(a: np.ndarray) -> np.ndarray:
    """3x3 mean, edges replicated."""
    p = np.pad(a, 1, mode="edge")
    s = p[:-2] + p[1:-1] + p[2:]
    return (s[:, :-2] + s[:, 1:-1] + s[:, 2:]) * (1.0 / 9.0)


def _peak_offset(c_m: float, c_0: float, c_p: float) -> float:
    """Sub-sample position of a peak from its value and its two neighbours (parabola)."""
    den = c_m - 2.0 * c_0 + c_p
    if den >= 0 or not np.isfinite(den):
        return 0.0
    return float(np.clip(0.5 * (c_m - c_p) / den, -0.5, 0.5))


def _tukey(n: int, taper: float = 0.25) -> np.ndarray:
    """A window flat in the middle with cosine tapers over ``taper`` of its length: every part of
    the picture counts alike (a Hann window would let a centred subject outvote the background)."""
    w = np.ones(n)
    m = max(1, int(taper * n / 2))
    ramp = 0.5 * (1 - np.cos(np.pi * np.arange(m) / m))
    w[:m] = ramp
    w[n - m :] = ramp[::-1]
    return w


def _peaks(corr: np.ndarray, count: int) -> list:
    """The ``count`` highest local maxima of a (circular) correlation surface, as sub-pixel
    (dy, dx) with wrap-around undone."""
    c = corr.copy()
    ny, nx = c.shape
    out = []
    for _ in range(count):
        iy, ix = np.unravel_index(int(np.argmax(c)), c.shape)
        oy = _peak_offset(corr[(iy - 1) % ny, ix], corr[iy, ix], corr[(iy + 1) % ny, ix])
        ox = _peak_offset(corr[iy, (ix - 1) % nx], corr[iy, ix], corr[iy, (ix + 1) % nx])
        out.append(((iy if iy <= ny // 2 else iy - ny) + oy, (ix if ix <= nx // 2 else ix - nx) + ox))
        ys = np.arange(iy - 2, iy + 3) % ny
        xs = np.arange(ix - 2, ix + 3) % nx
        c[np.ix_(ys, xs)] = -np.inf
    return out


def estimate_shift(
    prev_grey: np.ndarray, grey: np.ndarray, *, max_side: int = 640, candidates: int = 3
) -> Tuple[float, float]:
    """(dy, dx) such that ``grey(y, x) ≈ prev_grey(y - dy, x - dx)``: the global (camera)
    translation from the previous frame to this one.

    Phase correlation (a flat-topped window) gives ``candidates`` peaks; the one that explains
    the most pixels wins (so a subject moving over a still background does not pull the
    estimate) and is refined by robust Gauss-Newton steps on the images. Frames larger than
    ``max_side`` are reduced by an integer factor first (area mean)."""
    h, w = grey.shape
    f = max(1, int(np.ceil(max(h, w) / max_side)))
    a = np.asarray(prev_grey, np.float32)
    b = np.asarray(grey, np.float32)
    if f > 1:
        hh, ww = h // f * f, w // f * f
        a = a[:hh, :ww].reshape(hh // f, f, ww // f, f).mean(axis=(1, 3))
        b = b[:hh, :ww].reshape(hh // f, f, ww // f, f).mean(axis=(1, 3))
    win = np.outer(_tukey(a.shape[0]), _tukey(a.shape[1])).astype(np.float32)
    fa = np.fft.rfft2((a - a.mean()) * win)
    fb = np.fft.rfft2((b - b.mean()) * win)
    cross = fb * np.conj(fa)
    cross /= np.abs(cross) + 1e-9
    corr = np.fft.irfft2(cross, s=a.shape)
    fits = []
    for dy, dx in _peaks(corr, candidates):
        m = int(np.ceil(max(abs(dy), abs(dx)))) + 2
        if min(a.shape) <= 4 * m:  # not a camera shake: the frame cannot be compared
            continue
        r = np.abs(b - shift_image(a, dy, dx))[m:-m, m:-m]
        fits.append((float(dy), float(dx), r))
    if not fits:
        return 0.0, 0.0
    t = 2.0 * min(float(np.median(r)) for _, _, r in fits) + 1e-6
    dy, dx, _ = max(fits, key=lambda fit: float(np.mean(fit[2] <= t)))
    dy, dx = _refine_shift(a, b, dy, dx)
    return float(dy * f), float(dx * f)


def _taps(d: float, cubic: bool) -> Tuple[int, np.ndarray, np.ndarray]:
    """(base, offsets, weights) of ``out[i] = in[i - d] = sum_k w_k in[i + base + off_k]``."""
    pos = -float(d)
    base = int(np.floor(pos))
    t = pos - base
    if cubic:
        offs = np.arange(-1, 3)
        wts = np.array(
            [
                (-(t**3) + 2 * t**2 - t) / 2,
                (3 * t**3 - 5 * t**2 + 2) / 2,
                (-3 * t**3 + 4 * t**2 + t) / 2,
                (t**3 - t**2) / 2,
            ]
        )
    else:
        offs = np.arange(0, 2)
        wts = np.array([1.0 - t, t])
    return base, offs, wts.astype(np.float32)


def _shift_axis(a: np.ndarray, d: float, axis: int, cubic: bool, step: int = 1) -> np.ndarray:
    """``a`` moved by ``d`` along ``axis``; only the output positions 0, step, 2*step, ..."""
    n = a.shape[axis]
    base, offs, wts = _taps(d, cubic)
    keep = [(int(o), w) for o, w in zip(offs, wts) if w != 0.0]
    if len(keep) == 1 and base + keep[0][0] == 0 and keep[0][1] == 1.0:
        sl = [slice(None)] * a.ndim
        sl[axis] = slice(0, n, step)
        return a[tuple(sl)]
    pad = abs(base) + 3
    widths = [(0, 0)] * a.ndim
    widths[axis] = (pad, pad)
    p = np.pad(a, widths, mode="edge")  # edges replicated
    out = None
    for o, w in keep:
        start = pad + base + o
        sl = [slice(None)] * a.ndim
        sl[axis] = slice(start, start + n, step)
        term = p[tuple(sl)] * w
        out = term if out is None else out + term
    assert out is not None
    return out


def shift_image(a: np.ndarray, dy: float, dx: float, *, cubic: bool = False, step: int = 1) -> np.ndarray:
    """``out(y, x) = a(y - dy, x - dx)``: bilinear, or Catmull-Rom cubic (sharper: a shift and its
    inverse blur an edge much less); edges replicated. (H, W) or (H, W, C); float32 out.
    ``step`` > 1 computes only the pixels of every ``step``-th row and column (``out[::step, ::step]``)."""
    a = np.asarray(a, dtype=np.float32)
    return _shift_axis(_shift_axis(a, dy, 0, cubic, step), dx, 1, cubic, step).astype(np.float32, copy=False)


def _refine_shift(a: np.ndarray, b: np.ndarray, dy: float, dx: float, iterations: int = 3) -> Tuple[float, float]:
    """Gauss-Newton (Lucas-Kanade) on a global translation, from (dy, dx), so that
    ``b ≈ shift_image(a, dy, dx)`` in the least-squares sense over the interior, each step on
    the pixels whose residual is within 2.5 times the median (the still part of the picture)."""
    m = int(np.ceil(max(abs(dy), abs(dx)))) + 3
    if min(a.shape) <= 4 * m:
        return dy, dx
    inner = (slice(m, -m), slice(m, -m))
    for _ in range(iterations):
        p = shift_image(a, dy, dx, cubic=True)
        gy, gx = np.gradient(p)
        gy, gx, r = gy[inner], gx[inner], (b - p)[inner]
        # robust: pixels that moved on their own (a subject over a still background) are left out
        keep = np.abs(r) <= max(2.5 * float(np.median(np.abs(r))), 1e-3)
        gy, gx, r = gy[keep], gx[keep], r[keep]
        hm = np.array([[np.sum(gy * gy), np.sum(gy * gx)], [np.sum(gx * gy), np.sum(gx * gx)]], dtype=np.float64)
        rhs = -np.array([np.sum(gy * r), np.sum(gx * r)], dtype=np.float64)
        if np.linalg.cond(hm) > 1e6:
            break
        step = np.linalg.solve(hm, rhs)
        if not np.all(np.isfinite(step)) or np.abs(step).max() > 1.0:
            break
        dy, dx = dy + float(step[0]), dx + float(step[1])
        if np.abs(step).max() < 1e-3:
            break
    return dy, dx


class TemporalStabiliser:
    """Motion-aware temporal smoothing of a stream of mattes (see the module's description).

    Parameters
    ----------
    strength : float in [0, 1), default 0.7
        How far an unchanged pixel's alpha moves toward the previous (moved) stabilised alpha.
    noise_floor, noise_cap : float, default 2.0 and 12.0
        Bounds (in 0..255 levels) of the colour tolerance estimated from each pair of frames
        (``noise_k`` times the 25th percentile of the 3x3-averaged colour change: a quarter of
        the picture is assumed still): a clean clip still tolerates ``noise_floor``, a scene cut
        or a fully moving frame cannot raise it above ``noise_cap``.
    noise_k : float, default 3.0
    slack : float, default 0.1
        Registration error (pixels) forgiven on image edges: the tolerance grows by ``slack``
        times the local gradient.
    alpha_tol : float, default 0.3
        A pixel whose alpha moved by more than twice this against the moved previous alpha is
        not blended (linear between once and twice): a network that changes its mind by that
        much is following something, not flickering. 0 turns the gate off.
    motion : bool, default True
        Compensate the global camera shift (False: compare with the previous frame in place).
    max_side : int, default 640
        The shift and the colour test run on the frame reduced by an integer factor (area mean)
        to at most this side; the alpha itself is blended at full size.

    Examples
    --------
    >>> st = TemporalStabiliser()
    >>> for rgb, alpha in frames:             # doctest: +SKIP
    ...     out = st.update(rgb, alpha)
    """

    def __init__(
        self,
        strength: float = 0.7,
        *,
        noise_floor: float = 2.0,
        noise_cap: float = 12.0,
        noise_k: float = 3.0,
        slack: float = 0.1,
        alpha_tol: float = 0.3,
        motion: bool = True,
        max_side: int = 640,
    ) -> None:
        if not 0.0 <= strength < 1.0:
            from ..errors import InputError

            raise InputError(f"strength must be in [0, 1), got {strength!r}")
        self.strength = float(strength)
        self.noise_floor = float(noise_floor)
        self.noise_cap = float(noise_cap)
        self.slack = float(slack)
        self.alpha_tol = float(alpha_tol)
        self.noise_k = float(noise_k)
        self.motion = bool(motion)
        self.max_side = int(max_side)
        self._factor = 1
        self._rgb: Optional[np.ndarray] = None
        self._grey: Optional[np.ndarray] = None
        self._alpha: Optional[np.ndarray] = None
        self.last_shift: Tuple[float, float] = (0.0, 0.0)
        self.last_weight: Optional[np.ndarray] = None

    def reset(self) -> None:
        self._rgb = self._grey = self._alpha = None

    def _reduce(self, a: np.ndarray) -> np.ndarray:
        """Area mean over f x f blocks (the last partial rows / columns dropped), float32."""
        f = self._factor
        if f == 1:
            return np.asarray(a, dtype=np.float32)
        h, w = a.shape[0] // f * f, a.shape[1] // f * f
        acc = np.zeros((h // f, w // f, *a.shape[2:]), np.float32)
        for i in range(f):
            for j in range(f):
                acc += a[i:h:f, j:w:f]
        acc *= np.float32(1.0 / (f * f))
        return acc

    def weight(self, rgb: np.ndarray, grey: np.ndarray) -> Tuple[np.ndarray, Tuple[float, float]]:
        """Per-pixel blend weight in [0, 1] of this (reduced) frame against the stored previous
        one, at the reduced size, and the shift used (in full-size pixels)."""
        assert self._rgb is not None and self._grey is not None
        f = self._factor
        shift = estimate_shift(self._grey, grey) if self.motion else (0.0, 0.0)
        if abs(shift[0]) > grey.shape[0] / 4 or abs(shift[1]) > grey.shape[1] / 4:
            shift = (0.0, 0.0)  # not a camera shake: compare in place (the colour test decides)
        prev = shift_image(self._rgb, *shift, cubic=True) if shift != (0.0, 0.0) else self._rgb
        diff = rgb - prev
        d = np.abs(np.stack([_box3(diff[..., c]) for c in range(diff.shape[2])], axis=2)).max(axis=2)
        tol = float(np.clip(self.noise_k * np.percentile(d, 25), self.noise_floor, self.noise_cap))
        gy, gx = np.gradient(_box3(grey))
        tol_px = tol + (self.slack / f) * (np.abs(gy) + np.abs(gx))
        w = np.clip(2.0 - d / tol_px, 0.0, 1.0)
        return w.astype(np.float32), (shift[0] * f, shift[1] * f)

    def update(self, rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        """The stabilised (H, W) float32 alpha of this frame ((H, W, 3) uint8 ``rgb``, (H, W)
        alpha in [0, 1]). A frame of another size starts the filter afresh."""
        alpha = np.asarray(alpha, dtype=np.float32)
        h, w = alpha.shape
        self._factor = max(1, int(np.ceil(max(h, w) / self.max_side)))
        small = self._reduce(np.asarray(rgb))
        grey = _grey(small)
        out = alpha
        if self._alpha is not None and self._alpha.shape == alpha.shape and self.strength > 0:
            wt, shift = self.weight(small, grey)
            if self._factor > 1:  # the weight back to full size (nearest; the last rows / columns repeated)
                f = self._factor
                wt = np.repeat(np.repeat(wt, f, axis=0), f, axis=1)
                wt = np.pad(wt, ((0, h - wt.shape[0]), (0, w - wt.shape[1])), mode="edge")
            prev_a = self._alpha
            if shift != (0.0, 0.0):
                prev_a = np.clip(shift_image(self._alpha, *shift, cubic=True), 0.0, 1.0)
            if self.alpha_tol > 0:
                wt = wt * np.clip(2.0 - np.abs(alpha - prev_a) / self.alpha_tol, 0.0, 1.0)
            out = alpha + (wt * self.strength) * (prev_a - alpha)
            self.last_shift, self.last_weight = shift, wt
        self._rgb = small
        self._grey = grey
        self._alpha = out
        return out


class FlickerMeter:
    """The flicker figure of a stream of mattes: mean |αₜ − αₜ₋₁| over the pixels whose colour did
    not change between the two frames (every channel within ``threshold`` levels of 0..255).

    ``update`` takes the frame and any number of alpha streams (for example the network's and
    the stabiliser's) and accumulates each over the same pixels; :attr:`values` is one mean per
    stream. With ``shift`` (the camera's (dy, dx) from the previous frame to this one, as
    :func:`estimate_shift` gives it) the previous frame and alphas are moved by it first (cubic),
    so a camera shake is not counted as a change of colour nor as flicker. ``step`` > 1 counts
    the pixels of every ``step``-th row and column only (a regular sample: a quarter of the work
    for 2, for large frames)."""

    def __init__(self, threshold: float = 12.0, *, step: int = 1) -> None:
        self.threshold = float(threshold)
        self.step = max(1, int(step))
        self._rgb: Optional[np.ndarray] = None
        self._alphas: Optional[Tuple[np.ndarray, ...]] = None
        self._sums: Optional[np.ndarray] = None
        self.pixels = 0

    def update(self, rgb: np.ndarray, *alphas: np.ndarray, shift: Optional[Tuple[float, float]] = None) -> None:
        rgb = np.asarray(rgb)
        alphas = tuple(np.asarray(a, dtype=np.float32) for a in alphas)
        k = self.step
        if self._sums is None:
            self._sums = np.zeros(len(alphas))
        if self._rgb is not None and self._alphas is not None and self._rgb.shape == rgb.shape:
            dy, dx = shift if shift is not None else (0.0, 0.0)
            prev = shift_image(self._rgb, dy, dx, cubic=True, step=k)
            same = (np.abs(rgb[::k, ::k].astype(np.float32) - prev) <= self.threshold).all(axis=2)
            n = int(np.count_nonzero(same))
            if n:
                self.pixels += n
                for i, (a, p) in enumerate(zip(alphas, self._alphas)):
                    diff = np.abs(a[::k, ::k] - shift_image(p, dy, dx, cubic=True, step=k))
                    self._sums[i] += float(np.sum(diff, where=same))
        self._rgb = rgb
        self._alphas = alphas

    @property
    def values(self) -> Tuple[float, ...]:
        if self._sums is None:
            return ()
        return tuple(float(s / self.pixels) if self.pixels else 0.0 for s in self._sums)
