"""Loss fixes checked against PyTorch and against written-out values: ignored positions holding
-inf/NaN logits, a class weight that requires grad, infinite scores in the margin losses,
infinite differences in smooth_l1/huber, kl_div's negative targets."""
import numpy as np
import pytest

import autodiff as ad
import nn
import nn.functional as F

from _torch import assert_close, pair, require_torch, to_numpy, to_torch

torch = require_torch()
TF = torch.nn.functional

pytestmark = pytest.mark.filterwarnings("ignore:reduction. .mean. divides:UserWarning")


def lib_f(lib):
    return TF if lib is torch else F


def run_both(fn, *arrays, upstream=None):
    """fn(lib, *leaves) on autodiff and torch leaves (float arrays require grad); returns
    (ours, theirs, our leaves, torch leaves) after backpropagating `upstream` (ones)"""
    ours_in, theirs_in = [], []
    for a in arrays:
        a = np.asarray(a)
        o, t = pair(a, requires_grad=a.dtype.kind == "f")
        ours_in.append(o)
        theirs_in.append(t)
    ours, theirs = fn(ad, *ours_in), fn(torch, *theirs_in)
    g = np.ones(to_numpy(theirs).shape) if upstream is None else upstream
    g = np.asarray(g, to_numpy(theirs).dtype)
    ours.backward(ad.tensor(g))
    theirs.backward(to_torch(g))
    return ours, theirs, ours_in, theirs_in


def assert_same_grads(ours_in, theirs_in):
    for i, (a, t) in enumerate(zip(ours_in, theirs_in)):
        if t.requires_grad:
            assert_close(a.grad, t.grad, err_msg=f"gradient {i}")


# --- ignored positions whose logits are -inf or NaN ----------------------------------------------

LOGITS = {
    "neg_inf_class0": [[-np.inf, 0.0, 1.0], [0.5, 0.2, 0.1]],
    "neg_inf_row_but_one": [[-np.inf, -np.inf, 1.0], [0.5, 0.2, 0.1]],
    "nan_class0": [[np.nan, 0.0, 1.0], [0.5, 0.2, 0.1]],
    "nan_row": [[np.nan, np.nan, np.nan], [0.5, 0.2, 0.1]],
}
OPTIONS = {
    "plain": {},
    "weight": {"weight": np.array([1.0, 2.0, 3.0])},
    "label_smoothing": {"label_smoothing": 0.1},
    "weight_and_smoothing": {"weight": np.array([1.0, 2.0, 3.0]), "label_smoothing": 0.2},
}


def _kwargs(lib, options):
    return {k: (to_torch(v) if lib is torch else ad.tensor(v)) if isinstance(v, np.ndarray)
            else v for k, v in options.items()}


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("options", sorted(OPTIONS))
@pytest.mark.parametrize("logits", sorted(LOGITS))
@pytest.mark.parametrize("ignore_index", [-100, 0])
def test_cross_entropy_ignored_nonfinite_matches_torch(logits, options, reduction,
                                                       ignore_index):
    x = np.array(LOGITS[logits])
    y = np.array([ignore_index, 1])

    def fn(lib, x, y):
        return lib_f(lib).cross_entropy(x, y, ignore_index=ignore_index, reduction=reduction,
                                        **_kwargs(lib, OPTIONS[options]))
    ours, theirs, oi, ti = run_both(fn, x, y)
    assert np.isfinite(to_numpy(ours)).all()
    assert_close(ours, theirs)
    assert_same_grads(oi, ti)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("logits", sorted(LOGITS))
@pytest.mark.parametrize("weighted", [False, True])
def test_nll_loss_ignored_nonfinite_matches_torch(logits, reduction, weighted):
    """nll_loss leaves the ignored row out entirely: a zero gradient there, even for NaN."""
    x = np.array(LOGITS[logits])

    def fn(lib, x, y):
        w = lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64) if weighted else None
        return lib_f(lib).nll_loss(x, y, weight=w, reduction=reduction)
    ours, theirs, oi, ti = run_both(fn, x, np.array([-100, 1]))
    assert_close(ours, theirs)
    assert_same_grads(oi, ti)
    np.testing.assert_array_equal(to_numpy(oi[0].grad)[0], [0.0, 0.0, 0.0])


