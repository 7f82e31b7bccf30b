"""IOPaint's RemoveBG plugin (Sanster/IOPaint, iopaint/plugins/remove_bg.py), reduced to its calls:
U2NET_HOME set to torch hub's checkpoints folder, a version gate on ``rembg.__version__`` (a
string comparison) for BiRefNet models, ``new_session(model_name=...)``, and ``remove`` on a BGR
array: the BGRA cutout turned to RGBA, or ``only_mask=True`` for the mask."""

import os

import cv2
import numpy as np


class RemoveBG:
    def __init__(self, model_name, hub_dir):
        self.model_name = model_name
        if model_name.startswith("birefnet"):
            import rembg

            if rembg.__version__ < "2.0.59":
                raise ValueError("To use birefnet models, please upgrade rembg to >= 2.0.59. pip install -U rembg")
        os.environ["U2NET_HOME"] = os.path.join(hub_dir, "checkpoints")
        from rembg import new_session, remove

        self.session = new_session(model_name=model_name)
        self.remove = remove

    def gen_image(self, rgb_np_img):
        bgr_np_img = cv2.cvtColor(rgb_np_img, cv2.COLOR_RGB2BGR)
        output = self.remove(bgr_np_img, session=self.session)
        return cv2.cvtColor(output, cv2.COLOR_BGRA2RGBA)

    def gen_mask(self, rgb_np_img):
        bgr_np_img = cv2.cvtColor(rgb_np_img, cv2.COLOR_RGB2BGR)
        return self.remove(bgr_np_img, session=self.session, only_mask=True)


def birefnet_gate_passes():
    import rembg

    return not rembg.__version__ < "2.0.59"


def run(photo, hub_dir):
    from PIL import Image

    rgb = np.asarray(Image.open(photo).convert("RGB"))
    plugin = RemoveBG("u2netp", hub_dir)
    return {"image": plugin.gen_image(rgb), "mask": plugin.gen_mask(rgb), "gate": np.array(birefnet_gate_passes())}
