"""nn reaches autodiff only through its public API: Parameter is an as_subclass view, optimizers
update with the public in-place methods, conv layers go through nn.functional."""
import ast
import copy
import inspect
import pathlib
import pickle

import numpy as np
import pytest

import autodiff as ad
import nn
import nn.functional as F

NN = pathlib.Path(nn.__file__).parent
# autodiff's documented subpackages
PUBLIC_SUBMODULES = {"functional", "testing", "viz", "sequence", "distributed", "threads",
                     "compiler"}


def _private_uses(path):
    """(line, text) of every private autodiff name a file reaches: `from autodiff.x import`, an
    `autodiff._x` / `ad._x` / `Tensor._x` attribute, or an import of a private name."""
    tree = ast.parse(path.read_text())
    aliases = {"autodiff"}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "autodiff":
                    aliases.add(a.asname or a.name)
                    if a.name.count(".") and a.name.split(".")[1] not in PUBLIC_SUBMODULES:
                        found.append((node.lineno, f"import {a.name}"))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("autodiff"):
            parts = node.module.split(".")
            if len(parts) > 1 and parts[1] not in PUBLIC_SUBMODULES:
                found.append((node.lineno, f"from {node.module} import ..."))
            found += [(node.lineno, f"from {node.module} import {a.name}") for a in node.names
                      if a.name.startswith("_")]
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.attr.startswith("_") and not node.attr.startswith("__") \
                and node.value.id in aliases | {"Tensor"}:
            found.append((node.lineno, f"{node.value.id}.{node.attr}"))
    return found


# The internal primitives nn may import, which have no public PyTorch name of their own:
# training-mode batch norm as one node (torch's native_batch_norm differs; F.batch_norm is its
# only caller) and GELU as one node (torch's is torch._C._nn.gelu; F.gelu is its only caller).
ALLOWED = {"functional/normalization.py": [(14, "from autodiff.ops.normalization import ...")],
           "functional/activation.py": [(14, "from autodiff.ops.elementwise import ...")]}


def test_nn_uses_no_private_autodiff_name():
    bad = {str(p.relative_to(NN)): uses for p in sorted(NN.rglob("*.py"))
           if (uses := _private_uses(p)) and uses != ALLOWED.get(str(p.relative_to(NN)))}
    assert not bad, f"nn reaches private autodiff names: {bad}"


def test_nn_never_touches_private_tensor_fields():
    fields = ("._grad", "._requires_grad", "._hooks", "._output_nr", "._mutated", "._const(",
              "._make(", "stamp_mutation", "enter_scope", "exit_scope")
    bad = [(str(p.relative_to(NN)), f) for p in sorted(NN.rglob("*.py"))
           for f in fields if f in p.read_text()]
    assert not bad


def test_import_paths():
    from nn.containers import ModuleDict, ModuleList, ParameterList, Sequential
    from nn.module import Module
    from nn.parameter import Parameter
    assert (nn.Parameter, nn.Module, nn.Sequential, nn.ModuleList, nn.ModuleDict,
            nn.ParameterList) == (Parameter, Module, Sequential, ModuleList, ModuleDict,
                                  ParameterList)
    from nn import module
    assert module.Parameter is Parameter  # Module's registration needs it


# --- Parameter ---------------------------------------------------------------------------------

def test_parameter_is_a_leaf_tensor_sharing_memory():
    t = ad.tensor([1.0, 2.0])
    p = nn.Parameter(t)
    assert isinstance(p, ad.Tensor) and type(p) is nn.Parameter
    assert p.requires_grad and p.is_leaf and p.grad is None and p.grad_fn is None
    assert np.shares_memory(p.data, t.data)  # as torch.nn.Parameter(t)
    assert not t.requires_grad  # the argument is not changed


def test_parameter_of_a_graph_tensor_is_a_new_leaf():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    p = nn.Parameter(x * 2)
    assert p.is_leaf and p.requires_grad
    (p * p).sum().backward()
    assert x.grad is None
    np.testing.assert_allclose(p.grad.data, [4.0, 8.0])


def test_parameter_from_lists_arrays_and_nothing():
    arr = np.array([[1.0, 2.0]], np.float64)
    p = nn.Parameter(arr)
    assert p.dtype == np.float64 and not np.shares_memory(p.data, arr)
    assert nn.Parameter([1.0, 2.0]).dtype == ad.get_default_dtype()
    empty = nn.Parameter()
    assert empty.shape == (0,) and empty.dtype == ad.get_default_dtype() and empty.requires_grad
    frozen = nn.Parameter(ad.tensor([1, 2]), requires_grad=False)
    assert frozen.dtype == np.int64 and not frozen.requires_grad
    with pytest.raises(RuntimeError, match="Parameter: only floating-point"):  # (as torch)
        nn.Parameter([1, 2])


