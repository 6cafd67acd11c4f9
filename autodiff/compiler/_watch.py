"""Catching Python code that reads a traced tensor's values behind the tracer's back.

While a call is traced, `Tensor.data` read outside the ops the tracer records gives a
`_Watched` view of the array: its shape, dtype and other metadata read freely, but numpy
arithmetic on it, indexing it, converting it or copying it tells the tracer (a graph break: the
value read would be baked into the replay) and then proceeds on the plain array, so the traced
call itself still computes the right thing.
"""
import numpy as np

# numpy functions that look only at shapes and dtypes
_METADATA = {np.shape, np.ndim, np.size, np.result_type, np.can_cast, np.may_share_memory,
             np.shares_memory, np.iscomplexobj, np.isrealobj, np.min_scalar_type}


def _plain(x):
    if isinstance(x, _Watched):
        return x.view(np.ndarray)
    if isinstance(x, (list, tuple)):
        return type(x)(_plain(v) for v in x)
    return x


class _Watched(np.ndarray):
    """A view of a traced array that reports value reads to the active tracer."""

    tracer = None  # set on the class while a trace runs

    def _read(self, how):
        tracer = _Watched.tracer
        if tracer is not None:
            tracer.value_read(None, how)
        return self.view(np.ndarray)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        self._read(f"numpy's {ufunc.__name__} on a tensor's .data")
        if "out" in kwargs:
            kwargs["out"] = _plain(kwargs["out"])
        return getattr(ufunc, method)(*_plain(inputs), **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        if func not in _METADATA:
            self._read(f"numpy.{func.__name__} on a tensor's .data")
        return func(*_plain(args), **{k: _plain(v) for k, v in kwargs.items()})

    def __getitem__(self, index):
        return self._read("indexing a tensor's .data")[_plain(index)]

    def __setitem__(self, index, value):
        self._read("writing into a tensor's .data")[_plain(index)] = _plain(value)

    def __bool__(self):
        return bool(self._read("bool() of a tensor's .data"))

    def __float__(self):
        return float(self._read("float() of a tensor's .data"))

    def __int__(self):
        return int(self._read("int() of a tensor's .data"))

    def __index__(self):
        return self._read("using a tensor's .data as an index").__index__()

    def __iter__(self):
        return iter(self._read("iterating over a tensor's .data"))

    def __repr__(self):
        return repr(self._read("printing a tensor's .data"))

    __str__ = __repr__

    def item(self, *args):
        return self._read("a tensor's .data.item()").item(*args)

    def tolist(self):
        return self._read("a tensor's .data.tolist()").tolist()

    def tobytes(self, *args, **kwargs):
        return self._read("a tensor's .data.tobytes()").tobytes(*args, **kwargs)

    def copy(self, *args, **kwargs):
        return self._read("copying a tensor's .data").copy(*args, **kwargs)

    def astype(self, dtype, order="K", casting="unsafe", subok=True, copy=True):
        if not copy and np.dtype(dtype) == self.dtype:  # (no conversion: a view, not a read)
            return self
        return self._read("a tensor's .data.astype()").astype(dtype, order, casting, subok,
                                                            copy)

    def __array__(self, dtype=None, copy=None):
        arr = self._read("converting a tensor's .data")
        return arr if dtype is None else arr.astype(dtype)


class DataWatch:
    """Swaps Tensor.data for a property that hands out _Watched views to the tracing thread
    (outside the tracer's own work), and back."""

    def __init__(self, tensor_cls):
        self.cls = tensor_cls
        self.slot = tensor_cls.__dict__["data"]  # the member descriptor of the `data` slot

    def install(self, tracer):
        slot = self.slot

        def get(t):
            arr = slot.__get__(t)
            if tracer.watching() and type(arr) is np.ndarray:
                return arr.view(_Watched)
            return arr

        def set_(t, value):
            if type(value) is _Watched:
                value = tracer.unwatch(value)
            if tracer.watching():
                try:
                    slot.__get__(t)
                except AttributeError:  # a tensor being made: not a change
                    pass
                else:
                    tracer.unsupported("assigning a tensor's .data")
            slot.__set__(t, value)

        _Watched.tracer = tracer
        self.cls.data = property(get, set_)

    def remove(self):
        self.cls.data = self.slot
        _Watched.tracer = None
