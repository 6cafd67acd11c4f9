"""autodiff.threads.matmul: products of a few million multiply-adds run on one BLAS thread (the
pool's size is restored after each), smaller and larger ones are left to OpenBLAS; Linear and
matmul use it in forward and first-order backward. Results equal numpy's products."""
import os
import subprocess
import sys

import numpy as np
import pytest

import autodiff as ad
import autodiff.threads as threads


class FakePool:
    """Stands in for numpy's OpenBLAS: records every thread count set."""

    def __init__(self, n):
        self.n, self.sets = n, []

    def get(self):
        return self.n

    def put(self, n):
        self.sets.append(n)
        self.n = n


@pytest.fixture
def pool(monkeypatch):
    fake = FakePool(4)
    monkeypatch.setattr(threads, "_blas", (fake.get, fake.put))
    return fake


def _pair(m, k, n, dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((m, k)).astype(dtype), rng.standard_normal((k, n)).astype(dtype)


@pytest.mark.parametrize("m, k, n, switches", [
    (8, 16, 4, False),         # 512 multiply-adds: OpenBLAS keeps it on one thread itself
    (64, 64, 64, False),       # exactly 2^18: still OpenBLAS's own single-thread range
    (64, 784, 128, True),      # the small MLP's first layer (6.4 M)
    (1024, 256, 256, True),    # exactly SMALL_PRODUCT_MACS (2^26)
    (1024, 256, 257, False),   # just above: the whole pool
])
def test_only_mid_sized_products_switch_to_one_thread(pool, m, k, n, switches):
    a, b = _pair(m, k, n)
    out = threads.matmul(a, b)
    np.testing.assert_array_equal(out, np.matmul(a, b))
    assert pool.sets == ([1, 4] if switches else [])
    assert pool.n == 4


def test_a_pool_of_one_thread_is_left_alone(pool):
    pool.n = 1
    threads.matmul(*_pair(64, 784, 128))
    assert pool.sets == []


def test_batched_products_are_sized_as_a_whole(pool):
    rng = np.random.default_rng(1)
    a = rng.standard_normal((3, 64, 784)).astype(np.float32)
    b = rng.standard_normal((784, 128)).astype(np.float32)
    np.testing.assert_array_equal(threads.matmul(a, b), np.matmul(a, b))
    assert pool.sets == [1, 4]
    small = threads.matmul(np.ones((100, 4, 4)), np.ones((100, 4, 4)))  # 6400 in all
    assert small.shape == (100, 4, 4) and pool.sets == [1, 4]


def test_vectors_and_integer_products_match_numpy(pool):
    v = np.arange(784.0)
    a, b = _pair(64, 784, 128, dtype=np.float64)
    np.testing.assert_array_equal(threads.matmul(a, v), a @ v)
    np.testing.assert_array_equal(threads.matmul(v, b), v @ b)
    ia, ib = np.arange(64 * 784).reshape(64, 784) % 7, np.arange(784 * 128).reshape(784, 128) % 5
    np.testing.assert_array_equal(threads.matmul(ia, ib), ia @ ib)


def test_the_count_is_restored_when_the_product_fails(pool):
    a, _ = _pair(64, 784, 128)
    with pytest.raises(ValueError):
        threads.matmul(a, np.ones((700, 128), np.float32))  # sized as mid, shapes do not fit
    assert pool.sets == [1, 4] and pool.n == 4


def test_linear_and_matmul_forward_and_backward_use_the_policy(pool):
    x, w = _pair(64, 784, 128)
    xt = ad.tensor(x, requires_grad=True)
    wt = ad.tensor(np.ascontiguousarray(w.T), requires_grad=True)  # (out, in) as nn.Linear
    b = ad.zeros(128, requires_grad=True)
    out = ad.linear(xt, wt, b)
    np.testing.assert_allclose(out.detach().numpy(), x @ w, rtol=1e-5, atol=1e-4)
    assert pool.sets == [1, 4]
    g = np.random.default_rng(2).standard_normal((64, 128)).astype(np.float32)
    out.backward(ad.tensor(g))
    assert pool.sets == [1, 4] * 3  # dx = g @ W and dW = g^T x each switched too
    np.testing.assert_allclose(xt.grad.numpy(), g @ w.T, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(wt.grad.numpy(), g.T @ x, rtol=1e-4, atol=1e-3)
    pool.sets.clear()
    y = ad.matmul(xt, ad.tensor(w))
    y.backward(ad.tensor(g))
    assert pool.sets == [1, 4] * 2  # forward and dx (w needs no gradient)


def test_second_order_products_are_recorded_ops(pool):
    x = ad.tensor(np.random.default_rng(3).standard_normal((4, 3)), requires_grad=True)
    w = ad.tensor(np.random.default_rng(4).standard_normal((2, 3)), requires_grad=True)
    (gx,) = ad.grad(ad.linear(x, w).pow(2).sum(), x, create_graph=True)
    assert gx.requires_grad  # the backward's products were recorded
    (gw,) = ad.grad(gx.sum(), w)
    # gx = 2 x W^T W, so sum(gx) = 2 (W a) . (W v) with a = x^T 1, v = 1, whose gradient in W
    # is 2 ((W v) a^T + (W a) v^T)
    xd, wd = x.detach().numpy(), w.detach().numpy()
    a, v = xd.sum(0), np.ones(3)
    expected = 2 * (np.outer(wd @ v, a) + np.outer(wd @ a, v))
    np.testing.assert_allclose(gw.numpy(), expected, rtol=1e-10)


def test_policy_can_be_turned_off_and_finds_numpys_openblas():
    code = ("import autodiff.threads as t, numpy as np; "
            "cfg = np.show_config(mode='dicts')['Build Dependencies']['blas']['name']; "
            "print(t._blas is not None, 'openblas' in cfg.lower())")
    on = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    found, is_openblas = on.stdout.split()
    if is_openblas == "True":
        assert found == "True", "numpy's OpenBLAS was not found"
    off = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "AUTODIFF_BLAS_THREAD_POLICY": "0"})
    assert off.stdout.split()[0] == "False"


def test_real_pool_is_restored_after_a_mid_sized_product():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    if threads._blas is None:
        pytest.skip("numpy's BLAS is not an OpenBLAS autodiff can reach")
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        threads.matmul(*_pair(64, 784, 128))
        counts = [p["num_threads"] for p in threadpoolctl.threadpool_info()
                  if p["user_api"] == "blas"]
        assert counts == [2]
