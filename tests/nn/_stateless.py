"""A Module as a function of its parameters, so that autodiff.testing.gradcheck (which passes
fresh leaves) can check the gradients of layers and models with respect to their parameters.

    fn, params = as_function(model)           # fn(*inputs, *params) == model(*inputs)
    assert gradcheck(fn, (x, *params))
"""
import contextlib

import autodiff as ad


@contextlib.contextmanager
def parameters_replaced(module, values):
    """Within the block, `values` (a dict: name as in module.named_parameters() -> tensor) stand
    in for the module's parameters: each owning module's parameter registry holds the tensor
    instead of the Parameter (what torch.func.functional_call swaps; layers such as Linear read
    the registry directly). The Parameters are put back afterwards, in place and order."""
    before = [(n, id(p)) for n, p in module.named_parameters()]
    slots = []
    for name, value in values.items():
        owner_path, _, attr = name.rpartition(".")
        owner = module.get_submodule(owner_path)
        assert owner._parameters.get(attr) is not None, f"{name} is not a parameter"
        slots.append((owner._parameters, attr, owner._parameters[attr], value))
    try:
        for registry, attr, _, value in slots:
            registry[attr] = value
        yield module
    finally:
        for registry, attr, param, _ in slots:
            registry[attr] = param
    assert [(n, id(p)) for n, p in module.named_parameters()] == before


def functional_call(module, values, args):
    """module(*args) computed with `values` in place of the named parameters."""
    with parameters_replaced(module, values):
        return module(*args)


def as_function(module):
    """(fn, params): fn(*inputs, *params) = module(*inputs) with `params` in place of
    module.parameters(); params are the module's own Parameters, as gradcheck's inputs.
    The first call asserts that the output depends on every parameter passed: a module that
    ignored them would pass any gradient check vacuously (zero analytic, zero numeric)."""
    names = [n for n, _ in module.named_parameters()]
    checked = []

    def fn(*args):
        split = len(args) - len(names)
        values = args[split:]
        out = functional_call(module, dict(zip(names, values)), args[:split])
        if not checked:
            grads = (ad.grad(out, list(values), ad.ones_like(out), retain_graph=True,
                             allow_unused=True) if out.requires_grad else [None] * len(values))
            unused = [n for n, g in zip(names, grads) if g is None]
            assert not unused, f"the output does not depend on {unused}"
            checked.append(True)
        return out

    return fn, tuple(module.parameters())
