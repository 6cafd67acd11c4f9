"""nn.Module, Parameter and containers: discovery, names, modes, state dicts, scopes, repr."""
import copy
import pickle
from collections import OrderedDict

import numpy as np
import pytest

import autodiff as ad
import nn
from autodiff.testing import gradcheck, gradgradcheck

from _stateless import as_function
from _torch import assert_close, to_numpy, to_torch


class Block(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.fc = nn.Linear(d, d)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.fc(x)) + x


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.inp = nn.Linear(3, 4)
        self.blocks = nn.ModuleList([Block(4), Block(4)])
        self.scale = nn.Parameter(ad.ones(1))
        self.register_buffer("steps", ad.zeros(1))
        self.head = nn.Linear(4, 2, bias=False)

    def forward(self, x):
        x = self.inp(x)
        for b in self.blocks:
            x = b(x)
        return self.head(x * self.scale)


# --- Parameter ----------------------------------------------------------------------------------

def test_parameter_is_a_leaf_tensor_requiring_grad():
    p = nn.Parameter(ad.randn(2, 3))
    assert isinstance(p, ad.Tensor) and isinstance(p, nn.Parameter)
    assert p.requires_grad and p.is_leaf and p.grad_fn is None
    assert not nn.Parameter(ad.zeros(2), requires_grad=False).requires_grad
    y = p * 2
    assert type(y) is ad.Tensor and y.grad_fn is not None
    assert repr(p).startswith("Parameter containing:\ntensor(")


def test_parameter_shares_memory_with_the_tensor_it_wraps():
    t = ad.zeros(3)
    p = nn.Parameter(t)
    with ad.no_grad():
        p.add_(1.0)
    assert t.data.tolist() == [1.0, 1.0, 1.0]


def test_parameter_keeps_identity_and_leafness_under_in_place_updates():
    lin = nn.Linear(3, 2)
    w = lin.weight
    lin(ad.randn(4, 3)).sum().backward()
    with ad.no_grad():
        w -= 0.1 * w.grad  # what an optimizer does
        w.add_(w.grad, alpha=-0.1)
        w.mul_(0.5)
    assert lin.weight is w and w.is_leaf and w.requires_grad and isinstance(w, nn.Parameter)
    assert list(lin.parameters())[0] is w


def test_parameter_in_place_while_recording_raises():
    p = nn.Parameter(ad.zeros(2))
    with pytest.raises(RuntimeError, match="no_grad"):
        p.add_(1.0)


def test_parameter_rejects_integer_data():
    with pytest.raises(RuntimeError, match="floating"):  # (torch's class)
        nn.Parameter(ad.tensor([1, 2]))


def test_parameter_survives_deepcopy_and_pickle():
    lin = nn.Linear(2, 2)
    for clone in (copy.deepcopy(lin), pickle.loads(pickle.dumps(lin))):
        assert isinstance(clone.weight, nn.Parameter) and clone.weight.requires_grad
        assert clone.weight is not lin.weight
        np.testing.assert_array_equal(clone.weight.data, lin.weight.data)
        assert not np.shares_memory(clone.weight.data, lin.weight.data)
        assert [n for n, _ in clone.named_parameters()] == ["weight", "bias"]


# --- discovery and names ------------------------------------------------------------------------

def test_named_parameters_in_registration_order_with_dotted_names():
    names = [n for n, _ in Net().named_parameters()]
    assert names == ["scale", "inp.weight", "inp.bias", "blocks.0.fc.weight", "blocks.0.fc.bias",
                     "blocks.1.fc.weight", "blocks.1.fc.bias", "head.weight"]


def test_children_modules_and_named_modules():
    net = Net()
    assert [n for n, _ in net.named_children()] == ["inp", "blocks", "head"]
    assert list(net.children())[1] is net.blocks
    names = [n for n, _ in net.named_modules()]
    assert names == ["", "inp", "blocks", "blocks.0", "blocks.0.fc", "blocks.0.act", "blocks.1",
                     "blocks.1.fc", "blocks.1.act", "head"]
    assert len(list(net.modules())) == 10
    assert net.get_submodule("blocks.1.fc") is net.blocks[1].fc
    assert net.get_parameter("blocks.0.fc.bias") is net.blocks[0].fc.bias


