"""nn layers and activations: closed forms, numpy references, finite differences, and
cross-checks against PyTorch (skipped without torch)."""
import math

import numpy as np
import pytest

import autodiff as ad
import nn
import nn.functional as F
from autodiff.testing import gradcheck, gradgradcheck

from _stateless import as_function
from _torch import assert_close, assert_grads_close, backward_both, pair, to_numpy, to_torch

RNG = np.random.default_rng(1234)
# finite-difference checks: autodiff.testing's gradcheck (every element, float64) held to
# |analytic - numeric| <= 1e-6 + 1e-5 * max(|analytic|, |numeric|), then gradgradcheck
FD_ATOL, FD_RTOL = 1e-6, 1e-5


def randn(*shape, dtype=np.float64):
    return RNG.standard_normal(shape).astype(dtype)


def leaf(arr):
    return ad.tensor(arr, requires_grad=True)


# --- Linear -------------------------------------------------------------------------------------

def test_linear_shapes_forward_and_default_init_bounds():
    lin = nn.Linear(50, 7)
    assert lin.weight.shape == (7, 50) and lin.bias.shape == (7,)
    bound = 1 / math.sqrt(50)
    for p in (lin.weight, lin.bias):
        assert np.abs(p.data).max() <= bound
    assert np.abs(lin.weight.data).max() > 0.8 * bound  # really spread over the range
    x = ad.randn(4, 50)
    np.testing.assert_allclose(lin(x).data, x.data @ lin.weight.data.T + lin.bias.data,
                               rtol=1e-5, atol=1e-6)
    assert lin(ad.randn(2, 3, 50)).shape == (2, 3, 7)
    assert lin.weight.dtype == np.float32


def test_linear_init_is_reproducible_with_manual_seed():
    ad.manual_seed(3)
    a = nn.Linear(4, 4)
    ad.manual_seed(3)
    b = nn.Linear(4, 4)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)


def test_linear_matrix_gradients_as_the_course_states():
    lin = nn.Linear(3, 2).double()
    X = leaf(randn(5, 3))
    G = randn(5, 2)
    lin(X).backward(ad.tensor(G))
    np.testing.assert_allclose(lin.weight.grad.data, G.T @ X.data)  # dL/dW = dY^T X
    np.testing.assert_allclose(lin.bias.grad.data, G.sum(0))  # shared bias: sum over batch
    np.testing.assert_allclose(X.grad.data, G @ lin.weight.data)  # dL/dX = dY W


def test_linear_wrong_features_error_names_shapes_and_fix():
    with pytest.raises(RuntimeError, match=r"shape \(4, 5\).*5 features.*in_features=3"):
        nn.Linear(3, 2)(ad.randn(4, 5))


def test_linear_matches_torch(torch):
    t = torch.nn.Linear(4, 3).double()
    m = nn.Linear(4, 3).double()
    m.load_state_dict({k: to_numpy(v) for k, v in t.state_dict().items()})
    ax, tx = pair(randn(6, 4))
    out, tout = m(ax), t(tx)
    backward_both(out, tout)
    assert_close(out, tout, rtol=1e-12, atol=0)
    assert_grads_close([ax, m.weight, m.bias], [tx, t.weight, t.bias], rtol=1e-12, atol=0)


def test_linear_init_statistics_match_torch(torch):
    ours = nn.Linear(400, 300).weight.data
    theirs = to_numpy(torch.nn.Linear(400, 300).weight)
    assert abs(ours.std() - theirs.std()) < 0.02 * theirs.std()
    assert abs(np.abs(ours).max() - np.abs(theirs).max()) < 1e-3


# --- Identity, Flatten, MLP ----------------------------------------------------------------------

def test_identity_and_flatten():
    x = ad.randn(2, 3, 4, 5)
    assert nn.Identity(7, foo=1)(x) is x
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, 1)(x).shape == (6, 4, 5)
    assert nn.Flatten(2)(x).shape == (2, 3, 20)


