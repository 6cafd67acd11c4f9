"""Lazy modules: the input size is inferred from the first call (LazyLinear, LazyConv*,
LazyConvTranspose*, LazyBatchNorm*, LazyInstanceNorm*).

Until then the parameters are UninitializedParameters (and the size-dependent buffers
UninitializedBuffers). The first call builds the regular module for the inferred size - drawing
its initial values exactly as constructing that module would - moves the values into the same
Parameter objects (an optimizer built before the call keeps working), and turns the module
into its regular class (cls_to_become), as torch does.
"""
import inspect

import autodiff as ad
from nn import conv as _conv
from nn import normalization as _norm
from nn.layers import Linear
from nn.module import Module
from nn.parameter import UninitializedBuffer, UninitializedParameter, is_lazy

__all__ = ["LazyLinear"]

_MODULE_STATE = frozenset(Module().__dict__)  # registries, hooks, training: kept from self


class LazyModuleMixin:
    """Shared machinery of the lazy modules: cls_to_become(size, *args, **kwargs) is the
    regular module, `size` being what _infer_size reads from the first input."""

    cls_to_become = None
    _lazy_size = "in_features"  # the attribute inferred at the first call (0 until then)

    def _lazy_init(self, *args, **kwargs):
        Module.__init__(self)
        self._lazy_args, self._lazy_kwargs = args, kwargs
        # the regular module's attributes (kernel_size, eps, ...) for a placeholder size; its
        # initial values are thrown away, so the random state is restored after it
        state = ad.get_rng_state()
        try:
            shell = self.cls_to_become(self._placeholder(args, kwargs), *args, **kwargs)
        finally:
            ad.set_rng_state(state)
        self.__dict__.update({k: v for k, v in shell.__dict__.items() if k not in _MODULE_STATE})
        for name, p in shell._parameters.items():
            self._parameters[name] = None if p is None else \
                UninitializedParameter(p.requires_grad, dtype=p.dtype)
        for name, b in shell._buffers.items():
            sized = b is not None and b.ndim > 0  # (num_batches_tracked is 0-d)
            self._buffers[name] = UninitializedBuffer(dtype=b.dtype) if sized else b
        self._non_persistent_buffers.update(shell._non_persistent_buffers)
        setattr(self, self._lazy_size, 0)

    def _placeholder(self, args, kwargs):
        """A size the regular class accepts with these arguments (a multiple of groups)."""
        try:
            bound = inspect.signature(self.cls_to_become).bind(1, *args, **kwargs)
        except TypeError:
            return 1
        groups = bound.arguments.get("groups", 1)
        return groups if isinstance(groups, int) and groups > 0 else 1

    def has_uninitialized_params(self):
        """True while a parameter or buffer still waits for the first call."""
        return any(is_lazy(t) for t in (*self._parameters.values(), *self._buffers.values()))

    def _infer_size(self, input):
        return input.shape[-1]

    def initialize_parameters(self, *args, **kwargs):
        """Infers the size from the input, builds the regular module's values for it and moves
        them into this module's parameters and buffers (the same objects)."""
        if not args or not isinstance(args[0], ad.Tensor):
            raise TypeError(f"{self._get_name()}: the first call needs a Tensor input to infer "
                            f"{self._lazy_size} from")
        size = self._infer_size(args[0])
        lazy = self.has_uninitialized_params()
        state = None if lazy else ad.get_rng_state()  # nothing to draw: leave the random state
        try:
            real = self.cls_to_become(size, *self._lazy_args, **self._lazy_kwargs)
        finally:
            if state is not None:
                ad.set_rng_state(state)
        for reg in ("_parameters", "_buffers"):
            mine, theirs = self.__dict__[reg], real.__dict__[reg]
            for name, t in mine.items():
                if is_lazy(t):
                    src = theirs[name]
                    t.materialize(src.data.shape, dtype=src.dtype)
                    t.data = src.data
        self.__dict__.update({k: v for k, v in real.__dict__.items()
                              if k not in _MODULE_STATE})

    def __call__(self, *args, **kwargs):
        if type(self).cls_to_become is not None and isinstance(self, LazyModuleMixin):
            self.initialize_parameters(*args, **kwargs)
            for key in ("_lazy_args", "_lazy_kwargs"):
                self.__dict__.pop(key, None)
            self.__class__ = self.cls_to_become  # from now on a plain regular module
        return Module.__call__(self, *args, **kwargs)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        # a state_dict gives the shapes: materialize to them, then load as usual
        for reg in ("_parameters", "_buffers"):
            for name, t in self.__dict__[reg].items():
                key = prefix + name
                if is_lazy(t) and key in state_dict:
                    value = state_dict[key]
                    shape = value.shape if hasattr(value, "shape") else ad.tensor(value).shape
                    t.materialize(tuple(shape))
        Module._load_from_state_dict(self, state_dict, prefix, local_metadata, strict,
                                     missing_keys, unexpected_keys, error_msgs)


