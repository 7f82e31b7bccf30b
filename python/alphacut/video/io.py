"""Reading and writing videos with PyAV: :class:`VideoReader` (frames as RGB arrays, and the audio
packets in file order) and :class:`VideoWriter` (H.264 MP4/MKV, VP9 WebM with alpha, ProRes 4444
MOV with alpha, or a PNG sequence), which writes to a temporary path and renames it at the end.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterator, Optional, Union

import numpy as np

from ..errors import InputError
from ._av import require_av

__all__ = ["FORMATS", "ALPHA_FORMATS", "VideoReader", "VideoWriter", "output_format"]

#: Output formats: container / codec / pixel format with alpha (None: no alpha).
FORMATS = {
    "mp4": ("mp4", ("libx264", "h264", "mpeg4"), None, "yuv420p"),
    "mkv": ("matroska", ("libx264", "h264", "mpeg4"), None, "yuv420p"),
    "webm": ("webm", ("libvpx-vp9",), "yuva420p", "yuv420p"),
    "mov": ("mov", ("prores_ks",), "yuva444p10le", "yuv444p10le"),
    "png": (None, (), "rgba", "rgb24"),
}
ALPHA_FORMATS = tuple(k for k, v in FORMATS.items() if v[2] is not None)

#: Audio codecs each container takes as they are (else the audio is re-encoded).
_AUDIO_COPY = {
    "mp4": {"aac", "mp3", "opus", "alac", "flac", "ac3", "eac3"},
    "mov": {"aac", "mp3", "alac", "pcm_s16le", "pcm_s24le", "pcm_f32le", "ac3"},
    "webm": {"opus", "vorbis"},
    "mkv": None,  # anything
}
_AUDIO_ENCODE = {"mp4": "aac", "mov": "aac", "webm": "libopus", "mkv": "aac"}


def output_format(path: Union[str, Path], fmt: Optional[str] = None) -> str:
    """The output format for ``path``: ``fmt`` when given, else from the extension; a path ending
    in a separator, an existing folder or a path without extension is a PNG sequence."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise InputError(f"video format must be one of {', '.join(FORMATS)}, got {fmt!r}")
        return fmt
    s = str(path)
    p = Path(s)
    if s.endswith(("/", os.sep)) or p.is_dir() or not p.suffix:
        return "png"
    ext = p.suffix.lower().lstrip(".")
    if ext in FORMATS and ext != "png":
        return ext
    raise InputError(
        f"{s}: cannot tell the video format from the extension {p.suffix!r}: use .mp4, .mkv, .webm (alpha), "
        ".mov (ProRes 4444, alpha), a folder for a PNG sequence, or --format"
    )


@dataclass
class AudioItem:
    """An audio packet in file order (``frames`` holds its decoded frames when re-encoding)."""

    packet: Any
    frames: Optional[list] = None