def test_ignored_nonfinite_written_out():
    """The values PyTorch gives (the ignored row contributes nothing)"""
    x = ad.tensor(np.array(LOGITS["neg_inf_class0"]), requires_grad=True)
    y = ad.tensor([-100, 1])
    assert F.nll_loss(x, y).item() == pytest.approx(-0.2, abs=1e-15)
    loss = F.cross_entropy(x, y)
    assert loss.item() == pytest.approx(1.1800989458406055, rel=1e-12)
    loss.backward()
    np.testing.assert_array_equal(to_numpy(x.grad)[0], [0.0, 0.0, 0.0])
    p = np.exp([0.5, 0.2, 0.1]) / np.exp([0.5, 0.2, 0.1]).sum()
    np.testing.assert_allclose(to_numpy(x.grad)[1], p - [0, 1, 0], rtol=1e-12)
    assert F.cross_entropy(x, y, label_smoothing=0.1).item() == \
        pytest.approx(1.1734322791739389, rel=1e-12)
    assert F.cross_entropy(x, y, weight=ad.tensor([1.0, 1.0, 1.0])).item() == \
        pytest.approx(1.1800989458406055, rel=1e-12)
    xn = ad.tensor(np.array([[np.nan, 0.0], [0.1, 0.2]]))
    assert F.cross_entropy(xn, ad.tensor([-100, 1])).item() == \
        pytest.approx(0.6443966600735709, rel=1e-12)
    np.testing.assert_array_equal(
        to_numpy(F.cross_entropy(x, y, reduction="none")), [0.0, 1.1800989458406055])


def test_padded_sequence_masked_with_neg_inf():
    """(N, C, T) logits, the padded steps masked to -inf at every class but one and ignored"""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 4, 5))
    x[1, 1:, 3:] = -np.inf
    y = rng.integers(0, 4, (2, 5))
    y[1, 3:] = -100

    def fn(lib, x, y):
        return lib_f(lib).cross_entropy(x, y, label_smoothing=0.05)
    ours, theirs, oi, ti = run_both(fn, x, y)
    assert np.isfinite(ours.item())
    assert_close(ours, theirs)
    assert_same_grads(oi, ti)


def test_module_cross_entropy_ignored_neg_inf():
    x = ad.tensor(np.array(LOGITS["neg_inf_class0"]))
    assert nn.CrossEntropyLoss()(x, ad.tensor([-100, 1])).item() == \
        pytest.approx(1.1800989458406055, rel=1e-12)
    assert nn.NLLLoss(ignore_index=0)(x, ad.tensor([0, 1])).item() == \
        pytest.approx(-0.2, abs=1e-15)


# --- a class weight that requires grad: PyTorch refuses it ---------------------------------------

X = np.array([[0.1, 0.5, -0.3], [1.0, -1.0, 0.2]])
Y = np.array([0, 2])
W = np.array([1.0, 2.0, 3.0])

