"""PyTorch cross-checks of nn's losses: signatures, printed forms, state_dicts, the deprecated
size_average/reduce, values and gradients (second order where PyTorch has it) over every
reduction and option, CTC against PyTorch's forward-backward, and error classes."""
import inspect
import warnings

import numpy as np
import pytest

import autodiff as ad
import nn
import nn.functional as F
from autodiff.testing import gradcheck

from _torch import assert_close, require_torch, run_outputs, same_error, to_numpy

torch = require_torch()
TF = torch.nn.functional

# PyTorch warns on kl_div's reduction='mean' (not the KL divergence); so do we (tested below)
pytestmark = pytest.mark.filterwarnings("ignore:reduction. .mean. divides:UserWarning")

REDUCTIONS = ["mean", "sum", "none"]
RNG = np.random.default_rng(14)


def fn_of(lib):
    return TF if lib is torch else F


def nn_of(lib):
    return torch.nn if lib is torch else nn


def randn(*shape):
    return RNG.standard_normal(shape)


def signs(*shape):
    return RNG.choice([-1.0, 1.0], size=shape)


# --- the API: signatures, printed forms, state_dicts, legacy arguments ----------------------------

F_LOSSES = ["nll_loss", "cross_entropy", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
            "binary_cross_entropy", "binary_cross_entropy_with_logits", "multi_margin_loss",
            "kl_div", "poisson_nll_loss", "gaussian_nll_loss", "cosine_embedding_loss",
            "margin_ranking_loss", "hinge_embedding_loss", "soft_margin_loss",
            "multilabel_margin_loss", "multilabel_soft_margin_loss", "triplet_margin_loss",
            "triplet_margin_with_distance_loss", "ctc_loss"]


def _params(fn):
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]


@pytest.mark.parametrize("name", F_LOSSES)
def test_functional_signature_is_pytorchs(name):
    """Same parameter names, order, kinds and defaults: positional calls port unchanged."""
    assert _params(getattr(F, name)) == _params(getattr(TF, name))


@pytest.mark.parametrize("name", nn.losses.__all__)
def test_module_constructor_signature_is_pytorchs(name):
    ours, theirs = getattr(nn, name).__init__, getattr(torch.nn, name).__init__
    assert _params(ours) == _params(theirs)


def _modules(lib):
    """One instance of each loss module, with non-default arguments."""
    m = nn_of(lib)
    w = lib.tensor(np.array([0.5, 1.0, 2.0]))
    return [
        m.L1Loss(reduction="sum"), m.MSELoss(), m.NLLLoss(weight=w, ignore_index=1),
        m.CrossEntropyLoss(weight=w, label_smoothing=0.1), m.BCELoss(weight=w),
        m.BCEWithLogitsLoss(pos_weight=w), m.SmoothL1Loss(beta=0.5), m.HuberLoss(delta=2.0),
        m.MultiMarginLoss(p=2, weight=w), m.KLDivLoss(reduction="batchmean", log_target=True),
        m.PoissonNLLLoss(log_input=False, full=True), m.GaussianNLLLoss(full=True, eps=1e-3),
        m.CosineEmbeddingLoss(margin=0.2), m.MarginRankingLoss(margin=0.5),
        m.HingeEmbeddingLoss(margin=2.0), m.SoftMarginLoss(), m.MultiLabelMarginLoss(),
        m.MultiLabelSoftMarginLoss(weight=w), m.TripletMarginLoss(margin=0.5, p=1, swap=True),
        m.TripletMarginWithDistanceLoss(), m.TripletMarginWithDistanceLoss(
            distance_function=m.PairwiseDistance(p=1.0), margin=2.0),
        m.TripletMarginWithDistanceLoss(distance_function=lambda a, b: (a - b).abs().sum(-1)),
        m.CTCLoss(blank=2, zero_infinity=True),
    ]


def test_module_reprs_state_dicts_and_attributes_are_pytorchs():
    for ours, theirs in zip(_modules(ad), _modules(torch)):
        assert repr(ours) == repr(theirs)
        assert list(ours.state_dict()) == list(theirs.state_dict()), type(ours).__name__
        for k, v in theirs.__dict__.items():
            if not k.startswith("_") and isinstance(v, (int, float, str, bool)):
                assert getattr(ours, k) == v, (type(ours).__name__, k)


LEGACY = [(None, False), (False, None), (True, True), (False, False), (True, False), (None, True),
          (False, True)]