def test_parameter_repr_pickle_deepcopy():
    p = nn.Parameter(ad.tensor([1.0, 2.0]))
    assert repr(p) == str(p) == "Parameter containing:\ntensor([1., 2.], requires_grad=True)"
    p.grad = ad.tensor([0.5, 0.5])
    q = pickle.loads(pickle.dumps(p))
    assert type(q) is nn.Parameter and q.requires_grad and q.grad is None
    np.testing.assert_array_equal(q.data, p.data)
    r = copy.deepcopy(p)
    assert type(r) is nn.Parameter and r.requires_grad
    assert not np.shares_memory(r.data, p.data) and not np.shares_memory(r.grad.data, p.grad.data)
    np.testing.assert_array_equal(r.grad.data, [0.5, 0.5])
    frozen = pickle.loads(pickle.dumps(nn.Parameter(ad.tensor([1.0]), requires_grad=False)))
    assert not frozen.requires_grad


# --- optimizers --------------------------------------------------------------------------------

OPTIMIZERS = [lambda ps: nn.optim.SGD(ps, lr=0.1),
              lambda ps: nn.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.1),
              lambda ps: nn.optim.Adam(ps), lambda ps: nn.optim.AdamW(ps, amsgrad=True),
              lambda ps: nn.optim.Adagrad(ps), lambda ps: nn.optim.RMSprop(ps, centered=True)]


@pytest.mark.parametrize("make", OPTIMIZERS)
def test_a_step_bumps_the_parameters_version(make):
    p = nn.Parameter(ad.tensor([1.0, -2.0]))
    opt = make([p])
    (p * p).sum().backward()
    y = (p * p).sum()  # recorded before the step; its rule reads p (p * 2's would not)
    opt.step()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


@pytest.mark.parametrize("make", OPTIMIZERS)
def test_a_step_works_on_a_read_only_parameter_array(make):
    arr = np.array([1.0, -2.0], np.float32)
    arr.flags.writeable = False
    p = nn.Parameter(ad.from_numpy(arr))
    p.grad = ad.tensor([1.0, 1.0])
    make([p]).step()
    assert p.data[0] != 1.0 and arr[0] == 1.0


def test_zero_grad_in_place_keeps_the_grad_tensor():
    p = nn.Parameter(ad.tensor([1.0, 2.0]))
    (p * p).sum().backward()
    g = p.grad
    opt = nn.optim.SGD([p], lr=0.1)
    opt.zero_grad(set_to_none=False)
    assert p.grad is g
    np.testing.assert_array_equal(g.data, [0.0, 0.0])


# --- conv layers go through nn.functional ------------------------------------------------------

@pytest.mark.parametrize("layer,name", [(lambda: nn.Conv2d(2, 3, 3, padding=1), "conv2d"),
                                        (lambda: nn.MaxPool2d(2), "max_pool2d"),
                                        (lambda: nn.AvgPool2d(2, count_include_pad=False),
                                         "avg_pool2d"),
                                        (lambda: nn.AdaptiveAvgPool2d(1), "adaptive_avg_pool2d")])
def test_conv_layers_call_nn_functional(monkeypatch, layer, name):
    calls = []
    original = getattr(F, name)
    monkeypatch.setattr(F, name, lambda *a, **k: calls.append(name) or original(*a, **k))
    out = layer()(ad.randn(1, 2, 4, 4))
    assert calls == [name] and out.ndim == 4


def test_functional_conv_and_pool_take_pytorchs_signatures():
    params = {name: list(inspect.signature(getattr(F, name)).parameters) for name in
              ("conv1d", "conv2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d")}
    assert params == {
        "conv1d": ["input", "weight", "bias", "stride", "padding", "dilation", "groups"],
        "conv2d": ["input", "weight", "bias", "stride", "padding", "dilation", "groups"],
        "max_pool2d": ["input", "kernel_size", "stride", "padding", "dilation", "ceil_mode",
                       "return_indices"],
        "avg_pool2d": ["input", "kernel_size", "stride", "padding", "ceil_mode",
                       "count_include_pad", "divisor_override"],
        "adaptive_avg_pool2d": ["input", "output_size"]}
    x = ad.randn(1, 1, 5, 5)
    assert F.max_pool2d(x, 2, ceil_mode=True).shape == (1, 1, 3, 3)  # positional order as torch
    assert F.avg_pool2d(x, 2, 2, 0, True).shape == (1, 1, 3, 3)
    np.testing.assert_array_equal(F.avg_pool2d(x, 2, 2, 1, False, False).data,
                                  ad.avg_pool2d(x, 2, 2, 1, count_include_pad=False).data)