REFUSED = {
    "nll_loss": ("nll_loss_forward", lambda L, x, y, w: lib_f(L).nll_loss(x, y, weight=w)),
    "nll_loss_none": ("nll_loss_forward",
                      lambda L, x, y, w: lib_f(L).nll_loss(x, y, weight=w, reduction="none")),
    "cross_entropy": ("nll_loss_forward",
                      lambda L, x, y, w: lib_f(L).cross_entropy(x, y, weight=w)),
    "cross_entropy_smoothing": ("nll_loss_forward", lambda L, x, y, w: lib_f(L).cross_entropy(
        x, y, weight=w, label_smoothing=0.1)),
    "cross_entropy_ignored": ("nll_loss_forward", lambda L, x, y, w: lib_f(L).cross_entropy(
        x, y, weight=w, ignore_index=2)),
    "cross_entropy_1d": ("nll_loss_forward",
                         lambda L, x, y, w: lib_f(L).cross_entropy(x[0], y[0], weight=w)),
    "cross_entropy_3d": ("nll_loss2d_forward", lambda L, x, y, w: lib_f(L).cross_entropy(
        x.unsqueeze(2), y.unsqueeze(1), weight=w)),
    "cross_entropy_module": ("nll_loss_forward",
                             lambda L, x, y, w: L.nn.CrossEntropyLoss(weight=w)(x, y)
                             if L is torch else nn.CrossEntropyLoss(weight=w)(x, y)),
    "multi_margin_loss": ("multi_margin_loss",
                          lambda L, x, y, w: lib_f(L).multi_margin_loss(x, y, weight=w)),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
@pytest.mark.parametrize("input_grad", [False, True])
def test_weight_requiring_grad_raises_like_torch(name, input_grad):
    """Refused (PyTorch's error and message) in grad mode; computed under no_grad"""
    function, fn = REFUSED[name]
    message = (f"The function '{function}' is not differentiable with respect to argument "
               f"'weight'. This input cannot have requires_grad True.")
    with pytest.raises(RuntimeError) as theirs:
        fn(torch, torch.tensor(X, requires_grad=input_grad), torch.tensor(Y),
           torch.tensor(W, requires_grad=True))
    assert str(theirs.value) == message
    with pytest.raises(RuntimeError) as ours:
        fn(ad, ad.tensor(X, requires_grad=input_grad), ad.tensor(Y),
           ad.tensor(W, requires_grad=True))
    assert str(ours.value) == message
    with torch.no_grad():
        theirs = fn(torch, torch.tensor(X), torch.tensor(Y), torch.tensor(W, requires_grad=True))
    with ad.no_grad():
        ours = fn(ad, ad.tensor(X), ad.tensor(Y), ad.tensor(W, requires_grad=True))
    assert_close(ours, theirs)


def test_weight_requiring_grad_probability_targets_differentiated():
    """Index targets refuse the weight's gradient; probability targets (plain tensor ops in
    PyTorch) differentiate it, as PyTorch does"""
    with pytest.raises(RuntimeError, match="not differentiable with respect to argument"):
        F.cross_entropy(ad.tensor(X), ad.tensor(Y), weight=ad.tensor(W, requires_grad=True),
                        label_smoothing=0.1)
    t = np.array([[0.2, 0.3, 0.5], [0.6, 0.1, 0.3]])

    def fn(lib, x, t, w):
        return lib_f(lib).cross_entropy(x, t, weight=w, label_smoothing=0.1)
    ours, theirs, oi, ti = run_both(fn, X, t, W)
    assert_close(ours, theirs)
    assert_same_grads(oi, ti)


# --- margin losses with infinite scores ----------------------------------------------------------

@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("weighted", [False, True])
def test_multi_margin_loss_infinite_target_score(p, weighted):
    x = np.array([[np.inf, 1.0, 0.0], [0.3, -0.2, 0.5]])

    def fn(lib, x, y):
        w = lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64) if weighted else None
        return lib_f(lib).multi_margin_loss(x, y, p=p, weight=w, reduction="none")
    ours, theirs, oi, ti = run_both(fn, x, np.array([0, 1]))
    assert to_numpy(ours)[0] == 0.0
    assert_close(ours, theirs)
    assert_same_grads(oi, ti)


def test_multi_margin_loss_written_out():
    assert F.multi_margin_loss(ad.tensor([[np.inf, 1.0, 0.0]]), ad.tensor([0])).item() == 0.0
    # x_y = -inf: every other class violates the margin infinitely
    assert F.multi_margin_loss(ad.tensor([[-np.inf, 1.0, 0.0]]), ad.tensor([0])).item() == np.inf


