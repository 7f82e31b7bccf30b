"""rembg's own test (tests/test_remove.py at danielgatis/rembg), run unchanged in logic: the
perceptual hash of ``remove(image, session=new_session(model))`` must equal that of rembg's
stored result. Restricted to u2netp, the model whose results are in the shared data
(``images/rembg/reference_u2netp_rgba``); the three pictures stored there, not only anime-girl-1.

Not collected by the main run (no ``test_`` prefix): tests/compat/test_dropin.py runs it with
pytest in a subprocess whose ``rembg`` is the drop-in.
"""

import os
from io import BytesIO
from pathlib import Path

from imagehash import phash as hash_img
from PIL import Image
from rembg import new_session, remove

data = Path(os.environ["ALPHACUT_SHARED_DATA"]) / "images" / "rembg"
fixtures = data / "input"
results = data / "reference_u2netp_rgba"


def test_remove():
    for model in ["u2netp"]:
        for picture in ["anime-girl-1", "car-1", "cloth-1"]:
            image = (fixtures / f"{picture}.jpg").read_bytes()

            actual = remove(image, session=new_session(model))
            actual_hash = hash_img(Image.open(BytesIO(actual)))

            expected = (results / f"{picture}.png").read_bytes()
            expected_hash = hash_img(Image.open(BytesIO(expected)))

            print(f"{picture}.{model}: actual {actual_hash} expected {expected_hash}")
            assert actual_hash == expected_hash