def test_mlp_layout_and_options():
    m = nn.MLP(3, [8, 8], 2, activation="tanh", dropout=0.5, batchnorm=True)
    kinds = [type(l).__name__ for l in m]
    assert kinds == ["Linear", "BatchNorm1d", "Tanh", "Dropout"] * 2 + ["Linear"]
    assert isinstance(m, nn.Sequential)
    assert m(ad.randn(4, 3)).shape == (4, 2)
    m2 = nn.MLP(3, [5], 1, activation=nn.GELU)
    assert isinstance(m2[1], nn.GELU) and m2(ad.randn(2, 3)).shape == (2, 1)
    assert len(nn.MLP(3, [], 2)) == 1
    with pytest.raises(ValueError, match="unknown activation"):
        nn.MLP(3, [4], 2, activation="swishy")
    with pytest.raises(TypeError, match="class or name"):
        nn.MLP(3, [4], 2, activation=nn.ReLU())


def test_mlp_gradients_match_finite_differences():
    m = nn.MLP(3, [4, 4], 2, activation="tanh").double()
    x = ad.tensor(randn(5, 3))
    fn, params = as_function(m)
    assert len(params) == 6
    assert gradcheck(fn, (x, *params), atol=FD_ATOL, rtol=FD_RTOL)
    assert gradgradcheck(fn, (x, *params))


# --- Dropout ------------------------------------------------------------------------------------

def test_dropout_p_is_the_drop_probability_with_inverted_scaling():
    x = ad.ones(200, 500)
    y = nn.Dropout(p=0.2)(x).data
    kept = y != 0
    assert abs(kept.mean() - 0.8) < 0.01
    np.testing.assert_allclose(y[kept], 1 / 0.8, rtol=1e-6)
    assert abs(y.mean() - 1.0) < 0.02  # expectation preserved, so eval needs no rescaling


def test_dropout_new_mask_each_call_and_identity_in_eval():
    d = nn.Dropout(0.5)
    x = ad.ones(100)
    assert not np.array_equal(d(x).data, d(x).data)
    d.eval()
    assert d(x) is x
    assert nn.Dropout(0.0)(x) is x
    assert not nn.Dropout(1.0)(x).data.any()
    with pytest.raises(ValueError, match="probability of dropping"):
        nn.Dropout(1.5)


def test_dropout_gradient_is_the_mask_and_generator_reproduces():
    x = leaf(np.ones((3, 4), np.float32))
    y = F.dropout(x, 0.5, generator=ad.Generator(1))
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, y.data)
    y2 = F.dropout(x, 0.5, generator=ad.Generator(1))
    np.testing.assert_array_equal(y.data, y2.data)


# --- BatchNorm1d --------------------------------------------------------------------------------

def bn_reference(x, gamma, beta, eps=1e-5, dims=(0,)):
    """The course's formulas: batch mean, biased variance, eps inside the sqrt."""
    mu = x.mean(dims, keepdims=True)
    var = ((x - mu) ** 2).mean(dims, keepdims=True)
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return (x - mu) / np.sqrt(var + eps) * gamma.reshape(shape) + beta.reshape(shape)


def test_batchnorm_training_matches_the_formulas_and_starts_at_identity_affine():
    bn = nn.BatchNorm1d(3).double()
    assert bn.weight.data.tolist() == [1, 1, 1] and bn.bias.data.tolist() == [0, 0, 0]
    x = randn(8, 3) * 3 + 2
    y = bn(ad.tensor(x)).data
    np.testing.assert_allclose(y, bn_reference(x, np.ones(3), np.zeros(3)), rtol=1e-10)
    np.testing.assert_allclose(y.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(0), 1, rtol=1e-4)


