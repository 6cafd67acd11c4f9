"""Recurrent layers (torch.nn.modules.rnn): RNN, LSTM, GRU and their cells.

Each layer and direction runs as one sequence op of autodiff.sequence (the whole
time-major sequence at once); the modules stack layers and directions, apply dropout between
layers and handle batch_first, unbatched input and PackedSequence input.
"""
import math
import numbers
import warnings

import numpy as np

import autodiff as ad
from autodiff import sequence as recurrent
from nn import functional as F
from nn import init
from nn.layers import _check_device
from nn.module import Module
from nn.parameter import Parameter
from nn.utils.rnn import PackedSequence

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_OPS = {"RNN_TANH": recurrent.rnn_tanh, "RNN_RELU": recurrent.rnn_relu, "LSTM": recurrent.lstm,
        "GRU": recurrent.gru}
_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _int_arg(name, value):
    """value as a Python int: ints and numpy integers pass, bools and anything else raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} should be of type int, got: {type(value).__name__} "
                        f"({value!r}); pass an int")
    return int(value)


def _positive_int(name, value):
    value = _int_arg(name, value)
    if value <= 0:
        raise ValueError(f"{name} must be greater than zero, got {value}")
    return value


def _check_dtype(who, input, weight, error):
    """The input's dtype is the weights' (layers raise ValueError, cells RuntimeError, as
    PyTorch's check and matmul do)."""
    if input.dtype != weight.dtype:
        raise error(f"{who} input dtype ({input.dtype}) does not match weight dtype "
                    f"({weight.dtype}). Convert input: input.to({weight.dtype}), or convert "
                    f"model: model.to({input.dtype})")


def _lstm_state(op, hx):
    """hx as the pair (h, c): a tuple or list of exactly two tensors, as PyTorch's op."""
    if not isinstance(hx, (tuple, list)):
        raise TypeError(f"{op}: hx must be a tuple (h_0, c_0) of tensors, got "
                        f"{type(hx).__name__}")
    if len(hx) != 2:
        shapes = [tuple(getattr(h, "shape", ())) for h in hx]
        raise RuntimeError(f"{op} expects two hidden states, got {len(hx)} (shapes {shapes}); "
                           f"pass hx=(h_0, c_0)")
    return tuple(hx)


def _packed_index(batch_sizes):
    """(index (T, B) of each padded slot into [data; zero row], packed rows of a flat (T * B)
    array): the maps between the packed layout and the padded time-major one."""
    T, B = batch_sizes.size, int(batch_sizes[0])
    t, b = np.nonzero(np.arange(B)[None, :] < batch_sizes[:, None])
    index = np.full((T, B), t.size, dtype=np.int64)
    index[t, b] = np.arange(t.size)
    return index, t * B + b


class RNNBase(Module):
    """The shared body of RNN, LSTM and GRU: parameters per layer and direction in PyTorch's
    names, shapes and order, U(-1/sqrt(hidden), 1/sqrt(hidden)) init, the forward driver"""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, proj_size=0, device=None,
                 dtype=None):
        super().__init__()
        if mode not in _GATES:
            raise ValueError(f"Unrecognized RNN mode: {mode!r}; choose one of {list(_GATES)}")
        _check_device(device, type(self).__name__)
        if (isinstance(dropout, bool) or not isinstance(dropout, numbers.Number)
                or not 0 <= dropout <= 1):
            raise ValueError(f"dropout should be a number in range [0, 1] representing the "
                             f"probability of an element being zeroed, got {dropout!r}")
        if dropout > 0 and num_layers == 1:
            warnings.warn(f"dropout option adds dropout after all but last recurrent layer, so "
                          f"non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}", stacklevel=2)
        for name, v in (("bias", bias), ("batch_first", batch_first)):
            if not isinstance(v, bool):
                raise TypeError(f"{name} should be of type bool, got: {type(v).__name__}")
        input_size = _positive_int("input_size", input_size)
        hidden_size = _positive_int("hidden_size", hidden_size)
        num_layers = _positive_int("num_layers", num_layers)
        proj_size = _int_arg("proj_size", proj_size)
        if proj_size < 0:
            raise ValueError(f"proj_size should be a positive integer or zero to disable "
                             f"projections, got {proj_size!r}")
        if proj_size >= hidden_size:
            raise ValueError(f"proj_size has to be smaller than hidden_size, got proj_size="
                             f"{proj_size} and hidden_size={hidden_size}")
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional, self.proj_size = float(dropout), bidirectional, proj_size
        gates = _GATES[mode] * hidden_size
        out_size = proj_size or hidden_size
        D = 2 if bidirectional else 1
        self._flat_weights_names, self._all_weights = [], []
        for layer in range(num_layers):
            layer_in = input_size if layer == 0 else out_size * D
            for direction in range(D):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                shapes = [("weight_ih", (gates, layer_in)), ("weight_hh", (gates, out_size))]
                if bias:
                    shapes += [("bias_ih", (gates,)), ("bias_hh", (gates,))]
                if proj_size:
                    shapes.append(("weight_hr", (proj_size, hidden_size)))
                names = []
                for base, shape in shapes:
                    setattr(self, base + suffix, Parameter(ad.empty(*shape, dtype=dtype)))
                    names.append(base + suffix)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1.0 / math.sqrt(self.hidden_size)
        for w in self.parameters():
            init.uniform_(w, -bound, bound)

    def flatten_parameters(self):
        """A no-op (PyTorch packs the weights for cuDNN; nothing to do on the CPU)."""

    @property
    def _flat_weights(self):
        return [getattr(self, n, None) for n in self._flat_weights_names]

    @property
    def all_weights(self):
        return [[getattr(self, n) for n in names] for names in self._all_weights]

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # --- argument checks (PyTorch's public methods, which subclasses may override) ------------

    def check_input(self, input, batch_sizes):
        """input's dtype is the weights' (ValueError) and it is 2-D (packed data: batch_sizes
        given) or 3-D with input_size features (RuntimeError)."""
        weight = getattr(self, self._flat_weights_names[0])
        _check_dtype(type(self).__name__, input, weight, ValueError)
        expected_input_dim = 2 if batch_sizes is not None else 3
        if input.dim() != expected_input_dim:
            raise RuntimeError(f"input must have {expected_input_dim} dimensions, got "
                               f"{input.dim()}")
        if self.input_size != input.size(-1):
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.size(-1)}")

    def _layers_and_batch(self, input, batch_sizes):
        """(num_layers * num_directions, mini_batch): mini_batch is batch_sizes[0] for packed
        data, else input's batch dimension (the shared start of the expected state sizes)."""
        if batch_sizes is not None:
            mini_batch = int(batch_sizes[0])
        else:
            mini_batch = input.size(0) if self.batch_first else input.size(1)
        return self.num_layers * (2 if self.bidirectional else 1), mini_batch

    def get_expected_hidden_size(self, input, batch_sizes):
        """(num_layers * num_directions, mini_batch, proj_size or hidden_size)"""
        return self._layers_and_batch(input, batch_sizes) + (
            self.proj_size if self.proj_size > 0 else self.hidden_size,)

    def check_hidden_size(self, hx, expected_hidden_size,
                          msg="Expected hidden size {}, got {}"):
        """RuntimeError msg.format(expected_hidden_size, list(hx.size())) unless hx has that
        size."""
        if hx.size() != expected_hidden_size:
            raise RuntimeError(msg.format(expected_hidden_size, list(hx.size())))

    def check_forward_args(self, input, hidden, batch_sizes):
        """What forward checks: check_input, then hidden against get_expected_hidden_size."""
        self.check_input(input, batch_sizes)
        expected_hidden_size = self.get_expected_hidden_size(input, batch_sizes)
        self.check_hidden_size(hidden, expected_hidden_size)

    def permute_hidden(self, hx, permutation):
        """hx reordered along the batch dimension (1) by permutation (None: hx itself)."""
        if permutation is None:
            return hx
        return hx.index_select(1, permutation)

    # --- forward ---------------------------------------------------------------------------

    def _zero_state(self, batch, dtype):
        """The default initial state: zeros h_0 (and c_0 for the LSTM)."""
        D = 2 if self.bidirectional else 1
        h = ad.zeros(self.num_layers * D, batch, self.proj_size or self.hidden_size, dtype=dtype)
        if self.mode != "LSTM":
            return h
        return h, ad.zeros(self.num_layers * D, batch, self.hidden_size, dtype=dtype)

    def _check_packed_lstm(self, input, hx, batch_sizes):
        """PyTorch's LSTM.forward leaves packed input to its C++ op (no check_forward_args
        call, so overriding it has no effect there); the same checks, not overridable."""
        RNNBase.check_input(self, input, batch_sizes)
        RNNBase.check_hidden_size(self, hx[0], RNNBase.get_expected_hidden_size(
            self, input, batch_sizes), "Expected hidden[0] size {}, got {}")
        RNNBase.check_hidden_size(self, hx[1], LSTM.get_expected_cell_size(
            self, input, batch_sizes), "Expected hidden[1] size {}, got {}")

    def forward(self, input, hx=None):
        # The order of checks and of the check_forward_args / permute_hidden calls is
        # PyTorch's (RNN.forward / GRU.forward, and LSTM.forward for the LSTM).
        lstm = self.mode == "LSTM"
        if lstm and hx is not None:
            hx = _lstm_state("lstm", hx)
        packed = isinstance(input, PackedSequence)
        if packed:
            orig = input
            input, batch_sizes, sorted_indices, unsorted_indices = orig
            steps = np.asarray(batch_sizes.data, dtype=np.int64)
            if hx is None:
                hx = self._zero_state(int(steps[0]), input.dtype)
            else:
                # h_0 is in the caller's batch order: into the sorted one
                hx = self.permute_hidden(hx, sorted_indices)
            if lstm:
                hx = _lstm_state("lstm", hx)
                self._check_packed_lstm(input, hx, batch_sizes)
            else:
                self.check_forward_args(input, hx, batch_sizes)
            index, rows = _packed_index(steps)
            zero = ad.zeros(1, input.shape[1], dtype=input.dtype)
            x = ad.cat([input, zero])[index]
            steps = steps.tolist()
        else:
            batch_sizes = unsorted_indices = None
            if input.dim() not in (2, 3):
                name, what = {"LSTM": ("LSTM", ""), "GRU": ("GRU", "")}.get(
                    self.mode, ("RNN", " tensor"))
                raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.dim()}D"
                                 f"{what} instead")
            batched = input.dim() == 3
            batch_dim = 0 if self.batch_first else 1
            if not batched:
                input = input.unsqueeze(batch_dim)
            if hx is None:
                hx = self._zero_state(input.shape[batch_dim], input.dtype)
                if lstm:
                    self.check_forward_args(input, hx, None)
            else:
                dims = tuple(h.dim() for h in hx) if lstm else (hx.dim(),)
                want = 3 if batched else 2
                if any(d != want for d in dims):
                    kind = "batched 3-D" if batched else "unbatched 2-D"
                    got = (f"({dims[0]}-D, {dims[1]}-D) tensors" if lstm
                           else f"{dims[0]}-D tensor")
                    raise RuntimeError(f"For {kind} input, hx{' and cx' if lstm else ''} should "
                                       f"also be {want}-D but got {got}")
                if not batched:
                    hx = tuple(h.unsqueeze(1) for h in hx) if lstm else hx.unsqueeze(1)
                if lstm:
                    self.check_forward_args(input, hx, None)
                hx = self.permute_hidden(hx, None)
            if not lstm:
                self.check_forward_args(input, hx, None)
            x = input.transpose(0, 1) if self.batch_first else input
            steps = None
        states = _lstm_state("lstm", hx) if lstm else (hx,)
        out, finals = self._layers(x, states, steps)
        final = tuple(ad.stack(f) for f in finals)
        final = final if lstm else final[0]
        if packed:
            out = out.reshape(-1, out.shape[-1])[rows]
            out = PackedSequence(out, batch_sizes, sorted_indices, unsorted_indices)
        else:
            if self.batch_first:
                out = out.transpose(0, 1)
            if not batched:
                out = out.squeeze(batch_dim)
                final = tuple(h.squeeze(1) for h in final) if lstm else final.squeeze(1)
        # h_n back into the caller's batch order
        return out, self.permute_hidden(final, unsorted_indices)

    def _layers(self, x, states, batch_sizes):
        """Runs every layer and direction over time-major x: (output, [h_n list(, c_n list)])."""
        op = _OPS[self.mode]
        D = 2 if self.bidirectional else 1
        for i, s in enumerate(states):  # reached unchecked when check_forward_args is overridden
            if s.dim() != 3 or s.shape[0] != self.num_layers * D:
                raise RuntimeError(f"{self.mode.lower()}: expected hx[{i}] of shape "
                                   f"(num_layers * num_directions={self.num_layers * D}, batch, "
                                   f"size), got {tuple(s.shape)}")
        finals = tuple([] for _ in states)
        for layer in range(self.num_layers):
            if layer and self.dropout and self.training:
                x = F.dropout(x, self.dropout, True)
            outs = []
            for direction in range(D):
                k = layer * D + direction
                w = [getattr(self, n) for n in self._all_weights[k]]
                if not self.bias:
                    w[2:2] = [None, None]
                res = op(x, *(s[k] for s in states), *w, batch_sizes=batch_sizes,
                         reverse=bool(direction))
                outs.append(res[0])
                for f, h in zip(finals, res[1:]):
                    f.append(h)
            x = outs[0] if D == 1 else ad.cat(outs, dim=-1)
        return x, finals


