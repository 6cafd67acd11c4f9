"""Catalog entries for the fused recurrent sequence primitives (autodiff/ops/recurrent.py), with
plain numpy loop references written from PyTorch's cell equations. Each entry's fn returns the
outputs (output, h_n(, c_n)) flattened and joined, so gradients flow from all of them. Shapes
are tiny (T 1-3 for the RNN, 1-2 for the gated cells; B 1-2, input and hidden 1-2) since
gradgradcheck perturbs every input element; params draw reverse and batch_sizes (None, or T
non-increasing counts: a packed sequence)."""
import numpy as np
from hypothesis import strategies as st

import autodiff as ad
from autodiff.ops import recurrent
from catalog import Op, np_sigmoid

GATES = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}


# --- numpy references ---------------------------------------------------------------------------

def np_sequence(name, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, batch_sizes, reverse):
    """(output, h_n, c_n) one step at a time; rows b >= batch_sizes[t] keep their state and
    output zeros."""
    T, B = x.shape[:2]
    H = w_hh.shape[0] // GATES[name]
    b_ih = np.zeros(w_ih.shape[0]) if b_ih is None else b_ih
    b_hh = np.zeros(w_hh.shape[0]) if b_hh is None else b_hh
    h, c = h0.copy(), None if c0 is None else c0.copy()
    out = np.zeros((T, B, h0.shape[1]))
    for t in (reversed(range(T)) if reverse else range(T)):
        n = B if batch_sizes is None else batch_sizes[t]
        for b in range(n):
            xi = w_ih @ x[t, b] + b_ih
            hh = w_hh @ h[b] + b_hh
            if name == "rnn_tanh":
                h[b] = np.tanh(xi + hh)
            elif name == "rnn_relu":
                h[b] = np.maximum(xi + hh, 0.0)
            elif name == "gru":
                r = np_sigmoid(xi[:H] + hh[:H])
                z = np_sigmoid(xi[H:2 * H] + hh[H:2 * H])
                nn = np.tanh(xi[2 * H:] + r * hh[2 * H:])
                h[b] = (1 - z) * nn + z * h[b]
            else:
                a = xi + hh
                i, f = np_sigmoid(a[:H]), np_sigmoid(a[H:2 * H])
                g, o = np.tanh(a[2 * H:3 * H]), np_sigmoid(a[3 * H:])
                c[b] = f * c[b] + i * g
                m = o * np.tanh(c[b])
                h[b] = m if w_hr is None else w_hr @ m
            out[t, b] = h[b]
    return out, h, c


def _flat(*outs):
    return [o for o in outs if o is not None]


# --- entries --------------------------------------------------------------------------------------

def _params(draw, shapes):
    T, B = shapes[0][:2]
    packed = draw(st.booleans())
    sizes = None
    if packed:
        sizes = sorted(draw(st.lists(st.integers(1, B), min_size=T, max_size=T)), reverse=True)
    return {"batch_sizes": sizes, "reverse": draw(st.booleans())}


def _shapes(name, bias, proj):
    G = GATES[name]
    longest = 3 if G == 1 else 2  # (gradgradcheck's time grows with every element)

    def draw_shapes(draw):
        T, B = draw(st.integers(1, longest)), draw(st.integers(1, 2))
        H = 2 if proj else draw(st.integers(1, 2))
        I = draw(st.integers(1, 2 if G == 1 or H == 1 else 1))
        P = 1 if proj else H
        shapes = [(T, B, I), (B, P)] + ([(B, H)] if name == "lstm" else [])
        shapes += [(G * H, I), (G * H, P)] + ([(G * H,), (G * H,)] if bias else [])
        return shapes + ([(P, H)] if proj else [])
    return draw_shapes


def _entry(name, bias=True, proj=False, label=""):
    lstm = name == "lstm"

    def split(xs):
        """(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr) from the entry's inputs."""
        xs = list(xs)
        x, h0 = xs[:2]
        c0 = xs[2] if lstm else None
        rest = xs[3:] if lstm else xs[2:]
        w_ih, w_hh = rest[:2]
        b_ih, b_hh = rest[2:4] if bias else (None, None)
        w_hr = rest[-1] if proj else None
        return x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr

    def fn(*xs, batch_sizes=None, reverse=False):
        x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr = split(xs)
        f = getattr(recurrent, name)
        if lstm:
            outs = f(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, batch_sizes=batch_sizes,
                     reverse=reverse)
        else:
            outs = f(x, h0, w_ih, w_hh, b_ih, b_hh, batch_sizes=batch_sizes, reverse=reverse)
        return ad.cat([o.reshape(-1) for o in outs])

    def ref(*xs, batch_sizes=None, reverse=False):
        outs = np_sequence(name, *split(xs), batch_sizes, reverse)
        return np.concatenate([o.reshape(-1) for o in _flat(*outs)])

    n_inputs = (3 if lstm else 2) + 2 + (2 if bias else 0) + (1 if proj else 0)
    # x and the states anywhere in [-2, 2]; weights in [-0.9, 0.9] (a relu pre-activation then
    # rarely sits at its kink)
    domain = ("real", "real") + (("real",) if lstm else ()) + ("unit",) * (n_inputs - 2 - lstm)
    return Op(f"recurrent.{name}", fn, ref, _shapes(name, bias, proj), domain=domain,
              params=_params, label=label)


# (the gated cells' second-order checks cost seconds each: their other bias options are
# compared with the composed form to second order in tests/test_recurrent_ops.py)
ENTRIES = [
    _entry("rnn_tanh"),
    _entry("rnn_tanh", bias=False, label="no bias"),
    _entry("rnn_relu"),
    _entry("lstm"),
    _entry("lstm", bias=False, proj=True, label="proj, no bias"),
    _entry("gru"),
]
for _op in ENTRIES:
    _op.slow = True  # (see Op.slow)
