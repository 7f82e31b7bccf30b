"""``solve_alpha``: α in the unknown band of a trimap from the closed-form matting Laplacian."""

from __future__ import annotations

import numpy as np

from .. import device as _device
from ..errors import InputError
from . import _dispatch, _validate

#: Data-term weight used when a ``prior`` is given and ``prior_weight`` is left at ``None``
#: (tuned with bench/eval_matting.py, ``general`` mode).
DEFAULT_PRIOR_WEIGHT = 0.1


def _trimap_u8(trimap) -> np.ndarray:
    t = _validate.image(trimap, "trimap", channels=(1,), dtypes=(np.uint8, np.float32, np.float64))
    if t.dtype == np.uint8:
        return t
    if t.min() < 0 or t.max() > 1:
        raise InputError(
            f"trimap: float values must lie in [0, 1] (0 = background, 1 = foreground), got range "
            f"[{t.min():g}, {t.max():g}]; pass uint8 0/128/255 for the usual encoding"
        )
    out = np.full(t.shape, 128, np.uint8)
    out[t == 0] = 0
    out[t == 1] = 255
    return out


# Ranges of the float parameters: float32 in the native op; eps / 9 must not vanish next to a
# window's variances in double (or a window of equal colours has a singular covariance).
EPS_RANGE = (1e-12, 1e30)
WEIGHT_RANGE = (0.0, 1e30)  # prior_weight, prior_confidence, tol


def _params(eps, prior_weight, has_prior: bool, prior_confidence, max_iter, tol) -> tuple:
    """(eps, prior_weight, prior_confidence, max_iter, tol) as the native op takes them."""
    eps = _validate.number(eps, "eps", *EPS_RANGE)
    tol = _validate.number(tol, "tol", *WEIGHT_RANGE)
    max_iter = min(_validate.nonneg_int(max_iter, "max_iter"), _validate.INT32_MAX)  # "at most": no limit
    prior_confidence = _validate.number(prior_confidence, "prior_confidence", *WEIGHT_RANGE)
    if prior_weight is None:
        lam = DEFAULT_PRIOR_WEIGHT if has_prior else 0.0
    else:
        lam = _validate.number(prior_weight, "prior_weight", *WEIGHT_RANGE)
    return float(eps), float(lam), float(prior_confidence), int(max_iter), float(tol)


def _down2(x: np.ndarray) -> np.ndarray:
    """2×2 box average (edge rows/columns replicated for odd sizes)."""
    h, w = x.shape[:2]
    if h % 2 or w % 2:
        pad = [(0, h % 2), (0, w % 2)] + [(0, 0)] * (x.ndim - 2)
        x = np.pad(x, pad, mode="edge")
    return 0.25 * (x[0::2, 0::2] + x[1::2, 0::2] + x[0::2, 1::2] + x[1::2, 1::2])


def _down2_trimap(t: np.ndarray) -> np.ndarray:
    """A 2×2 block is sure only when all four pixels are sure alike; otherwise unknown."""
    h, w = t.shape
    if h % 2 or w % 2:
        t = np.pad(t, [(0, h % 2), (0, w % 2)], mode="edge")
    blocks = [t[0::2, 0::2], t[1::2, 0::2], t[0::2, 1::2], t[1::2, 1::2]]
    fg = np.logical_and.reduce([b == 255 for b in blocks])
    bg = np.logical_and.reduce([b == 0 for b in blocks])
    out = np.full(fg.shape, 128, np.uint8)
    out[fg] = 255
    out[bg] = 0
    return out


def _up2(a: np.ndarray, shape) -> np.ndarray:
    """Bilinear upsampling of a half-size map to ``shape`` (pixel centres aligned)."""
    h, w = shape
    hs, ws = a.shape

    def axis(n, m):
        c = np.clip((np.arange(n) + 0.5) / 2.0 - 0.5, 0, m - 1)
        i0 = np.floor(c).astype(np.intp)
        i1 = np.minimum(i0 + 1, m - 1)
        return i0, i1, (c - i0).astype(np.float32)

    y0, y1, fy = axis(h, hs)
    x0, x1, fx = axis(w, ws)
    top = a[y0][:, x0] * (1 - fx) + a[y0][:, x1] * fx
    bot = a[y1][:, x0] * (1 - fx) + a[y1][:, x1] * fx
    return np.ascontiguousarray(top * (1 - fy[:, None]) + bot * fy[:, None], dtype=np.float32)