def test_batchnorm_running_stats_over_several_steps_then_eval():
    bn = nn.BatchNorm1d(2, momentum=0.1).double()
    rm, rv = np.zeros(2), np.ones(2)
    for step in range(4):
        x = randn(6, 2) * (step + 1) + step
        bn(ad.tensor(x))
        rm = 0.9 * rm + 0.1 * x.mean(0)
        rv = 0.9 * rv + 0.1 * x.var(0, ddof=1)  # running estimate uses the unbiased variance
    np.testing.assert_allclose(bn.running_mean.data, rm, rtol=1e-12)
    np.testing.assert_allclose(bn.running_var.data, rv, rtol=1e-12)
    assert bn.num_batches_tracked.item() == 4
    bn.eval()
    x = randn(3, 2)
    np.testing.assert_allclose(bn(ad.tensor(x)).data, (x - rm) / np.sqrt(rv + 1e-5), rtol=1e-10)
    assert bn.num_batches_tracked.item() == 4  # eval leaves the statistics alone


def test_batchnorm_cumulative_average_and_no_tracking():
    bn = nn.BatchNorm1d(2, momentum=None).double()
    xs = [randn(5, 2) for _ in range(3)]
    for x in xs:
        bn(ad.tensor(x))
    np.testing.assert_allclose(bn.running_mean.data, np.mean([x.mean(0) for x in xs], 0))
    free = nn.BatchNorm1d(2, track_running_stats=False).double().eval()
    assert free.running_mean is None and "running_mean" not in free.state_dict()
    x = randn(5, 2)
    np.testing.assert_allclose(free(ad.tensor(x)).data, bn_reference(x, np.ones(2), np.zeros(2)))


def test_batchnorm_three_dim_input_and_errors():
    bn = nn.BatchNorm1d(3).double()
    x = randn(4, 3, 5)
    np.testing.assert_allclose(bn(ad.tensor(x)).data,
                               bn_reference(x, np.ones(3), np.zeros(3), dims=(0, 2)), rtol=1e-10)
    with pytest.raises(ValueError, match=r"\(N, 3\).*\(4, 2\)"):
        bn(ad.randn(4, 2))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn(ad.randn(1, 3))
    bn.eval()
    assert bn(ad.randn(1, 3)).shape == (1, 3)


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 2)])
def test_batchnorm_backward_matches_finite_differences(shape):
    bn = nn.BatchNorm1d(3).double()
    with ad.no_grad():
        bn.weight.copy_(randn(3))
        bn.bias.copy_(randn(3))
    x = leaf(randn(*shape))
    fn, params = as_function(bn)
    for mode in ("train", "eval"):  # batch statistics, then the running ones
        bn.train(mode == "train")
        assert gradcheck(fn, (x, *params), atol=FD_ATOL, rtol=FD_RTOL), mode
        assert gradgradcheck(fn, (x, *params)), mode


def test_batchnorm_input_gradient_sums_to_zero_per_feature():
    """The three paths into x: with gamma = 1 and eps = 0 the gradient is orthogonal to 1 and
    to x_hat."""
    bn = nn.BatchNorm1d(2, eps=0.0).double()
    x = leaf(randn(7, 2))
    y = bn(x)
    y.backward(ad.tensor(randn(7, 2)))
    xhat = y.data
    np.testing.assert_allclose(x.grad.data.sum(0), 0, atol=1e-12)
    np.testing.assert_allclose((x.grad.data * xhat).sum(0), 0, atol=1e-12)


@pytest.mark.parametrize("shape,momentum,affine", [((8, 4), 0.1, True), ((5, 4, 3), 0.3, True),
                                                   ((6, 4), None, False)])
