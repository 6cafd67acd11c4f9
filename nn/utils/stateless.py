"""functional_call (torch.nn.utils.stateless): run a module with some of its parameters and
buffers replaced by given tensors, e.g. to differentiate with respect to them."""
import contextlib
import warnings

__all__ = ["functional_call"]


@contextlib.contextmanager
def _reparametrize(module, values, tie_weights, strict):
    values = dict(values)
    if tie_weights:  # a tensor registered under several names: replacing one replaces all
        by_id = {}
        for name, t in (*module.named_parameters(remove_duplicate=False),
                        *module.named_buffers(remove_duplicate=False)):
            by_id.setdefault(id(t), []).append(name)
        for names in by_id.values():
            given = [n for n in names if n in values]
            if len(given) > 1 and any(values[n] is not values[given[0]] for n in given):
                raise ValueError(f"functional_call got multiple values for keys {given}, which "
                                 f"are tied. Consider using tie_weights=False")
            for n in names if given else ():
                values.setdefault(n, values[given[0]])
    slots, unexpected = [], []
    for name, value in values.items():
        owner_path, _, attr = name.rpartition(".")
        try:
            owner = module.get_submodule(owner_path)
        except AttributeError:
            unexpected.append(name)
            continue
        registry = next((r for r in (owner._parameters, owner._buffers) if attr in r), None)
        if registry is None:
            unexpected.append(name)
            continue
        slots.append((registry, attr, registry[attr], value))
    if strict:
        keys = {n for n, _ in (*module.named_parameters(remove_duplicate=False),
                               *module.named_buffers(remove_duplicate=False))}
        missing = sorted(keys - set(values))
        if missing or unexpected:
            raise RuntimeError(f"Error(s) in reparametrizing for {module._get_name()}: "
                               f"Missing key(s): {', '.join(map(repr, missing))}. Unexpected "
                               f"key(s): {', '.join(map(repr, unexpected))}.")
    try:
        for registry, attr, _, value in slots:
            registry[attr] = value  # the registry holds the tensor for the call
        yield
    finally:
        for registry, attr, old, _ in slots:
            registry[attr] = old


def functional_call(module, parameters_and_buffers, args=None, kwargs=None, *, tie_weights=True,
                    strict=False):
    """module(*args, **kwargs) with the named parameters and buffers replaced by the given
    tensors (the module's own are put back afterwards). Deprecated in torch for
    torch.func.functional_call, which behaves the same."""
    warnings.warn("`nn.utils.stateless.functional_call` is deprecated as of PyTorch 2.0 and "
                  "will be removed in a future version of PyTorch. Please use "
                  "`torch.func.functional_call` instead which is a drop-in replacement.",
                  FutureWarning, stacklevel=2)
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    with _reparametrize(module, parameters_and_buffers, tie_weights, strict):
        return module(*args, **(kwargs or {}))
