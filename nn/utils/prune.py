"""Pruning (torch.nn.utils.prune): parameter <name> becomes <name>_orig plus a 0/1 buffer
<name>_mask, and a forward pre-hook recomputes module.<name> = <name>_orig * <name>_mask
before each call. Pruning a pruned tensor again combines the masks (PruningContainer);
remove() makes the pruning permanent."""
import numbers
from abc import ABC, abstractmethod

import numpy as np

import autodiff as ad
from autodiff import Tensor
from nn.module import _refresh_hooked

__all__ = ["BasePruningMethod", "PruningContainer", "Identity", "RandomUnstructured",
           "L1Unstructured", "RandomStructured", "LnStructured", "CustomFromMask", "identity",
           "random_unstructured", "l1_unstructured", "random_structured", "ln_structured",
           "global_unstructured", "custom_from_mask", "remove", "is_pruned"]


def _validate_amount_init(amount):
    if isinstance(amount, bool) or not isinstance(amount, numbers.Real):
        raise TypeError(f"Invalid type for amount: {amount}. Must be int or float.")
    if (isinstance(amount, numbers.Integral) and amount < 0) or \
            (not isinstance(amount, numbers.Integral) and not 0.0 <= float(amount) <= 1.0):
        raise ValueError(f"amount={amount} should either be a float in the range [0, 1] or a "
                         f"non-negative integer")


def _n_to_prune(amount, size):
    """How many of `size` entries `amount` prunes (a fraction is rounded as Python rounds)."""
    if isinstance(amount, numbers.Integral):
        if amount > size:
            raise ValueError(f"amount={amount} should be smaller than the number of parameters "
                             f"to prune={size}")
        return int(amount)
    return round(amount * size)


def _validate_structured(t):
    if t.ndim <= 1:
        raise ValueError(f"Structured pruning can only be applied to multidimensional tensors. "
                         f"Found tensor of shape {tuple(t.shape)} with {t.ndim} dims")


def _validate_dim(t, dim):
    if dim >= t.ndim or dim < -t.ndim:
        raise IndexError(f"Invalid index {dim} for tensor of size {tuple(t.shape)}")


def _channel_mask(shape, dim, keep):
    """A mask that is 1 on the channels `keep` (bools or indices) along dim, 0 elsewhere."""
    mask = np.zeros(shape)
    slc = [slice(None)] * len(shape)
    slc[dim] = keep
    mask[tuple(slc)] = 1
    return mask


