"""The server's memory budget (``--max-memory-mb``): each image's need is estimated from its header
before decoding; an image that alone needs more than the budget is a 413 in every dialect, one
that does not fit beside the requests in flight a 503 (remove.bg: 429) with Retry-After, and the
memory is given back when a request ends."""

from __future__ import annotations

import io
import re
import threading
import time

import pytest

requests = pytest.importorskip("requests")
pytest.importorskip("fastapi")

from conftest import declared_jpeg  # noqa: E402
from server_harness import assert_clean_error, shared_server  # noqa: E402

from alphacut.pipeline.memory import estimate_bytes  # noqa: E402

# Room for one 1000×1000 image beside the shared working memory, not for two.
ONE = estimate_bytes(1000, 1000, base=False)
BUDGET_MB = (estimate_bytes(1000, 1000) + ONE // 2) / 1e6


def png(w: int, h: int) -> bytes:
    import numpy as np
    from PIL import Image

    rgb = np.zeros((h, w, 3), np.uint8)
    rgb[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4] = (220, 40, 40)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def budget(request):
    return shared_server(
        request,
        "memory-budget",
        launch_config={
            "tiny": {"batch": "N"},
            "max_memory_mb": BUDGET_MB,
            "batch_wait_ms": 1500,  # a request holds its memory while its batch waits
            "max_batch": 8,
            "timeout_s": 30,
        },
    )


def metric(server, name: str) -> float:
    text = requests.get(server.url + "/metrics", timeout=10).text
    m = re.search(rf"^{name} (\S+)$", text, re.M)
    assert m, name
    return float(m.group(1))


def test_an_image_over_the_budget_is_413_in_every_dialect(budget):
    big = declared_jpeg(4000, 3000)  # 12 MP: far over the budget, a few hundred bytes
    r = requests.post(budget.url + "/api/remove", files={"file": ("big.jpg", big)}, timeout=30)
    assert "memory budget" in assert_clean_error(r, 413)["detail"]
    r = requests.post(budget.url + "/v1.0/removebg", files={"image_file": ("big.jpg", big)}, timeout=30)
    assert assert_clean_error(r, 413)["errors"][0]["code"] == "resolution_too_high"
    r = requests.post(budget.url + "/v1/cutout", data=big, headers={"Content-Type": "image/jpeg"}, timeout=30)
    err = assert_clean_error(r, 413)["error"]
    assert err["code"] == "resolution_too_high" and "4000x3000" in err["message"]
    assert metric(budget, "alphacut_memory_budget_bytes") == pytest.approx(BUDGET_MB * 1e6, rel=1e-6)


def test_a_second_image_waits_for_the_memory_of_the_first(budget):
    first: dict = {}

    def send_first():
        # rembg's dialect: the plain mask (no band solve), so the request's time is its batch's wait
        first["r"] = requests.post(budget.url + "/api/remove", files={"file": ("a.png", png(1000, 1000))}, timeout=30)

    t = threading.Thread(target=send_first)
    t.start()
    deadline = time.monotonic() + 10
    while metric(budget, "alphacut_memory_reserved_bytes") < ONE and time.monotonic() < deadline:
        time.sleep(0.05)
    assert metric(budget, "alphacut_memory_reserved_bytes") == ONE  # held while its batch waits
    r = requests.post(budget.url + "/api/remove", files={"file": ("b.png", png(1000, 1000))}, timeout=30)
    assert "memory" in assert_clean_error(r, 503)["detail"] and int(r.headers["Retry-After"]) >= 1
    r = requests.post(budget.url + "/v1.0/removebg", files={"image_file": ("b.png", png(1000, 1000))}, timeout=30)
    assert assert_clean_error(r, 429)["errors"][0]["code"] == "rate_limit_exceeded"
    small = requests.post(budget.url + "/api/remove", files={"file": ("s.png", png(100, 100))}, timeout=30)
    assert small.status_code == 200  # a small image still fits beside the first
    t.join(30)
    assert first["r"].status_code == 200
    assert metric(budget, "alphacut_memory_reserved_bytes") == 0  # given back
    r = requests.post(budget.url + "/api/remove", files={"file": ("b.png", png(1000, 1000))}, timeout=30)
    assert r.status_code == 200, r.text[:300]
