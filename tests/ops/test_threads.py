"""The CPU ops' worker threads (csrc/common/parallel.hpp): the count is read once per call, capped,
and a thread that cannot be created leaves its work to the threads that could. Each case runs in
a child interpreter, so a hang or an abort fails the test instead of the session."""

import os

from _child import run_child

from alphacut import ops

# A child that may create at most about one more thread: the address space is limited to what it
# uses plus a few MiB, less than one 8 MiB thread stack.
_LIMIT_ADDRESS_SPACE = """
        import resource
        def vm_bytes():
            with open("/proc/self/status") as f:
                for line in f:
                    if line.startswith("VmSize:"):
                        return int(line.split()[1]) * 1024
        resource.setrlimit(resource.RLIMIT_AS, (vm_bytes() + 12 * 2**20, resource.getrlimit(resource.RLIMIT_AS)[1]))
"""


def test_thread_count_is_capped():
    # At most 4 threads per hardware thread and never more than 256 (parallel.hpp).
    try:
        ops.set_num_threads(100000)
        assert 1 <= ops.get_num_threads() <= min(256, 4 * (os.cpu_count() or 1))
        ops.set_num_threads(2)
        assert ops.get_num_threads() == 2
    finally:
        ops.set_num_threads(0)


def test_many_threads_requested_still_run():
    # set_num_threads(100000) used to start one thread per 16 rows until creation failed, and
    # then std::terminate (SIGABRT) with the started threads still joinable.
    out = run_child(
        """
        import numpy as np, alphacut.ops as ops
        ops.set_num_threads(100000)
        img = np.random.default_rng(0).random((1_700_000, 1, 3), dtype=np.float32)  # 106,250 chunks of 16 rows
        a = np.full((1_700_000, 1), 0.5, np.float32)
        np.testing.assert_allclose(ops.premultiply(img, a, backend="cpu"), img * 0.5, rtol=1e-6)
        print("ok", ops.get_num_threads())
    """,
        timeout=120,
    )
    assert out.startswith("ok")


def test_thread_creation_failure_degrades_to_fewer_threads():
    # Under a tight address-space limit the second and later threads cannot be created: the
    # call still completes, on the threads that did start (it used to abort).
    out = run_child(
        """
        import numpy as np, alphacut.ops as ops
        ops.set_num_threads(8)
        rng = np.random.default_rng(0)
        img = rng.random((4096, 4, 3), dtype=np.float32)
        a = rng.random((4096, 4), dtype=np.float32)
        want = img * a[..., None]
        tri = np.full((96, 96), 128, np.uint8); tri[:, :2] = 0; tri[:, -2:] = 255
        simg = rng.random((96, 96, 3), dtype=np.float32)
        alpha_one, info_one = ops.solve_alpha(simg, tri, max_iter=20, tol=0, return_info=True, backend="cpu")
    """
        + _LIMIT_ADDRESS_SPACE
        + """
        got = ops.premultiply(img, a, backend="cpu")
        np.testing.assert_allclose(got, want, rtol=1e-6)
        alpha, info = ops.solve_alpha(simg, tri, max_iter=20, tol=0, return_info=True, backend="cpu")
        assert info["iterations"] == info_one["iterations"] == 20
        np.testing.assert_allclose(alpha, alpha_one, atol=1e-5)
        print("ok")
    """,
        timeout=120,
    )
    assert out.strip() == "ok"


def test_solve_alpha_while_another_thread_changes_the_count():
    # solve_alpha sized its barrier from one read of the thread count and started its team from
    # another: when set_num_threads ran in between, fewer threads than the barrier waited for
    # were started and the call spun forever with the GIL released.
    out = run_child(
        """
        import threading, numpy as np, alphacut.ops as ops
        ops.set_num_threads(2)
        rng = np.random.default_rng(0)
        img = rng.random((100, 100, 3), dtype=np.float32)
        tri = np.full((100, 100), 128, np.uint8); tri[:, 0] = 0; tri[:, -1] = 255  # 9800 unknown: 2 threads
        stop = False
        def toggle():
            while not stop:
                ops.set_num_threads(1)
                ops.set_num_threads(2)
        t = threading.Thread(target=toggle)
        t.start()
        try:
            for _ in range(300):
                ops.solve_alpha(img, tri, max_iter=3, backend="cpu")
        finally:
            stop = True
            t.join()
        print("ok")
    """,
        timeout=60,
    )
    assert out.strip() == "ok"
