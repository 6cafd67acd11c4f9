"""nn.init: gains, fans, distributions, in-place semantics, generators, the course's init facts."""
import math

import numpy as np
import pytest

import autodiff as ad
import nn
from nn import init


def test_calculate_gain_values():
    assert init.calculate_gain("linear") == 1 and init.calculate_gain("sigmoid") == 1
    assert init.calculate_gain("conv2d") == 1
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01 ** 2)))
    assert init.calculate_gain("leaky_relu", math.sqrt(5)) == pytest.approx(math.sqrt(1 / 3))
    assert init.calculate_gain("selu") == 0.75
    with pytest.raises(ValueError, match="unsupported nonlinearity"):
        init.calculate_gain("swish")


def test_fans_as_pytorch():
    assert init._calculate_fan_in_and_fan_out(ad.empty(7, 5)) == (5, 7)
    assert init._calculate_fan_in_and_fan_out(ad.empty(16, 3, 5, 5)) == (75, 400)
    with pytest.raises(ValueError, match="at least 2 dims.*bias"):
        init._calculate_fan_in_and_fan_out(ad.empty(5))


def test_fans_and_gains_match_torch(torch):
    for shape in [(7, 5), (16, 3, 5, 5), (4, 2, 3)]:
        assert init._calculate_fan_in_and_fan_out(ad.empty(*shape)) == \
            torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))
    for name, param in [("tanh", None), ("relu", None), ("leaky_relu", None),
                        ("leaky_relu", 0.2), ("selu", None), ("sigmoid", None)]:
        assert init.calculate_gain(name, param) == pytest.approx(
            torch.nn.init.calculate_gain(name, param))


def test_fills_are_in_place_outside_the_graph_and_return_the_tensor():
    p = nn.Parameter(ad.empty(30, 20))
    arr = p.data
    for fn in (init.zeros_, init.ones_, lambda t: init.constant_(t, 0.3), init.xavier_uniform_,
               init.xavier_normal_, init.kaiming_uniform_, init.kaiming_normal_,
               lambda t: init.uniform_(t, -1, 2), lambda t: init.normal_(t, 1, 2),
               init.trunc_normal_, init.orthogonal_):
        assert fn(p) is p
        assert p.data is arr and p.is_leaf and p.grad_fn is None and p.dtype == np.float32
    init.constant_(p, 0.3)
    np.testing.assert_allclose(p.data, 0.3)


def test_generator_makes_init_reproducible():
    a, b = ad.empty(10, 10), ad.empty(10, 10)
    init.kaiming_normal_(a, generator=ad.Generator(5))
    init.kaiming_normal_(b, generator=ad.Generator(5))
    np.testing.assert_array_equal(a.data, b.data)
    ad.manual_seed(1)
    init.uniform_(a)
    ad.manual_seed(1)
    init.uniform_(b)
    np.testing.assert_array_equal(a.data, b.data)


def test_distribution_bounds_and_scales():
    t = ad.empty(400, 300, dtype=ad.float64)
    init.xavier_uniform_(t, gain=2.0)
    a = 2.0 * math.sqrt(6 / 700)
    assert np.abs(t.data).max() <= a and np.abs(t.data).max() > 0.99 * a
    init.xavier_normal_(t)
    assert t.data.std() == pytest.approx(math.sqrt(2 / 700), rel=0.02)  # Var = 2/(in + out)
    init.kaiming_normal_(t, nonlinearity="relu")
    assert t.data.std() == pytest.approx(math.sqrt(2 / 300), rel=0.02)  # He: Var = 2/n_in
    init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu")
    assert t.data.std() == pytest.approx(math.sqrt(2 / 400), rel=0.02)
    init.kaiming_uniform_(t, a=math.sqrt(5))
    assert np.abs(t.data).max() <= 1 / math.sqrt(300)  # PyTorch's Linear default
    init.normal_(t, 0.0, 0.05)
    assert t.data.std() == pytest.approx(0.05, rel=0.02)
    init.trunc_normal_(t, std=0.05, a=-0.1, b=0.1)
    assert np.abs(t.data).max() <= 0.1 and t.data.std() < 0.05
    with pytest.raises(ValueError, match="mode"):
        init.kaiming_uniform_(t, mode="fan")
    with pytest.raises(ValueError, match="mass"):
        init.trunc_normal_(t, a=10, b=11)


def test_orthogonal_rows_or_columns_are_orthonormal():
    t = ad.empty(3, 5, dtype=ad.float64)
    init.orthogonal_(t)
    np.testing.assert_allclose(t.data @ t.data.T, np.eye(3), atol=1e-12)
    t = ad.empty(5, 3, dtype=ad.float64)
    init.orthogonal_(t, gain=2)
    np.testing.assert_allclose(t.data.T @ t.data, 4 * np.eye(3), atol=1e-12)


def _last_layer_std(init_fn, act, depth=10, width=100):
    """The course experiment: a 10 x 100 network, the std of the last layer's activations."""
    ad.manual_seed(0)
    layers = [nn.Linear(width, width) for _ in range(depth)]
    x = ad.randn(500, width)
    with ad.no_grad():
        for lin in layers:
            init_fn(lin.weight)
            init.zeros_(lin.bias)
            x = act(lin(x))
    return float(x.data.std())


def test_init_scale_decides_whether_a_deep_net_collapses_or_explodes():
    tanh, relu = ad.tanh, ad.relu
    assert _last_layer_std(lambda w: init.normal_(w, 0, 0.01), tanh) < 1e-6  # collapses
    assert _last_layer_std(lambda w: init.normal_(w, 0, 1.0), tanh) > 0.9  # saturates at +-1
    xavier = _last_layer_std(lambda w: init.normal_(w, 0, math.sqrt(1 / 100)), tanh)
    assert 0.1 < xavier < 0.9
    he = _last_layer_std(lambda w: init.kaiming_normal_(w, nonlinearity="relu"), relu)
    assert 0.3 < he < 3
    assert _last_layer_std(lambda w: init.normal_(w, 0, 1.0), relu) > 1e5  # explodes