def test_batchnorm_matches_torch_train_and_eval(torch, shape, momentum, affine):
    t = torch.nn.BatchNorm1d(4, momentum=momentum, affine=affine).double()
    m = nn.BatchNorm1d(4, momentum=momentum, affine=affine).double()
    if affine:
        w, b = randn(4), randn(4)
        with torch.no_grad():
            t.weight.copy_(to_torch(w))
            t.bias.copy_(to_torch(b))
        m.load_state_dict({**m.state_dict(), "weight": w, "bias": b})
    for step in range(3):
        ax, tx = pair(randn(*shape) * 2 + step)
        ay, ty = m(ax), t(tx)
        backward_both(ay, ty, seed=step)
        assert_close(ay, ty, rtol=1e-10, atol=1e-12)
        assert_close(ax.grad, tx.grad, rtol=1e-9, atol=1e-12)
    if affine:
        assert_grads_close([m.weight, m.bias], [t.weight, t.bias], rtol=1e-9, atol=0)
    assert list(m.state_dict()) == list(t.state_dict())
    for k, v in t.state_dict().items():
        assert_close(m.state_dict()[k], v, rtol=1e-12, atol=0, err_msg=k)
    t.eval(), m.eval()
    ax, tx = pair(randn(*shape))
    ay, ty = m(ax), t(tx)
    backward_both(ay, ty, seed=3)
    assert_close(ay, ty, rtol=1e-10, atol=1e-12)
    assert_close(ax.grad, tx.grad, rtol=1e-10, atol=1e-12)


# --- LayerNorm ----------------------------------------------------------------------------------

def test_layernorm_matches_numpy_and_is_mode_independent():
    ln = nn.LayerNorm(5).double()
    x = randn(3, 5) * 4 + 1
    mu, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    ref = (x - mu) / np.sqrt(var + 1e-5)
    np.testing.assert_allclose(ln(ad.tensor(x)).data, ref, rtol=1e-10)
    ln.eval()
    np.testing.assert_allclose(ln(ad.tensor(x)).data, ref, rtol=1e-10)
    with pytest.raises(ValueError, match="normalized_shape"):
        ln(ad.randn(3, 4))


def test_layernorm_gradients_match_finite_differences():
    ln = nn.LayerNorm((2, 3)).double()
    with ad.no_grad():
        ln.weight.copy_(randn(2, 3))
        ln.bias.copy_(randn(2, 3))
    x = leaf(randn(4, 2, 3))
    fn, params = as_function(ln)
    assert gradcheck(fn, (x, *params), atol=FD_ATOL, rtol=FD_RTOL)
    assert gradgradcheck(fn, (x, *params))


def test_layernorm_matches_torch(torch):
    t = torch.nn.LayerNorm((3, 4)).double()
    m = nn.LayerNorm((3, 4)).double()
    w, b = randn(3, 4), randn(3, 4)
    with torch.no_grad():
        t.weight.copy_(to_torch(w))
        t.bias.copy_(to_torch(b))
    m.load_state_dict({"weight": w, "bias": b})
    ax, tx = pair(randn(2, 3, 4))
    ay, ty = m(ax), t(tx)
    backward_both(ay, ty)
    assert_close(ay, ty, rtol=1e-10, atol=1e-12)
    assert_close(ax.grad, tx.grad, rtol=1e-9, atol=1e-12)
    assert_grads_close([m.weight, m.bias], [t.weight, t.bias], rtol=1e-10, atol=0)


# --- Embedding -----------------------------------------------------------------------------------

def test_embedding_lookup_and_repeated_ids_accumulate():
    emb = nn.Embedding(5, 3)
    assert abs(nn.Embedding(1000, 10).weight.data.std() - 1) < 0.05  # N(0, 1) init
    ids = ad.tensor([[0, 2], [2, 4]])
    out = emb(ids)
    assert out.shape == (2, 2, 3)
    np.testing.assert_array_equal(out.data[1, 0], emb.weight.data[2])
    out.sum().backward()
    np.testing.assert_array_equal(emb.weight.grad.data[:, 0], [1, 0, 2, 0, 1])