class BasePruningMethod(ABC):
    """A pruning method: compute_mask(t, default_mask) gives the new 0/1 mask; as a forward
    pre-hook it recomputes module.<name> = <name>_orig * <name>_mask."""

    _tensor_name = None
    PRUNING_TYPE = None  # 'unstructured', 'structured' or 'global'

    def __call__(self, module, inputs):
        setattr(module, self._tensor_name, self.apply_mask(module))

    @abstractmethod
    def compute_mask(self, t, default_mask):
        """The mask for tensor t, starting from default_mask (the current one)."""

    def apply_mask(self, module):
        """<name>_orig * <name>_mask (differentiable with respect to the original)."""
        orig = getattr(module, self._tensor_name + "_orig")
        mask = getattr(module, self._tensor_name + "_mask")
        return mask.to(orig.dtype) * orig

    @classmethod
    def apply(cls, module, name, *args, importance_scores=None, **kwargs):
        """Prunes module.<name> with cls(*args, **kwargs) (combined with earlier prunings of
        the same tensor); returns the pruning method registered as the hook."""
        old_key, old = None, None
        for k, hook in module._forward_pre_hooks.items():
            if isinstance(hook, BasePruningMethod) and hook._tensor_name == name:
                old_key, old = k, hook
                break
        method = cls(*args, **kwargs)
        method._tensor_name = name
        if old is not None:
            container = old if isinstance(old, PruningContainer) else PruningContainer(old)
            container.add_pruning_method(method)
            method = container
            del module._forward_pre_hooks[old_key]
            _refresh_hooked(module)
        orig = getattr(module, name)
        if importance_scores is not None:
            if tuple(importance_scores.shape) != tuple(orig.shape):
                raise ValueError(f"importance_scores should have the same shape as parameter "
                                 f"{name} of {module}: {tuple(importance_scores.shape)} vs "
                                 f"{tuple(orig.shape)}")
        else:
            importance_scores = orig
        if old is None:
            module.register_parameter(name + "_orig", orig)
            del module._parameters[name]
            default_mask = ad.ones_like(orig).detach()
        else:
            default_mask = getattr(module, name + "_mask").detach().clone()
        try:
            mask = method.compute_mask(importance_scores, default_mask=default_mask)
            module.register_buffer(name + "_mask", mask)
            setattr(module, name, method.apply_mask(module))
            module.register_forward_pre_hook(method)
        except Exception:
            if old is None:  # put the parameter back as it was
                p = getattr(module, name + "_orig")
                module._parameters[name] = p
                del module._parameters[name + "_orig"]
            raise
        return method

    def prune(self, t, default_mask=None, importance_scores=None):
        """t * compute_mask(importance_scores (default t), default_mask (default ones))."""
        scores = t if importance_scores is None else importance_scores
        mask = ad.ones_like(t) if default_mask is None else default_mask
        return t * self.compute_mask(scores, default_mask=mask)

    def remove(self, module):
        """Makes the pruning permanent: <name> becomes a Parameter holding orig * mask."""
        if self._tensor_name is None:
            raise RuntimeError(f"Module {module} has to be pruned before pruning can be "
                               f"removed")
        with ad.no_grad():
            weight = self.apply_mask(module)
        if hasattr(module, self._tensor_name):
            delattr(module, self._tensor_name)
        orig = module._parameters[self._tensor_name + "_orig"]
        orig.data = weight.data
        del module._parameters[self._tensor_name + "_orig"]
        del module._buffers[self._tensor_name + "_mask"]
        setattr(module, self._tensor_name, orig)


class PruningContainer(BasePruningMethod):
    """Successive prunings of one tensor: each new method acts on the entries (or channels) the
    earlier ones left."""

    def __init__(self, *args):
        self._pruning_methods = ()
        if len(args) == 1 and not isinstance(args[0], BasePruningMethod):
            args = tuple(args[0])
        for method in args:
            self.add_pruning_method(method)

    def add_pruning_method(self, method):
        if not isinstance(method, BasePruningMethod) and method is not None:
            raise TypeError(f"{type(method)} is not a BasePruningMethod subclass")
        if method is not None and self._tensor_name != method._tensor_name:
            if self._tensor_name is not None:
                raise ValueError(f"Can only add pruning methods acting on the parameter named "
                                 f"'{self._tensor_name}' to PruningContainer {self}. Found "
                                 f"'{method._tensor_name}'")
            self._tensor_name = method._tensor_name
        self._pruning_methods += (method,)

    def __len__(self):
        return len(self._pruning_methods)

    def __iter__(self):
        return iter(self._pruning_methods)

    def __getitem__(self, idx):
        return self._pruning_methods[idx]

    def compute_mask(self, t, default_mask):
        method = self._pruning_methods[-1]
        mask = default_mask.data.astype(t.dtype)
        if method.PRUNING_TYPE == "unstructured":
            slc = mask == 1
        elif method.PRUNING_TYPE == "structured":
            if not hasattr(method, "dim"):
                raise AttributeError("Pruning methods of PRUNING_TYPE 'structured' need to "
                                     "have the attribute `dim` defined.")
            dim = method.dim % t.ndim
            others = tuple(d for d in range(t.ndim) if d != dim)
            keep = mask.sum(axis=others) != 0
            slc = [slice(None)] * t.ndim
            slc[dim] = keep
            slc = tuple(slc)
        elif method.PRUNING_TYPE == "global":
            slc = (slice(None),) * t.ndim
        else:
            raise ValueError(f"Unrecognized PRUNING_TYPE {method.PRUNING_TYPE}")
        part = method.compute_mask(ad.tensor(t.data[slc]), default_mask=ad.tensor(mask[slc]))
        mask[slc] = part.data
        return ad.tensor(mask)