class RNN(RNNBase):
    """Elman RNN: h_t = nonlinearity(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), nonlinearity
    'tanh' or 'relu'"""

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:
            self.nonlinearity, args = args[3], args[:3] + args[4:]
        else:
            self.nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if self.nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{self.nonlinearity}'. Select from 'tanh' or "
                             f"'relu'.")
        super().__init__("RNN_TANH" if self.nonlinearity == "tanh" else "RNN_RELU", *args,
                         **kwargs)


class LSTM(RNNBase):
    """LSTM, gates i, f, g, o: c_t = f c_{t-1} + i g, h_t = o tanh(c_t) (projected by W_hr
    when proj_size > 0); returns (output, (h_n, c_n))"""

    def __init__(self, *args, **kwargs):
        super().__init__("LSTM", *args, **kwargs)

    def get_expected_cell_size(self, input, batch_sizes):
        """(num_layers * num_directions, mini_batch, hidden_size): c_0's size."""
        return self._layers_and_batch(input, batch_sizes) + (self.hidden_size,)

    def check_forward_args(self, input, hidden, batch_sizes):
        """check_input, then hidden[0] against get_expected_hidden_size and hidden[1] against
        get_expected_cell_size."""
        self.check_input(input, batch_sizes)
        self.check_hidden_size(hidden[0], self.get_expected_hidden_size(input, batch_sizes),
                               "Expected hidden[0] size {}, got {}")
        self.check_hidden_size(hidden[1], self.get_expected_cell_size(input, batch_sizes),
                               "Expected hidden[1] size {}, got {}")

    def permute_hidden(self, hx, permutation):
        """(h, c) each reordered along the batch dimension (1) by permutation (None: hx)."""
        if permutation is None:
            return hx
        return hx[0].index_select(1, permutation), hx[1].index_select(1, permutation)


