"""Losses: hand-computed values, the course's numerics, error messages, finite differences, and
value-and-gradient cross-checks against PyTorch for every loss, option and reduction."""
import math

import numpy as np
import pytest

import autodiff as ad
import nn
import nn.functional as F
from autodiff.testing import gradcheck, gradgradcheck

from _torch import compare_with_torch

RNG = np.random.default_rng(7)
REDUCTIONS = ["mean", "sum", "none"]


def randn(*shape):
    return RNG.standard_normal(shape)


def leaf(arr):
    return ad.tensor(np.asarray(arr, np.float64), requires_grad=True)


# --- closed forms and the course's numbers --------------------------------------------------------

def test_cross_entropy_by_hand():
    logits = np.array([[2.0, 1.0, 0.1], [0.5, 2.5, 0.3]])
    y = np.array([0, 2])
    logp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    ref = -logp[[0, 1], y]
    x = leaf(logits)
    loss = F.cross_entropy(x, ad.tensor(y))
    np.testing.assert_allclose(loss.item(), ref.mean(), rtol=1e-12)
    loss.backward()
    p = np.exp(logp)
    np.testing.assert_allclose(x.grad.data, (p - np.eye(3)[y]) / 2, rtol=1e-12)  # (p - y)/N
    np.testing.assert_allclose(F.cross_entropy(x, ad.tensor(y), reduction="none").data, ref)


def test_cross_entropy_is_stable_at_extreme_logits():
    for scale in (1e4, 1e8):
        x = ad.tensor([[scale, 0.0, -scale], [500.0, 400.0, 450.0]], requires_grad=True)
        loss = F.cross_entropy(x, ad.tensor([1, 0]), reduction="none")
        np.testing.assert_allclose(loss.data, [scale, math.log1p(math.exp(-50) + math.exp(-100))],
                                   atol=1e-6, rtol=1e-6)
        loss.sum().backward()
        assert np.isfinite(x.grad.data).all()
        np.testing.assert_allclose(x.grad.data[0], [1, -1, 0], atol=1e-6)


def test_label_smoothing_targets_point_nine_on_the_true_class():
    x = leaf(randn(3, 4))
    y = np.array([1, 0, 3])
    q = np.full((3, 4), 0.1 / 4) + 0.9 * np.eye(4)[y]
    np.testing.assert_allclose(
        F.cross_entropy(x, ad.tensor(y), label_smoothing=0.1).item(),
        F.cross_entropy(x, ad.tensor(q)).item(), rtol=1e-12)


def test_multiclass_svm_hinge_course_example():
    # scores for 3 classes, true class 0: sum_{j != y} max(0, s_j - s_y + 1)
    s = leaf([[3.2, 5.1, -1.7]])
    course = max(0, 5.1 - 3.2 + 1) + max(0, -1.7 - 3.2 + 1)  # 2.9
    loss = F.multi_margin_loss(s, ad.tensor([0]))
    np.testing.assert_allclose(loss.item() * 3, course, rtol=1e-12)  # PyTorch divides by C
    loss.backward()
    np.testing.assert_allclose(s.grad.data * 3, [[-1, 1, 0]])


def test_mse_saturates_with_sigmoid_but_cross_entropy_does_not():
    z = ad.tensor([-50.0], dtype=ad.float64, requires_grad=True)
    F.mse_loss(ad.sigmoid(z), ad.tensor([1.0], dtype=ad.float64)).backward()
    assert abs(z.grad.item()) < 1e-20
    z.grad = None
    F.binary_cross_entropy_with_logits(z, ad.tensor([1.0], dtype=ad.float64)).backward()
    np.testing.assert_allclose(z.grad.item(), -1.0, rtol=1e-12)
    z.grad = None
    F.cross_entropy(ad.stack([ad.zeros(1, dtype=ad.float64), z], 1), ad.tensor([1])).backward()
    np.testing.assert_allclose(z.grad.item(), -1.0, rtol=1e-12)