def test_embedding_errors_and_padding_idx():
    emb = nn.Embedding(5, 3, padding_idx=0)
    assert not emb.weight.data[0].any()
    emb(ad.tensor([0, 1, 0])).sum().backward()
    assert not emb.weight.grad.data[0].any() and emb.weight.grad.data[1].tolist() == [1, 1, 1]
    with pytest.raises(IndexError, match="5.*valid: 0 to 4"):
        emb(ad.tensor([1, 5]))
    with pytest.raises(TypeError, match="long"):
        emb(ad.tensor([1.0, 2.0]))


def test_embedding_matches_torch(torch):
    t = torch.nn.Embedding(6, 4, padding_idx=2).double()
    m = nn.Embedding(6, 4, padding_idx=2).double()
    m.load_state_dict({"weight": to_numpy(t.weight)})
    ids = np.array([[1, 2, 3], [3, 3, 5]])
    out, tout = m(ad.tensor(ids)), t(to_torch(ids))
    backward_both(out, tout)
    assert_close(out, tout, rtol=1e-7, atol=0)
    assert_grads_close([m.weight], [t.weight], rtol=1e-12, atol=0)


# --- activations ---------------------------------------------------------------------------------

def test_activation_closed_forms_and_kinks():
    x = ad.tensor([-2.0, 0.0, 3.0], dtype=ad.float64, requires_grad=True)
    np.testing.assert_allclose(nn.ReLU()(x).data, [0, 0, 3])
    np.testing.assert_allclose(nn.LeakyReLU()(x).data, [-0.02, 0, 3])
    np.testing.assert_allclose(nn.ELU()(x).data, [math.exp(-2) - 1, 0, 3])
    np.testing.assert_allclose(nn.Sigmoid()(x).data, 1 / (1 + np.exp([2.0, 0, -3])))
    np.testing.assert_allclose(nn.Tanh()(x).data, np.tanh([-2.0, 0, 3]))
    np.testing.assert_allclose(nn.Softplus()(x).data, np.log1p(np.exp([-2.0, 0, 3])))
    nn.ReLU()(x).sum().backward()
    assert x.grad.data.tolist() == [0, 0, 1]  # relu'(0) = 0


def test_sigmoid_derivative_course_value():
    x = ad.tensor(1.0, dtype=ad.float64, requires_grad=True)
    nn.Sigmoid()(x).backward()
    assert round(x.grad.item(), 3) == 0.197  # sigma (1 - sigma) at 1