def test_multilabel_margin_loss_infinite_target_scores():
    x = np.array([[np.inf, 0.0, 1.0, -np.inf], [0.1, 0.2, 0.3, 0.4]])
    y = np.array([[0, 3, -1, 0], [1, -1, 0, 0]])
    ours = F.multilabel_margin_loss(ad.tensor(x), ad.tensor(y), reduction="none")
    theirs = TF.multilabel_margin_loss(torch.tensor(x), torch.tensor(y), reduction="none")
    assert to_numpy(ours)[0] == np.inf
    assert_close(ours, theirs)
    assert F.multilabel_margin_loss(ad.tensor(x[:1]), ad.tensor(y[:1])).item() == np.inf
    # a finite row beside it keeps its value and gradient
    xf = ad.tensor(x[1:], requires_grad=True)
    tf = torch.tensor(x[1:], requires_grad=True)
    F.multilabel_margin_loss(xf, ad.tensor(y[1:])).backward()
    TF.multilabel_margin_loss(tf, torch.tensor(y[1:])).backward()
    assert_close(xf.grad, tf.grad)


# --- smooth_l1 / huber with an infinite difference -----------------------------------------------

@pytest.mark.parametrize("name,kwargs,expected", [
    ("smooth_l1_loss", {}, [-1.0, -0.5]),
    ("smooth_l1_loss", {"beta": 2.0}, [-1.0, -0.25]),
    ("huber_loss", {}, [-1.0, -0.5]),
    ("huber_loss", {"delta": 2.0}, [-2.0, -0.5]),
])
def test_smooth_l1_huber_infinite_difference_gradient(name, kwargs, expected):
    x = np.array([1.0, 0.0])
    y = np.array([np.inf, 0.5])

    def fn(lib, x, y):
        return getattr(lib_f(lib), name)(x, y, reduction="sum", **kwargs)
    ours, theirs, oi, ti = run_both(fn, x, y)
    assert ours.item() == np.inf
    assert_close(ours, theirs)
    np.testing.assert_array_equal(to_numpy(oi[0].grad), expected)
    assert_same_grads(oi, ti)


# --- kl_div: a negative target is NaN, as PyTorch's xlogy(t, t) ---------------------------------

def test_kl_div_negative_target_is_nan():
    inp = np.log(np.array([[0.2, 0.8]]))
    tgt = np.array([[-0.5, 1.5]])
    assert np.isnan(F.kl_div(ad.tensor(inp), ad.tensor(tgt), reduction="sum").item())
    assert np.isnan(TF.kl_div(torch.tensor(inp), torch.tensor(tgt), reduction="sum").item())


@pytest.mark.parametrize("reduction", ["none", "sum", "batchmean"])
def test_kl_div_targets_negative_zero_positive_match_torch(reduction):
    inp = np.log(np.array([[0.2, 0.3, 0.5], [0.1, 0.6, 0.3]]))
    tgt = np.array([[-0.5, 0.0, 1.5], [0.25, 0.0, 0.75]])
    ours = F.kl_div(ad.tensor(inp), ad.tensor(tgt), reduction=reduction)
    theirs = TF.kl_div(torch.tensor(inp), torch.tensor(tgt), reduction=reduction)
    assert_close(ours, theirs)
    if reduction == "none":
        out = to_numpy(ours)
        assert np.isnan(out[0, 0]) and out[0, 1] == 0.0 and out[1, 1] == 0.0
        assert out[1, 0] == pytest.approx(0.25 * (np.log(0.25) - np.log(0.1)), rel=1e-12)
    # the gradient with respect to the input is -target, NaN target or not
    x = ad.tensor(inp, requires_grad=True)
    F.kl_div(x, ad.tensor(tgt), reduction="sum").backward()
    np.testing.assert_array_equal(to_numpy(x.grad), -tgt)
