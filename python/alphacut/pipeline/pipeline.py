"""The cutout pipeline: one loop over a plan of stages, timed one by one (milliseconds).

A call makes a plan — a list of (timing name, stage) — from the model and the options, then
runs it on one state. The stage order is written once, in :meth:`Pipeline.plan`. Where the
arrays live after the network is the pipeline's ``backend``:

``"cpu"``    every stage on NumPy arrays (the native CPU ops).
``"cuda"``   after the network the image, the working image and the probability are uploaded
             once; trimap → band solve → guided upscaling → foreground colour → RGBA run as
             kernels on device arrays, and only the RGBA (or, without one, the float α) comes back.
``"emu"``    the same kernels emulated on the CPU (a test build; slow).

With a host runtime (ONNX Runtime) the device plan differs from the host plan by its ``upload``
and ``download`` stages only. With a runtime that runs on the device memory of ``backend``
(``runtime.runs_on_device(backend)``: TensorRT) the network runs on the device too: the image
goes up first, the working image and the network input are made from it by the resize kernels
(the host's filters: a box average, then PIL's antialiased bilinear), the preprocess kernel writes
the engine's input binding and the probability kernel reads its output binding (the manifest's
channel, activation and reduction) into a new device array
(:func:`alphacut.runtime.trt.runner.segment_on_device`);
nothing but the image goes up and only the cutout comes down. NHWC inputs and routing to a person
model, which compares both probabilities on the host, take the host network instead:
``info["segment"]`` says where the network ran and ``info["segment_host_reason"]`` why not on the
device.
``alphacut._core.transfer_stats_<backend>()`` counts the copies (tests/pipeline checks them).

:func:`run_batch` runs several images through the same loop: each image's stages up to the
network, then one network call for all of them (a :class:`NetworkStage` stacks their inputs
where the runtime's batch dimension is dynamic; a model with a fixed batch of 1 gets one call per
image), then each image's remaining stages. ``Pipeline.run`` is ``run_batch`` of one image.
"""

from __future__ import annotations

import copy
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from .. import _core, ops
from .. import device as _device
from ..device import to_device
from ..errors import InputError
from ..models.manifest import ModelManifest
from ..ops import _dispatch
from . import stages
from .matting_net import trimap_free_matting, trimap_matting
from .modes import ModeSettings, get_mode
from .network import network_size, preprocess, read_probability
from .route import decide

__all__ = [
    "BACKENDS",
    "BatchItem",
    "CutoutResult",
    "NetworkStage",
    "Pipeline",
    "batch_limit",
    "resolve_backend",
    "run_batch",
]

#: The most images stacked into one network call when a model's batch dimension is dynamic.
MAX_NETWORK_BATCH = 64

#: Where the post-processing can run; "auto" is cuda when a device can be used, else cpu.
BACKENDS = ("cpu", "cuda", "emu", "auto")
DEVICE_BACKENDS = ("cuda", "emu")


def resolve_backend(backend: str) -> str:
    """``"cpu"``, ``"cuda"`` or ``"emu"`` for a pipeline's ``backend``; ``"auto"`` picks
    ``"cuda"`` when a device can be used, else ``"cpu"``. Raises a clear error when the asked-for
    backend cannot run here."""
    if backend == "auto":
        return "cuda" if "cuda" in _dispatch.available_backends() else "cpu"
    if backend not in BACKENDS:
        raise InputError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    return _dispatch.resolve(backend)


