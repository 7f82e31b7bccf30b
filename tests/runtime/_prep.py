"""Test-side pre/post-processing written from the manifests' documented formula, in NumPy + Pillow
(independent of alphacut's pipeline): x = (pixel * scale - mean) / std in the manifest's colour
order, NCHW, bilinear resize; the foreground map read from the manifest's output channel."""

from __future__ import annotations

import numpy as np
from PIL import Image


def preprocess(rgb: np.ndarray, manifest) -> np.ndarray:
    spec = manifest.input
    h, w = spec.size
    im = np.asarray(Image.fromarray(rgb).resize((w, h), Image.BILINEAR), dtype=np.float64)
    if spec.color == "BGR":
        im = im[..., ::-1]
    x = (im * spec.scale - np.asarray(spec.mean)) / np.asarray(spec.std)
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None].astype(np.float32))


def foreground(outputs: dict, manifest, names: list) -> np.ndarray:
    name = manifest.output.name or names[0]
    out = outputs[name]
    return out[0, manifest.output.channel] if out.ndim == 4 else out[0]


def resize_map(prob: np.ndarray, size_hw) -> np.ndarray:
    h, w = size_hw
    return np.asarray(Image.fromarray(prob.astype(np.float32), mode="F").resize((w, h), Image.BILINEAR))


def iou(a: np.ndarray, b: np.ndarray) -> float:
    inter = np.logical_and(a, b).sum()
    union = np.logical_or(a, b).sum()
    return float(inter) / float(union) if union else 1.0
