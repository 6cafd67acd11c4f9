"""autodiff.set_num_threads / get_num_threads (numpy's BLAS threads through threadpoolctl)."""
import subprocess
import sys

import pytest

import autodiff as ad
import autodiff.threads as threads

threadpoolctl = pytest.importorskip("threadpoolctl")


def _blas_threads():
    info = threadpoolctl.threadpool_info()
    return max(p["num_threads"] for p in info if p["user_api"] == "blas")


@pytest.fixture
def restore_threads():
    before = ad.get_num_threads()
    yield
    ad.set_num_threads(before)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_set_num_threads_sets_numpys_blas_pool(restore_threads, n):
    ad.set_num_threads(n)
    assert ad.get_num_threads() == n
    assert _blas_threads() == n  # as threadpoolctl itself reads the pool


@pytest.mark.parametrize("bad, words", [(0, "positive integer"), (-2, "positive integer"),
                                        (2.0, "expects an int, but got float"),
                                        (True, "expects an int, but got bool"),
                                        ("2", "expects an int, but got str")])
def test_bad_counts_raise_torchs_error(bad, words):
    with pytest.raises(RuntimeError, match=words):
        ad.set_num_threads(bad)


def test_bad_counts_match_torch():
    torch = pytest.importorskip("torch")
    for bad in (0, 2.0, True):
        with pytest.raises(RuntimeError):
            torch.set_num_threads(bad)
        with pytest.raises(RuntimeError):
            ad.set_num_threads(bad)


def test_without_threadpoolctl_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)  # import raises ImportError
    monkeypatch.setattr(threads, "_controller", None)
    with pytest.raises(ImportError, match=r"autodiff\[threads\]"):
        ad.set_num_threads(1)
    with pytest.raises(ImportError, match=r"autodiff\[threads\]"):
        ad.get_num_threads()
    assert threads.limit_for_shared_machine() is None  # best effort: no error


@pytest.mark.parametrize("env, expected", [({}, "1"), ({"OMP_NUM_THREADS": "2"}, "2")])
def test_shared_machine_default_is_one_thread_unless_the_environment_chose(env, expected):
    code = ("import autodiff as ad, autodiff.threads as t; t.limit_for_shared_machine(); "
            "print(ad.get_num_threads())")
    clean = {k: v for k, v in __import__("os").environ.items() if k not in threads._ENV_VARS}
    out = subprocess.run([sys.executable, "-c", code], env={**clean, **env}, timeout=60,
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == expected