def test_shared_parameters_and_modules_are_listed_once():
    lin = nn.Linear(2, 2)
    seq = nn.Sequential(lin, nn.ReLU(), lin)
    assert len(list(seq.parameters())) == 2
    assert len(list(seq.modules())) == 3
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_parameter_counts_of_the_course_networks():
    count = lambda m: sum(p.numel() for p in m.parameters())
    assert count(nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))) == 26
    assert count(nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 4), nn.ReLU(),
                               nn.Linear(4, 2))) == 46
    assert count(nn.MLP(3, [4], 2)) == 26 and count(nn.MLP(3, [4, 4], 2)) == 46


def test_reassigning_and_deleting_attributes():
    m = nn.Linear(2, 3)
    m.bias = None
    assert [n for n, _ in m.named_parameters()] == ["weight"]
    assert m(ad.ones(1, 2)).shape == (1, 3)
    with pytest.raises(TypeError, match="nn.Parameter"):
        m.weight = ad.zeros(3, 2)
    m.extra = nn.Parameter(ad.zeros(1))
    del m.extra
    assert [n for n, _ in m.named_parameters()] == ["weight"]
    with pytest.raises(AttributeError, match="'Linear' object has no attribute 'nope'"):
        m.nope


def test_assigning_before_init_names_the_fix():
    class Bad(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(1, 1)
            super().__init__()

    with pytest.raises(AttributeError, match="super\\(\\).__init__"):
        Bad()


def test_register_parameter_buffer_add_module():
    m = nn.Module()
    m.register_parameter("w", nn.Parameter(ad.ones(2)))
    m.register_parameter("absent", None)
    m.register_buffer("count", ad.zeros(1))
    m.register_buffer("scratch", ad.zeros(1), persistent=False)
    m.add_module("child", nn.Linear(1, 1))
    assert [n for n, _ in m.named_parameters()] == ["w", "child.weight", "child.bias"]
    assert [n for n, _ in m.named_buffers()] == ["count", "scratch"]
    assert list(m.state_dict()) == ["w", "count", "child.weight", "child.bias"]
    with pytest.raises(TypeError, match="nn.Parameter"):
        m.register_parameter("x", ad.zeros(1))
    with pytest.raises(KeyError, match="'.'"):
        m.add_module("a.b", nn.ReLU())
    with pytest.raises(TypeError, match="Module"):
        m.add_module("c", 3)


# --- modes, zero_grad, apply -------------------------------------------------------------------

def test_train_eval_propagate():
    net = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Dropout(0.5), nn.BatchNorm1d(2)))
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())


def test_zero_grad():
    lin = nn.Linear(2, 2)
    lin(ad.ones(1, 2)).sum().backward()
    lin.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.data.any() for p in lin.parameters())
    lin(ad.ones(1, 2)).sum().backward()
    lin.zero_grad()
    assert all(p.grad is None for p in lin.parameters())


def test_gradients_accumulate_until_zero_grad():
    lin = nn.Linear(2, 1)
    x = ad.tensor([[1.0, 2.0]])
    lin(x).sum().backward()
    lin(x).sum().backward()
    np.testing.assert_allclose(lin.weight.grad.data, [[2.0, 4.0]])


def test_apply_visits_children_first_then_self():
    order = []
    net = nn.Sequential(nn.Linear(1, 1), nn.Sequential(nn.ReLU()))
    assert net.apply(lambda m: order.append(type(m).__name__)) is net
    assert order == ["Linear", "ReLU", "Sequential", "Sequential"]

    def init_weights(m):
        if isinstance(m, nn.Linear):
            nn.init.constant_(m.weight, 0.5)
    net.apply(init_weights)
    assert net[0].weight.item() == 0.5


def test_double_casts_in_place_and_keeps_parameter_objects():
    lin = nn.Linear(2, 2)
    w = lin.weight
    lin.double()
    assert (lin.weight is w and w.dtype == np.float64
            and lin(ad.ones(1, 2, dtype=ad.float64)).dtype == np.float64)
    lin.float()
    assert w.dtype == np.float32


# --- state dicts ---------------------------------------------------------------------------------

