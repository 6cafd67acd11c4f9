"""Recurrent layers' sequence primitives: one layer, one direction, the whole sequence.

Inputs are time-major: x (T, B, I), the initial state h0 (B, H_out) (and c0 (B, H) for the
LSTM), the weights in PyTorch's layout and gate order (LSTM: i, f, g, o; GRU: r, z, n), biases
or None. `batch_sizes` (static): None when every row runs all T steps, else T non-increasing
counts, row b active at step t iff b < batch_sizes[t] (a packed sequence: rows sorted by
decreasing length). An inactive row keeps its state and outputs zeros. `reverse=True` runs
t = T-1 ... 0. Each returns (output (T, B, H_out), h_n (B, H_out)) and the LSTM also c_n (B, H).
"""
from .elementwise import relu, sigmoid, tanh
from .linalg import linear
from .shape import cat, stack

__all__ = ["rnn_tanh", "rnn_relu", "lstm", "gru"]


def _steps(T, reverse):
    return range(T - 1, -1, -1) if reverse else range(T)


def _active(new, old, n, zeros_like_new):
    """(state, output) for a step where only the first n rows run: the other rows keep `old`
    and output zeros."""
    if n == new.shape[0]:
        return new, new
    return cat([new[:n], old[n:]]), cat([new[:n], zeros_like_new[n:]])


def _scan(x, h0, step, batch_sizes, reverse, extra=None):
    """Runs `step(x_t, h, extra) -> (h_out, h_state, extra)` over time; (output, h_n, extra)."""
    T = x.shape[0]
    zeros = None
    outs = [None] * T
    h, e = h0, extra
    for t in _steps(T, reverse):
        h_out, e_new = step(x[t], h, e)
        n = h.shape[0] if batch_sizes is None else batch_sizes[t]
        if n != h.shape[0]:
            if zeros is None:
                zeros = h_out * 0.0
            h, outs[t] = _active(h_out, h, n, zeros)
            if e_new is not None:
                e, _ = _active(e_new, e, n, e_new)
        else:
            h, outs[t], e = h_out, h_out, e_new
    return stack(outs), h, e


def _composed_rnn(x, h0, w_ih, w_hh, b_ih, b_hh, activation, batch_sizes, reverse):
    xw = linear(x, w_ih, b_ih)  # (T, B, H): the input projection of every step at once

    def step(xw_t, h, _):
        return activation(xw_t + linear(h, w_hh, b_hh)), None
    out, h, _ = _scan(xw, h0, step, batch_sizes, reverse)
    return out, h


def rnn_tanh(x, h0, w_ih, w_hh, b_ih=None, b_hh=None, *, batch_sizes=None, reverse=False):
    """h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) -> (output, h_n)"""
    return _composed_rnn(x, h0, w_ih, w_hh, b_ih, b_hh, tanh, batch_sizes, reverse)


def rnn_relu(x, h0, w_ih, w_hh, b_ih=None, b_hh=None, *, batch_sizes=None, reverse=False):
    """h_t = relu(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) -> (output, h_n)"""
    return _composed_rnn(x, h0, w_ih, w_hh, b_ih, b_hh, relu, batch_sizes, reverse)


def lstm(x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, w_hr=None, *, batch_sizes=None,
         reverse=False):
    """i, f, g, o = sigma, sigma, tanh, sigma of x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh;
    c_t = f c_{t-1} + i g; h_t = o tanh(c_t) (then h_t W_hr^T with a projection)
    -> (output, h_n, c_n)"""
    xw = linear(x, w_ih, b_ih)
    H = w_hh.shape[0] // 4

    def step(xw_t, h, c):
        z = xw_t + linear(h, w_hh, b_hh)
        i, f, g, o = (sigmoid(z[:, :H]), sigmoid(z[:, H:2 * H]), tanh(z[:, 2 * H:3 * H]),
                      sigmoid(z[:, 3 * H:]))
        c = f * c + i * g
        h = o * tanh(c)
        return (h if w_hr is None else linear(h, w_hr)), c
    out, h, c = _scan(xw, h0, step, batch_sizes, reverse, extra=c0)
    return out, h, c


def gru(x, h0, w_ih, w_hh, b_ih=None, b_hh=None, *, batch_sizes=None, reverse=False):
    """r, z = sigma(x W_ir^T + b_ir + h W_hr^T + b_hr), sigma(... z ...);
    n = tanh(x W_in^T + b_in + r (h W_hn^T + b_hn)); h_t = (1 - z) n + z h_{t-1}
    -> (output, h_n)"""
    xw = linear(x, w_ih, b_ih)
    H = w_hh.shape[0] // 3

    def step(xw_t, h, _):
        hw = linear(h, w_hh, b_hh)
        r = sigmoid(xw_t[:, :H] + hw[:, :H])
        z = sigmoid(xw_t[:, H:2 * H] + hw[:, H:2 * H])
        n = tanh(xw_t[:, 2 * H:] + r * hw[:, 2 * H:])
        return n + z * (h - n), None
    out, h, _ = _scan(xw, h0, step, batch_sizes, reverse)
    return out, h