def test_activations_do_not_overflow_at_extremes():
    x = ad.tensor([-1e4, -100.0, 0.0, 100.0, 1e4], requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        for act in (nn.ELU(), nn.Softplus(), nn.Sigmoid(), nn.Tanh(), nn.GELU(), nn.SiLU(),
                    nn.GELU("tanh"), nn.LogSoftmax(0), nn.Softmax(0)):
            y = act(x)
            y.sum().backward()
            assert np.isfinite(y.data).all() and np.isfinite(x.grad.data).all(), act
            x.grad = None


def test_erf_accuracy_against_math_erf():
    xs = np.linspace(-7, 7, 20001)
    ours = F.erf(ad.tensor(xs)).data
    ref = np.array([math.erf(v) for v in xs])
    assert np.abs(ours - ref).max() < 1e-8
    ours32 = F.erf(ad.tensor(xs.astype(np.float32))).data
    assert np.abs(ours32 - ref).max() < 1e-6
    x = ad.tensor(xs, requires_grad=True)
    F.erf(x).sum().backward()
    np.testing.assert_allclose(x.grad.data, 2 / math.sqrt(math.pi) * np.exp(-xs ** 2), atol=1e-6)


def test_softmax_dim_and_prelu_channels():
    x = ad.randn(2, 3)
    np.testing.assert_allclose(nn.Softmax(dim=1)(x).data.sum(1), 1, rtol=1e-6)
    with pytest.warns(UserWarning, match="dim"):
        nn.Softmax()(x)
    pr = nn.PReLU(3)
    y = pr(ad.tensor([[-1.0, -2.0, 3.0]]))
    np.testing.assert_allclose(y.data, [[-0.25, -0.5, 3.0]])
    with pytest.raises(ValueError, match="channels"):
        pr(ad.randn(2, 4))


def test_activation_gradients_match_finite_differences():
    x = leaf(randn(4, 5) * 2)
    w = leaf(np.array([0.1, 0.2, 0.3, 0.4, 0.5]))
    for fn in (F.gelu, lambda x: F.gelu(x, approximate="tanh"), lambda x: F.elu(x, 0.7),
               lambda x: F.softplus(x, beta=2.0, threshold=3.0), lambda x: F.leaky_relu(x, 0.2),
               F.silu, F.log_sigmoid):
        assert gradcheck(fn, (x,), atol=FD_ATOL, rtol=FD_RTOL)
        assert gradgradcheck(fn, (x,))
    assert gradcheck(F.prelu, (x, w), atol=FD_ATOL, rtol=FD_RTOL)
    assert gradgradcheck(F.prelu, (x, w))


ACTIVATIONS = [
    ("ReLU", {}, {}), ("LeakyReLU", {"negative_slope": 0.1}, {"negative_slope": 0.1}),
    ("ELU", {"alpha": 0.5}, {"alpha": 0.5}), ("GELU", {}, {}),
    ("GELU", {"approximate": "tanh"}, {"approximate": "tanh"}), ("Sigmoid", {}, {}),
    ("Tanh", {}, {}), ("Softplus", {}, {}), ("Softplus", {"beta": 2.0, "threshold": 5.0},
                                             {"beta": 2.0, "threshold": 5.0}),
    ("Softmax", {"dim": 1}, {"dim": 1}), ("LogSoftmax", {"dim": 1}, {"dim": 1}),
    ("LogSoftmax", {"dim": 0}, {"dim": 0}), ("SiLU", {}, {}), ("PReLU", {}, {}),
    ("PReLU", {"num_parameters": 5}, {"num_parameters": 5}),
]


@pytest.mark.parametrize("name,ours,theirs", ACTIVATIONS,
                         ids=[f"{a[0]}-{i}" for i, a in enumerate(ACTIVATIONS)])
def test_activations_match_torch_values_and_gradients(torch, name, ours, theirs):
    x = np.concatenate([randn(4, 5) * 3, [[0.0, 1e-3, -1e-3, 30.0, -30.0]],
                        [[2.5, 20.0, -20.0, 10.1, 1e3]]])
    t = getattr(torch.nn, name)(**theirs).double()
    m = getattr(nn, name)(**ours).double()
    ax, tx = pair(x)
    ay, ty = m(ax), t(tx)
    backward_both(ay, ty)
    tol = (dict(rtol=1e-7, atol=5e-9) if name == "GELU" and not ours
           else dict(rtol=1e-10, atol=1e-12))
    assert_close(ay, ty, **tol)
    gtol = dict(rtol=1e-6, atol=1e-6) if name == "GELU" and not ours else tol
    assert_close(ax.grad, tx.grad, **gtol)
    if name == "PReLU":
        assert_grads_close([m.weight], [t.weight], rtol=1e-10, atol=0)


def test_float32_gelu_matches_torch(torch):
    x = (randn(1000) * 4).astype(np.float32)
    assert_close(F.gelu(ad.tensor(x)), torch.nn.functional.gelu(to_torch(x)), rtol=1e-7,
                 atol=2e-6)


def test_where_masked_exp_overflow_does_not_poison_the_gradient():
    """Composite activations rely on `where` being a masked select: exp overflowing to inf in
    the unselected branch must give 0 there, not 0 * inf = nan (core Exp backward guard)."""
    x = ad.tensor([1000.0, -1.0], requires_grad=True)
    with np.errstate(over="ignore"):
        y = ad.where(x < 0, x.exp() - 1.0, x)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, [1.0, math.exp(-1.0)], rtol=1e-6)