def test_state_dict_round_trip_copies_in_place():
    a, b = Net(), Net()
    with ad.no_grad():
        a.steps.fill_(7.0)
    w_before = b.inp.weight
    result = b.load_state_dict(a.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert b.inp.weight is w_before
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb
        np.testing.assert_array_equal(va.data, vb.data)
    assert b.steps.item() == 7.0
    x = ad.randn(2, 3)
    np.testing.assert_array_equal(a(x).data, b(x).data)


def test_state_dict_keys_order_and_detached_values():
    sd = Net().state_dict()
    assert list(sd) == ["scale", "steps", "inp.weight", "inp.bias", "blocks.0.fc.weight",
                        "blocks.0.fc.bias", "blocks.1.fc.weight", "blocks.1.fc.bias",
                        "head.weight"]
    assert not sd["scale"].requires_grad
    assert isinstance(sd, OrderedDict)


def test_load_state_dict_errors_name_the_keys():
    net = Net()
    sd = net.state_dict()
    del sd["head.weight"]
    sd["extra.weight"] = ad.zeros(1)
    with pytest.raises(RuntimeError) as e:
        net.load_state_dict(sd)
    msg = str(e.value)
    assert '"head.weight"' in msg and '"extra.weight"' in msg and "strict=False" in msg
    result = net.load_state_dict(sd, strict=False)
    assert result.missing_keys == ["head.weight"] and result.unexpected_keys == ["extra.weight"]
    sd = net.state_dict()
    sd["inp.weight"] = ad.zeros(5, 3)
    with pytest.raises(RuntimeError, match=r'size mismatch for "inp.weight".*\(5, 3\).*\(4, 3\)'):
        net.load_state_dict(sd, strict=False)


def test_load_state_dict_from_torch(torch):
    t = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.ReLU(),
                            torch.nn.Linear(4, 2))
    m = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
    assert list(t.state_dict()) == list(m.state_dict())
    m.load_state_dict({k: to_numpy(v) for k, v in t.state_dict().items()})
    t.eval(), m.eval()
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    assert_close(m(ad.tensor(x)), t(to_torch(x)), rtol=1e-5, atol=1e-6)


# --- name scopes -----------------------------------------------------------------------------

def _scopes(out):
    return {node.scope for node in ad.toposort([out])}


def test_call_enters_name_scope_of_the_attribute_path():
    net = Net()
    out = net(ad.randn(2, 3))
    scopes = _scopes(out)
    assert ("inp",) in scopes and ("head",) in scopes
    assert ("blocks", "0", "fc") in scopes and ("blocks", "1", "fc") in scopes
    assert ("blocks", "0") in scopes  # the residual add inside Block.forward
    assert () in scopes  # the outermost module enters no scope (x * scale)
    assert ad.grad_mode._state.scope == ()


def test_sequential_scopes_and_top_level_call():
    seq = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Linear(2, 2)))
    out = seq(ad.randn(1, 2))
    assert _scopes(out) >= {("0",), ("1", "0")}
    out = seq[1](ad.randn(1, 2))  # called directly: the outermost call enters no scope
    assert _scopes(out) == {("0",)}
    assert _scopes(seq[0](ad.randn(1, 2))) == {()}


def test_scope_is_restored_after_an_exception():
    seq = nn.Sequential(nn.Linear(2, 2))
    with pytest.raises(RuntimeError):
        seq(ad.randn(1, 3))
    assert ad.grad_mode._state.scope == ()
    assert seq(ad.randn(1, 2)).grad_fn.scope == ("0",)


# --- containers --------------------------------------------------------------------------------

def test_sequential_indexing_len_iter_append_slice():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    assert len(seq) == 2 and isinstance(seq[-1], nn.ReLU)
    seq.append(nn.Linear(3, 1))
    assert len(seq) == 3 and [type(m).__name__ for m in seq] == ["Linear", "ReLU", "Linear"]
    sub = seq[1:]
    assert isinstance(sub, nn.Sequential) and len(sub) == 2 and sub[1] is seq[2]
    assert seq(ad.ones(4, 2)).shape == (4, 1)
    del seq[1]
    assert [n for n, _ in seq.named_children()] == ["0", "1"]
    with pytest.raises(IndexError, match="out of range"):
        seq[5]
    named = nn.Sequential(OrderedDict([("fc", nn.Linear(1, 1)), ("act", nn.Tanh())]))
    assert [n for n, _ in named.named_parameters()] == ["fc.weight", "fc.bias"]
    with pytest.raises(TypeError, match="not a Module"):
        nn.Sequential(lambda x: x)