@pytest.mark.parametrize("size_average,reduce", LEGACY)
def test_size_average_and_reduce_map_to_a_reduction_with_a_warning(size_average, reduce):
    for name in ("L1Loss", "CrossEntropyLoss", "KLDivLoss", "TripletMarginLoss",
                 "MultiLabelSoftMarginLoss"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = getattr(torch.nn, name)(size_average=size_average, reduce=reduce)
        with pytest.warns(UserWarning, match=f"size_average and reduce are deprecated.*"
                                             f"reduction='{theirs.reduction}'"):
            ours = getattr(nn, name)(size_average=size_average, reduce=reduce,
                                     reduction="mean")
        assert ours.reduction == theirs.reduction
    x, t = randn(3, 4), randn(3, 4)
    y = RNG.integers(0, 4, 3)
    cases = [
        lambda lib, a: fn_of(lib).l1_loss(a, lib.tensor(t), size_average, reduce),
        lambda lib, a: fn_of(lib).cross_entropy(a, lib.tensor(y), None, size_average,
                                                reduce=reduce),
        lambda lib, a: fn_of(lib).soft_margin_loss(a, lib.tensor(np.sign(t)), size_average,
                                                   reduce),
        lambda lib, a: fn_of(lib).triplet_margin_loss(a, a * 2, lib.tensor(t),
                                                      size_average=size_average, reduce=reduce),
    ]
    for fn in cases:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run_outputs(torch, fn, x)
        with pytest.warns(UserWarning, match="size_average and reduce are deprecated"):
            fn(ad, ad.tensor(x))


def test_kl_div_mean_warns_like_pytorch():
    x, t = ad.randn(2, 3).log_softmax(1), ad.rand(2, 3)
    with pytest.warns(UserWarning, match="reduction: 'mean' divides.*batchmean"):
        F.kl_div(x, t)
    with pytest.warns(UserWarning, match="batchmean"):
        nn.KLDivLoss()(x, t)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.kl_div(x, t, reduction="batchmean")
        nn.KLDivLoss(reduction="sum")(x, t)


# --- values and gradients -------------------------------------------------------------------------

@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(reduction, log_target):
    t = RNG.uniform(0.1, 1, (2, 3, 4))
    t = np.log(t) if log_target else t
    run_outputs(torch, lambda lib, x, tt: nn_of(lib).KLDivLoss(
        reduction=reduction, log_target=log_target)(x.log_softmax(1), tt), randn(2, 3, 4), t,
        second_order=True)
    if not log_target:  # 0 log 0 = 0 (a constant target: PyTorch's derivative there is nan)
        t[0, 0, :2] = 0.0
        run_outputs(torch, lambda lib, x: fn_of(lib).kl_div(
            x.log_softmax(1), lib.tensor(t), reduction=reduction), randn(2, 3, 4),
            second_order=True)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("log_input,full", [(True, False), (True, True), (False, False),
                                            (False, True)])
def test_poisson_nll_loss(log_input, full, reduction):
    x = randn(3, 5) if log_input else RNG.uniform(0.1, 3, (3, 5))
    t = RNG.poisson(2.0, (3, 5)).astype(float)  # 0, 1 and above: Stirling's term where t > 1
    t[0, :3] = [0.0, 1.0, 4.0]
    run_outputs(torch, lambda lib, a: fn_of(lib).poisson_nll_loss(
        a, lib.tensor(t), log_input=log_input, full=full, eps=1e-3, reduction=reduction), x,
        second_order=True)
    # with respect to the target too, away from 0 (where PyTorch's derivative of the masked-out
    # Stirling term is 0 * log(0) = nan; ours is the term's true derivative there, 0)
    run_outputs(torch, lambda lib, a, b: fn_of(lib).poisson_nll_loss(
        a, b, log_input=log_input, full=full, eps=1e-3, reduction=reduction), x, t + 0.5,
        second_order=True)
    run_outputs(torch, lambda lib, a: nn_of(lib).PoissonNLLLoss(
        log_input, full, reduction=reduction)(a, lib.tensor(t)), x)


GAUSSIAN_VARS = {  # var for input (4, 3)
    "same": lambda: RNG.uniform(0.2, 2, (4, 3)),
    "per sample": lambda: RNG.uniform(0.2, 2, 4),  # input's shape without its last dim
    "(4, 1)": lambda: RNG.uniform(0.2, 2, (4, 1)),
    "(1, 3)": lambda: RNG.uniform(0.2, 2, (1, 3)),
    "below eps": lambda: np.where(RNG.random((4, 3)) < 0.5, 1e-4, 0.5),  # clamped at eps
}


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("var", GAUSSIAN_VARS)
def test_gaussian_nll_loss(var, full, reduction):
    """The clamp of var at eps passes no gradient correction (PyTorch clamps under no_grad)."""
    eps = 1e-2 if var == "below eps" else 1e-6
    run_outputs(torch, lambda lib, a, b, v: nn_of(lib).GaussianNLLLoss(
        full=full, eps=eps, reduction=reduction)(a, b, v), randn(4, 3), randn(4, 3),
        GAUSSIAN_VARS[var](), second_order=True)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gaussian_nll_loss_float_var_and_broadcast_target(reduction):
    run_outputs(torch, lambda lib, a, b: fn_of(lib).gaussian_nll_loss(
        a, b, 0.7, reduction=reduction), randn(4, 3), randn(4, 3), second_order=True)
    run_outputs(torch, lambda lib, a, b, v: fn_of(lib).gaussian_nll_loss(
        a, b, v, reduction=reduction), randn(4, 3), randn(1, 3), RNG.uniform(0.5, 1, 4))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [0.0, 0.3, -0.2])