class LazyLinear(LazyModuleMixin, Linear):
    """Linear whose in_features is inferred from the first input (input.shape[-1])."""

    cls_to_become = Linear

    def __init__(self, out_features, bias=True, device=None, dtype=None):
        self._lazy_init(out_features, bias, device, dtype)


def _conv_in_channels(self, input):
    spatial = len(self.kernel_size)
    if input.ndim not in (spatial + 1, spatial + 2):
        raise ValueError(f"Expected {spatial + 1}D (unbatched) or {spatial + 2}D (batched) input "
                         f"to {self._get_name()}, but got input of size: {tuple(input.shape)}")
    return input.shape[1] if input.ndim == spatial + 2 else input.shape[0]


def _conv_init(self, out_channels, *args, **kwargs):
    self._lazy_init(out_channels, *args, **kwargs)


def _norm_features(self, input):
    if input.ndim < 2:
        raise ValueError(f"{self._get_name()}: expected an input with a channel dim (N, C, ...), "
                         f"got shape {tuple(input.shape)}")
    return input.shape[1]


def _instance_norm_features(self, input):
    unbatched = {"InstanceNorm1d": 2, "InstanceNorm2d": 3, "InstanceNorm3d": 4}
    if input.ndim == unbatched[self.cls_to_become.__name__]:
        return input.shape[0]
    return _norm_features(self, input)


def _norm_init(self, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, device=None,
               dtype=None, **kwargs):
    # (torch's defaults for every lazy norm, LazyInstanceNorm included: affine and tracking on)
    self._lazy_init(eps=eps, momentum=momentum, affine=affine,
                    track_running_stats=track_running_stats, device=device, dtype=dtype, **kwargs)


# The conv and normalization families grow alongside (issue 14): each lazy class exists when its
# regular class does.
_FAMILIES = [
    (_conv, ("Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d",
             "ConvTranspose3d"), "in_channels", _conv_in_channels, _conv_init,
     "out_channels, kernel_size, ...: {0} whose in_channels is inferred from the first input"),
    (_norm, ("BatchNorm1d", "BatchNorm2d", "BatchNorm3d"), "num_features", _norm_features,
     _norm_init, "{0} whose num_features is inferred from the first input (input.shape[1])"),
    (_norm, ("InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d"), "num_features",
     _instance_norm_features, _norm_init,
     "{0} whose num_features is inferred from the first input's channel dim"),
]

for _module, _names, _size, _infer, _init, _doc in _FAMILIES:
    for _name in _names:
        _regular = getattr(_module, _name, None)
        if _regular is None:
            continue
        _lazy = type(f"Lazy{_name}", (LazyModuleMixin, _regular), {
            "__doc__": _doc.format(_name), "__module__": __name__, "cls_to_become": _regular,
            "_lazy_size": _size, "_infer_size": _infer, "__init__": _init})
        globals()[_lazy.__name__] = _lazy
        __all__.append(_lazy.__name__)