def test_module_list_and_dict():
    ml = nn.ModuleList([nn.Linear(1, 1)])
    ml.append(nn.ReLU())
    ml += [nn.Tanh()]
    assert len(ml) == 3 and isinstance(ml[2], nn.Tanh)
    assert [n for n, _ in ml.named_parameters()] == ["0.weight", "0.bias"]
    with pytest.raises(NotImplementedError, match="iterate"):
        ml(ad.ones(1))
    md = nn.ModuleDict({"a": nn.Linear(1, 2), "b": nn.ReLU()})
    md["c"] = nn.Linear(2, 1)
    assert list(md) == ["a", "b", "c"] and "c" in md and len(md) == 3
    assert [n for n, _ in md.named_parameters()] == ["a.weight", "a.bias", "c.weight", "c.bias"]
    assert isinstance(md.pop("b"), nn.ReLU) and list(md.keys()) == ["a", "c"]


def test_forward_missing_names_the_class():
    class NoForward(nn.Module):
        pass

    with pytest.raises(NotImplementedError, match="NoForward"):
        NoForward()(ad.ones(1))


# --- repr ----------------------------------------------------------------------------------------

def test_repr_like_pytorch():
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Dropout(0.2),
                        nn.Sequential(nn.LayerNorm(4), nn.Linear(4, 2, bias=False)))
    assert repr(net) == (
        "Sequential(\n"
        "  (0): Linear(in_features=3, out_features=4, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Dropout(p=0.2, inplace=False)\n"
        "  (3): Sequential(\n"
        "    (0): LayerNorm((4,), eps=1e-05, elementwise_affine=True, bias=True)\n"
        "    (1): Linear(in_features=4, out_features=2, bias=False)\n"
        "  )\n"
        ")")


def test_repr_matches_torch(torch):
    t = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.GELU(),
                            torch.nn.LeakyReLU(), torch.nn.Embedding(5, 2),
                            torch.nn.CrossEntropyLoss(), torch.nn.Flatten(),
                            torch.nn.Softmax(dim=1), torch.nn.LayerNorm(3),
                            torch.nn.Embedding(5, 2, padding_idx=0), torch.nn.PReLU(),
                            torch.nn.Softplus(), torch.nn.ELU(), torch.nn.MSELoss(reduction="sum"),
                            torch.nn.Identity(), torch.nn.SiLU(), torch.nn.Tanh(),
                            torch.nn.BatchNorm1d(3, affine=False))
    m = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.GELU(), nn.LeakyReLU(),
                      nn.Embedding(5, 2), nn.CrossEntropyLoss(), nn.Flatten(), nn.Softmax(dim=1),
                      nn.LayerNorm(3), nn.Embedding(5, 2, padding_idx=0), nn.PReLU(),
                      nn.Softplus(), nn.ELU(), nn.MSELoss(reduction="sum"), nn.Identity(),
                      nn.SiLU(), nn.Tanh(), nn.BatchNorm1d(3, affine=False))
    assert repr(m) == repr(t)


# --- composition facts -------------------------------------------------------------------------

def test_stacked_linears_collapse_to_one_affine_map():
    l1, l2 = nn.Linear(3, 5), nn.Linear(5, 2)
    x = ad.randn(4, 3)
    W = l2.weight.data @ l1.weight.data
    b = l2.weight.data @ l1.bias.data + l2.bias.data
    np.testing.assert_allclose(l2(l1(x)).data, x.data @ W.T + b, rtol=1e-5, atol=1e-6)


def test_residual_network_gradients_match_finite_differences():
    """gradcheck (as tight as atol 1e-6, rtol 1e-5) and gradgradcheck with respect to every
    parameter, float64."""
    net = Net().double()
    x = ad.randn(3, 3, dtype=ad.float64)
    fn, params = as_function(net)
    assert len(params) == 8  # inp.weight, inp.bias, 2 x (fc.weight, fc.bias), scale, head.weight
    assert gradcheck(fn, (x, *params), atol=1e-6, rtol=1e-5)
    assert gradgradcheck(fn, (x, *params))


# --- the package surface and an end-to-end loop ---------------------------------------------------

