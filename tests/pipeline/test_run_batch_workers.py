"""``Session.run_batch`` with images side by side (workers, each on its share of the cores), and
``ops.thread_limit``, the per-thread limit the workers run under."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import tiny_models as tm

import alphacut
from alphacut import Session, _core, ops
from alphacut.models.manifest import InputSpec, ModelManifest, OutputSpec


def _session(tmp_path, batch=None, **kw):
    path = tm.segmenter(tmp_path / f"seg_{batch or 1}.onnx", size=(64, 64), **({"batch": batch} if batch else {}))
    man = ModelManifest(
        name=f"tiny_{batch or 1}",
        kind="segmenter",
        file="seg.onnx",
        input=InputSpec(name="input", size=(64, 64)),
        output=OutputSpec(channel=1, activation="softmax"),
    )
    return Session(man, model_path=path, **kw)


def _images():
    sizes = [(120, 160), (150, 200), (90, 90), (200, 130), (64, 64)]
    return [tm.red_disk(h, w, r=min(h, w) / 3, seed=i)[0] for i, (h, w) in enumerate(sizes)]


def test_side_by_side_gives_each_image_what_run_gives_it(tmp_path, fresh_sessions):
    s = _session(tmp_path, threads=2)
    imgs = _images()
    singles = [s.run(im) for im in imgs]
    batch = s.run_batch(imgs, workers=3)
    assert [r.info["workers"] for r in batch] == [3] * len(imgs)
    for one, many, im in zip(singles, batch, imgs):
        assert many.rgba.shape == (*im.shape[:2], 4)  # in order
        # the workers' networks run on fewer threads: float rounding apart, the same cutout
        assert np.abs(many.alpha - one.alpha).max() < 1e-4
        assert np.abs(many.rgba.astype(int) - one.rgba).max() <= 1
    assert s.last_result is batch[-1]


def test_workers_default_to_the_thread_budget_for_a_fixed_batch(tmp_path, fresh_sessions):
    s = _session(tmp_path, threads=2)
    res = s.run_batch(_images()[:3])
    assert [r.info.get("workers") for r in res] == [2, 2, 2]
    # one image, or workers=1: the batched path
    assert "workers" not in s.run_batch(_images()[:1])[0].info
    assert "workers" not in s.run_batch(_images()[:3], workers=1)[0].info


def test_dynamic_batch_keeps_the_stacked_network_call_by_default(tmp_path, fresh_sessions):
    s = _session(tmp_path, batch="N", threads=2)
    res = s.run_batch(_images())
    assert all("workers" not in r.info for r in res) and res[0].info["batch_size"] == 5
    assert s.run_batch(_images(), workers=2)[0].info["workers"] == 2


def test_the_workers_run_under_their_share_of_threads(tmp_path, fresh_sessions, monkeypatch):
    s = _session(tmp_path, threads=2)  # two workers: one thread each
    seen = []
    real = _core.make_trimap_cpu

    def spy(*a, **k):
        seen.append((threading.current_thread().name, ops.get_num_threads()))
        return real(*a, **k)

    monkeypatch.setattr(_core, "make_trimap_cpu", spy)
    before = ops.get_num_threads()
    ops.set_num_threads(2)
    try:
        s.run_batch(_images()[:4], workers=2)
        assert ops.get_num_threads() == 2  # the caller's count is untouched
    finally:
        ops.set_num_threads(before)
    assert len(seen) == 4 and all(name.startswith("alphacut-batch") and n == 1 for name, n in seen), seen


def test_a_bad_image_in_a_side_by_side_batch(tmp_path, fresh_sessions):
    s = _session(tmp_path, threads=2)
    imgs = _images()[:3]
    out = s.run_batch([imgs[0], b"not an image", imgs[2]], workers=2, return_exceptions=True)
    assert isinstance(out[1], alphacut.DecodeError) and out[0].rgba is not None and out[2].rgba is not None
    with pytest.raises(alphacut.DecodeError):
        s.run_batch([imgs[0], b"not an image", imgs[2]], workers=2)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_workers_must_be_a_positive_integer(tmp_path, fresh_sessions, bad):
    with pytest.raises(alphacut.InputError, match="workers"):
        _session(tmp_path).run_batch(_images()[:2], workers=bad)


def test_thread_limit_is_the_calling_threads_alone():
    before = ops.get_num_threads()
    other = []
    with ops.thread_limit(1):
        assert ops.get_num_threads() == 1
        t = threading.Thread(target=lambda: other.append(ops.get_num_threads()))
        t.start()
        t.join()
        with ops.thread_limit(3):  # a limit, not a count: never above the setting
            assert ops.get_num_threads() == min(3, before)
        assert ops.get_num_threads() == 1
    assert other == [before] and ops.get_num_threads() == before


@pytest.mark.parametrize("bad", [0, -2, 1.0, None])
def test_thread_limit_needs_a_positive_integer(bad):
    with pytest.raises(alphacut.InputError, match="thread_limit"):
        with ops.thread_limit(bad):
            pass
