"""The cutout pipeline: chains the stages on arrays and times each one (milliseconds)."""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Dict, Optional

import numpy as np

from .. import ops
from ..errors import InputError
from ..models.manifest import ModelManifest
from . import device, stages
from .matting_net import trimap_free_matting, trimap_matting
from .modes import ModeSettings, get_mode
from .preprocess import preprocess, raw_output, read_probability, rembg_mask, rembg_preprocess

__all__ = ["CutoutResult", "Pipeline"]


@dataclass
class CutoutResult:
    """What one run of the pipeline produced.

    alpha : (H, W) float32 in [0, 1], full resolution.
    rgba : (H, W, 4) uint8 cutout (None when only the alpha was asked for).
    foreground : list of (box, fg): the estimated foreground colour, float32 (h, w, 3), of each
        box (y0, y1, x0, x1) of the grid cells holding soft pixels; None when not estimated, and
        with a GPU ``ops_backend`` (there the colour stays on the device: only the RGBA comes back).
    probability : (h, w) float32, the segmenter's output at the network size (None for
        trimap-free matting networks).
    trimap : uint8 trimap the matting used (working size, or full size for a matting network;
        None with a GPU ``ops_backend``).
    timings : stage name → milliseconds, in the order the stages ran.
    info : sizes and settings used (network size, working size, band radius, tiles...).
    """

    alpha: np.ndarray
    rgba: Optional[np.ndarray] = None
    foreground: Optional[list] = None
    probability: Optional[np.ndarray] = None
    trimap: Optional[np.ndarray] = None
    timings: Dict[str, float] = field(default_factory=dict)
    info: Dict[str, object] = field(default_factory=dict)

    @property
    def total_ms(self) -> float:
        return float(sum(self.timings.values()))


class _Timer:
    def __init__(self) -> None:
        self.ms: Dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str):
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.ms[name] = self.ms.get(name, 0.0) + (time.perf_counter() - t0) * 1000.0


def _check_rgb(rgb) -> np.ndarray:
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise InputError(f"image: expected (H, W, 3) uint8 RGB, got {rgb.shape} {rgb.dtype} (use alphacut.image.decode_image)")
    if rgb.shape[0] == 0 or rgb.shape[1] == 0:
        raise InputError(f"image: the image is empty (shape {rgb.shape})")
    return rgb