class GRU(RNNBase):
    """GRU, gates r, z, n: n = tanh(x W_in^T + b_in + r (h W_hn^T + b_hn)),
    h_t = (1 - z) n + z h_{t-1}"""

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)


# --- cells ---------------------------------------------------------------------------------------

class RNNCellBase(Module):
    """One step of a recurrent layer: weight_ih (G * hidden, input), weight_hh (G * hidden,
    hidden), biases (G * hidden,), all U(-1/sqrt(hidden), 1/sqrt(hidden))"""

    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        super().__init__()
        _check_device(device, type(self).__name__)
        input_size = _positive_int("input_size", input_size)
        hidden_size = _positive_int("hidden_size", hidden_size)
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        G = num_chunks * hidden_size
        self.weight_ih = Parameter(ad.empty(G, input_size, dtype=dtype))
        self.weight_hh = Parameter(ad.empty(G, hidden_size, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(ad.empty(G, dtype=dtype))
            self.bias_hh = Parameter(ad.empty(G, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1.0 / math.sqrt(self.hidden_size)
        for w in self.parameters():
            init.uniform_(w, -bound, bound)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _prepare(self, input, hx, n_states):
        """(input (1, N, H_in), states each (N, H), batched): checks as PyTorch's cells."""
        name = type(self).__name__
        if input.ndim not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.ndim}D instead")
        for i, h in enumerate(hx or ()):
            if h.ndim not in (1, 2):
                what = "hidden" if n_states == 1 else f"hx[{i}]"
                raise ValueError(f"{name}: Expected {what} to be 1D or 2D, got {h.ndim}D instead")
        batched = input.ndim == 2
        x = input if batched else input.unsqueeze(0)
        if x.shape[1] != self.input_size:
            raise RuntimeError(f"{name}: input has inconsistent input_size: got {x.shape[1]} "
                               f"expected {self.input_size}")
        _check_dtype(name, x, self.weight_ih, RuntimeError)
        if hx is None:
            hx = (ad.zeros(x.shape[0], self.hidden_size, dtype=x.dtype),) * n_states
        else:
            hx = tuple(h if batched else h.unsqueeze(0) for h in hx)
            for i, h in enumerate(hx):
                if h.shape[0] != x.shape[0]:
                    raise RuntimeError(f"{name}: Input batch size {x.shape[0]} doesn't match "
                                       f"hidden{i} batch size {h.shape[0]} (hidden{i} shape "
                                       f"{tuple(h.shape)})")
                if h.shape[1] != self.hidden_size:
                    raise RuntimeError(f"{name}: hidden{i} has inconsistent hidden_size: got "
                                       f"{h.shape[1]}, expected {self.hidden_size}")
        return x.unsqueeze(0), hx, batched

    def _step(self, op, input, hx, n_states):
        x, hx, batched = self._prepare(input, hx, n_states)
        res = op(x, *hx, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        states = res[1:]
        if not batched:
            states = tuple(h.squeeze(0) for h in states)
        return states


class RNNCell(RNNCellBase):
    """h' = nonlinearity(x W_ih^T + b_ih + h W_hh^T + b_hh), nonlinearity 'tanh' or 'relu'"""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None,
                 dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        if self.nonlinearity not in ("tanh", "relu"):
            raise RuntimeError(f"RNNCell: Unknown nonlinearity: {self.nonlinearity!r}; use "
                               f"'tanh' or 'relu'")
        op = recurrent.rnn_tanh if self.nonlinearity == "tanh" else recurrent.rnn_relu
        return self._step(op, input, None if hx is None else (hx,), 1)[0]


class LSTMCell(RNNCellBase):
    """(h', c'): c' = f c + i g, h' = o tanh(c'), gates i, f, g, o from
    x W_ih^T + b_ih + h W_hh^T + b_hh"""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=4, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        return self._step(recurrent.lstm, input,
                          None if hx is None else _lstm_state("lstm_cell", hx), 2)


class GRUCell(RNNCellBase):
    """h' = (1 - z) n + z h, gates r, z from sigma(...), n = tanh(x W_in^T + b_in +
    r (h W_hn^T + b_hn))"""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=3, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        return self._step(recurrent.gru, input, None if hx is None else (hx,), 1)[0]
