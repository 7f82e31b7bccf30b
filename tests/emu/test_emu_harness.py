"""The CUDA execution model as the emulation provides it: grid coverage, barriers, shared
memory per block and launch errors. The same kernels run on a real device when there is one
(the cuda parameter), so the emulation is held to what the hardware does."""

import numpy as np
import pytest

import alphacut
import alphacut.device
from alphacut import _core
from alphacut.ops import available_backends


def _gpu_backends():
    out = [
        pytest.param(
            "emu",
            marks=pytest.mark.skipif(
                not _core.built_with_emu, reason="built without the emulation (-DALPHACUT_EMU=ON)"
            ),
        )
    ]
    out.append(
        pytest.param(
            "cuda",
            marks=[
                pytest.mark.gpu,
                pytest.mark.skipif(
                    "cuda" not in available_backends(),
                    reason="no CUDA device: " + str(alphacut.device.why_unavailable()),
                ),
            ],
        )
    )
    return out


@pytest.fixture(params=_gpu_backends())
def gpu(request):
    return lambda name: getattr(_core, f"_selftest_{name}_{request.param}")


@pytest.fixture
def emu():
    if not _core.built_with_emu:
        pytest.skip("built without the emulation (-DALPHACUT_EMU=ON)")
    return lambda name: getattr(_core, f"_selftest_{name}_emu")


@pytest.mark.parametrize(
    "grid, block",
    [
        ((1, 1, 1), (1, 1, 1)),
        ((3, 1, 1), (32, 1, 1)),
        ((5, 3, 1), (32, 8, 1)),
        ((2, 3, 4), (4, 2, 3)),
        ((1, 1, 1), (1024, 1, 1)),
        ((7, 1, 2), (1, 16, 1)),
    ],
)
def test_every_thread_runs_once(gpu, grid, block):
    counts, mismatches = gpu("grid_coverage")(grid, block)
    assert counts.shape == (grid[2] * block[2], grid[1] * block[1], grid[0] * block[0])
    assert mismatches == 0
    np.testing.assert_array_equal(counts, 1)


@pytest.mark.parametrize("threads", [1, 7, 32, 256, 1024])
@pytest.mark.parametrize("dynamic", [False, True])
def test_barrier_orders_shared_memory(gpu, threads, dynamic):
    # Reversal through shared memory reads what other threads wrote before the barrier.
    blocks = 3
    data = np.arange(blocks * threads, dtype=np.int32)
    out = gpu("block_reverse")(data, threads, dynamic)
    np.testing.assert_array_equal(out, data.reshape(blocks, threads)[:, ::-1].ravel())


@pytest.mark.parametrize("blocks, threads, rounds", [(1, 1, 3), (4, 64, 5), (40, 33, 2), (2, 1024, 2)])
def test_barrier_rounds_and_per_block_shared(gpu, blocks, threads, rounds):
    # Each round every thread sees the full count; each block sees its own shared tag even
    # while other blocks run concurrently.
    assert gpu("barrier_rounds")(blocks, threads, rounds) == 0


def test_too_many_threads_is_a_clear_error(gpu):
    np.testing.assert_array_equal(gpu("launch_with_threads")(1024), np.arange(1024))
    with pytest.raises(alphacut.InternalError, match="invalid configuration"):
        gpu("launch_with_threads")(1025)


def test_divergent_barrier_is_reported(emu):
    # Undefined behaviour on a device; the emulation refuses it instead of hanging or guessing.
    with pytest.raises(alphacut.InternalError, match=r"__syncthreads\(\) reached by"):
        emu("divergent_barrier")(64)
    # and the next launch on this thread is clean again
    np.testing.assert_array_equal(emu("launch_with_threads")(8), np.arange(8))


def test_errors_carry_file_and_line(emu):
    with pytest.raises(alphacut.InternalError, match=r"selftest_kernels\.cu:\d+"):
        emu("launch_with_threads")(2048)