@dataclass
class CutoutResult:
    """What one run of the pipeline produced.

    alpha : (H, W) float32 in [0, 1], full resolution.
    rgba : (H, W, 4) uint8 cutout (None when only the alpha was asked for).
    foreground : list of (box, fg): the estimated foreground colour, float32 (h, w, 3), of each
        box (y0, y1, x0, x1) of the grid cells holding soft pixels, when only the alpha was asked
        for (``rgba=False``); None when not estimated, and whenever the RGBA was made (its colour
        is the foreground there: on the CPU it is estimated straight into the cutout, on a
        device ``backend`` it stays on the device).
    probability : (h, w) float32, the segmenter's output at the network size (None for
        trimap-free matting networks, and where the segmenter ran on the device: there it stays,
        ``info["segment"] == "device"``).
    trimap : uint8 trimap the matting used (working size, or full size for a matting network;
        None on a device ``backend``).
    timings : stage name → milliseconds, in the order the stages ran.
    info : sizes and settings used (network size, working size, band radius, tiles, backend...).
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


@dataclass
class State:
    """One call's arrays. ``rgb`` and ``rgb_w`` are host arrays (the network reads them); the
    ``img*``, ``prob_w``, ``tri``, ``alpha*``, ``pieces`` and ``rgba`` fields live on
    ``backend`` (NumPy for "cpu", device arrays otherwise)."""

    rgb: np.ndarray
    backend: str
    want_fg: bool
    want_rgba: bool
    info: Dict[str, object]
    work: Optional[Tuple[int, int]] = None
    rgb_w: Optional[np.ndarray] = None
    x: Any = None
    prob: Optional[np.ndarray] = None
    img: Any = None
    img_w: Any = None
    prob_d: Any = None
    prob_w: Any = None
    tri: Any = None
    alpha_w: Any = None
    alpha: Any = None
    pieces: Optional[list] = None
    rgba: Any = None
    mask: Optional[np.ndarray] = None  # rembg_compat: rembg's uint8 mask
    prob_person: Optional[np.ndarray] = None  # the person segmenter's probability (routing)


Stage = Callable[[State], None]


class NetworkStage:
    """The stage that runs a network once: ``feed(state)`` gives its (1, ...) input, ``read(state,
    outputs)`` stores what it needs from the outputs (each output's batch axis of length 1).

    Called alone it is one network call for one image; :func:`run_batch` stacks the inputs of
    several images into one call where the runtime allows a batch (:func:`batch_limit`) and hands
    each image its slice of the outputs."""

    def __init__(
        self,
        runtime,
        input_name: Optional[str],
        feed: Callable[[State], np.ndarray],
        read: Callable[[State, Dict[str, np.ndarray]], None],
    ) -> None:
        self.runtime = runtime
        self._input_name = input_name
        self.feed = feed
        self.read = read

    @property
    def input_name(self) -> str:
        return self._input_name or self.runtime.input_names[0]

    def __call__(self, s: State) -> None:
        self.read(s, self.runtime.infer({self.input_name: self.feed(s)}))


def batch_limit(runtime, input_name: str) -> int:
    """How many images one call of ``runtime`` takes: its ``max_batch_size`` when it states one,
    else :data:`MAX_NETWORK_BATCH` when the input's batch dimension is dynamic, else 1."""
    stated = getattr(runtime, "max_batch_size", None)
    if stated:
        return max(1, int(stated))
    for name, shape, _ in runtime.input_metadata():
        if name == input_name:
            return MAX_NETWORK_BATCH if shape and shape[0] is None else 1
    return 1


class _Timer:
    def __init__(self, ms: Optional[Dict[str, float]] = None) -> None:
        self.ms: Dict[str, float] = dict(ms or {})

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.ms[name] = self.ms.get(name, 0.0) + (time.perf_counter() - t0) * 1000.0


def check_rgb(rgb) -> np.ndarray:
    """``rgb`` as an (H, W, 3) uint8 array, or :class:`InputError` saying what it is instead."""
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise InputError(
            f"image: expected (H, W, 3) uint8 RGB, got {rgb.shape} {rgb.dtype} (use alphacut.image.decode_image)"
        )
    if rgb.shape[0] == 0 or rgb.shape[1] == 0:
        raise InputError(f"image: the image is empty (shape {rgb.shape})")
    return rgb


class Pipeline:
    """segment (→ segment_person → route) → working resolution → trimap → matting → upscale →
    foreground → RGBA.

    Parameters
    ----------
    manifest, runtime : the segmenter (``manifest.kind == "segmenter"``) and its network
        runtime (:mod:`alphacut.runtime`). For a trimap-free matting network pass it here
        (``manifest.kind == "matting"`` with ``input.kind == "image"``).
    mode : "general" (default), "product", "portrait", or a :class:`ModeSettings`.
    refine : bool, default True
        Solve α in the unknown band (``solve_alpha`` at ~1 MP, ``upscale_alpha`` to full size).
        False gives the plain mask: the probability bilinearly resized to full size.
    foreground : bool, default True
        Estimate the foreground colour of the soft pixels (``estimate_foreground``).
    matting_manifest, matting_runtime : optional trimap-based matting network, run at full
        resolution on tiles covering the unknown band instead of ``solve_alpha``.
    rembg_compat : bool, default False
        Reproduce rembg's numbers exactly (:mod:`alphacut.compat.rembg`: its preprocessing,
        min-max stretch, LANCZOS back to full size, uint8 truncation, and its "naive" cutout).
        Implies ``refine=False``, ``foreground=False``.
    tile : tile side for a matting network (default 512).
    person_manifest, person_runtime : optional person segmenter run beside the segmenter when the
        mode asks for it (``mode.route``, the ``general`` mode): the ``segment_person`` stage runs
        it and the ``route`` stage picks one of the two probabilities per image
        (:func:`alphacut.pipeline.route.decide`; the decision and its signals in ``info["route"]``).
    backend : {"cpu", "cuda", "auto", "emu"}, default "cpu"
        Where the post-processing runs (see the module docstring). A matting network and
        ``rembg_compat`` run their post-processing on the CPU whatever this says
        (``info["backend"]`` tells where a run's arrays lived).
    """

    def __init__(
        self,
        manifest: ModelManifest,
        runtime,
        mode="general",
        *,
        refine: bool = True,
        foreground: bool = True,
        matting_manifest: Optional[ModelManifest] = None,
        matting_runtime=None,
        rembg_compat: bool = False,
        tile: Optional[int] = None,
        backend: str = "cpu",
        person_manifest: Optional[ModelManifest] = None,
        person_runtime=None,
    ) -> None:
        self.manifest = manifest
        self.runtime = runtime
        self.mode: ModeSettings = get_mode(mode)
        self.refine = bool(refine)
        self.foreground = bool(foreground)
        self.matting_manifest = matting_manifest
        self.matting_runtime = matting_runtime
        self.rembg_compat = bool(rembg_compat)
        self.tile = tile
        self.person_manifest = person_manifest
        self.person_runtime = person_runtime
        self.backend = resolve_backend(backend)
        if matting_manifest is not None and matting_manifest.input.kind == "image":
            raise InputError(
                f"{matting_manifest.name!r} is a trimap-free matting network: use it as the model, not as matting_model"
            )

    def with_mode(self, mode, *, rembg_compat: Optional[bool] = None) -> Pipeline:
        """The same pipeline (model, runtimes, backend, tile, options) with other mode settings
        (and ``rembg_compat`` when given)."""
        p = copy.copy(self)
        p.mode = get_mode(mode)
        if rembg_compat is not None:
            p.rembg_compat = bool(rembg_compat)
        return p

    # ------------------------------------------------------------------------------------------
    def probability(self, rgb: np.ndarray) -> np.ndarray:
        """The segmenter's probability (h, w) float32 at the network size."""
        return stages.segment(check_rgb(rgb), self.runtime, self.manifest)

    def plan(self, *, refine: bool, want_fg: bool, want_rgba: bool) -> Tuple[str, List[Tuple[str, Stage]]]:
        """(backend, [(timing name, stage), ...]) for one call: the one place the order is written."""
        if self.rembg_compat:
            from ..compat import rembg

            return "cpu", rembg.plan(self, want_rgba)
        trimap_free = self.manifest.kind == "matting"
        net_matting = refine and self.matting_runtime is not None
        solve = refine and not trimap_free and not net_matting
        backend = self.backend if not (trimap_free or net_matting) else "cpu"
        on_device = backend in DEVICE_BACKENDS
        steps: List[Tuple[str, Stage]] = []
        if trimap_free:
            steps.append(("matting", self._matting_trimap_free))
        elif on_device and self.why_segment_on_host(backend) is None:
            # The network on the device: the image goes up once, everything is made from it there.
            steps.append(("upload", self._upload))
            if solve:
                steps.append(("resize", self._working_image_on_device))
            steps.append(("segment", self._segment_on_device))
        else:
            if solve:
                steps.append(("resize", self._working_image))
            steps += [("preprocess", self._preprocess), ("segment", self._network())]
            if self.mode.route and self.person_runtime is not None:
                steps += [("segment_person", self._segment_person), ("route", self._route)]
            if on_device:
                steps.append(("upload", self._upload))
        if not trimap_free:
            if not refine:
                steps.append(("resize", self._probability_to_full))
            elif net_matting:
                steps += [
                    ("resize", self._probability_full_size),
                    ("trimap", self._trimap),
                    ("matting", self._matting_network),
                ]
            else:
                steps += [
                    ("resize", self._to_working),
                    ("trimap", self._trimap),
                    ("matting", self._solve),
                    ("upscale", self._upscale),
                ]
        if want_fg and (want_rgba or not on_device):  # on a device the colour only serves the cutout
            steps.append(("foreground", self._foreground))
        if want_rgba:
            steps.append(("pack", self._pack))
        if on_device:
            steps.append(("download", self._download))
        return backend, steps

    def run(
        self,
        rgb: np.ndarray,
        *,
        rgba: bool = True,
        refine: Optional[bool] = None,
        foreground: Optional[bool] = None,
        timings: Optional[Dict[str, float]] = None,
    ) -> CutoutResult:
        """Cut out one (H, W, 3) uint8 RGB image. ``refine``/``foreground`` override the
        pipeline's settings for this call; ``timings`` (e.g. a decode time) are put first."""
        return run_batch([BatchItem(self, rgb, rgba=rgba, refine=refine, foreground=foreground, timings=timings)])[0]

    def run_batch(
        self,
        images: Sequence[np.ndarray],
        *,
        rgba: bool = True,
        refine: Optional[bool] = None,
        foreground: Optional[bool] = None,
        return_exceptions: bool = False,
    ) -> List[Any]:
        """:meth:`run` on each (H, W, 3) uint8 image, with one network call for all of them where
        the model's batch dimension is dynamic (see :func:`run_batch`)."""
        return run_batch(
            [BatchItem(self, rgb, rgba=rgba, refine=refine, foreground=foreground) for rgb in images],
            return_exceptions=return_exceptions,
        )

    def _start(self, item: BatchItem) -> _Run:
        """One image's state and plan (no stage run yet)."""
        rgb = check_rgb(item.rgb)
        refine = self.refine if item.refine is None else bool(item.refine)
        want_fg = self.foreground if item.foreground is None else bool(item.foreground)
        backend, steps = self.plan(refine=refine, want_fg=want_fg, want_rgba=item.rgba)
        H, W = rgb.shape[:2]
        info: Dict[str, object] = {
            "size": (H, W),
            "mode": self.mode.name,
            "model": self.manifest.name,
            "backend": backend,
        }
        if backend in DEVICE_BACKENDS and self.manifest.kind != "matting":
            why = self.why_segment_on_host(backend)
            info["segment"] = "host" if why else "device"
            if why:
                info["segment_host_reason"] = why
        s = State(rgb=rgb, backend=backend, want_fg=want_fg, want_rgba=item.rgba, info=info, img=rgb)
        return _Run(s, steps, _Timer(item.timings))

    def why_segment_on_host(self, backend: str) -> Optional[str]:
        """None when the segmenter can run on the device memory of ``backend`` with no host round
        trip (see the module docstring), else why it runs on the host."""
        runs = getattr(self.runtime, "runs_on_device", None)
        rt_name = getattr(self.runtime, "name", type(self.runtime).__name__)
        if runs is None or not runs(backend):
            return f"the {rt_name} runtime does not run on {backend} device memory"
        spec = self.manifest.input
        if spec.layout.upper() != "NCHW":
            return f"{self.manifest.name}'s input is {spec.layout}; the device preprocess writes NCHW"
        if not hasattr(_core, f"probability_{backend}"):
            return f"this build has no {backend} probability kernel"
        if self.mode.route and self.person_runtime is not None:
            return "routing to the person model compares both probabilities on the host"
        return None

    def _network(self) -> NetworkStage:
        return NetworkStage(self.runtime, self.manifest.input.name, lambda s: s.x, self._read_probability)

    # -- the stages ------------------------------------------------------------------------------
    def _working_image(self, s: State) -> None:
        # The working image (~1 MP, area-averaged) also feeds the network's resize: a 1 MP ->
        # 320² resize instead of a second pass over the full image.
        s.work = stages.working_size(s.rgb.shape[:2], self.mode.work_pixels)
        s.info["working_size"] = s.work
        s.rgb_w = stages.working_image(s.rgb, s.work)

    def _preprocess(self, s: State) -> None:
        s.x = preprocess(s.rgb_w if s.rgb_w is not None else s.rgb, self.manifest.input)

    def _read_probability(self, s: State, outs: Dict[str, np.ndarray]) -> None:
        spec = self.manifest.input
        s.prob = read_probability(outs, self.manifest.output, spec.layout, self.runtime.output_names)
        s.prob_d = s.prob
        s.img_w = s.rgb_w
        s.info["network_size"] = s.prob.shape

    def _segment_person(self, s: State) -> None:
        assert self.person_manifest is not None, "the plan runs this stage only with a person segmenter"
        rgb = s.rgb_w if s.rgb_w is not None else s.rgb
        s.prob_person = stages.segment(rgb, self.person_runtime, self.person_manifest)

    def _route(self, s: State) -> None:
        assert s.prob is not None and s.prob_person is not None and self.person_manifest is not None
        r = decide(s.prob, s.prob_person)
        s.info["route"] = r.info(self.manifest.name, self.person_manifest.name)
        if r.choice == "person":
            s.prob = s.prob_d = r.probability
            s.info["model"] = self.person_manifest.name
            s.info["network_size"] = s.prob.shape

    def _upload(self, s: State) -> None:
        s.img = to_device(s.rgb, s.backend)
        if s.rgb_w is not None:
            s.img_w = s.img if s.rgb_w is s.rgb else to_device(s.rgb_w, s.backend)
        if s.prob is not None:  # a host network's; a device segmenter's probability is there already
            s.prob_d = to_device(np.asarray(s.prob, np.float32), s.backend)

    def _working_image_on_device(self, s: State) -> None:
        s.work = stages.working_size(s.rgb.shape[:2], self.mode.work_pixels)
        s.info["working_size"] = s.work
        s.img_w = stages.working_image(s.img, s.work, backend=s.backend)

    def _segment_on_device(self, s: State) -> None:
        """Shrink the (working) image to the network size on the device, then the preprocess
        kernel → the engine → the probability kernel, which reads the engine's output buffer and
        writes the probability into a new device array.

        A copy is needed: the runtime is shared (server threads, other sessions of the model)
        and its output buffer is rewritten by its next call, while this image's trimap and solve
        still read the probability. This stage is not a :class:`NetworkStage`, so
        :func:`run_batch` runs each image's whole plan in turn (one engine call per image)."""
        from ..runtime.trt.runner import segment_on_device

        src = s.img_w if s.img_w is not None else s.img
        hw = tuple(int(d) for d in _device.shape(src)[:2])
        net = network_size(self.manifest.input, (hw[0], hw[1]))
        if net[0] * net[1] < hw[0] * hw[1]:
            # network.shrink_for_network on the device: a box average to twice the size when the
            # image is 4 times larger, then the antialiased bilinear (PIL's) filter.
            if hw[0] >= 4 * net[0] and hw[1] >= 4 * net[1]:
                src = ops.resize(src, (2 * net[0], 2 * net[1]), method="area", backend=s.backend)
            src = ops.resize(src, net, method="triangle", backend=s.backend)
        elif net != hw:  # as network.preprocess: a bilinear enlargement
            src = ops.resize(src, net, method="bilinear", backend=s.backend)
        s.prob_d = segment_on_device(self.runtime, src, self.manifest, backend=s.backend, copy=True)
        s.info["network_size"] = tuple(int(d) for d in _device.shape(s.prob_d))
        s.info["batch_size"] = 1

    def _probability_to_full(self, s: State) -> None:
        H, W = s.rgb.shape[:2]
        p = s.prob_d
        s.alpha = p if tuple(p.shape) == (H, W) else ops.resize(p, (H, W), method="bilinear", backend=s.backend)
        if s.backend == "cpu":
            s.alpha = np.clip(s.alpha, 0.0, 1.0)

    def _probability_full_size(self, s: State) -> None:
        H, W = s.rgb.shape[:2]
        s.prob_w = np.clip(ops.resize(s.prob, (H, W), method="bilinear"), 0.0, 1.0)

    def _to_working(self, s: State) -> None:
        assert s.work is not None, "the plan runs _working_image first"
        s.img_w, s.prob_w = stages.to_working(s.img_w, s.prob_d, s.work, backend=s.backend)

    def _trimap(self, s: State) -> None:
        s.tri = stages.trimap(s.prob_w, self.mode, backend=s.backend)
        s.info["band_px"] = self.mode.band_px(max(s.prob_w.shape))

    def _solve(self, s: State) -> None:
        s.alpha_w = stages.solve_band(s.img_w, s.tri, s.prob_w, self.mode, backend=s.backend)

    def _upscale(self, s: State) -> None:
        if s.backend == "cpu" and s.want_rgba and s.img.dtype == np.uint8:
            # The cutout packed while each row of α is in cache: no second pass over the image.
            s.alpha, s.rgba = stages.upscale_packed(s.alpha_w, s.img, self.mode)
            return
        s.alpha = stages.upscale(s.alpha_w, s.img, self.mode, backend=s.backend)

    def _matting_network(self, s: State) -> None:
        assert self.matting_manifest is not None, "a matting runtime comes with its manifest"
        s.alpha, minfo = trimap_matting(s.rgb, s.tri, self.matting_runtime, self.matting_manifest, tile=self.tile)
        s.info.update(minfo)

    def _matting_trimap_free(self, s: State) -> None:
        s.alpha = trimap_free_matting(
            s.rgb, self.runtime, self.manifest, radius=self.mode.upscale_radius, eps=self.mode.upscale_eps
        )

    def _foreground(self, s: State) -> None:
        if s.backend == "cpu":
            s.alpha = np.asarray(s.alpha, np.float32)
            if s.want_rgba:
                # The colour only serves the cutout: estimated and packed in one pass, no
                # full-size foreground (the pack stage then has nothing left to do).
                s.rgba = stages.foreground_rgba(s.img, s.alpha, packed=s.rgba)
                return
        s.pieces = stages.foreground(s.img, s.alpha, backend=s.backend)

    def _pack(self, s: State) -> None:
        if s.rgba is None:
            s.rgba = stages.pack(s.img, s.alpha, s.pieces or (), backend=s.backend)

    def _download(self, s: State) -> None:
        if s.rgba is not None:
            s.rgba = s.rgba.get()
            s.alpha = s.rgba[:, :, 3].astype(np.float32)
            s.alpha /= np.float32(255.0)
            s.info["alpha_from_rgba"] = True
        else:
            s.alpha = s.alpha.get()
            np.clip(s.alpha, 0.0, 1.0, out=s.alpha)


# ---------------------------------------------------------------------------------------------
# Several images, one network call
# ---------------------------------------------------------------------------------------------


@dataclass
class BatchItem:
    """One image of :func:`run_batch`: the pipeline to run it with (its model, mode and options;
    images of one batch may use different modes of one model) and the call's options, as
    :meth:`Pipeline.run` takes them."""

    pipeline: Pipeline
    rgb: np.ndarray
    rgba: bool = True
    refine: Optional[bool] = None
    foreground: Optional[bool] = None
    timings: Optional[Dict[str, float]] = None


class _Run:
    """One image going through its plan; ``pos`` is the next stage to run, ``network`` the index
    of its network stage (None: it has none that can be batched)."""

    def __init__(self, state: State, steps: List[Tuple[str, Stage]], timer: _Timer) -> None:
        self.state = state
        self.steps = steps
        self.timer = timer
        self.pos = 0
        self.network: Optional[int] = None
        self.stage: Optional[NetworkStage] = None
        for i, (_, st) in enumerate(steps):
            if isinstance(st, NetworkStage):
                self.network, self.stage = i, st
                break

    def advance(self, stop: Optional[int] = None) -> None:
        """Run the stages from ``pos`` up to ``stop`` (exclusive; default: the end)."""
        stop = len(self.steps) if stop is None else stop
        while self.pos < stop:
            name, stage = self.steps[self.pos]
            with self.timer(name):
                stage(self.state)
            self.pos += 1

    def result(self) -> CutoutResult:
        s = self.state
        on_host = s.backend == "cpu"  # else the download stage put the host results in s
        return CutoutResult(
            alpha=np.asarray(s.alpha, np.float32),
            rgba=s.rgba,
            foreground=s.pieces if on_host and s.want_fg else None,
            probability=s.prob,
            trimap=s.tri if on_host else None,
            timings=self.timer.ms,
            info=s.info,
        )


# (item index, its run, its network stage, the stage's index in the plan)
_Member = Tuple[int, _Run, NetworkStage, int]


def run_batch(items: Sequence[BatchItem], *, return_exceptions: bool = False) -> List[Any]:
    """Run several images, each with its own :class:`BatchItem` options, calling the network once
    for as many of them as its batch dimension allows.

    Each image runs its own plan (:meth:`Pipeline.plan`) up to its network stage; the images whose
    network stages share a runtime and an input shape are stacked into one call (in chunks of
    :func:`batch_limit`: one image per call for a model with a fixed batch of 1); then each image
    runs the rest of its plan. The results are those of :meth:`Pipeline.run` on each image; the
    network stage's time is the whole call's and ``info["batch_size"]`` says how many images it
    held.

    Parameters
    ----------
    items : sequence of BatchItem
    return_exceptions : bool, default False
        False: the first error is raised. True: an image that fails gets its exception in its
        place of the list and the others go on (as :func:`asyncio.gather` does).

    Returns
    -------
    list of CutoutResult (or exceptions, with ``return_exceptions``), in the order of ``items``.
    """
    out: List[Any] = [None] * len(items)
    runs: Dict[int, _Run] = {}

    def attempt(i: int, fn: Callable[[], None]) -> None:
        if not return_exceptions:
            fn()
            return
        try:
            fn()
        except Exception as exc:  # noqa: BLE001 - handed back in the image's place, never dropped
            out[i] = exc
            runs.pop(i, None)

    for i, item in enumerate(items):

        def start(i: int = i, item: BatchItem = item) -> None:
            runs[i] = item.pipeline._start(item)

        attempt(i, start)
    for i in list(runs):
        r = runs[i]
        attempt(i, lambda r=r: r.advance(r.network))  # type: ignore[misc]
    groups: Dict[Tuple, List[_Member]] = {}
    for i, r in list(runs.items()):
        if r.stage is not None and r.network is not None:
            x = r.stage.feed(r.state)
            key = (id(r.stage.runtime), r.stage.input_name, tuple(x.shape[1:]), str(x.dtype))
            groups.setdefault(key, []).append((i, r, r.stage, r.network))
    for members in groups.values():
        limit = batch_limit(members[0][2].runtime, members[0][2].input_name)
        for k in range(0, len(members), limit):
            _network_call(members[k : k + limit], attempt)
    for i in list(runs):
        r = runs[i]
        attempt(i, lambda r=r: r.advance())  # type: ignore[misc]
        if i in runs:
            out[i] = r.result()
    return out


def _network_call(chunk: List[_Member], attempt: Callable[[int, Callable[[], None]], None]) -> None:
    """One network call for the images of ``chunk`` (their network stage is next); when a stacked
    call fails, each image gets its own call, so one bad input cannot fail the others."""
    if len(chunk) > 1:
        stage0 = chunk[0][2]
        try:
            t0 = time.perf_counter()
            x = np.concatenate([st.feed(r.state) for _, r, st, _ in chunk], axis=0)
            outs: Optional[Dict[str, np.ndarray]] = stage0.runtime.infer({stage0.input_name: x})
            ms = (time.perf_counter() - t0) * 1000.0
        except Exception:  # noqa: BLE001 - retried image by image below, where the error surfaces
            outs = None
        if outs is not None:
            n = len(chunk)
            for j, (i, r, st, idx) in enumerate(chunk):
                mine = {k: (v[j : j + 1] if getattr(v, "ndim", 0) and v.shape[0] == n else v) for k, v in outs.items()}

                def read(r: _Run = r, st: NetworkStage = st, idx: int = idx, mine: Dict = mine) -> None:
                    name = r.steps[idx][0]
                    with r.timer(name):
                        st.read(r.state, mine)
                    r.timer.ms[name] += ms
                    r.state.info["batch_size"] = n
                    r.pos = idx + 1

                attempt(i, read)
            return
    for i, r, _, idx in chunk:

        def single(r: _Run = r, idx: int = idx) -> None:
            r.advance(idx + 1)
            r.state.info["batch_size"] = 1

        attempt(i, single)