class Pipeline:
    """segment → working resolution → trimap → matting → upscale → foreground → RGBA.

    Parameters
    ----------
    manifest, runner : the segmenter (``manifest.kind == "segmenter"``) and its runner. For a
        trimap-free matting network pass it here (``manifest.kind == "matting"`` with
        ``input.kind == "image"``).
    mode : "general" (default), "product", "portrait", or a :class:`ModeSettings`.
    refine : bool, default True
        Solve α in the unknown band (``solve_alpha`` at ~1 MP, ``upscale_alpha`` to full size).
        False gives the plain mask: the probability bilinearly upscaled to full size.
    foreground : bool, default True
        Estimate the foreground colour of the soft pixels (``estimate_foreground``).
    matting_manifest, matting_runner : optional trimap-based matting network, run at full
        resolution on tiles covering the unknown band instead of ``solve_alpha``.
    rembg_compat : bool, default False
        Reproduce rembg's numbers exactly (its preprocessing, min-max stretch, LANCZOS back to
        full size, uint8 truncation, and its premultiplied-looking "naive" cutout). Implies
        ``refine=False``, ``foreground=False``.
    ops_backend : {"cpu", "cuda", "auto", "emu"}, default "cpu"
        Where the native post-processing runs. ``"cuda"``: after the segmenter, the image is
        uploaded once and resize → trimap → solve → upscale → foreground → RGBA run on the GPU,
        with one download of the result (see :mod:`alphacut.pipeline.device`). ``"auto"``: cuda
        when a device can be used, else cpu. ``"emu"``: the same CUDA kernels emulated on the CPU
        (a test build, slow). Applies to segmenter models without a matting network; the other
        paths run on the CPU.
    """

    def __init__(self, manifest: ModelManifest, runner, mode="general", *, refine: bool = True,
                 foreground: bool = True, matting_manifest: Optional[ModelManifest] = None,
                 matting_runner=None, rembg_compat: bool = False, tile: Optional[int] = None,
                 ops_backend: str = "cpu") -> None:
        self.manifest = manifest
        self.runner = runner
        self.mode: ModeSettings = get_mode(mode)
        self.refine = bool(refine)
        self.foreground = bool(foreground)
        self.matting_manifest = matting_manifest
        self.matting_runner = matting_runner
        self.rembg_compat = bool(rembg_compat)
        self.tile = tile
        self.ops_backend = device.resolve_ops_backend(ops_backend)
        if matting_manifest is not None and matting_manifest.input.kind == "image":
            raise InputError(
                f"{matting_manifest.name!r} is a trimap-free matting network: use it as the model, not as matting_model"
            )

    # ------------------------------------------------------------------------------------------
    def probability(self, rgb: np.ndarray) -> np.ndarray:
        """The segmenter's probability (h, w) float32 at the network size."""
        return stages.segment(_check_rgb(rgb), self.runner, self.manifest)

    def run(self, rgb: np.ndarray, *, rgba: bool = True, refine: Optional[bool] = None,
            foreground: Optional[bool] = None, timings: Optional[Dict[str, float]] = None) -> CutoutResult:
        """Cut out one (H, W, 3) uint8 RGB image. ``refine``/``foreground`` override the
        pipeline's settings for this call; ``timings`` (e.g. a decode time) are put first."""
        rgb = _check_rgb(rgb)
        refine = self.refine if refine is None else bool(refine)
        want_fg = self.foreground if foreground is None else bool(foreground)
        T = _Timer()
        if timings:
            T.ms.update(timings)
        H, W = rgb.shape[:2]
        info: Dict[str, object] = {"size": (H, W), "mode": self.mode.name, "model": self.manifest.name}
        prob = tri = fg = None

        if self.rembg_compat:
            return self._run_rembg(rgb, T, info, rgba)

        if self.manifest.kind == "matting":
            with T("matting"):
                alpha = trimap_free_matting(rgb, self.runner, self.manifest,
                                            radius=self.mode.upscale_radius, eps=self.mode.upscale_eps)
        else:
            spec = self.manifest.input
            solve = refine and self.matting_runner is None
            on_device = self.ops_backend in device.DEVICE_BACKENDS and self.matting_runner is None
            src = rgb
            if solve:
                # The working image (~1 MP, area-averaged) also feeds the network's resize: a
                # 1 MP -> 320² area resize instead of a second pass over the full image.
                work = stages.working_size((H, W), self.mode.work_pixels)
                info["working_size"] = work
                with T("resize"):
                    rgb_w = rgb if work == (H, W) else ops.resize(rgb, work, method="area")
                src = rgb_w
            with T("preprocess"):
                x = preprocess(src, spec)
            with T("segment"):
                name = spec.name or self.runner.input_names[0]
                outs = self.runner.infer({name: x})
                prob = read_probability(outs, self.manifest.output, spec.layout, self.runner.output_names)
            info["network_size"] = prob.shape
            if on_device:
                alpha, out, dinfo = device.post_process(rgb, prob, self.mode, self.ops_backend, refine=refine,
                                                        want_fg=want_fg, want_rgba=rgba, timer=T)
                info.update(dinfo)
                return CutoutResult(alpha=alpha, rgba=out, foreground=None, probability=prob, trimap=None,
                                    timings=T.ms, info=info)
            if not refine:
                with T("upscale"):
                    alpha = prob if prob.shape == (H, W) else ops.resize(prob, (H, W), method="bilinear")
                    alpha = np.clip(alpha, 0.0, 1.0)
            elif not solve:
                with T("resize"):
                    prob_full = ops.resize(prob, (H, W), method="bilinear")
                with T("trimap"):
                    tri = stages.trimap(np.clip(prob_full, 0, 1), self.mode)
                with T("matting"):
                    alpha, minfo = trimap_matting(rgb, tri, self.matting_runner, self.matting_manifest, tile=self.tile)
                info.update(minfo)
            else:
                with T("resize"):
                    rgb_w, prob_w = stages.to_working(rgb_w, prob, work)
                with T("trimap"):
                    tri = stages.trimap(prob_w, self.mode)
                info["band_px"] = self.mode.band_px(max(work))
                with T("matting"):
                    alpha_w = stages.solve_band(rgb_w, tri, prob_w, self.mode)
                with T("upscale"):
                    alpha = stages.upscale(alpha_w, rgb, self.mode)
        alpha = np.asarray(alpha, np.float32)
        if want_fg:
            with T("foreground"):
                fg = stages.foreground(rgb, alpha)
        out = None
        if rgba:
            with T("compose"):
                out = stages._pack(rgb, alpha, fg or ())
        return CutoutResult(alpha=alpha, rgba=out, foreground=fg, probability=prob, trimap=tri,
                            timings=T.ms, info=info)

    # ------------------------------------------------------------------------------------------
    def _run_rembg(self, rgb, T: _Timer, info, want_rgba: bool) -> CutoutResult:
        from PIL import Image

        spec = self.manifest.input
        with T("preprocess"):
            x = rembg_preprocess(rgb, spec)
        with T("segment"):
            outs = self.runner.infer({spec.name or self.runner.input_names[0]: x})
            raw = raw_output(outs, self.manifest.output, self.runner.output_names)
        with T("upscale"):
            mask = rembg_mask(raw, rgb.shape[:2])
        out = None
        if want_rgba:
            with T("compose"):
                img = Image.fromarray(rgb, "RGB")
                empty = Image.new("RGBA", img.size, 0)
                out = np.asarray(Image.composite(img, empty, Image.fromarray(mask, "L")))
        info["rembg_compat"] = True
        return CutoutResult(alpha=mask.astype(np.float32) / 255.0, rgba=out, probability=raw,
                            timings=T.ms, info=info)