def test_cosine_embedding_loss(margin, reduction):
    y = np.array([1.0, -1.0, -1.0, 1.0, 0.0, -1.0])  # 0: no loss (PyTorch's rule)
    run_outputs(torch, lambda lib, a, b: nn_of(lib).CosineEmbeddingLoss(
        margin, reduction=reduction)(a, b, lib.tensor(y)), randn(6, 4), randn(6, 4),
        second_order=True)
    for target in (1.0, -1.0):  # one pair: (D,) inputs, 0-d target
        run_outputs(torch, lambda lib, a, b: fn_of(lib).cosine_embedding_loss(
            a, b, lib.tensor(target), margin, reduction=reduction), randn(4), randn(4),
            second_order=True)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [0.0, 0.5])
def test_margin_ranking_loss(margin, reduction):
    for shape in ((6,), (2, 3)):
        run_outputs(torch, lambda lib, a, b, y: nn_of(lib).MarginRankingLoss(
            margin, reduction=reduction)(a, b, y), randn(*shape), randn(*shape),
            signs(*shape), second_order=True)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [1.0, 0.5])
def test_hinge_embedding_and_soft_margin_losses(margin, reduction):
    y = signs(4, 3)
    run_outputs(torch, lambda lib, a: nn_of(lib).HingeEmbeddingLoss(
        margin, reduction=reduction)(a, lib.tensor(y)), randn(4, 3) * 2)
    run_outputs(torch, lambda lib, a: fn_of(lib).soft_margin_loss(
        a, lib.tensor(y), reduction=reduction), randn(4, 3) * 3, second_order=True)
    run_outputs(torch, lambda lib, a: nn_of(lib).SoftMarginLoss(reduction=reduction)(
        a, lib.tensor(y[0])), randn(3))


def test_soft_margin_loss_does_not_overflow():
    x = ad.tensor([800.0, -800.0, 0.0], requires_grad=True)
    loss = F.soft_margin_loss(x, ad.tensor([-1.0, 1.0, 1.0]), reduction="none")
    np.testing.assert_allclose(loss.data, [800.0, 800.0, np.log(2)])
    loss.sum().backward()
    np.testing.assert_allclose(x.grad.data, [1.0, -1.0, -0.5])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight", [None, (4,), (3, 1)])
def test_multilabel_soft_margin_loss(weight, reduction):
    arrays = [randn(3, 4), (RNG.random((3, 4)) > 0.5).astype(float)]
    if weight is not None:
        arrays.append(RNG.uniform(0.5, 2, weight))
    run_outputs(torch, lambda lib, a, t, *w: nn_of(lib).MultiLabelSoftMarginLoss(
        *w, reduction=reduction)(a, t), *arrays, second_order=True)
    run_outputs(torch, lambda lib, a, t: fn_of(lib).multilabel_soft_margin_loss(
        a, t, reduction=reduction), randn(4), RNG.random(4))  # (C,): one sample


MLM_TARGETS = np.array([[3, 0, -1, 1],    # targets 3 and 0; what follows -1 is ignored
                        [1, 2, 3, 0],     # every class a target: no pairs
                        [-1, 0, 0, 0],    # no targets
                        [2, 2, -1, 0],    # a repeated target counts twice (as PyTorch)
                        [1, -1, 2, 3]])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multilabel_margin_loss(reduction):
    """First order only: PyTorch has no second derivative (ours is zero, the hinge's)."""
    x = randn(5, 4)
    run_outputs(torch, lambda lib, a: nn_of(lib).MultiLabelMarginLoss(reduction=reduction)(
        a, lib.tensor(MLM_TARGETS)), x)
    run_outputs(torch, lambda lib, a: fn_of(lib).multilabel_margin_loss(
        a, lib.tensor(MLM_TARGETS[0]), reduction=reduction), x[0])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p,swap,margin,eps", [(2.0, False, 1.0, 1e-6), (2.0, True, 0.5, 1e-6),
                                               (1.0, False, 2.0, 1e-6), (3.0, True, 1.0, 0.1),
                                               (0.5, False, 1.0, 1e-6)])
