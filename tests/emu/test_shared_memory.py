"""Shared memory in the emulation: every block's static and dynamic shared memory starts as
0xFF bytes (NaN), indices are checked against the declaration, and two threads of a block
touching one element between the same two barriers (one of them writing) is reported as a race.
The correct kernels run on a real device too (the gpu fixture), so the results are held to
the hardware's."""

import re
from pathlib import Path

import numpy as np
import pytest

import alphacut
import alphacut.device
from alphacut import _core
from alphacut.ops import available_backends

ROOT = Path(__file__).resolve().parents[2]

needs_emu = pytest.mark.skipif(not _core.built_with_emu, reason="built without the emulation (-DALPHACUT_EMU=ON)")


def _gpu_backends():
    return [
        pytest.param("emu", marks=needs_emu),
        pytest.param(
            "cuda",
            marks=[
                pytest.mark.gpu,
                pytest.mark.skipif(
                    "cuda" not in available_backends(),
                    reason="no CUDA device: " + str(alphacut.device.why_unavailable()),
                ),
            ],
        ),
    ]


@pytest.fixture(params=_gpu_backends())
def gpu(request):
    return lambda name: getattr(_core, f"_selftest_{name}_{request.param}")


@pytest.fixture
def emu():
    if not _core.built_with_emu:
        pytest.skip("built without the emulation (-DALPHACUT_EMU=ON)")
    before = _core._emu_racecheck()
    yield lambda name: getattr(_core, f"_selftest_{name}_emu")
    _core._emu_configure(seed=0, racecheck=before)


def _blocks_of(threads, blocks, seed=1):
    # Small integers: every summation order gives the exact sum in float32.
    return np.random.default_rng(seed).integers(-50, 50, size=blocks * threads).astype(np.float32)


# ---- poisoning --------------------------------------------------------------------------------


@needs_emu
@pytest.mark.parametrize("blocks, threads", [(5, 64), (40, 7), (3, 1024)])
def test_uninitialised_static_shared_memory_reads_nan_in_every_block(blocks, threads):
    # Each block writes 1.0 after reading: a block that saw the previous block's copy (static
    # shared memory persisting per host thread) would read 1.0, a zeroed one 0.0.
    out = _core._selftest_uninit_static_shared_emu(blocks, threads)
    assert out.shape == (blocks * threads,)
    assert np.isnan(out).all()
    assert (out.view(np.uint32) == 0xFFFFFFFF).all()  # the 0xFF bytes themselves


# ---- correct kernels --------------------------------------------------------------------------


@pytest.mark.parametrize("threads", [1, 2, 32, 256, 1024])
@pytest.mark.parametrize("dynamic", [False, True])
def test_block_reduction_with_barriers_is_exact(gpu, threads, dynamic):
    blocks = 6
    data = _blocks_of(threads, blocks)
    out = gpu("block_reduce")(data, threads, True, dynamic)
    np.testing.assert_array_equal(out, data.reshape(blocks, threads).sum(axis=1, dtype=np.float64))


@needs_emu
@pytest.mark.parametrize("seed", [0, 3, 12345])
def test_correct_kernels_pass_the_race_check_in_any_order(emu, seed):
    _core._emu_configure(seed=seed)
    assert _core._emu_racecheck()
    data = _blocks_of(128, 4)
    np.testing.assert_array_equal(
        emu("block_reduce")(data, 128, True), data.reshape(4, 128).sum(axis=1, dtype=np.float64)
    )
    np.testing.assert_array_equal(
        emu("block_reverse")(np.arange(256), 64, False), np.arange(256).reshape(4, 64)[:, ::-1].ravel()
    )
    assert emu("barrier_rounds")(3, 96, 4) == 0  # atomics on a shared counter do not race


# ---- races ------------------------------------------------------------------------------------

_THREAD = r"thread \((\d+),0,0\)"


@needs_emu
@pytest.mark.parametrize("seed", [0, 7, 99])
@pytest.mark.parametrize("dynamic", [False, True])
def test_reduction_missing_a_barrier_is_reported(emu, seed, dynamic):
    _core._emu_configure(seed=seed)
    data = _blocks_of(64, 3)
    with pytest.raises(alphacut.InternalError) as info:
        emu("block_reduce")(data, 64, False, dynamic)
    msg = str(info.value)
    kernel = "reduce_dynamic_kernel<false>" if dynamic else "reduce_kernel<false>"
    name = "tree" if dynamic else "partial"
    assert f"{kernel}: shared-memory race" in msg
    m = re.search(
        rf"on `{name}`\[(\d+)\] .*selftest_kernels\.cu:\d+.* in block \((\d+),0,0\): {_THREAD} \w+ it after {_THREAD}",
        msg,
    )
    assert m, msg
    index, block, t1, t2 = (int(g) for g in m.groups())
    assert 0 < index < 64 and 0 <= block < 3 and t1 != t2
    # the two threads are the ones the tree pairs on that element: its owner and a reader
    assert index in (t1, t2)
    # and the next launch on this thread is clean again
    np.testing.assert_array_equal(emu("launch_with_threads")(8), np.arange(8))


@needs_emu
def test_every_thread_writing_one_shared_flag_is_a_write_write_race(emu):
    with pytest.raises(
        alphacut.InternalError,
        match=rf"racy_flag_kernel: shared-memory race \(write after write\) on `flag` .*{_THREAD} writes it after {_THREAD} wrote it",
    ):
        emu("racy_flag")(32)
    np.testing.assert_array_equal(emu("racy_flag")(1), [0])  # one thread: no race


@needs_emu
def test_the_race_check_can_be_switched_off(emu):
    _core._emu_configure(racecheck=False)
    assert not _core._emu_racecheck()
    data = _blocks_of(64, 2)
    out = emu("block_reduce")(data, 64, False)  # runs; the result is whatever the order gave
    assert out.shape == (2,)
    _core._emu_configure(racecheck=True)
    with pytest.raises(alphacut.InternalError, match="shared-memory race"):
        emu("block_reduce")(data, 64, False)


# ---- bounds -----------------------------------------------------------------------------------


@needs_emu
def test_shared_index_out_of_bounds_is_reported(emu):
    np.testing.assert_array_equal(emu("shared_index")(64, 0), np.ones(64, np.int32))
    with pytest.raises(
        alphacut.InternalError,
        match=r"`tile` \(.*selftest_kernels\.cu:\d+\) indexed at 64 .*out of bounds.*thread \(63,0,0\)",
    ):
        emu("shared_index")(64, 1)
    with pytest.raises(alphacut.InternalError, match="out of bounds"):
        emu("shared_index")(65, 0)


# ---- no kernel bypasses the checked declarations -------------------------------------------


def _code(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def test_kernels_declare_shared_memory_through_the_macros():
    # A raw __shared__ does not compile in the emulation (cuda_emu.hpp turns it into a
    # static_assert); this keeps nvcc-only code paths honest too.
    sources = [*ROOT.glob("csrc/ops/**/*.cu"), *ROOT.glob("csrc/ops/**/*.cuh"), *ROOT.glob("csrc/emu/*.cu")]
    assert len(sources) >= 10
    raw = [str(p.relative_to(ROOT)) for p in sources if "__shared__" in _code(p.read_text())]
    assert raw == []
    emu_header = (ROOT / "csrc/emu/cuda_emu.hpp").read_text()
    assert re.search(r"#define __shared__[\s\\]*static_assert\(\s*false", emu_header)
