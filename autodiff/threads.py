"""How many threads numpy's BLAS (and any OpenMP pool loaded) uses: torch.set_num_threads /
get_num_threads, through threadpoolctl (the `threads` extra).

Matrix products are the only multi-threaded work autodiff does (numpy's BLAS). On a machine
whose cores are shared - several processes of one data-parallel job, DataLoader workers, other
jobs - more BLAS threads than free cores makes small products many times slower, so processes
that share a machine default to one thread each (see `limit_for_shared_machine`).

Products of a few million multiply-adds run on one BLAS thread whatever the pool's size
(`matmul`): OpenBLAS splits every product above 2^18 multiply-adds over all its threads, and
its idle threads spin waiting for work, so on a machine where anything else runs, a split
product waits for a descheduled thread (a 64x784x128 product took 35-47 ms instead of 0.1 ms
with two threads on the 2-core benchmark VM while other jobs ran). Set
AUTODIFF_BLAS_THREAD_POLICY=0 to leave every product to OpenBLAS.
"""
import ctypes
import glob
import numbers
import os
import sys

import numpy as np

__all__ = ["set_num_threads", "get_num_threads"]

_EXTRA = "pip install 'autodiff[threads]'"
_ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
             "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")
_controller = None


def _threadpoolctl(who):
    try:
        import threadpoolctl
    except ImportError:
        raise ImportError(f"{who} needs threadpoolctl to control numpy's BLAS threads: "
                          f"{_EXTRA}") from None
    return threadpoolctl


def _pools(who):
    """threadpoolctl's view of the thread pools loaded in this process (BLAS, OpenMP)."""
    global _controller
    if _controller is None:
        _controller = _threadpoolctl(who).ThreadpoolController()
    return _controller


def set_num_threads(n):
    """Use n threads in numpy's BLAS (and any OpenMP pool) from now on, in this process."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise RuntimeError(f"set_num_threads expects an int, but got {type(n).__name__} "
                           f"({n!r}); pass a positive int such as 1")
    if n < 1:
        raise RuntimeError(f"set_num_threads expects a positive integer, got {n}")
    global _controller
    pools = _pools("set_num_threads")
    pools.limit(limits=int(n))
    _controller = None  # pools loaded later (e.g. by an import) are found on the next call


def get_num_threads():
    """The number of threads numpy's BLAS uses (the largest over the pools loaded)."""
    info = _pools("get_num_threads").info()
    counts = [p["num_threads"] for p in info if p.get("user_api") == "blas"] or \
        [p["num_threads"] for p in info]
    return max(counts) if counts else 1


def user_chose_threads():
    """True if the environment sets a thread count (OMP_NUM_THREADS and friends): then the
    user told us, and no default overrides it."""
    return any(os.environ.get(v) for v in _ENV_VARS)


def limit_for_shared_machine():
    """One BLAS thread in a process that shares the machine with its siblings (a rank of a
    data-parallel job, a DataLoader worker), unless the environment chose a count; best effort:
    without threadpoolctl nothing changes. Returns the count set, or None."""
    if user_chose_threads():
        return None
    try:
        set_num_threads(1)
    except ImportError:
        return None
    return 1


# --- one BLAS thread for small products ---------------------------------------------------------

SMALL_PRODUCT_MACS = 1 << 26
"""Products of up to this many multiply-adds run on one BLAS thread: about 1 ms of work on one
core, less than what a descheduled second thread costs on a busy machine (3-40 ms)."""
_OPENBLAS_SPLIT_MIN = 1 << 18  # OpenBLAS itself keeps products up to this size on one thread


def _numpy_openblas():
    """(get_num_threads, set_num_threads) of the OpenBLAS that numpy's products run on, called
    through ctypes (about 0.2 us each); None if numpy's BLAS is not an OpenBLAS found in
    numpy's own library folder (MKL, Accelerate, a system library: those are left alone)."""
    if os.environ.get("AUTODIFF_BLAS_THREAD_POLICY", "1") == "0":
        return None
    root = os.path.dirname(np.__file__)
    paths = glob.glob(os.path.join(os.path.dirname(root), "numpy.libs", "*openblas*")) + \
        glob.glob(os.path.join(root, ".dylibs", "*openblas*"))
    mode = getattr(os, "RTLD_NOLOAD", 0) | getattr(os, "RTLD_LAZY", 0) if sys.platform != "win32" \
        else 0
    for path in paths:
        try:
            lib = ctypes.CDLL(path, mode=mode) if mode else ctypes.CDLL(path)
        except OSError:  # not loaded in this process: not the BLAS numpy uses
            continue
        for prefix in ("scipy_openblas", "openblas"):
            for suffix in ("64_", ""):
                get = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
                put = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
                if get is not None and put is not None:
                    get.restype, get.argtypes = ctypes.c_int, []
                    put.restype, put.argtypes = None, [ctypes.c_int]
                    return get, put
    return None


_blas = _numpy_openblas()
_np_matmul = np.matmul


def matmul(a, b):
    """np.matmul(a, b) for ndarrays of at least one dim, on one BLAS thread when the product
    has more than 2^18 and at most SMALL_PRODUCT_MACS multiply-adds (counted as a.size times
    b's last dim: a batch counts whole), then restoring the thread count; smaller products
    OpenBLAS keeps on one thread itself, larger ones use the whole pool. Two Python threads may
    call this at once: only a call that lowered the count restores it."""
    if _OPENBLAS_SPLIT_MIN < a.size * b.shape[-1] <= SMALL_PRODUCT_MACS and _blas is not None:
        get, put = _blas
        n = get()
        if n > 1:
            put(1)
            try:
                return _np_matmul(a, b)
            finally:
                put(n)
    return _np_matmul(a, b)