class VideoReader:
    """Frames of a video file as (H, W, 3) uint8 RGB arrays, in order, with its audio packets
    (:class:`AudioItem`) between them when ``audio`` is True. Opening checks that the file has a
    video stream; a file PyAV cannot read is an :class:`~alphacut.InputError`."""

    def __init__(self, path: Union[str, Path], *, audio: bool = True, decode_audio: bool = False) -> None:
        av = require_av()
        self.path = Path(path)
        if not self.path.is_file():
            raise InputError(f"{path}: no such file")
        try:
            self.container = av.open(str(self.path), "r")
        except (av.FFmpegError, OSError, ValueError) as exc:
            raise InputError(f"{path}: not a readable video ({exc})") from None
        if not self.container.streams.video:
            self.container.close()
            raise InputError(f"{path}: the file has no video stream")
        self.video = self.container.streams.video[0]
        self.video.thread_type = "AUTO"
        self.audio = self.container.streams.audio[0] if (audio and self.container.streams.audio) else None
        self.decode_audio = decode_audio
        rate = self.video.average_rate or self.video.guessed_rate or Fraction(25, 1)
        self.rate = Fraction(rate)
        #: frames the file declares (its frame count, else its duration times the rate; 0: unknown)
        self.declared_frames = int(self.video.frames or 0)
        if not self.declared_frames:
            seconds = 0.0
            if self.video.duration and self.video.time_base:
                seconds = float(self.video.duration * self.video.time_base)
            elif self.container.duration:  # the container's: the longest stream
                seconds = self.container.duration / 1_000_000
            self.declared_frames = int(round(seconds * float(self.rate)))
        self.width = int(self.video.codec_context.width)
        self.height = int(self.video.codec_context.height)

    def __iter__(self) -> Iterator[Union[np.ndarray, AudioItem]]:
        av = require_av()
        streams = [self.video] + ([self.audio] if self.audio is not None else [])
        try:
            for packet in self.container.demux(*streams):
                if packet.stream.type == "video":
                    for frame in packet.decode():
                        yield frame.to_ndarray(format="rgb24")
                elif packet.dts is not None:
                    frames = list(packet.decode()) if self.decode_audio else None
                    yield AudioItem(packet, frames)
        except av.FFmpegError as exc:
            raise InputError(f"{self.path}: the video cannot be decoded ({exc})") from None

    def close(self) -> None:
        self.container.close()


def _pick_codec(names) -> str:
    av = require_av()
    for n in names:
        try:
            av.codec.Codec(n, "w")
            return str(n)
        except Exception:  # noqa: BLE001 - not in this FFmpeg build: try the next
            continue
    raise InputError(f"no encoder among {', '.join(names)} in this PyAV build")


