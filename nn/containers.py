"""Containers of modules and parameters: Sequential, ModuleList, ModuleDict, ParameterList,
ParameterDict (torch.nn's, with their list and dict behaviours and printouts)."""
import operator
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from itertools import chain

import autodiff as ad
from autodiff import Tensor
from nn.module import Module
from nn.parameter import Buffer, Parameter, UninitializedBuffer, UninitializedParameter

__all__ = [
    "Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict",
    "Buffer", "UninitializedParameter", "UninitializedBuffer",
]


def _abs_index(idx, n, kind):
    """idx as a non-negative position below n (negative counts from the end), else IndexError."""
    idx = operator.index(idx)
    if not -n <= idx < n:
        raise IndexError(f"{kind}: index {idx} is out of range for length {n}")
    return idx % n


def _renumber(module):
    """Names the modules '0', '1', ... in their order (after a deletion, as torch does)."""
    mods = list(module._modules.values())
    module._modules.clear()
    for i, m in enumerate(mods):
        module._modules[str(i)] = m


def _check_module(m, where):
    if not isinstance(m, Module):
        raise TypeError(f"{where}: {type(m).__name__} is not a Module subclass (wrap functions "
                        f"in a Module, e.g. nn.ReLU())")


class Sequential(Module):
    """Modules applied in order: Sequential(a, b, c)(x) = c(b(a(x))). Also takes an
    OrderedDict of named modules."""

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, m in args[0].items():
                self.add_module(name, m)
        else:
            for i, m in enumerate(args):
                _check_module(m, f"Sequential: argument {i}")
                self.add_module(str(i), m)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            # (a subclass such as MLP has its own constructor)
            cls = type(self) if type(self) is Sequential else Sequential
            return cls(OrderedDict(list(self._modules.items())[idx]))
        keys = list(self._modules)
        return self._modules[keys[_abs_index(idx, len(keys), "Sequential")]]

    def __setitem__(self, idx, module):
        keys = list(self._modules)
        setattr(self, keys[_abs_index(idx, len(keys), "Sequential")], module)

    def __delitem__(self, idx):
        keys = list(self._modules)
        for k in (keys[idx] if isinstance(idx, slice)
                  else [keys[_abs_index(idx, len(keys), "Sequential")]]):
            delattr(self, k)
        _renumber(self)  # torch renumbers even named entries

    def __add__(self, other):
        if not isinstance(other, Sequential):
            raise ValueError(f"Sequential + : add operator supports only objects of Sequential "
                             f"class, but {type(other)} is given.")
        out = Sequential()
        for i, m in enumerate(chain(self, other)):
            out.add_module(str(i), m)
        return out

    def __iadd__(self, other):
        if not isinstance(other, Sequential):
            raise ValueError(f"Sequential += : add operator supports only objects of Sequential "
                             f"class, but {type(other)} is given.")
        return self.extend(other)

    def __mul__(self, other):
        if isinstance(other, bool) or not isinstance(other, int):
            raise TypeError(f"Sequential * : unsupported operand type(s) for *: "
                            f"{type(self)} and {type(other)}")
        if other <= 0:
            raise ValueError(f"Sequential * : non-positive multiplication factor {other} for "
                             f"{type(self)}")
        out = Sequential()
        for i, m in enumerate(list(self) * other):  # the same modules, repeated (shared)
            out.add_module(str(i), m)
        return out

    __rmul__ = __mul__

    def __imul__(self, other):
        if isinstance(other, bool) or not isinstance(other, int):
            raise TypeError(f"Sequential *= : unsupported operand type(s) for *: "
                            f"{type(self)} and {type(other)}")
        if other <= 0:
            raise ValueError(f"Sequential *= : non-positive multiplication factor {other} for "
                             f"{type(self)}")
        mods = list(self) * (other - 1)
        for m in mods:
            self.append(m)
        return self

    def __dir__(self):
        return [k for k in super().__dir__() if not k.isdigit()]

    def append(self, module):
        """Adds a module at the end; returns self."""
        self.add_module(str(len(self)), module)
        return self

    def insert(self, index, module):
        """Inserts a module before position index (renumbering the rest); returns self."""
        if not isinstance(module, Module):
            raise AssertionError(f"Sequential.insert: module should be of type: {Module}, got "
                                 f"{type(module).__name__}")
        n = len(self._modules)
        if not -n <= index <= n:
            raise IndexError(f"Sequential.insert: Index out of range: {index} (length {n})")
        if index < 0:
            index += n
        mods = list(self._modules.values())
        mods.insert(index, module)
        self._modules.clear()
        for i, m in enumerate(mods):
            self._modules[str(i)] = m
        return self

    def extend(self, sequential):
        """Appends every module of an iterable (another Sequential, a list); returns self."""
        for m in sequential:
            self.append(m)
        return self

    def pop(self, key):
        """Removes the module at position key and returns it."""
        v = self[key]
        del self[key]
        return v

    def forward(self, input):
        for m in self._modules.values():
            input = m(input)
        return input


