"""How many threads numpy's BLAS (and any OpenMP pool loaded) uses: torch.set_num_threads /
get_num_threads, through threadpoolctl (the `threads` extra).

Matrix products are the only multi-threaded work autodiff does (numpy's BLAS). On a machine
whose cores are shared - several processes of one data-parallel job, DataLoader workers, other
jobs - more BLAS threads than free cores makes small products many times slower, so processes
that share a machine default to one thread each (see `limit_for_shared_machine`).
"""
import numbers
import os

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