def test_linear_regression_with_mse_reaches_the_normal_equations():
    X = randn(50, 3)
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.3 + 0.01 * randn(50)
    lin = nn.Linear(3, 1).double()
    Xt, yt = ad.tensor(X), ad.tensor(y[:, None])
    for _ in range(300):
        lin.zero_grad()
        F.mse_loss(lin(Xt), yt).backward()
        with ad.no_grad():
            for p in lin.parameters():
                p -= 0.1 * p.grad
    A = np.c_[X, np.ones(50)]
    theta = np.linalg.solve(A.T @ A, A.T @ y)
    np.testing.assert_allclose(np.r_[lin.weight.data[0], lin.bias.data], theta, atol=1e-6)


def test_bce_clamps_log_at_minus_100_and_bce_with_logits_is_stable():
    p = leaf([0.0, 1.0, 0.5])
    y = ad.tensor([1.0, 0.0, 1.0], dtype=ad.float64)
    loss = F.binary_cross_entropy(p, y, reduction="none")
    np.testing.assert_allclose(loss.data, [100, 100, math.log(2)])
    loss.sum().backward()
    assert np.isfinite(p.grad.data).all()
    z = leaf([1e4, -1e4, 0.0])
    loss = F.binary_cross_entropy_with_logits(z, ad.tensor([0.0, 1.0, 1.0]), reduction="none")
    np.testing.assert_allclose(loss.data, [1e4, 1e4, math.log(2)])
    loss.sum().backward()
    np.testing.assert_allclose(z.grad.data, [1, -1, -0.5])  # sigmoid(z) - y, also at z = 0


def test_regression_losses_by_hand():
    x, y = leaf([0.0, 0.5, 3.0]), ad.tensor([0.0, 0.0, 0.0], dtype=ad.float64)
    np.testing.assert_allclose(F.mse_loss(x, y, reduction="none").data, [0, 0.25, 9])
    np.testing.assert_allclose(F.l1_loss(x, y, reduction="sum").item(), 3.5)
    np.testing.assert_allclose(F.smooth_l1_loss(x, y, reduction="none").data, [0, 0.125, 2.5])
    np.testing.assert_allclose(F.smooth_l1_loss(x, y, reduction="none", beta=0.0).data,
                               [0, 0.5, 3])
    np.testing.assert_allclose(F.huber_loss(x, y, reduction="none", delta=2.0).data,
                               [0, 0.125, 4.0])


def test_one_hot():
    out = F.one_hot(ad.tensor([0, 2, 1]))
    assert out.dtype == np.int64 and out.data.tolist() == [[1, 0, 0], [0, 0, 1], [0, 1, 0]]
    assert F.one_hot(ad.tensor([[1]]), num_classes=4).shape == (1, 1, 4)
    with pytest.raises(IndexError, match="valid: 0 to 2"):
        F.one_hot(ad.tensor([3]), 3)
    with pytest.raises(TypeError, match="long"):
        F.one_hot(ad.tensor([1.0]))


def test_module_forms_match_functional_forms():
    x, y = leaf(randn(4, 3)), ad.tensor([0, 1, 2, 1])
    w = ad.tensor([1.0, 2.0, 0.5], dtype=ad.float64)
    pairs = [
        (nn.CrossEntropyLoss(weight=w, label_smoothing=0.2),
         F.cross_entropy(x, y, weight=w, label_smoothing=0.2)),
        (nn.NLLLoss(reduction="sum"), F.nll_loss(x, y, reduction="sum")),
        (nn.MultiMarginLoss(p=2, margin=0.5), F.multi_margin_loss(x, y, p=2, margin=0.5)),
    ]
    for module, expected in pairs:
        np.testing.assert_allclose(module(x, y).data, expected.data)
    t = ad.tensor(RNG.random((4, 3)))
    assert nn.MSELoss()(x, t).item() == F.mse_loss(x, t).item()
    assert nn.BCEWithLogitsLoss(pos_weight=w)(x, t).item() == \
        F.binary_cross_entropy_with_logits(x, t, pos_weight=w).item()
    assert "weight" in nn.CrossEntropyLoss(weight=w).state_dict()


# --- errors ---------------------------------------------------------------------------------------

