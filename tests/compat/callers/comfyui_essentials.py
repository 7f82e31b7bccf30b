"""ComfyUI_essentials (cubiq/ComfyUI_essentials, image.py: RemBGSession+ and the image remover),
reduced to its calls: ``new_session(model, providers=[choice + "ExecutionProvider"])`` from the
node's drop-downs, then ``remove(pil, session=...)`` per image of a batch, the alpha channel
taken as the mask. ComfyUI's tensors (B, H, W, C) float in [0, 1] are NumPy arrays here;
torchvision's ToPILImage / ToTensor are the same scalings."""

import numpy as np
from PIL import Image

MODELS = [
    "u2net: general purpose",
    "u2netp: lightweight general purpose",
    "u2net_human_seg: human segmentation",
    "u2net_cloth_seg: cloths Parsing",
    "silueta: very small u2net",
    "isnet-general-use: general purpose",
    "isnet-anime: anime illustrations",
    "sam: general purpose",
]
PROVIDERS = ["CPU", "CUDA", "ROCM", "DirectML", "OpenVINO", "CoreML", "Tensorrt", "Azure"]


def rembg_session(model, providers):
    from rembg import new_session

    model = model.split(":")[0]
    return new_session(model, providers=[providers + "ExecutionProvider"])


def remove_background(rembg_session, image):
    from rembg import remove as rembg

    output = []
    for img in image:
        img = Image.fromarray((img * 255).astype(np.uint8))  # T.ToPILImage()
        img = rembg(img, session=rembg_session)
        output.append(np.asarray(img).astype(np.float32) / 255.0)  # T.ToTensor()
    output = np.stack(output, axis=0)
    mask = output[:, :, :, 3] if output.shape[3] == 4 else np.ones_like(output[:, :, :, 0])
    return output[:, :, :, :3], mask


def run(photo, providers=("CPU",)):
    base = np.asarray(Image.open(photo).convert("RGB").resize((160, 120))).astype(np.float32) / 255.0
    batch = np.stack([base, base[:, ::-1]])
    out = {}
    for p in providers:
        image, mask = remove_background(rembg_session(MODELS[1], p), batch)
        out[f"image_{p}"], out[f"mask_{p}"] = image, mask
    return out