def test_triplet_margin_loss(p, swap, margin, eps, reduction):
    def fn(lib, a, b, c):
        return nn_of(lib).TripletMarginLoss(margin, p, eps, swap, reduction=reduction)(a, b, c)
    run_outputs(torch, fn, randn(5, 4), randn(5, 4), randn(5, 4), second_order=True)
    run_outputs(torch, fn, randn(4), randn(4), randn(4))  # one triplet
    run_outputs(torch, fn, randn(5, 4), randn(1, 4), randn(5, 4))  # broadcast positive


def _cosine_distance(lib):
    return lambda x, y: 1.0 - fn_of(lib).cosine_similarity(x, y)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("distance", ["default", "PairwiseDistance(p=1)", "cosine"])
@pytest.mark.parametrize("swap", [False, True])
def test_triplet_margin_with_distance_loss(distance, swap, reduction):
    def fn(lib, a, b, c):
        dist = {"default": None, "PairwiseDistance(p=1)": nn_of(lib).PairwiseDistance(p=1.0),
                "cosine": _cosine_distance(lib)}[distance]
        return nn_of(lib).TripletMarginWithDistanceLoss(
            distance_function=dist, margin=0.7, swap=swap, reduction=reduction)(a, b, c)
    run_outputs(torch, fn, randn(5, 3), randn(5, 3), randn(5, 3), second_order=True)


# --- CTC ------------------------------------------------------------------------------------------

def _ctc_case(T, lengths, C, blank, repeat=False, seed=0):
    """Targets (padded (N, S) and concatenated) avoiding blank, with input lengths just long
    enough or longer."""
    rng = np.random.default_rng(seed)
    labels = [k for k in range(C) if k != blank]
    rows = []
    for n in lengths:
        row = list(rng.choice(labels, size=n))
        if repeat and n >= 2:
            row[1] = row[0]  # a repeated label needs a blank between: one more step
        rows.append(row)
    width = max(lengths + [1])
    padded = np.array([r + [blank] * (width - len(r)) for r in rows], np.int64)
    concat = np.array(sum(rows, []), np.int64)
    return padded, concat, np.array(lengths)


CTC_CASES = {  # (T, target lengths, C, blank, repeated labels)
    "plain": (6, [3, 1, 2], 5, 0, False),
    "blank last": (5, [2, 3], 4, 3, False),
    "blank in the middle": (7, [4, 2, 1], 5, 2, True),
    "repeats": (6, [3, 3], 3, 0, True),
    "empty targets": (4, [0, 2], 3, 1, False),
    "one step": (1, [1, 0], 3, 0, False),
}


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", CTC_CASES)
def test_ctc_loss_matches_torch(case, reduction):
    T, lengths, C, blank, repeat = CTC_CASES[case]
    padded, concat, tl = _ctc_case(T, lengths, C, blank, repeat)
    il = np.array([T - i % 2 if T > 1 else T for i in range(len(lengths))])
    for targets, as_tuple in ((padded, False), (concat, True)):
        def fn(lib, x):
            lengths_in = ((tuple(il.tolist()), tuple(tl.tolist())) if as_tuple
                          else (lib.tensor(il), lib.tensor(tl)))
            return nn_of(lib).CTCLoss(blank, reduction)(
                x.log_softmax(2), lib.tensor(targets), *lengths_in)
        run_outputs(torch, fn, randn(T, len(lengths), C))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_ctc_loss_dtypes_and_unbatched_input(dtype):
    padded, _, tl = _ctc_case(8, [4, 2], 5, 0, repeat=True)
    il = np.array([8, 6])
    x = (randn(8, 2, 5) * 3).astype(dtype)
    (ours,), _ = run_outputs(torch, lambda lib, a: fn_of(lib).ctc_loss(
        a.log_softmax(2), lib.tensor(padded), lib.tensor(il), lib.tensor(tl)), x)
    assert ours.dtype == dtype
    for tgt in (padded[0], padded[:1]):  # (T, C) log_probs with (S,) or (1, S) targets
        run_outputs(torch, lambda lib, a: fn_of(lib).ctc_loss(
            a.log_softmax(1), lib.tensor(tgt), lib.tensor(8), lib.tensor(4), reduction="none"),
            x[:, 0])
        run_outputs(torch, lambda lib, a: fn_of(lib).ctc_loss(
            a.log_softmax(1), lib.tensor(tgt), (8,), (4,)), x[:, 0])