def test_float_labels_for_index_targets_error_names_dtype_shape_and_fix():
    with pytest.raises(TypeError, match=r"float64.*\(4,\).*probabilities.*\(4, 3\).*long\(\)"):
        F.cross_entropy(ad.randn(4, 3), ad.tensor([0.0, 1.0, 2.0, 1.0], dtype=ad.float64))


def test_out_of_range_labels_error():
    with pytest.raises(IndexError, match=r"class index 3.*3 classes \(valid: 0 to 2"):
        F.cross_entropy(ad.randn(2, 3), ad.tensor([0, 3]))
    with pytest.raises(IndexError, match="class index -1"):
        F.nll_loss(ad.randn(2, 3), ad.tensor([-1, 0]))
    with pytest.raises(IndexError, match="class index 5"):
        F.multi_margin_loss(ad.randn(2, 3), ad.tensor([5, 0]))


def test_shape_mismatch_errors():
    with pytest.raises(ValueError, match=r"target.*\(4, 1\).*needs target shape \(4,\).*squeeze"):
        F.cross_entropy(ad.randn(4, 3), ad.tensor([[0], [1], [2], [1]]))
    with pytest.raises(ValueError, match=r"target shape \(4,\) differs from input shape \(4, 1\)"):
        F.mse_loss(ad.randn(4, 1), ad.randn(4))
    with pytest.raises(ValueError, match=r"weight.*\(3,\).*\(2,\)"):
        F.cross_entropy(ad.randn(4, 3), ad.tensor([0, 1, 2, 1]), weight=ad.ones(2))
    with pytest.raises(ValueError, match="between|probability in \\[0, 1\\]"):
        F.binary_cross_entropy(ad.tensor([1.5]), ad.tensor([1.0]))
    with pytest.raises(ValueError, match="reduction"):
        F.mse_loss(ad.ones(1), ad.ones(1), reduction="avg")
    with pytest.raises(TypeError, match="floating-point.*float\\(\\)"):
        F.cross_entropy(ad.tensor([[1, 2]]), ad.tensor([0]))


def test_all_ignored_mean_is_nan_like_pytorch():
    loss = F.cross_entropy(ad.randn(2, 3), ad.tensor([-100, -100]))
    assert math.isnan(loss.item())


# --- finite differences ---------------------------------------------------------------------------

Y = ad.tensor([0, 3, 1, -100, 2])  # -100: the default ignore_index
W = ad.tensor([0.5, 1.0, 2.0, 1.5], dtype=ad.float64)
LOSS_GRADIENT_CASES = {  # name: (loss of the float64 leaves it names, their names)
    "cross_entropy-weight-smoothing-ignore": (
        lambda x: F.cross_entropy(x, Y, weight=W, label_smoothing=0.3), "x"),
    "cross_entropy-probabilities": (
        lambda x, t: F.cross_entropy(x, t / t.sum(1, keepdim=True), label_smoothing=0.1), "xt"),
    "multi_margin-p2-weight": (
        lambda x: F.multi_margin_loss(x, ad.tensor([0, 3, 1, 1, 2]), p=2, weight=W), "x"),
    "binary_cross_entropy-weight": (lambda p, t: F.binary_cross_entropy(p, t, weight=W), "pt"),
    "bce_with_logits-pos_weight": (
        lambda x, t: F.binary_cross_entropy_with_logits(x, t, pos_weight=W), "xt"),
    "smooth_l1-beta": (lambda x, t: F.smooth_l1_loss(x, t, beta=0.5), "xt"),
    "huber-delta": (lambda x, t: F.huber_loss(x, t, delta=0.5), "xt"),
}


@pytest.mark.parametrize("name", LOSS_GRADIENT_CASES)
def test_loss_gradients_match_finite_differences(name):
    """autodiff.testing's gradcheck (every element, a random upstream vector, float64; as tight
    as atol 1e-6, rtol 1e-5) and gradgradcheck, with respect to logits, probabilities and
    targets alike."""
    fn, names = LOSS_GRADIENT_CASES[name]
    rng = np.random.default_rng(7)
    data = {"x": leaf(rng.standard_normal((5, 4))), "t": leaf(rng.random((5, 4))),
            "p": leaf(rng.uniform(0.05, 0.95, (5, 4)))}
    inputs = tuple(data[n] for n in names)
    assert gradcheck(fn, inputs, atol=1e-6, rtol=1e-5)
    assert gradgradcheck(fn, inputs)


