"""The Automatic1111 rembg extension (AUTOMATIC1111/stable-diffusion-webui-rembg,
scripts/postprocessing_rembg.py and scripts/api.py), reduced to the calls it makes: U2NET_HOME set
to the web UI's model folder when unset, a new session per image, ``rembg.remove`` on the PIL image
with the UI's mask / alpha-matting controls; the API decodes and encodes base64."""

import base64
import io
import os

import rembg
from PIL import Image


def process(
    image, model, return_mask, alpha_matting, foreground_threshold, background_threshold, erode_size, models_path
):
    if not model or model == "None":
        return image
    if "U2NET_HOME" not in os.environ:
        os.environ["U2NET_HOME"] = os.path.join(models_path, "u2net")
    return rembg.remove(
        image,
        session=rembg.new_session(model),
        only_mask=return_mask,
        alpha_matting=alpha_matting,
        alpha_matting_foreground_threshold=foreground_threshold,
        alpha_matting_background_threshold=background_threshold,
        alpha_matting_erode_size=erode_size,
    )


def api_remove(input_image_b64, model, return_mask, alpha_matting, fg, bg, erode, models_path):
    image = Image.open(io.BytesIO(base64.b64decode(input_image_b64)))
    out = process(image, model, return_mask, alpha_matting, fg, bg, erode, models_path)
    buf = io.BytesIO()
    out.save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


def run(photo, models_path):
    """What the tests compare: the extension's outputs for one photo."""
    import numpy as np

    image = Image.open(photo)
    out = {
        "cutout": process(image, "u2netp", False, False, 240, 10, 10, models_path),
        "mask": process(image, "u2netp", True, False, 240, 10, 10, models_path),
        "matting": process(image, "u2netp", False, True, 240, 10, 10, models_path),
        "none": process(image, "None", False, False, 240, 10, 10, models_path),
    }
    b64 = base64.b64encode(open(photo, "rb").read()).decode()
    out["api"] = Image.open(
        io.BytesIO(base64.b64decode(api_remove(b64, "u2netp", False, False, 240, 10, 10, models_path)))
    )
    return {k: np.asarray(v) for k, v in out.items()} | {"u2net_home": np.array(os.environ["U2NET_HOME"])}
