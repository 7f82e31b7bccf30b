"""The frame loop of ``alphacut video``: decode → batch → matte → stabilise → composite → encode,
three threads joined by bounded queues, so a video of any length is held a few frames at a time.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, List, Optional, Tuple, Union

import numpy as np

from ..errors import InputError
from .io import AudioItem, VideoReader, VideoWriter, output_format
from .stabilise import FlickerMeter, TemporalStabiliser

__all__ = ["VideoResult", "process_video"]

_END = object()


@dataclass
class VideoResult:
    """What :func:`process_video` did."""

    path: Path
    format: str
    frames: int
    seconds: float
    alpha: bool
    audio: str  # "none", "copy", "re-encoded (a → b)"
    flicker: Tuple[float, ...] = ()  # (network, stabilised) or (network,), the camera's shift followed
    flicker_in_place: Tuple[float, ...] = ()  # the same, pixel against pixel (no shift followed)
    declared_frames: int = 0  # what the input declares (0: unknown); fewer decoded: a truncated file
    timings: dict = field(default_factory=dict)

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


def _foreground_colour(rgb: np.ndarray, res: Any) -> np.ndarray:
    """The frame with the estimated foreground colour pasted over its soft edge."""
    pieces = getattr(res, "foreground", None)
    if not pieces:
        return rgb
    out = rgb.copy()
    for (y0, y1, x0, x1), fg in pieces:
        out[y0:y1, x0:x1] = np.clip(np.rint(np.asarray(fg) * 255.0), 0, 255).astype(np.uint8)
    return out


def _background(bg: Any, shape: Tuple[int, int]) -> Any:
    """None, a colour (3 numbers 0..255) or an (H, W, 3) uint8 image resized to ``shape``."""
    if bg is None or isinstance(bg, (tuple, list)):
        return bg
    if isinstance(bg, np.ndarray) and bg.ndim == 1:
        return tuple(int(v) for v in bg)
    from PIL import Image

    from ..image import decode_image

    rgb = decode_image(bg).rgb
    if rgb.shape[:2] != shape:
        rgb = np.asarray(Image.fromarray(rgb).resize((shape[1], shape[0]), Image.Resampling.BILINEAR))
    return rgb


def _compose(fg: np.ndarray, alpha: np.ndarray, bg: Any) -> np.ndarray:
    a = alpha[..., None]
    if isinstance(bg, np.ndarray):
        b = bg.astype(np.float32)
    else:
        b = np.asarray(bg, np.float32)[None, None, :]
    out = fg.astype(np.float32) * a + b * (1.0 - a)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


class _Pipe:
    """A bounded queue between two threads that either side can abort."""

    def __init__(self, size: int, stop: threading.Event) -> None:
        self.q: queue.Queue = queue.Queue(maxsize=size)
        self.stop = stop

    def put(self, item: Any) -> None:
        while not self.stop.is_set():
            try:
                self.q.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def get(self) -> Any:
        while True:
            try:
                return self.q.get(timeout=0.1)
            except queue.Empty:
                if self.stop.is_set():
                    return _END


def process_video(
    src: Union[str, Path],
    dst: Union[str, Path],
    session: Any,
    *,
    fmt: Optional[str] = None,
    background: Any = None,
    keep_alpha: Optional[bool] = None,
    batch: int = 4,
    stabilise: Union[bool, TemporalStabiliser] = True,
    audio: bool = True,
    refine: Optional[bool] = None,
    crf: Optional[int] = None,
    progress: Optional[Callable[[int], None]] = None,
) -> VideoResult:
    """Cut out the subject of every frame of ``src`` and write ``dst``.

    Parameters
    ----------
    src, dst : paths. ``dst``'s format comes from ``fmt`` or its extension (see
        :func:`~alphacut.video.io.output_format`); it appears complete or not at all.
    session : :class:`alphacut.Session` whose :meth:`~alphacut.Session.run_batch` mattes the frames.
    background : None, a colour (r, g, b), or an image (path, bytes, array): the new background.
        None keeps the alpha in the formats that carry it (webm, mov, png) and flattens on white
        in the others.
    keep_alpha : force (True) or refuse (False) an alpha channel; default: alpha when the format
        has one and no background is given.
    batch : frames per :meth:`~alphacut.Session.run_batch` call.
    stabilise : True (a :class:`TemporalStabiliser` with its defaults), False, or one to use.
    audio : copy the audio (re-encoded when the container does not take its codec).
    refine : as for :meth:`~alphacut.Session.run` (None: the session's setting).
    crf : quality of H.264 / VP9 (lower is better; default 18 / 24).
    progress : called with the number of frames written so far.

    The frame rate is the input's average rate (a variable-rate input comes out at a constant
    rate); rotation metadata is not applied. Returns a :class:`VideoResult` (frames, seconds,
    the audio's handling, the flicker figure of the network's alpha and of the stabilised one
    (:class:`~alphacut.video.FlickerMeter`, following the stabiliser's camera shift)).
    """

    if batch < 1:
        raise InputError(f"batch must be at least 1, got {batch}")
    fmt = output_format(dst, fmt)
    if keep_alpha and fmt not in ("webm", "mov", "png"):
        raise InputError(f"{fmt} carries no alpha: use .webm, .mov or a PNG sequence")
    alpha_out = (background is None) if keep_alpha is None else bool(keep_alpha)
    alpha_out = alpha_out and fmt in ("webm", "mov", "png")
    if not alpha_out and background is None:
        background = (255, 255, 255)
    st: Optional[TemporalStabiliser]
    st = TemporalStabiliser() if stabilise is True else (stabilise or None)

    reader = VideoReader(src, audio=audio)
    writer: Optional[VideoWriter] = None
    t0 = time.perf_counter()
    try:
        writer = VideoWriter(
            dst,
            fmt,
            width=reader.width,
            height=reader.height,
            rate=reader.rate,
            alpha=alpha_out,
            audio_stream=reader.audio,
            crf=crf,
        )
        reader.decode_audio = writer.needs_audio_frames
        step = 2 if reader.width * reader.height > 500_000 else 1
        meter = FlickerMeter(step=step)
        meter_in_place = FlickerMeter(step=step)
        timings = {"matte": 0.0, "stabilise": 0.0}
        bg_cache: List[Any] = []

        stop = threading.Event()
        errors: List[BaseException] = []
        decoded = _Pipe(2 * batch + 2, stop)
        encoded = _Pipe(2 * batch + 2, stop)

        def decode() -> None:
            try:
                for item in reader:
                    if stop.is_set():
                        return
                    decoded.put(item)
            except BaseException as exc:  # noqa: BLE001 - handed to the main thread
                errors.append(exc)
                stop.set()
            finally:
                decoded.put(_END)

        def encode() -> None:
            assert writer is not None
            try:
                while True:
                    item = encoded.get()
                    if item is _END:
                        return
                    if isinstance(item, AudioItem):
                        writer.write_audio(item)
                    else:
                        writer.write(item)
                        if progress is not None:
                            progress(writer.count)
            except BaseException as exc:  # noqa: BLE001 - handed to the main thread
                errors.append(exc)
                stop.set()

        def matte(pending: List[Any]) -> None:
            frames = [x for x in pending if isinstance(x, np.ndarray)]
            t = time.perf_counter()
            results = session.run_batch(frames, rgba=False, foreground=True, refine=refine) if frames else []
            timings["matte"] += time.perf_counter() - t
            it = iter(results)
            for x in pending:
                if isinstance(x, AudioItem):
                    encoded.put(x)
                    continue
                res = next(it)
                raw = np.asarray(res.alpha, np.float32)
                t = time.perf_counter()
                a = st.update(x, raw) if st is not None else raw
                timings["stabilise"] += time.perf_counter() - t
                meter.update(x, raw, a, shift=st.last_shift if st is not None else None)
                meter_in_place.update(x, raw, a)
                fg = _foreground_colour(x, res)
                if alpha_out:
                    a8 = np.clip(np.rint(a * 255.0), 0, 255).astype(np.uint8)
                    encoded.put(np.concatenate([fg, a8[..., None]], axis=2))
                else:
                    if not bg_cache:
                        bg_cache.append(_background(background, x.shape[:2]))
                    encoded.put(_compose(fg, a, bg_cache[0]))

        threads = [threading.Thread(target=decode, daemon=True), threading.Thread(target=encode, daemon=True)]
        for t in threads:
            t.start()
        pending: List[Any] = []
        n = 0
        try:
            while not stop.is_set():
                item = decoded.get()
                if item is _END:
                    break
                pending.append(item)
                if isinstance(item, np.ndarray):
                    n += 1
                    if n % batch == 0:
                        matte(pending)
                        pending = []
            if not stop.is_set():
                matte(pending)
        except BaseException:
            stop.set()
            raise
        finally:
            encoded.put(_END)
            for t in threads:
                t.join()
        if errors:
            raise errors[0]
        if writer.count == 0:
            raise InputError(f"{src}: no video frame could be decoded")
        writer.commit()
    except BaseException:
        if writer is not None:
            writer.discard()
        raise
    finally:
        reader.close()
    seconds = time.perf_counter() - t0
    n_fl = 2 if st is not None else 1
    return VideoResult(
        path=Path(dst),
        format=fmt,
        frames=writer.count,
        seconds=seconds,
        alpha=alpha_out,
        audio=writer.audio_mode,
        flicker=meter.values[:n_fl],
        flicker_in_place=meter_in_place.values[:n_fl],
        declared_frames=reader.declared_frames,
        timings=timings,
    )