# --- PyTorch cross-checks -------------------------------------------------------------------------

CE_CASES = [
    dict(), dict(weight=True), dict(ignore_index=True), dict(weight=True, ignore_index=True),
    dict(label_smoothing=0.2), dict(label_smoothing=0.2, weight=True, ignore_index=True),
    dict(ignore_index=True, label_smoothing=0.1),
]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", CE_CASES, ids=lambda c: "-".join(c) or "plain")
@pytest.mark.parametrize("shape", [(6, 4), (3, 4, 5), (4,)], ids=["NC", "NCd", "C"])
def test_cross_entropy_index_targets_match_torch(torch, shape, case, reduction):
    n_classes = shape[1] if len(shape) > 1 else shape[0]
    tshape = shape[:1] + shape[2:] if len(shape) > 1 else ()
    y = RNG.integers(0, n_classes, tshape)
    if case.get("ignore_index") and y.ndim:
        y.flat[::3] = 1  # class 1 is the ignored one
    kw = dict(reduction=reduction, label_smoothing=case.get("label_smoothing", 0.0))
    if case.get("ignore_index"):
        kw["ignore_index"] = 1
    w = RNG.uniform(0.5, 2.0, n_classes)
    ours_w = dict(weight=ad.tensor(w)) if case.get("weight") else {}
    theirs_w = dict(weight=torch.tensor(w)) if case.get("weight") else {}
    compare_with_torch(
        lambda x: F.cross_entropy(x, ad.tensor(y), **ours_w, **kw),
        lambda x: torch.nn.functional.cross_entropy(x, torch.tensor(y), **theirs_w, **kw),
        randn(*shape) * 3)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", [dict(), dict(weight=True), dict(label_smoothing=0.25),
                                  dict(weight=True, label_smoothing=0.1)],
                         ids=lambda c: "-".join(c) or "plain")
@pytest.mark.parametrize("shape", [(5, 3), (2, 3, 4), (3,)], ids=["NC", "NCd", "C"])
def test_cross_entropy_probability_targets_match_torch(torch, shape, case, reduction):
    cdim = 1 if len(shape) > 1 else 0
    q = RNG.random(shape)
    q = q / q.sum(cdim, keepdims=True)
    w = RNG.uniform(0.5, 2.0, shape[cdim])
    kw = dict(reduction=reduction, label_smoothing=case.get("label_smoothing", 0.0))
    ours_w = dict(weight=ad.tensor(w)) if case.get("weight") else {}
    theirs_w = dict(weight=torch.tensor(w)) if case.get("weight") else {}
    compare_with_torch(
        lambda x, t: F.cross_entropy(x, t, **ours_w, **kw),
        lambda x, t: torch.nn.functional.cross_entropy(x, t, **theirs_w, **kw),
        randn(*shape), q)


def test_cross_entropy_extreme_logits_match_torch(torch):
    x = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4], [3.0, 3.0, 3.0]])
    y = np.array([1, 2, 0])
    for kw in (dict(), dict(label_smoothing=0.1)):
        compare_with_torch(
            lambda a: F.cross_entropy(a, ad.tensor(y), **kw),
            lambda a: torch.nn.functional.cross_entropy(a, torch.tensor(y), **kw), x)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore", [False, True])
def test_nll_loss_matches_torch(torch, reduction, weighted, ignore):
    y = RNG.integers(0, 4, 7)
    y[0] = 2
    kw = dict(reduction=reduction, ignore_index=2 if ignore else -100)
    w = RNG.uniform(0.5, 2, 4)
    compare_with_torch(
        lambda x: F.nll_loss(x.log_softmax(1), ad.tensor(y),
                             weight=ad.tensor(w) if weighted else None, **kw),
        lambda x: torch.nn.functional.nll_loss(x.log_softmax(1), torch.tensor(y),
                                               weight=torch.tensor(w) if weighted else None,
                                               **kw),
        randn(7, 4))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name,kw", [("mse_loss", {}), ("l1_loss", {}),
                                     ("smooth_l1_loss", {}), ("smooth_l1_loss", {"beta": 0.3}),
                                     ("smooth_l1_loss", {"beta": 0.0}), ("huber_loss", {}),
                                     ("huber_loss", {"delta": 0.4})])