@pytest.mark.parametrize("zero_infinity", [False, True])
def test_ctc_loss_impossible_alignments(zero_infinity):
    """Targets longer than their inputs allow (a repeat needs a blank between): the loss is inf,
    or 0 with zero_infinity, whose gradient is 0 as PyTorch's; the others are untouched."""
    targets = np.array([[1, 1, 2], [3, 2, 0], [2, 0, 0], [1, 2, 0]])
    il, tl = np.array([3, 1, 0, 4]), np.array([3, 2, 1, 2])  # only the last one is possible
    x = randn(4, 4, 5)
    ours, theirs = [lib.tensor(x, requires_grad=True) for lib in (ad, torch)]
    out = [fn_of(lib).ctc_loss(a.log_softmax(2), lib.tensor(targets), lib.tensor(il),
                               lib.tensor(tl), reduction="none", zero_infinity=zero_infinity)
           for lib, a in ((ad, ours), (torch, theirs))]
    assert_close(out[0], out[1])
    expected = 0.0 if zero_infinity else np.inf
    assert np.all(to_numpy(out[0])[:3] == expected) and np.isfinite(to_numpy(out[0])[3])
    for o in out:
        o.sum().backward()
    assert_close(ours.grad[:, 3], theirs.grad[:, 3])
    assert not np.any(ours.grad.data[:, :3])  # (PyTorch: 0 with zero_infinity, else nan)
    if zero_infinity:
        assert_close(ours.grad, theirs.grad)
        for reduction in ("mean", "sum"):
            run_outputs(torch, lambda lib, a: fn_of(lib).ctc_loss(
                a.log_softmax(2), lib.tensor(targets), lib.tensor(il), lib.tensor(tl),
                reduction=reduction, zero_infinity=True), x)


def test_ctc_loss_of_minus_infinity_log_probs_is_infinite_like_pytorch():
    padded, _, tl = _ctc_case(5, [2, 1], 4, 0)
    lp = torch.tensor(randn(5, 2, 4)).log_softmax(2)
    lp[:, 0, int(padded[0, 0])] = -float("inf")  # the first sequence's first label: never
    for zero_infinity in (False, True):
        theirs = TF.ctc_loss(lp, torch.tensor(padded), (5, 5), tuple(tl), reduction="none",
                             zero_infinity=zero_infinity)
        ours = F.ctc_loss(ad.tensor(lp.numpy()), padded, (5, 5), tuple(tl), reduction="none",
                          zero_infinity=zero_infinity)
        assert_close(ours, theirs)


def test_ctc_loss_zero_input_length():
    lp = randn(3, 2, 4)
    for tl in ([0, 1], [0, 0]):
        run_outputs(torch, lambda lib, a: fn_of(lib).ctc_loss(
            a.log_softmax(2), lib.tensor([[1], [2]]), (0, 3), tuple(tl), reduction="none",
            zero_infinity=True), lp)


def test_ctc_gradient_is_the_derivative_with_respect_to_log_probs():
    """Ours is d loss / d log_probs as given (gradcheck). PyTorch's kernel returns the gradient
    with respect to the logits behind a log_softmax (pytorch/pytorch#52241): for normalized
    log_probs it is ours + exp(log_probs) * upstream at every step inside the input length. The
    two agree once a log_softmax is in the graph (the tests above)."""
    padded, _, tl = _ctc_case(5, [2, 3], 4, 0)
    il = np.array([5, 4])
    lp = torch.tensor(randn(5, 2, 4)).log_softmax(2).numpy()
    leaf = ad.tensor(lp, requires_grad=True)
    F.ctc_loss(leaf, padded, il, tl, reduction="sum").backward()
    t_leaf = torch.tensor(lp, requires_grad=True)
    TF.ctc_loss(t_leaf, torch.tensor(padded), torch.tensor(il), torch.tensor(tl),
                reduction="sum").backward()
    inside = (np.arange(5)[:, None] < il[None, :])[:, :, None]
    np.testing.assert_allclose(leaf.grad.data + np.exp(lp) * inside, t_leaf.grad.numpy(),
                               atol=1e-12)
    assert gradcheck(lambda z: F.ctc_loss(z, padded, il, tl), (ad.tensor(lp,
                                                                         requires_grad=True),))


def test_ctc_loss_is_twice_differentiable():
    padded, _, tl = _ctc_case(4, [2, 1], 3, 0)
    x = ad.tensor(randn(4, 2, 3), requires_grad=True)
    from autodiff.testing import gradgradcheck
    assert gradgradcheck(lambda z: F.ctc_loss(z.log_softmax(2), padded, (4, 3), tuple(tl)),
                         (x,))


# --- NLLLoss / CrossEntropyLoss on (N, C, d1, ...) inputs; modules via state_dicts -------------

