"""nn.AdaptiveLogSoftmaxWithLoss against torch.nn's: the printout, parameter names, the output
and loss with their gradients for targets in the shortlist and in every cluster, log_prob,
predict, unbatched inputs and the errors; LinearCrossEntropyLoss and F.linear_cross_entropy."""
import numpy as np
import pytest

import autodiff as ad
import nn
from _torch import assert_close, require_torch, to_torch

torch = require_torch()


def _pair(head_bias=False, cutoffs=(3, 6), n_classes=10, in_features=8):
    torch.manual_seed(0)
    theirs = torch.nn.AdaptiveLogSoftmaxWithLoss(in_features, n_classes, list(cutoffs),
                                                 div_value=2.0, head_bias=head_bias).double()
    ours = nn.AdaptiveLogSoftmaxWithLoss(in_features, n_classes, list(cutoffs), div_value=2.0,
                                         head_bias=head_bias).double()
    ours.load_state_dict({k: ad.tensor(v.detach().numpy().copy())
                          for k, v in theirs.state_dict().items()})
    return ours, theirs


def test_layout_and_printout_match_torch():
    ours, theirs = _pair(head_bias=True)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())


@pytest.mark.parametrize("head_bias", [False, True])
@pytest.mark.parametrize("target", [[0, 4, 9, 2, 7, 5], [1, 2, 0, 1, 2, 0], [8, 9, 7, 6, 9, 6]],
                         ids=["all-clusters", "shortlist-only", "last-cluster-only"])
def test_output_loss_and_gradients_match_torch(head_bias, target):
    ours, theirs = _pair(head_bias)
    x = np.random.default_rng(1).standard_normal((6, 8))
    xa, xt = ad.tensor(x, requires_grad=True), to_torch(x, requires_grad=True)
    o, t = ours(xa, ad.tensor(target)), theirs(xt, torch.tensor(target))
    assert_close(o.output, t.output, tol=1e-10)
    assert_close(o.loss, t.loss, tol=1e-10)
    (o.output.sum() * 0.3 + o.loss).backward()
    (t.output.sum() * 0.3 + t.loss).backward()
    assert_close(xa.grad, xt.grad, tol=1e-10)
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
        assert_close(p.grad, q.grad, tol=1e-10, err_msg=name)


def test_log_prob_predict_and_unbatched_match_torch():
    ours, theirs = _pair()
    x = np.random.default_rng(2).standard_normal((5, 8))
    assert_close(ours.log_prob(ad.tensor(x)), theirs.log_prob(to_torch(x)), tol=1e-10)
    assert_close(ours.predict(ad.tensor(x)), theirs.predict(to_torch(x)))
    # (torch 2.13's own log_prob fails on a 1D input; ours gives the batched row)
    assert_close(ours.log_prob(ad.tensor(x[0])), ours.log_prob(ad.tensor(x))[0], tol=1e-12)
    o, t = ours(ad.tensor(x[0]), ad.tensor(7)), theirs(to_torch(x[0]), torch.tensor(7))
    assert_close(o.output, t.output, tol=1e-10)
    assert_close(o.loss, t.loss, tol=1e-10)
    probs = np.exp(ours.log_prob(ad.tensor(x)).data).sum(axis=1)
    np.testing.assert_allclose(probs, 1.0, rtol=1e-12)


@pytest.mark.parametrize("cutoffs", [[], [6, 3], [0, 3], [3, 10], [3, 3]])
def test_bad_cutoffs_raise_value_error(cutoffs):
    with pytest.raises(ValueError, match="cutoffs"):
        nn.AdaptiveLogSoftmaxWithLoss(8, 10, cutoffs)
    with pytest.raises(ValueError):
        torch.nn.AdaptiveLogSoftmaxWithLoss(8, 10, cutoffs)


def test_bad_targets_and_shapes_raise_runtime_error():
    ours, _ = _pair()
    x = ad.tensor(np.zeros((3, 8)))
    with pytest.raises(RuntimeError, match=r"\[0, 9\].*\[0, 10\]"):
        ours(x, ad.tensor([0, 10, 2]))
    with pytest.raises(RuntimeError, match="batch dimension"):
        ours(x, ad.tensor([0, 1]))
    with pytest.raises(RuntimeError, match="multi-target"):
        ours(x, ad.tensor([[0, 1, 2]]))
    with pytest.raises(RuntimeError, match="2D input"):
        ours(ad.tensor(np.zeros((3, 2, 8))), ad.tensor([0, 1, 2]))


# --- LinearCrossEntropyLoss (PyTorch 2.13): cross_entropy of a linear map ----------------------

@pytest.mark.parametrize("out_features,bias", [((), False), ((), True), ((2, 3), True)])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_linear_cross_entropy_loss_matches_torch(out_features, bias, smoothing):
    torch.manual_seed(0)
    weight = np.linspace(0.5, 1.5, 5)
    theirs = torch.nn.LinearCrossEntropyLoss(4, 5, out_features=out_features, bias=bias,
                                             weight=torch.tensor(weight),
                                             label_smoothing=smoothing, dtype=torch.float64)
    ours = nn.LinearCrossEntropyLoss(4, 5, out_features=out_features, bias=bias,
                                     weight=ad.tensor(weight), label_smoothing=smoothing,
                                     dtype=ad.float64)
    assert repr(ours) == repr(theirs)
    ours.load_state_dict({k: ad.tensor(v.detach().numpy().copy())
                          for k, v in theirs.state_dict().items()})
    rng = np.random.default_rng(3)
    x = rng.standard_normal((6, 4))
    y = rng.integers(0, 5, (6,) + out_features)
    y[0] = -100  # ignored (ignore_index None means -100 for class indices)
    xa, xt = ad.tensor(x, requires_grad=True), to_torch(x, requires_grad=True)
    o, t = ours(xa, ad.tensor(y)), theirs(xt, torch.tensor(y))
    assert_close(o, t, tol=1e-10)
    o.backward()
    t.backward()
    assert_close(xa.grad, xt.grad, tol=1e-10)
    assert_close(ours.linear.weight.grad, theirs.linear.weight.grad, tol=1e-10)


def test_linear_cross_entropy_functional_and_errors_match_torch():
    rng = np.random.default_rng(4)
    x, w, b = rng.standard_normal(4), rng.standard_normal((5, 4)), rng.standard_normal(5)
    o = nn.functional.linear_cross_entropy(ad.tensor(x), ad.tensor(w), ad.tensor(2),
                                           linear_bias=ad.tensor(b), reduction="none")
    t = torch.nn.functional.linear_cross_entropy(to_torch(x), to_torch(w), torch.tensor(2),
                                                 linear_bias=to_torch(b), reduction="none")
    assert_close(o, t, tol=1e-12)
    with pytest.raises(RuntimeError, match="in_features"):
        nn.functional.linear_cross_entropy(ad.tensor(x), ad.tensor(w[:, :3]), ad.tensor(2))
    with pytest.raises(RuntimeError, match="dimensionality 1 or 2"):
        nn.functional.linear_cross_entropy(ad.tensor(np.zeros((2, 2, 4))), ad.tensor(w),
                                           ad.tensor([[1, 2], [0, 0]]))
    with pytest.raises(RuntimeError, match="weight shape"):
        nn.LinearCrossEntropyLoss(4, 5, weight=ad.ones(3))