class ModuleList(Module):
    """A list of modules whose parameters are registered (names '0', '1', ...); it has no
    forward - iterate over it in your own."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(list(self._modules.values())[idx])
        return self._modules[str(_abs_index(idx, len(self), "ModuleList"))]

    def __setitem__(self, idx, module):
        setattr(self, str(_abs_index(idx, len(self), "ModuleList")), module)

    def __delitem__(self, idx):
        if isinstance(idx, slice):
            for k in range(len(self._modules))[idx]:
                delattr(self, str(k))
        else:
            delattr(self, str(_abs_index(idx, len(self), "ModuleList")))
        _renumber(self)

    def __iadd__(self, modules):
        return self.extend(modules)

    def __add__(self, other):
        out = ModuleList()
        for i, m in enumerate(chain(self, other)):
            out.add_module(str(i), m)
        return out

    def __dir__(self):
        return [k for k in super().__dir__() if not k.isdigit()]

    def __repr__(self):
        # runs of equal printouts are shown once, as torch does: "(0-2): 3 x Linear(...)"
        reprs = [repr(m) for m in self]
        if not reprs:
            return self._get_name() + "()"
        runs = []  # [first index, last index, text]
        for i, r in enumerate(reprs):
            if runs and runs[-1][2] == r:
                runs[-1][1] = i
            else:
                runs.append([i, i, r])
        lines = []
        for start, end, text in runs:
            text = text.replace("\n", "\n  ")
            lines.append(f"({start}): {text}" if start == end else
                         f"({start}-{end}): {end - start + 1} x {text}")
        return self._get_name() + "(\n  " + "\n  ".join(lines) + "\n)"

    def insert(self, index, module):
        """Inserts a module before position index (renumbering the rest)."""
        n = len(self._modules)
        index = operator.index(index)
        if index < 0:  # torch's ModuleList.insert fails on these too (with KeyError '-1')
            raise KeyError(f"ModuleList.insert: negative index {index} is not supported; pass "
                           f"len(modules) + index ({n + index})")
        mods = list(self._modules.values())
        mods.insert(index, module)
        self._modules.clear()
        for i, m in enumerate(mods):
            self.add_module(str(i), m)

    def append(self, module):
        """Adds a module at the end; returns self."""
        self.add_module(str(len(self)), module)
        return self

    def pop(self, key):
        """Removes the module at position key and returns it."""
        v = self[key]
        del self[key]
        return v

    def extend(self, modules):
        """Appends the modules of an iterable; returns self."""
        if not isinstance(modules, Iterable):
            raise TypeError(f"ModuleList.extend should be called with an iterable, but got "
                            f"{type(modules).__name__}")
        offset = len(self)
        for i, m in enumerate(modules):
            self.add_module(str(offset + i), m)
        return self

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleList has no forward(); iterate over it: "
                                  "`for layer in self.layers: x = layer(x)`")


def _pairs(values, who):
    """The (key, value) pairs of a mapping or of an iterable of pairs, checked as torch does."""
    if not isinstance(values, Iterable):
        raise TypeError(f"{who}.update should be called with an iterable of key/value pairs, "
                        f"but got {type(values).__name__}")
    if isinstance(values, (OrderedDict, ModuleDict, ParameterDict)):
        return list(values.items())
    if isinstance(values, Mapping):
        # a plain mapping: ParameterDict sorts its keys, ModuleDict keeps the mapping's order
        return sorted(values.items()) if who == "ParameterDict" else list(values.items())
    out = []
    for j, p in enumerate(values):
        if not isinstance(p, Iterable):
            raise TypeError(f"{who} update sequence element #{j} should be Iterable; is "
                            f"{type(p).__name__}")
        p = tuple(p)
        if len(p) != 2:
            raise ValueError(f"{who} update sequence element #{j} has length {len(p)}; 2 is "
                             f"required")
        out.append(p)
    return out


class ModuleDict(Module):
    """A dict of modules whose parameters are registered under their keys (insertion order)."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        return self._modules[key]

    def __setitem__(self, key, module):
        self.add_module(key, module)

    def __delitem__(self, key):
        del self._modules[key]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key):
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def items(self):
        return self._modules.items()

    def values(self):
        return self._modules.values()

    def pop(self, key):
        """Removes key and returns its module."""
        v = self[key]
        del self[key]
        return v

    def clear(self):
        self._modules.clear()

    def update(self, modules):
        """Adds (or replaces) the entries of a mapping or an iterable of (key, module) pairs."""
        for k, m in _pairs(modules, "ModuleDict"):
            self[k] = m

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleDict has no forward(); call its entries: "
                                  "`self.heads['cls'](x)`")