def _solve_levels(fn, img, tri, prior, args, levels: int, min_unknown: int):
    """Coarse-to-fine: solve a half-size problem first and start from its upsampled α."""
    start, coarse = None, None
    unknown = int(np.count_nonzero((tri != 0) & (tri != 255)))
    if levels > 1 and min(tri.shape) >= 32 and unknown >= min_unknown:
        coarse_prior = None if prior is None else _down2(prior).astype(np.float32)
        a2, coarse = _solve_levels(
            fn, _down2(img).astype(np.float32), _down2_trimap(tri), coarse_prior, args, levels - 1, min_unknown
        )
        start = _up2(a2, tri.shape)
    alpha, info = fn(img, tri, prior, start, *args)
    info["levels"] = 1 + (coarse["levels"] if coarse else 0)
    info["coarse_iterations"] = (coarse["iterations"] + coarse["coarse_iterations"]) if coarse else 0
    return alpha, info


def solve_alpha(
    image,
    trimap,
    *,
    prior=None,
    prior_weight=None,
    prior_confidence: float = 4.0,
    eps: float = 1e-6,
    max_iter: int = 400,
    tol: float = 1e-3,
    levels: int = 1,
    return_info: bool = False,
    backend: str = "auto",
):
    """Solve for α in the unknown band of ``trimap``, edge-aware, with an optional soft prior.

    Minimises, over the unknown pixels U only (sure pixels stay fixed),

        E(α) = αᵀ L α + Σ_{i∈U} λ_i (α_i − prior_i)²,   λ_i = λ · |2 prior_i − 1|^c

    where L is the closed-form matting Laplacian of Levin et al. (2008) on 3×3 windows,

        L_ij = Σ_{k: i,j ∈ w_k} ( δ_ij − (1 + (I_i − μ_k)ᵀ (Σ_k + ε/9 · Id)⁻¹ (I_j − μ_k)) / 9 ),

    λ = ``prior_weight`` and c = ``prior_confidence``. The linear system
    (L_UU + Λ) α_U = Λ prior_U − L_UK α_K (Λ = diag λ_i) is solved by
    Jacobi-preconditioned conjugate gradients on the band (never a full-image matrix), warm started
    from the prior (0.5 without one), multithreaded, with the GIL released. Results are clipped to
    [0, 1].

    Parameters
    ----------
    image : (H, W, 3) uint8, or float in [0, 1]
        The colour image (RGB or BGR: the Laplacian treats channels symmetrically).
    trimap : (H, W) uint8
        0 = sure background, 255 = sure foreground, anything else (usually 128) unknown. A float
        trimap in [0, 1] is read the same way (0 and 1 sure, the rest unknown).
    prior : (H, W) float in [0, 1] or uint8, optional
        An estimate of α, e.g. the segmenter's probability upscaled to the image size. Acts as a soft
        data term in the unknown band and as the starting point of the solve.
    prior_weight : float, optional
        λ in [0, 1e30]. Defaults to ``DEFAULT_PRIOR_WEIGHT`` (0.1) with a prior; ignored without one. Larger
        values trust the prior more (crisper, segmenter-like edges); smaller values let colour decide
        (soft hair, fur).
    prior_confidence : float, default 4
        c in [0, 1e30]: how much less the prior counts where it is unsure (near 0.5). 0 weighs it alike
        everywhere; 4 leaves the uncertain middle of the band (hair, fur) to the colour model while
        still holding the segmenter's confident edges.
    eps : float, default 1e-6
        Regulariser of the window covariances (colours in [0, 1]), in [1e-12, 1e30]; larger is
        smoother.
    max_iter : int, default 400
        Conjugate-gradient iterations at most (per level); values past 2**31 - 1 mean no limit.
    tol : float, default 1e-3
        In [0, 1e30]. Stop when the residual norm falls to ``tol`` times that of the right-hand side (1e-3 changes
        SAD by < 1 % against a converged solve on the composites; use 1e-6 or less for references).
    levels : int, default 1
        Coarse-to-fine levels: with ``levels > 1`` a half-size problem (2×2 box image and prior, a
        block is sure only when all its pixels are) is solved first and its bilinearly upsampled α
        starts the solve (skipped below 4096 unknown pixels). Pays off for wide bands (portraits:
        a third fewer iterations at equal or better SAD); for a narrow band at ~1 MP the full-image
        pyramid costs more than it saves, hence the default of a single level.
    return_info : bool, default False
        Also return a dict: ``unknown`` (pixels solved), ``windows``, ``iterations`` and ``residual``
        (relative, at full size), ``levels`` used and ``coarse_iterations`` (all coarser levels).
    backend : {"auto", "cpu", "cuda", "emu"}
        "auto" picks the CPU for NumPy inputs and CUDA for device arrays. "cuda" runs the same CG on
        the GPU (solve_alpha_cuda.cu: the band compacted on the device, double precision like the
        CPU, the CG scalars kept on the device and read back every 8 iterations); "emu" runs those
        kernels on the CPU (tests). Results agree with the CPU op within 1e-4 (another reduction
        order; measured ≤ 2.3e-5 on the composites down to ``tol=1e-5``), with the same
        ``iterations`` give or take one.

        Device arrays (``__cuda_array_interface__`` or DLPack: CuPy, PyTorch, alphacut's own) are
        used in place and the result stays on the device: ``image`` float32 (H, W, 3) in [0, 1],
        ``trimap`` uint8 (H, W), ``prior`` float32 (H, W) or None; ``levels`` must be 1. Shapes
        and dtypes are checked, values are not (that would need a copy to the host): NaN or
        out-of-range data is the caller's responsibility.

    Returns
    -------
    alpha : (H, W) float32 in [0, 1]
        Exactly 0 / 1 on the sure pixels. With ``return_info``, ``(alpha, info)``.

    Notes
    -----
    Cost grows with the band, not the image: per unknown pixel a 25-entry stencil row of L
    (float64; float32 lets CG stall on these badly conditioned systems) and ~25 FMAs per iteration.
    At 1200×776 with a 31k-pixel band (``general`` trimap), about 70 ms of CPU time per call with
    ~65 iterations at ``tol=1e-3``; see bench/test_bench_solve_alpha.py.

    Example
    -------
    >>> import numpy as np, alphacut.ops as ops
    >>> img = np.zeros((8, 8, 3), np.float32); img[:, 4:] = 1      # black | white
    >>> tri = np.full((8, 8), 128, np.uint8); tri[:, 0] = 0; tri[:, -1] = 255
    >>> a = ops.solve_alpha(img, tri)
    >>> bool(a[:, :4].max() < 0.01 and a[:, 4:].min() > 0.99)
    True
    """
    if _device.any_device(image, trimap, prior):
        return _solve_device(
            image, trimap, prior, prior_weight, prior_confidence, eps, max_iter, tol, levels, return_info, backend
        )
    img = _validate.image(image, "image", channels=(3,), dtypes=(np.uint8, np.float32, np.float64))
    tri = _trimap_u8(trimap)
    _validate.same_size(img, tri, "image", "trimap")
    args = _params(eps, prior_weight, prior is not None, prior_confidence, max_iter, tol)
    pr = None
    if prior is not None:
        pr = _validate.image(prior, "prior", channels=(1,), dtypes=(np.uint8, np.float32, np.float64))
        _validate.same_size(img, pr, "image", "prior")
        pr = _validate.packed(_validate.to_float01(pr))
        if pr.min() < 0 or pr.max() > 1:
            raise InputError(f"prior: values must lie in [0, 1], got range [{pr.min():g}, {pr.max():g}]")
    f = _validate.packed(_validate.to_float01(img))
    fn = _dispatch.native("solve_alpha", _dispatch.resolve(backend))
    levels = _validate.nonneg_int(levels, "levels")
    alpha, info = _solve_levels(fn, f, np.ascontiguousarray(tri), pr, args, max(levels, 1), 4096)
    return (alpha, info) if return_info else alpha


def _solve_device(
    image, trimap, prior, prior_weight, prior_confidence, eps, max_iter, tol, levels, return_info, backend
):
    """Device arrays in, device array out: one level, no host round trip of the images."""
    args = _params(eps, prior_weight, prior is not None, prior_confidence, max_iter, tol)
    levels = _validate.nonneg_int(levels, "levels")
    if levels > 1:
        raise InputError("levels > 1 needs host (NumPy) arrays; with device arrays use levels=1")
    b, (img, tri, pr) = _device.prepare(backend, image, trimap, prior)
    fn = _dispatch.native("solve_alpha", b)
    alpha, info = fn(img, tri, pr, None, *args)
    info["levels"] = 1
    info["coarse_iterations"] = 0
    return (alpha, info) if return_info else alpha