class Identity(BasePruningMethod):
    """Prunes nothing (a mask of ones)."""

    PRUNING_TYPE = "unstructured"

    def compute_mask(self, t, default_mask):
        return default_mask

    @classmethod
    def apply(cls, module, name):
        return super().apply(module, name)


def _unstructured(default_mask, order, n):
    """default_mask with the first n entries of `order` (flat indices) set to 0."""
    mask = np.array(default_mask.data, copy=True)
    if n:
        mask.reshape(-1)[order[:n]] = 0
    return ad.tensor(mask)


class _Unstructured(BasePruningMethod):
    """Prunes `amount` entries (a count, or a fraction), the first ones in _order(t)."""

    PRUNING_TYPE = "unstructured"

    def __init__(self, amount):
        _validate_amount_init(amount)
        self.amount = amount

    def compute_mask(self, t, default_mask):
        n = _n_to_prune(self.amount, t.numel())
        return _unstructured(default_mask, self._order(t), n)


class RandomUnstructured(_Unstructured):
    """Prunes `amount` entries (a count, or a fraction) chosen at random."""

    def _order(self, t):
        return np.argsort(-ad.rand(t.numel()).data, kind="stable")

    @classmethod
    def apply(cls, module, name, amount):
        return super().apply(module, name, amount=amount)


class L1Unstructured(_Unstructured):
    """Prunes the `amount` entries (a count, or a fraction) of smallest |value|."""

    def _order(self, t):
        return np.argsort(np.abs(t.data).reshape(-1), kind="stable")

    @classmethod
    def apply(cls, module, name, amount, importance_scores=None):
        return super().apply(module, name, amount=amount, importance_scores=importance_scores)


class RandomStructured(BasePruningMethod):
    """Prunes `amount` channels along `dim`, chosen at random."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount, dim=-1):
        _validate_amount_init(amount)
        self.amount, self.dim = amount, dim

    def compute_mask(self, t, default_mask):
        _validate_structured(t)
        _validate_dim(t, self.dim)
        dim = self.dim % t.ndim
        size = t.shape[dim]
        n = _n_to_prune(self.amount, size)
        if n == 0:
            return default_mask
        prob = ad.rand(size).data
        keep = prob > np.sort(prob)[n - 1]
        return ad.tensor(_channel_mask(t.shape, dim, keep).astype(default_mask.dtype)
                         * default_mask.data)

    @classmethod
    def apply(cls, module, name, amount, dim=-1):
        return super().apply(module, name, amount=amount, dim=dim)


class LnStructured(BasePruningMethod):
    """Prunes the `amount` channels along `dim` of smallest L`n` norm (n: int, float, inf,
    -inf or 'fro')."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount, n, dim=-1):
        _validate_amount_init(amount)
        self.amount, self.n, self.dim = amount, n, dim

    def compute_mask(self, t, default_mask):
        _validate_structured(t)
        _validate_dim(t, self.dim)
        dim = self.dim % t.ndim
        size = t.shape[dim]
        n = _n_to_prune(self.amount, size)
        if n == 0:
            return default_mask
        rows = np.moveaxis(t.data, dim, 0).reshape(size, -1)
        p = 2 if self.n == "fro" else self.n
        norms = np.linalg.norm(rows, ord=p, axis=1)
        keep = np.argsort(-norms, kind="stable")[:size - n]
        return ad.tensor(_channel_mask(t.shape, dim, keep).astype(default_mask.dtype)
                         * default_mask.data)

    @classmethod
    def apply(cls, module, name, amount, n, dim, importance_scores=None):
        return super().apply(module, name, amount=amount, n=n, dim=dim,
                             importance_scores=importance_scores)