def _module_pair(name, **kw):
    """(ours, torch's) with torch's state_dict (weight buffers) copied into ours."""
    w = kw.pop("weight", None)
    theirs = getattr(torch.nn, name)(weight=None if w is None else torch.tensor(w), **kw)
    ours = getattr(nn, name)(weight=None if w is None else ad.zeros(len(w), dtype=ad.float64),
                             **kw)
    ours.load_state_dict({k: ad.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    return ours, theirs


ND_CASES = [dict(), dict(weight=True), dict(ignore_index=2), dict(weight=True, ignore_index=2),
            dict(label_smoothing=0.2, weight=True, ignore_index=2), dict(probabilities=True),
            dict(probabilities=True, weight=True, label_smoothing=0.1)]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", ND_CASES, ids=lambda c: "-".join(c) or "plain")
@pytest.mark.parametrize("shape", [(2, 4, 3, 2), (2, 4, 2, 1, 2)], ids=["NCHW", "NCDHW"])
def test_cross_entropy_and_nll_on_spatial_inputs(shape, case, reduction):
    c = shape[1]
    kw = dict(reduction=reduction)
    if case.get("weight"):
        kw["weight"] = RNG.uniform(0.5, 2, c)
    if "ignore_index" in case:
        kw["ignore_index"] = case["ignore_index"]
    if case.get("probabilities"):
        target = RNG.random(shape)
        target /= target.sum(1, keepdims=True)
    else:
        target = RNG.integers(0, c, shape[:1] + shape[2:])
    ce = _module_pair("CrossEntropyLoss", label_smoothing=case.get("label_smoothing", 0.0),
                      **kw)
    run_outputs(torch, lambda lib, x: ce[lib is torch](x, lib.tensor(target)), randn(*shape),
                second_order=True)
    if not case.get("probabilities") and "label_smoothing" not in case:
        nll = _module_pair("NLLLoss", **kw)
        run_outputs(torch, lambda lib, x: nll[lib is torch](x.log_softmax(1),
                                                            lib.tensor(target)), randn(*shape))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multi_margin_module_from_torch_state_dict(reduction):
    y = RNG.integers(0, 4, 5)
    for p in (1, 2):
        mm = _module_pair("MultiMarginLoss", p=p, margin=0.7, weight=RNG.uniform(0.5, 2, 4),
                          reduction=reduction)
        run_outputs(torch, lambda lib, x: mm[lib is torch](x, lib.tensor(y)), randn(5, 4))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
def test_elementwise_weight_of_regression_losses(name, reduction):
    run_outputs(torch, lambda lib, a, b, w: getattr(fn_of(lib), name)(
        a, b, reduction=reduction, weight=w), randn(3, 4), randn(3, 4),
        RNG.uniform(0.2, 2, (3, 4)), second_order=name != "l1_loss")


# --- errors ---------------------------------------------------------------------------------------

X34 = randn(3, 4)
LP = np.log(np.full((4, 2, 5), 0.2))
TG = np.array([[1, 2], [3, 3]])


def _t(lib, a):
    return lib.tensor(a)


ERRORS = {  # PyTorch raises: so do we, the same class, with a message matching the pattern
    "margin_ranking sizes": (lambda lib: fn_of(lib).margin_ranking_loss(
        _t(lib, X34[0]), _t(lib, X34[1, :3]), _t(lib, X34[2])), "same shape.*\\(4,\\), \\(3,\\)"),
    "margin_ranking dims": (lambda lib: fn_of(lib).margin_ranking_loss(
        _t(lib, X34), _t(lib, X34), _t(lib, X34[0])), "same shape"),
    "cosine 2-d target": (lambda lib: fn_of(lib).cosine_embedding_loss(
        _t(lib, X34), _t(lib, X34), _t(lib, np.ones((3, 1)))), "0-d or 1-d"),
    "cosine 1-d target, 1-d inputs": (lambda lib: fn_of(lib).cosine_embedding_loss(
        _t(lib, X34[0]), _t(lib, X34[0]), _t(lib, np.ones(3))), "1-d target needs 2-d inputs"),
    "cosine target length": (lambda lib: fn_of(lib).cosine_embedding_loss(
        _t(lib, X34), _t(lib, X34), _t(lib, np.ones(2))), "target of shape \\(2,\\)"),
    "multilabel_margin shape": (lambda lib: fn_of(lib).multilabel_margin_loss(
        _t(lib, X34), _t(lib, np.zeros((1, 4), np.int64))), "target of shape \\(1, 4\\)"),
    "multilabel_margin range": (lambda lib: fn_of(lib).multilabel_margin_loss(
        _t(lib, X34[0]), _t(lib, np.array([4, 0, -1, 1]))), "contains 4.*0 to 3.*-1"),
    "multilabel_margin -2": (lambda lib: fn_of(lib).multilabel_margin_loss(
        _t(lib, X34[0]), _t(lib, np.array([-2, 0, -1, 1]))), "contains -2"),
    "multilabel_margin float target": (lambda lib: fn_of(lib).multilabel_margin_loss(
        _t(lib, X34[0]), _t(lib, np.array([1.0, 0, -1, 1]))), "integer.*long\\(\\)"),
    "multilabel_margin 3-d": (lambda lib: fn_of(lib).multilabel_margin_loss(
        _t(lib, X34[None]), _t(lib, np.zeros((1, 3, 4), np.int64))), "vector.*matrix"),
    "multilabel_soft_margin weight": (lambda lib: fn_of(lib).multilabel_soft_margin_loss(
        _t(lib, X34), _t(lib, X34), _t(lib, np.ones(3))), "weight of shape \\(3,\\)"),
    "triplet margin": (lambda lib: fn_of(lib).triplet_margin_loss(
        _t(lib, X34), _t(lib, X34), _t(lib, X34), margin=0.0), "margin must be greater"),
    "triplet module margin": (lambda lib: nn_of(lib).TripletMarginLoss(margin=-1.0),
                              "margin must be greater"),
    "triplet dims": (lambda lib: fn_of(lib).triplet_margin_loss(
        _t(lib, X34), _t(lib, X34[0]), _t(lib, X34)), "same number of dims.*2-d, 1-d and 2-d"),
    "triplet distance margin": (lambda lib: fn_of(lib).triplet_margin_with_distance_loss(
        _t(lib, X34), _t(lib, X34), _t(lib, X34), margin=-0.5), "margin must be greater"),
    "triplet distance module margin": (
        lambda lib: nn_of(lib).TripletMarginWithDistanceLoss(margin=0), "margin must be"),
    "triplet distance dims": (lambda lib: fn_of(lib).triplet_margin_with_distance_loss(
        _t(lib, X34), _t(lib, X34[0]), _t(lib, X34)), "same number of dims"),
    "triplet distance reduction": (lambda lib: fn_of(lib).triplet_margin_with_distance_loss(
        _t(lib, X34), _t(lib, X34), _t(lib, X34), reduction="avg"), "reduction"),
    "gaussian negative var": (lambda lib: fn_of(lib).gaussian_nll_loss(
        _t(lib, X34), _t(lib, X34), _t(lib, -np.ones((3, 4)))), "negative"),
    "gaussian negative float var": (lambda lib: fn_of(lib).gaussian_nll_loss(
        _t(lib, X34), _t(lib, X34), -1.0), "non-negative"),
    "gaussian var size": (lambda lib: fn_of(lib).gaussian_nll_loss(
        _t(lib, X34), _t(lib, X34), _t(lib, np.ones((3, 2)))), "var of shape \\(3, 2\\)"),
    "gaussian 0-d var": (lambda lib: fn_of(lib).gaussian_nll_loss(
        _t(lib, X34), _t(lib, X34), _t(lib, np.array(1.0))), "does not fit"),
    "gaussian reduction": (lambda lib: fn_of(lib).gaussian_nll_loss(
        _t(lib, X34), _t(lib, X34), _t(lib, np.ones((3, 4))), reduction="avg"), "reduction"),
    "poisson reduction": (lambda lib: fn_of(lib).poisson_nll_loss(
        _t(lib, X34), _t(lib, X34), reduction="avg"), "reduction"),
    "poisson shapes": (lambda lib: fn_of(lib).poisson_nll_loss(
        _t(lib, X34), _t(lib, X34[:, :3])), "does not match"),
    "kl_div reduction": (lambda lib: fn_of(lib).kl_div(
        _t(lib, X34), _t(lib, X34), reduction="avg"), "batchmean"),
    "soft_margin shapes": (lambda lib: fn_of(lib).soft_margin_loss(
        _t(lib, X34), _t(lib, np.ones(3))), "does not match"),
    "hinge shapes": (lambda lib: fn_of(lib).hinge_embedding_loss(
        _t(lib, X34), _t(lib, np.ones(3))), "does not match"),
    "multi_margin p": (lambda lib: nn_of(lib).MultiMarginLoss(p=3), "p=1 or p=2"),
    "multi_margin 2-d weight": (lambda lib: nn_of(lib).MultiMarginLoss(
        weight=_t(lib, np.ones((2, 2)))), "1-d"),
    "huber delta": (lambda lib: fn_of(lib).huber_loss(
        _t(lib, X34), _t(lib, X34), delta=0.0), "delta must be positive"),
    "huber delta type": (lambda lib: nn_of(lib).HuberLoss(delta="1"), "float or int"),
    "smooth_l1 beta": (lambda lib: fn_of(lib).smooth_l1_loss(
        _t(lib, X34), _t(lib, X34), beta=-1.0), "non-negative"),
    "mse weight": (lambda lib: fn_of(lib).mse_loss(
        _t(lib, X34), _t(lib, X34), weight=_t(lib, np.ones(4))), "weight of shape \\(4,\\)"),
    "cross_entropy target range": (lambda lib: fn_of(lib).cross_entropy(
        _t(lib, randn(2, 3, 2)), _t(lib, np.array([[0, 1], [3, 0]]))), "class index 3"),
    "cross_entropy float index target": (lambda lib: fn_of(lib).cross_entropy(
        _t(lib, X34), _t(lib, np.array([0.0, 1.0, 2.0]))), "probabilities.*long\\(\\)"),
    "nll_loss spatial target shape": (lambda lib: fn_of(lib).nll_loss(
        _t(lib, randn(2, 3, 4, 5)), _t(lib, np.zeros((2, 4, 4), np.int64))),
        "shape \\(2, 4, 4\\).*needs target shape \\(2, 4, 5\\)"),
    "cross_entropy weight shape": (lambda lib: fn_of(lib).cross_entropy(
        _t(lib, X34), _t(lib, np.array([0, 1, 2])), _t(lib, np.ones(2))), "one entry per class"),
    "multi_margin target range": (lambda lib: fn_of(lib).multi_margin_loss(
        _t(lib, X34), _t(lib, np.array([0, 1, 4]))), "class index 4"),
    "nll_loss reduction": (lambda lib: fn_of(lib).nll_loss(
        _t(lib, X34), _t(lib, np.array([0, 1, 2])), reduction="avg"), "reduction"),
    "ctc blank": (lambda lib: fn_of(lib).ctc_loss(
        _t(lib, LP), _t(lib, TG), (4, 4), (2, 2), blank=5), "blank must be in label range"),
    "ctc negative blank": (lambda lib: fn_of(lib).ctc_loss(
        _t(lib, LP), _t(lib, TG), (4, 4), (2, 2), blank=-1), "blank"),
    "ctc input length": (lambda lib: fn_of(lib).ctc_loss(
        _t(lib, LP), _t(lib, TG), (5, 4), (2, 2)), "input_lengths must be in 0 to T = 4"),
    "ctc negative input length": (lambda lib: fn_of(lib).ctc_loss(
        _t(lib, LP), _t(lib, TG), (4, -1), (2, 2)), "input_lengths"),
    "ctc negative target length": (lambda lib: fn_of(lib).ctc_loss(
        _t(lib, LP), _t(lib, TG), (4, 4), (2, -1)), "target_lengths must be >= 0"),
    "ctc target length": (lambda lib: fn_of(lib).ctc_loss(
        _t(lib, LP), _t(lib, TG), (4, 4), (3, 2)), "longer than the padded targets' width 2"),
    "ctc lengths size": (lambda lib: fn_of(lib).ctc_loss(
        _t(lib, LP), _t(lib, TG), (4, 4, 4), (2, 2)), "one length per sequence, batch size 2"),
    "ctc float lengths": (lambda lib: fn_of(lib).ctc_loss(
        _t(lib, LP), _t(lib, TG), _t(lib, np.array([4.0, 4.0])), _t(lib, np.array([2, 2]))),
        "integral"),
    "ctc int lengths": (lambda lib: fn_of(lib).ctc_loss(
        _t(lib, LP[:, 0]), _t(lib, TG[0]), 4, 2), "tuple of ints"),
    "ctc concatenated length": (lambda lib: fn_of(lib).ctc_loss(
        _t(lib, LP), _t(lib, np.array([1, 2, 3])), (4, 4), (2, 2)), "hold 3 labels.*sum to 4"),
    "ctc padded rows": (lambda lib: fn_of(lib).ctc_loss(
        _t(lib, LP), _t(lib, TG[:1]), (4, 4), (2, 2)), "one row per sequence"),
    "ctc 4-d": (lambda lib: fn_of(lib).ctc_loss(
        _t(lib, LP[None]), _t(lib, TG), (4, 4), (2, 2)), "\\(T, N, C\\)"),
    "ctc reduction": (lambda lib: fn_of(lib).ctc_loss(
        _t(lib, LP), _t(lib, TG), (4, 4), (2, 2), reduction="avg"), "reduction"),
}


@pytest.mark.parametrize("case", ERRORS)
def test_errors_are_pytorchs_classes_with_a_clear_message(case):
    fn, pattern = ERRORS[case]
    same_error(torch, fn)
    with pytest.raises(Exception, match=pattern):
        fn(ad)


def test_ctc_targets_out_of_range_raise_where_pytorch_reads_garbage():
    with pytest.raises(IndexError, match="class 7.*5 classes"):
        F.ctc_loss(ad.tensor(LP), ad.tensor([[1, 7], [3, 3]]), (4, 4), (2, 2))
    with pytest.raises(IndexError, match="class -1"):
        F.ctc_loss(ad.tensor(LP), ad.tensor([1, -1, 3, 3]), (4, 4), (2, 2))


def test_pointwise_losses_raise_where_pytorch_would_broadcast_input_against_target():
    """As mse_loss here: (N, 1) against (N,) compares every pair, so it is an error."""
    x, t = ad.randn(4, 1), ad.randn(4)
    for fn in (F.poisson_nll_loss, F.soft_margin_loss, F.hinge_embedding_loss,
               F.multilabel_soft_margin_loss):
        with pytest.raises(ValueError, match=r"target shape \(4,\) differs from input shape "
                                             r"\(4, 1\)"):
            fn(x, t)