def test_regression_losses_match_torch(torch, name, kw, reduction):
    x, t = randn(4, 5), randn(4, 5)
    x[0, :3] = t[0, :3]  # exact ties: the subgradient at d = 0
    compare_with_torch(
        lambda a, b: getattr(F, name)(a, b, reduction=reduction, **kw),
        lambda a, b: getattr(torch.nn.functional, name)(a, b, reduction=reduction, **kw),
        x, t)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_cross_entropy_matches_torch(torch, reduction, weighted):
    p = RNG.uniform(0.01, 0.99, (6, 3))
    t = RNG.random((6, 3))
    w = RNG.uniform(0.5, 2, 3)
    compare_with_torch(
        lambda a, b: F.binary_cross_entropy(a, b, weight=ad.tensor(w) if weighted else None,
                                            reduction=reduction),
        lambda a, b: torch.nn.functional.binary_cross_entropy(
            a, b, weight=torch.tensor(w) if weighted else None, reduction=reduction),
        p, t, rtol=1e-9)


def test_binary_cross_entropy_at_zero_and_one_matches_torch_values(torch):
    p = np.array([0.0, 1.0, 0.0, 1.0])
    t = np.array([1.0, 0.0, 0.0, 1.0])
    ours = F.binary_cross_entropy(ad.tensor(p), ad.tensor(t), reduction="none").data
    theirs = torch.nn.functional.binary_cross_entropy(torch.tensor(p), torch.tensor(t),
                                                      reduction="none").detach().numpy()
    np.testing.assert_allclose(ours, theirs)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("pos_weighted", [False, True])
def test_bce_with_logits_matches_torch(torch, reduction, weighted, pos_weighted):
    x = randn(5, 3) * 4
    x[0] = [0.0, 50.0, -50.0]
    t = RNG.random((5, 3))
    w, pw = RNG.uniform(0.5, 2, (5, 1)), RNG.uniform(0.5, 3, 3)
    compare_with_torch(
        lambda a, b: F.binary_cross_entropy_with_logits(
            a, b, weight=ad.tensor(w) if weighted else None, reduction=reduction,
            pos_weight=ad.tensor(pw) if pos_weighted else None),
        lambda a, b: torch.nn.functional.binary_cross_entropy_with_logits(
            a, b, weight=torch.tensor(w) if weighted else None, reduction=reduction,
            pos_weight=torch.tensor(pw) if pos_weighted else None),
        x, t)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p,margin,weighted", [(1, 1.0, False), (1, 1.0, True), (2, 0.5, False),
                                               (2, 1.0, True)])
@pytest.mark.parametrize("shape", [(6, 4), (4,)], ids=["NC", "C"])
def test_multi_margin_loss_matches_torch(torch, shape, p, margin, weighted, reduction):
    y = RNG.integers(0, 4, shape[:-1])
    w = RNG.uniform(0.5, 2, 4)
    compare_with_torch(
        lambda a: F.multi_margin_loss(a, ad.tensor(y), p=p, margin=margin,
                                      weight=ad.tensor(w) if weighted else None,
                                      reduction=reduction),
        lambda a: torch.nn.functional.multi_margin_loss(
            a, torch.tensor(y), p=p, margin=margin,
            weight=torch.tensor(w) if weighted else None, reduction=reduction),
        randn(*shape))


def test_float32_cross_entropy_matches_torch(torch):
    x = (randn(64, 10) * 5).astype(np.float32)
    y = RNG.integers(0, 10, 64)
    ours = F.cross_entropy(ad.tensor(x), ad.tensor(y))
    assert ours.dtype == np.float32
    np.testing.assert_allclose(
        ours.item(), torch.nn.functional.cross_entropy(torch.tensor(x), torch.tensor(y)).item(),
        rtol=1e-6)