class CustomFromMask(BasePruningMethod):
    """Prunes where the given mask is 0."""

    PRUNING_TYPE = "global"

    def __init__(self, mask):
        self.mask = mask

    def compute_mask(self, t, default_mask):
        if tuple(default_mask.shape) != tuple(self.mask.shape):
            raise ValueError(f"custom_from_mask: mask of shape {tuple(self.mask.shape)} does "
                             f"not match the tensor's shape {tuple(default_mask.shape)}")
        m = self.mask.data if isinstance(self.mask, Tensor) else np.asarray(self.mask)
        return ad.tensor(default_mask.data * m.astype(default_mask.dtype))

    @classmethod
    def apply(cls, module, name, mask):
        return super().apply(module, name, mask=mask)


def identity(module, name):
    """Adds the pruning machinery to module.<name> with a mask of ones; returns module."""
    Identity.apply(module, name)
    return module


def random_unstructured(module, name, amount):
    """Prunes `amount` (count or fraction) random entries of module.<name>; returns module."""
    RandomUnstructured.apply(module, name, amount)
    return module


def l1_unstructured(module, name, amount, importance_scores=None):
    """Prunes the `amount` (count or fraction) entries of module.<name> of smallest |value|
    (or of smallest importance_scores); returns module."""
    L1Unstructured.apply(module, name, amount=amount, importance_scores=importance_scores)
    return module


def random_structured(module, name, amount, dim):
    """Prunes `amount` random channels of module.<name> along dim; returns module."""
    RandomStructured.apply(module, name, amount, dim)
    return module


def ln_structured(module, name, amount, n, dim, importance_scores=None):
    """Prunes the `amount` channels along dim of smallest L`n` norm; returns module."""
    LnStructured.apply(module, name, amount, n, dim, importance_scores=importance_scores)
    return module


def custom_from_mask(module, name, mask):
    """Prunes module.<name> where mask is 0; returns module."""
    CustomFromMask.apply(module, name, mask)
    return module


def global_unstructured(parameters, pruning_method, importance_scores=None, **kwargs):
    """Prunes the (module, name) pairs together: e.g. L1Unstructured with amount=0.2 removes
    the 20% smallest entries over all of them."""
    parameters = list(parameters)
    if not parameters:
        raise TypeError("global_unstructured: parameters must be a non-empty iterable of "
                        "(module, name) pairs")
    importance_scores = importance_scores or {}
    scores, masks = [], []
    for module, name in parameters:
        scores.append(importance_scores.get((module, name), getattr(module, name)).data.ravel())
        mask = getattr(module, name + "_mask", None)
        masks.append(np.ones(scores[-1].shape) if mask is None else mask.data.ravel())
    method = pruning_method(**kwargs)
    method._tensor_name = "temp"
    if method.PRUNING_TYPE != "unstructured":
        raise TypeError(f'Only "unstructured" PRUNING_TYPE supported for the `pruning_method`. '
                        f'Found method {pruning_method} of type {method.PRUNING_TYPE}')
    container = PruningContainer()
    container._tensor_name = "temp"
    container.add_pruning_method(method)
    flat = np.concatenate(scores)
    final = container.compute_mask(ad.tensor(flat),
                                   ad.tensor(np.concatenate(masks).astype(flat.dtype)))
    start = 0
    for module, name in parameters:
        p = getattr(module, name)
        n = p.numel()
        custom_from_mask(module, name, ad.tensor(final.data[start:start + n].reshape(p.shape)))
        start += n


def remove(module, name):
    """Makes the pruning of module.<name> permanent (a Parameter holding orig * mask); returns
    module."""
    for k, hook in list(module._forward_pre_hooks.items()):
        if isinstance(hook, BasePruningMethod) and hook._tensor_name == name:
            hook.remove(module)
            del module._forward_pre_hooks[k]
            _refresh_hooked(module)
            return module
    raise ValueError(f"Parameter '{name}' of module {module} has to be pruned before pruning "
                     f"can be removed")


def is_pruned(module):
    """True if module or a submodule has a pruning hook."""
    return any(isinstance(hook, BasePruningMethod) for m in module.modules()
               for hook in m._forward_pre_hooks.values())
