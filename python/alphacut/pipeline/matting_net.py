"""Matting networks a user brings (MODNet, ViTMatte, FBA...), described by a manifest of kind
"matting".

- Trimap-based (``manifest.input.kind`` "image+trimap": the trimap/255 as a 4th channel after the
  normalised image; or "trimap": a second graph input ``trimap_name``): the network runs at full
  resolution on tiles that cover the unknown band only; tiles overlap and are feathered, sure
  pixels keep the trimap's 0 / 1.
- Trimap-free (``kind`` "image"): the network runs on the whole image at its size (fixed, or
  short side / multiple of), and its α is brought to full size with ``upscale_alpha``.

No matting network ships with alphacut or its test data (none small and permissive enough); the
tests drive this path with tiny ONNX graphs they generate with ``onnx.helper``.
"""

from __future__ import annotations

from typing import List, Optional, Tuple

import numpy as np

from .. import ops
from ..errors import InputError, ModelError
from ..models.manifest import ModelManifest
from .network import normalise, preprocess, read_probability, to_layout

__all__ = ["tile_origins", "trimap_matting", "trimap_free_matting"]


def tile_origins(length: int, tile: int, overlap: int) -> List[int]:
    """Start offsets of tiles of size ``tile`` covering ``length`` with at least ``overlap``."""
    if length <= tile:
        return [0]
    stride = max(1, tile - overlap)
    starts = list(range(0, length - tile + 1, stride))
    if starts[-1] != length - tile:
        starts.append(length - tile)
    return starts


def _tile_size(manifest: ModelManifest, tile: Optional[int]) -> Tuple[int, int]:
    spec = manifest.input
    if spec.size is not None:
        return int(spec.size[0]), int(spec.size[1])
    t = int(tile or 512)
    m = max(1, spec.multiple_of)
    t = max(m, (t // m) * m)
    return t, t


def _feather(th: int, tw: int, overlap: int) -> np.ndarray:
    """Weights rising linearly from the tile edge over ``overlap`` px (never 0)."""
    ramp = max(1, overlap)
    y = np.minimum(np.arange(th) + 1, np.arange(th)[::-1] + 1).astype(np.float32)
    x = np.minimum(np.arange(tw) + 1, np.arange(tw)[::-1] + 1).astype(np.float32)
    return np.minimum(np.minimum(y, ramp)[:, None], np.minimum(x, ramp)[None, :]) / ramp


def _pad(a: np.ndarray, th: int, tw: int) -> np.ndarray:
    ph, pw = th - a.shape[0], tw - a.shape[1]
    if ph <= 0 and pw <= 0:
        return a
    pad = [(0, max(0, ph)), (0, max(0, pw))] + [(0, 0)] * (a.ndim - 2)
    return np.pad(a, pad, mode="edge")


def _feeds(runner, manifest: ModelManifest, rgb_tile: np.ndarray, tri_tile: np.ndarray):
    spec = manifest.input
    x = normalise(rgb_tile, spec)
    t = (tri_tile.astype(np.float32) * np.float32(1.0 / 255.0))[None, None]
    names = runner.input_names
    img_name = spec.name or names[0]
    if spec.kind == "image+trimap":
        return {img_name: to_layout(np.concatenate([x, t], axis=1), spec.layout)}
    if spec.kind == "trimap":
        tname = spec.trimap_name or next((n for n in names if n != img_name), None)
        if tname is None:
            raise ModelError(f"matting model {manifest.name!r} has no separate trimap input")
        return {img_name: to_layout(x, spec.layout), tname: to_layout(t, spec.layout)}
    raise ModelError(f"matting model {manifest.name!r}: input kind {spec.kind!r} takes no trimap")


def trimap_matting(
    rgb: np.ndarray, tri: np.ndarray, runner, manifest: ModelManifest, *, tile: Optional[int] = None, overlap: int = 32
) -> Tuple[np.ndarray, dict]:
    """α (H, W) float32 from a trimap-based matting network run on tiles covering the band.

    Parameters
    ----------
    rgb : (H, W, 3) uint8, full resolution.
    tri : (H, W) uint8 trimap (0 background, 255 foreground, anything else unknown).
    tile : tile side for dynamic-size networks (default 512, rounded down to ``multiple_of``);
        fixed-size networks use their own size.
    overlap : pixels shared by neighbouring tiles, blended with linear feathering.

    Returns
    -------
    (alpha, info) with info["tiles"] the number of tiles the network ran on.
    """
    if tri.shape != rgb.shape[:2]:
        raise InputError(f"trimap has size {tri.shape} but the image has size {rgb.shape[:2]}")
    H, W = tri.shape
    th, tw = _tile_size(manifest, tile)
    overlap = int(min(overlap, th // 2, tw // 2))
    unknown = (tri != 0) & (tri != 255)
    alpha = (tri == 255).astype(np.float32)
    if not unknown.any():
        return alpha, {"tiles": 0}
    acc = np.zeros((H, W), np.float32)
    wsum = np.zeros((H, W), np.float32)
    wfull = _feather(th, tw, overlap)
    n = 0
    for y0 in tile_origins(H, th, overlap):
        for x0 in tile_origins(W, tw, overlap):
            y1, x1 = min(H, y0 + th), min(W, x0 + tw)
            if not unknown[y0:y1, x0:x1].any():
                continue
            rt = _pad(rgb[y0:y1, x0:x1], th, tw)
            tt = _pad(tri[y0:y1, x0:x1], th, tw)
            outs = runner.infer(_feeds(runner, manifest, rt, tt))
            a = read_probability(outs, manifest.output, manifest.input.layout, runner.output_names)
            if a.shape != (th, tw):
                a = ops.resize(a, (th, tw), method="bilinear")
            wt = wfull[: y1 - y0, : x1 - x0]
            acc[y0:y1, x0:x1] += a[: y1 - y0, : x1 - x0] * wt
            wsum[y0:y1, x0:x1] += wt
            n += 1
    alpha[unknown] = acc[unknown] / np.maximum(wsum[unknown], 1e-12)
    return np.clip(alpha, 0.0, 1.0), {"tiles": n}


def trimap_free_matting(
    rgb: np.ndarray, runner, manifest: ModelManifest, *, radius: int = 2, eps: float = 1e-4
) -> np.ndarray:
    """α (H, W) float32 from a trimap-free matting network: the whole image at the network's
    size, then fast guided upsampling to full resolution."""
    spec = manifest.input
    x = preprocess(rgb, spec)
    outs = runner.infer({spec.name or runner.input_names[0]: x})
    a = read_probability(outs, manifest.output, spec.layout, runner.output_names)
    if a.shape == rgb.shape[:2]:
        return a
    return ops.upscale_alpha(a, rgb, radius=radius, eps=eps)