def _entry_repr(p, type_name):
    if isinstance(p, Tensor):
        size = "x".join(str(s) for s in p.shape)
        kind = "Parameter" if isinstance(p, Parameter) else "Tensor"
        return f"{kind} containing: [{type_name(p)} of size {size}]"
    return f"Object of type: {type(p).__name__}"


def _as_entry(value):
    """A Tensor that is not a Parameter becomes one (as torch); other objects stay as given."""
    if isinstance(value, Tensor) and not isinstance(value, Parameter):
        return Parameter(value, requires_grad=value.requires_grad or value.dtype.kind == "f")
    return value


class ParameterList(Module):
    """A list of Parameters registered under '0', '1', ... (Tensors are made Parameters; other
    objects are kept as plain attributes)."""

    def __init__(self, values=None):
        super().__init__()
        self._size = 0
        if values is not None:
            self.extend(values)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            out = type(self)()
            for i in range(*idx.indices(len(self))):
                out.append(self[i])
            return out
        return getattr(self, str(_abs_index(idx, len(self), "ParameterList")))

    def __setitem__(self, idx, value):
        setattr(self, str(_abs_index(idx, len(self), "ParameterList")), _as_entry(value))

    def __len__(self):
        return self._size

    def __iter__(self):
        return iter(self[i] for i in range(len(self)))

    def __iadd__(self, values):
        return self.extend(values)

    def __dir__(self):
        return [k for k in super().__dir__() if not k.isdigit()]

    def append(self, value):
        """Adds value at the end (a Tensor becomes a Parameter); returns self."""
        self._size += 1
        self[self._size - 1] = value
        return self

    def extend(self, values):
        """Appends the values of an iterable; returns self."""
        if not isinstance(values, Iterable) or isinstance(values, Tensor):
            raise TypeError(f"ParameterList.extend should be called with an iterable, but got "
                            f"{type(values).__name__}")
        for v in values:
            self.append(v)
        return self

    def extra_repr(self):
        return "\n".join(f"  ({i}): {_entry_repr(p, lambda t: str(t.dtype))}"
                         for i, p in enumerate(self))

    def __call__(self, *args, **kwargs):
        raise RuntimeError("ParameterList should not be called.")


class ParameterDict(Module):
    """A dict of Parameters registered under their (string) keys, in insertion order (a plain
    dict given to the constructor or update() is taken in sorted key order, as torch does)."""

    def __init__(self, parameters=None):
        super().__init__()
        self._keys = {}
        if parameters is not None:
            self.update(parameters)

    @staticmethod
    def _key(key):
        if not isinstance(key, str):
            raise TypeError(f"Index given to ParameterDict cannot be used as a key as it is not "
                            f"a string (type is '{type(key).__name__}'); use str keys")
        return key

    def __getitem__(self, key):
        return getattr(self, self._key(key))  # a missing key raises AttributeError, as torch

    def __setitem__(self, key, value):
        key = self._key(key)
        self._keys[key] = None
        setattr(self, key, _as_entry(value))

    def __delitem__(self, key):
        del self._keys[key]
        delattr(self, key)

    def __len__(self):
        return len(self._keys)

    def __iter__(self):
        return iter(self._keys)

    def __reversed__(self):
        return reversed(list(self._keys))

    def __contains__(self, key):
        return key in self._keys

    def copy(self):
        """A new ParameterDict holding the same parameters."""
        return ParameterDict(OrderedDict((k, self[k]) for k in self._keys))

    def setdefault(self, key, default=None):
        if key not in self:
            self[key] = default
        return self[key]

    def clear(self):
        for k in list(self._keys):
            del self[k]

    def pop(self, key):
        """Removes key and returns its parameter."""
        v = self[key]
        del self[key]
        return v

    def popitem(self):
        """Removes and returns the last inserted (key, parameter) pair."""
        if not self._keys:
            raise KeyError("popitem(): ParameterDict is empty")
        k = next(reversed(list(self._keys)))
        return k, self.pop(k)

    def get(self, key, default=None):
        return self[key] if key in self else default

    def fromkeys(self, keys, default=None):
        """A new ParameterDict with the given keys, each holding default."""
        return ParameterDict((k, default) for k in keys)

    def keys(self):
        return self._keys.keys()

    def items(self):
        return ((k, self[k]) for k in self._keys)

    def values(self):
        return (self[k] for k in self._keys)

    def update(self, parameters):
        """Adds (or replaces) the entries of a mapping or an iterable of (key, value) pairs."""
        for k, v in _pairs(parameters, "ParameterDict"):
            self[k] = v

    def __or__(self, other):
        out = self.copy()
        out.update(other)
        return out

    def __ror__(self, other):
        out = other.copy()
        out.update(self)
        return out

    def __ior__(self, other):
        self.update(other)
        return self

    def extra_repr(self):
        return "\n".join(f"  ({k}): {_entry_repr(p, ad.typename)}" for k, p in self.items())

    def __call__(self, *args, **kwargs):
        raise RuntimeError("ParameterDict should not be called.")