class VideoWriter:
    """Writes RGB or RGBA frames to ``path`` in ``fmt`` (see :data:`FORMATS`), and the audio of a
    :class:`VideoReader` (copied where the container takes its codec, else re-encoded; a PNG
    sequence gets it copied into ``audio.mka`` beside the frames). Everything goes to a temporary
    name in the same folder; :meth:`commit` renames it into place, :meth:`discard` removes it."""

    def __init__(
        self,
        path: Union[str, Path],
        fmt: str,
        *,
        width: int,
        height: int,
        rate: Fraction,
        alpha: bool,
        audio_stream: Any = None,
        crf: Optional[int] = None,
    ) -> None:
        av = require_av()
        self.av = av
        self.path = Path(path)
        self.fmt = fmt
        self.alpha = alpha and FORMATS[fmt][2] is not None
        self.width, self.height = width, height
        self.rate = rate
        self.count = 0
        self.audio_mode = "none"
        self.audio_in = audio_stream
        parent = self.path.parent
        if not parent.is_dir():
            raise InputError(f"{self.path}: the folder {parent} does not exist")
        self.container: Any = None
        self.vstream: Any = None
        self.astream: Any = None
        self.audio_container: Any = None
        self._last_audio_pts: Optional[int] = None
        if fmt == "png":
            if self.path.exists() and (not self.path.is_dir() or any(self.path.iterdir())):
                raise InputError(
                    f"{self.path}: exists and is not an empty folder (a PNG sequence is written as a new folder)"
                )
            self.tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{self.path.name or 'frames'}.", dir=parent))
            if audio_stream is not None:
                self.audio_container = av.open(str(self.tmp / "audio.mka"), "w", format="matroska")
                self.astream = self.audio_container.add_stream_from_template(audio_stream)
                self.audio_mode = "copy"
            return
        container_name, codecs, alpha_pix, plain_pix = FORMATS[fmt]
        fd, tmp = tempfile.mkstemp(prefix=f".tmp-{self.path.name}.", suffix=self.path.suffix or f".{fmt}", dir=parent)
        os.close(fd)
        self.tmp = Path(tmp)
        try:
            self.container = av.open(str(self.tmp), "w", format=container_name)
            codec = _pick_codec(codecs)
            s = self.container.add_stream(codec, rate=rate)
            s.width, s.height = width + width % 2, height + height % 2
            s.pix_fmt = alpha_pix if self.alpha else plain_pix
            opts = {}
            if codec == "libx264":
                opts = {"crf": str(crf if crf is not None else 18), "preset": "veryfast"}
            elif codec == "libvpx-vp9":
                opts = {"crf": str(crf if crf is not None else 24), "b": "0", "deadline": "good", "cpu-used": "5"}
                opts["row-mt"] = "1"
            elif codec == "prores_ks":
                opts = {"profile": "4"}  # 4444
            s.options = opts
            s.thread_type = "AUTO"
            self.vstream = s
            if audio_stream is not None:
                allowed = _AUDIO_COPY[fmt]
                name = audio_stream.codec_context.name
                if allowed is None or name in allowed:
                    self.astream = self.container.add_stream_from_template(audio_stream)
                    self.audio_mode = "copy"
                else:
                    enc = _AUDIO_ENCODE[fmt]
                    a = self.container.add_stream(enc, rate=audio_stream.codec_context.sample_rate or 48000)
                    if audio_stream.codec_context.layout is not None:
                        a.layout = audio_stream.codec_context.layout.name
                    self.astream = a
                    self.audio_mode = f"re-encoded ({name} → {enc})"
        except BaseException:
            self.discard()
            raise

    @property
    def needs_audio_frames(self) -> bool:
        return self.audio_mode.startswith("re-encoded")

    def write(self, image: np.ndarray) -> None:
        """One (H, W, 3) or (H, W, 4) uint8 frame."""
        if self.fmt == "png":
            from PIL import Image

            mode = "RGBA" if image.shape[2] == 4 else "RGB"
            Image.fromarray(image, mode).save(self.tmp / f"frame_{self.count + 1:06d}.png", compress_level=1)
            self.count += 1
            return
        h, w = image.shape[:2]
        if h % 2 or w % 2:  # 4:2:0 needs even sizes: the last row / column repeated
            image = np.pad(image, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
        frame = self.av.VideoFrame.from_ndarray(
            np.ascontiguousarray(image), format="rgba" if image.shape[2] == 4 else "rgb24"
        )
        frame.pts = self.count
        frame.time_base = 1 / self.rate
        for packet in self.vstream.encode(frame):
            self.container.mux(packet)
        self.count += 1

    def write_audio(self, item: AudioItem) -> None:
        if self.astream is None:
            return
        out = self.audio_container if self.audio_container is not None else self.container
        if self.needs_audio_frames:
            for f in item.frames or ():
                f.pts = None
                for packet in self.astream.encode(f):
                    out.mux(packet)
            return
        packet = item.packet
        packet.stream = self.astream
        out.mux(packet)

    def commit(self) -> Path:
        """Flush the encoders, close the file and rename it into place."""
        if self.vstream is not None:
            for packet in self.vstream.encode(None):
                self.container.mux(packet)
        if self.needs_audio_frames:
            for packet in self.astream.encode(None):
                self.container.mux(packet)
        if self.container is not None:
            self.container.close()
            self.container = None
        if self.audio_container is not None:
            self.audio_container.close()
            self.audio_container = None
        if self.fmt == "png":
            os.chmod(self.tmp, 0o777 & ~_umask())
            if self.path.is_dir():
                self.path.rmdir()  # empty (checked when opening); a folder cannot be renamed over
            os.replace(self.tmp, self.path)
        else:
            os.chmod(self.tmp, 0o666 & ~_umask())
            os.replace(self.tmp, self.path)
        return self.path

    def discard(self) -> None:
        for c in (self.container, self.audio_container):
            if c is not None:
                try:
                    c.close()
                except Exception:  # noqa: BLE001 - the file is removed anyway
                    pass
        self.container = self.audio_container = None
        if self.tmp.is_dir():
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            self.tmp.unlink(missing_ok=True)


def _umask() -> int:
    m = os.umask(0)
    os.umask(m)
    return m
