"""Writing test videos with PyAV (video and a synthesised audio tone) and reading outputs back."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np


def write_clip(
    path: Path,
    frames: List[np.ndarray],
    *,
    rate: int = 12,
    codec: str = "libx264",
    audio: Optional[str] = "aac",
    sample_rate: int = 48000,
    crf: int = 10,
) -> None:
    """``frames`` as a video, with a 440 Hz tone of the same duration when ``audio`` names an encoder."""
    import av

    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as out:
        v = out.add_stream(codec, rate=rate)
        v.width, v.height, v.pix_fmt = w, h, "yuv420p"
        if codec == "libx264":
            v.options = {"crf": str(crf), "preset": "ultrafast"}
        a = None
        if audio:
            a = out.add_stream(audio, rate=sample_rate)
            a.layout = "mono"
        for i, f in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(f, format="rgb24")
            vf.pts = i
            vf.time_base = Fraction(1, rate)
            for p in v.encode(vf):
                out.mux(p)
        if a is not None:
            n = int(round(len(frames) / rate * sample_rate))
            t = np.arange(n) / sample_rate
            tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            step = 1024
            for i in range(0, n, step):
                af = av.AudioFrame.from_ndarray(tone[None, i : i + step], format="fltp", layout="mono")
                af.sample_rate = sample_rate
                af.pts = i
                af.time_base = Fraction(1, sample_rate)
                for p in a.encode(af):
                    out.mux(p)
            for p in a.encode(None):
                out.mux(p)
        for p in v.encode(None):
            out.mux(p)


def read_video(path: Path, *, decoder: Optional[str] = None, fmt: str = "rgba") -> Tuple[List[np.ndarray], dict]:
    """All frames (as ``fmt`` arrays) and facts about the file: the video codec, its pixel format,
    the frame rate and the audio stream's codec and duration (seconds), if any. ``decoder`` forces a
    decoder (``libvpx-vp9`` is the one that reads VP9's alpha)."""
    import av

    info: dict = {}
    frames = []
    with av.open(str(path)) as c:
        vs = c.streams.video[0]
        info["codec"] = vs.codec_context.name
        info["rate"] = vs.average_rate
        ctx = av.CodecContext.create(decoder, "r") if decoder else None
        if ctx is not None:
            ctx.extradata = vs.codec_context.extradata
        for packet in c.demux(vs):
            for f in ctx.decode(packet) if ctx is not None else packet.decode():
                info["pix_fmt"] = f.format.name
                frames.append(f.to_ndarray(format=fmt))
    with av.open(str(path)) as c:
        if c.streams.audio:
            s = c.streams.audio[0]
            info["audio_codec"] = s.codec_context.name
            samples = 0
            rate = None
            for f in c.decode(s):
                samples += f.samples
                rate = f.sample_rate
            info["audio_seconds"] = samples / rate if rate else 0.0
    return frames, info