def test_nn_exports_the_api():
    for name in ["Module", "Parameter", "Sequential", "ModuleList", "ModuleDict", "Linear", "MLP",
                 "Identity", "Flatten", "Dropout", "BatchNorm1d", "LayerNorm", "Embedding",
                 "ReLU", "LeakyReLU", "PReLU", "ELU", "GELU", "Sigmoid", "Tanh", "Softplus",
                 "Softmax", "LogSoftmax", "CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss",
                 "SmoothL1Loss", "HuberLoss", "BCELoss", "BCEWithLogitsLoss", "MultiMarginLoss",
                 "functional", "init", "data", "optim", "utils", "save", "load"]:
        assert hasattr(nn, name), name
    import nn.functional as F
    for name in ["cross_entropy", "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss",
                 "huber_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits",
                 "multi_margin_loss", "linear", "relu", "leaky_relu", "elu", "gelu", "softplus",
                 "sigmoid", "tanh", "softmax", "log_softmax", "dropout", "one_hot", "pad",
                 "batch_norm", "layer_norm", "embedding"]:
        assert callable(getattr(F, name)), name


def test_readme_training_loop_learns_moons():
    from nn.data import DataLoader, TensorDataset
    from nn.data.datasets import make_moons

    X, y = make_moons(1000, noise=0.1, seed=0)
    loader = DataLoader(TensorDataset(X, y), batch_size=50, shuffle=True)
    model = nn.MLP(2, [32, 32], 2, activation="relu")
    loss_fn = nn.CrossEntropyLoss()
    opt = nn.optim.Adam(model.parameters(), lr=1e-2)
    params = list(model.parameters())
    for epoch in range(5):
        model.train()
        for xb, yb in loader:
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
    model.eval()
    with ad.no_grad():
        acc = (model(X).argmax(1) == y).float().mean().item()
    assert acc > 0.95
    assert all(a is b for a, b in zip(params, model.parameters()))  # updated in place


def test_forward_hooks_record_and_replace():
    net = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    seen = {}
    handle = net[1].register_forward_hook(lambda m, args, out: seen.setdefault("relu", out))
    net(ad.randn(4, 2))
    assert seen["relu"].shape == (4, 3) and (seen["relu"].data >= 0).all()
    handle.remove()
    seen.clear()
    net(ad.randn(4, 2))
    assert not seen
    with net[2].register_forward_pre_hook(lambda m, args: (args[0] * 0,)):
        out = net(ad.randn(4, 2))
    np.testing.assert_allclose(out.data, np.broadcast_to(net[2].bias.data, (4, 1)))
    assert not net[2]._forward_pre_hooks


def test_second_order_gradients_through_a_network(torch):
    """Hessian-vector products through Linear, tanh, GELU, LayerNorm and cross-entropy."""
    rng = np.random.default_rng(0)
    W1, b1, W2 = rng.standard_normal((5, 3)), rng.standard_normal(5), rng.standard_normal((4, 5))
    x, y, v = rng.standard_normal((6, 3)), rng.integers(0, 4, 6), rng.standard_normal((5, 3))
    import nn.functional as F

    def ours(w):
        h = F.layer_norm(F.gelu(F.linear(ad.tensor(x), w, ad.tensor(b1))).tanh(), (5,))
        return F.cross_entropy(F.linear(h, ad.tensor(W2)), ad.tensor(y), label_smoothing=0.1)

    def theirs(w):
        tf = torch.nn.functional
        h = tf.layer_norm(tf.gelu(tf.linear(to_torch(x), w, to_torch(b1))).tanh(), (5,))
        return tf.cross_entropy(tf.linear(h, to_torch(W2)), to_torch(y), label_smoothing=0.1)

    w = ad.tensor(W1, requires_grad=True)
    g, = ad.grad(ours(w), [w], create_graph=True)
    hv, = ad.grad((g * ad.tensor(v)).sum(), [w])
    tw = to_torch(W1, requires_grad=True)
    tg, = torch.autograd.grad(theirs(tw), [tw], create_graph=True)
    thv, = torch.autograd.grad((tg * to_torch(v)).sum(), [tw])
    assert_close(g, tg, rtol=1e-6, atol=1e-7)
    assert_close(hv, thv, rtol=1e-5, atol=1e-6)
