"""Recurrent layers' sequence primitives: one layer, one direction, the whole sequence.

Inputs are time-major: x (T, B, I), the initial state h0 (B, H_out) (and c0 (B, H) for the
LSTM), the weights in PyTorch's layout and gate order (LSTM: i, f, g, o; GRU: r, z, n), biases
or None. `batch_sizes` (static): None when every row runs all T steps, else T non-increasing
counts, row b active at step t iff b < batch_sizes[t] (a packed sequence: rows sorted by
decreasing length). An inactive row keeps its state and outputs zeros. `reverse=True` runs
t = T-1 ... 0. Each returns (output (T, B, H_out), h_n (B, H_out)) and the LSTM also c_n (B, H).

Each function is one node (RNNSeq, LSTMSeq, GRUSeq) over the whole sequence. Its forward runs
in numpy: the input projection of every step as one product, then per step one h @ W_hh^T and
the gate nonlinearities in place in preallocated buffers (one exp over all gates: sigmoid(z) =
1 / (1 + exp(-z)) and tanh(z) = 2 sigmoid(2 z) - 1, the -1 and -2 folded into the weights;
numpy's exp is several times faster than its tanh). It returns ONE flat array
[output, h_n(, c_n)] that the function splits into views, so gradients reaching any output meet
in the node. The rule is backpropagation through time, written once: per step the gate
gradients of the active rows and dh_{t-1} = dgates @ W_hh; the weight gradients are one product
over all steps at the end. A first-order pass runs it on the activations the forward saved,
writing into buffers; with create_graph=True it recomputes those activations with the composed
reference (recorded ops) and runs the same code on tensors, so grad-of-grad is exact.
"""
import numpy as np

from ..function import Node, apply
from ..tensor import Tensor
from .elementwise import raw, relu, sigmoid, tanh
from .linalg import linear
from .shape import cat, stack

__all__ = ["rnn_tanh", "rnn_relu", "lstm", "gru"]


# --- the composed reference: a Python loop of recorded ops (the test oracle, and the recorded
# recomputation of the activations for create_graph=True) -------------------------------------

def _steps(T, reverse):
    return range(T - 1, -1, -1) if reverse else range(T)


def _merge(new, old, n):
    """new for the first n rows, old for the others (the rows a packed step does not run)."""
    return new if n == new.shape[0] else cat([new[:n], old[n:]])


def _ordered(states, reverse):
    """[state before the first step, after step 0, ...] in the fused layout: indexed so that
    state[t] (forward) or state[t + 1] (reverse) is the one before step t."""
    return stack(states[::-1] if reverse else states)


def _composed(cell, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, batch_sizes, reverse, mode,
              keep=False):
    """(output, h_n, c_n) by a loop of recorded ops; with keep, also the activations the fused
    rule reads, as stacked tensors in the fused node's layout."""
    T, B = x.shape[0], x.shape[1]
    G = {"lstm": 4, "gru": 3}.get(cell, 1)
    H = w_hh.shape[0] // G
    xw = linear(x, w_ih, b_ih)  # (T, B, G H): the input projection of every step at once
    outs, hs, cs, acts, extra = [None] * T, [h0], [c0], [None] * T, [None] * T
    h, c, zeros = h0, c0, None
    for t in _steps(T, reverse):
        n = B if batch_sizes is None else batch_sizes[t]
        if cell == "lstm":
            z = xw[t] + linear(h, w_hh, b_hh)
            i, f, g, o = (sigmoid(z[:, :H]), sigmoid(z[:, H:2 * H]), tanh(z[:, 2 * H:3 * H]),
                          sigmoid(z[:, 3 * H:]))
            c_new = f * c + i * g
            tc = tanh(c_new)
            m = o * tc
            h_new = m if w_hr is None else linear(m, w_hr)
            acts[t] = stack([i, f, g, o])
            extra[t] = (tc, m)
            c = _merge(c_new, c, n)
            cs.append(c)
        elif cell == "gru":
            hw = linear(h, w_hh, b_hh)
            r = sigmoid(xw[t][:, :H] + hw[:, :H])
            zg = sigmoid(xw[t][:, H:2 * H] + hw[:, H:2 * H])
            nn = tanh(xw[t][:, 2 * H:] + r * hw[:, 2 * H:])
            h_new = nn + zg * (h - nn)
            acts[t] = stack([r, zg, nn], 1)
            extra[t] = hw[:, 2 * H:]
        else:
            h_new = (tanh if mode == "tanh" else relu)(xw[t] + linear(h, w_hh, b_hh))
        if n == B:
            outs[t] = h_new
        else:
            if zeros is None:
                zeros = h_new * 0.0
            outs[t] = _merge(h_new, zeros, n)
        h = _merge(h_new, h, n)
        hs.append(h)
    out = stack(outs)
    if not keep:
        return out, h, c
    saved = {"Hs": _ordered(hs, reverse)}
    if cell == "lstm":
        saved.update(A=stack(acts, 1), Cs=_ordered(cs, reverse), TC=stack([e[0] for e in extra]),
                     M=None if w_hr is None else stack([e[1] for e in extra]))
    elif cell == "gru":
        saved.update(A=stack(acts), HN=stack(extra))
    return out, h, c, saved


# --- argument checks -----------------------------------------------------------------------------

_NAMES = {"rnn": "rnn_{mode}", "lstm": "lstm", "gru": "gru"}


def _check(cell, mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, batch_sizes):
    """(T, B, I, H, H_out, batch_sizes as a tuple or None), or a RuntimeError naming the
    function, the shapes and the fix."""
    op = _NAMES[cell].format(mode=mode)
    G = {"lstm": 4, "gru": 3}.get(cell, 1)
    args = {"x": x, "h0": h0, "c0": c0, "w_ih": w_ih, "w_hh": w_hh, "b_ih": b_ih, "b_hh": b_hh,
            "w_hr": w_hr}
    for name in ("x", "h0", "w_ih", "w_hh") + (("c0",) if cell == "lstm" else ()):
        if args[name] is None:
            raise TypeError(f"{op}: {name} is required, got None")
    for name, v in args.items():
        if v is not None and not isinstance(v, Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor, got {type(v).__name__}")
    dt = x.data.dtype
    if dt.kind != "f":
        raise RuntimeError(f"{op}: expected a floating-point input x, got dtype {dt}; convert "
                           f"with .float() or .double()")
    for name, v in args.items():
        if v is not None and v.data.dtype != dt:
            raise RuntimeError(f"{op}: {name} has dtype {v.data.dtype} but x has {dt}; all "
                               f"inputs and weights must share one dtype (convert with .to())")
    if x.data.ndim != 3:
        raise RuntimeError(f"{op}: expected x of shape (T, B, input_size), got shape "
                           f"{tuple(x.shape)}; add a batch dim with x.unsqueeze(1)")
    T, B, I = x.shape
    if T == 0:
        raise RuntimeError(f"{op}: expected a sequence length larger than 0, got x of shape "
                           f"{tuple(x.shape)}")
    if w_ih.data.ndim != 2 or w_ih.shape[1] != I or w_ih.shape[0] % G or not w_ih.shape[0]:
        raise RuntimeError(f"{op}: w_ih must have shape ({G} * hidden_size, input_size={I}) for "
                           f"x of shape {tuple(x.shape)}, got {tuple(w_ih.shape)}")
    H = w_ih.shape[0] // G
    P = H if w_hr is None else w_hr.shape[0]
    if w_hr is not None and (w_hr.data.ndim != 2 or w_hr.shape[1] != H or not 0 < P < H):
        raise RuntimeError(f"{op}: w_hr must have shape (proj_size, hidden_size={H}) with "
                           f"0 < proj_size < hidden_size, got {tuple(w_hr.shape)}")
    if tuple(w_hh.shape) != (G * H, P):
        raise RuntimeError(f"{op}: w_hh must have shape ({G * H}, {P}) (({G} * hidden_size, "
                           f"{'proj_size' if w_hr is not None else 'hidden_size'})) to match "
                           f"w_ih {tuple(w_ih.shape)}, got {tuple(w_hh.shape)}")
    for name in ("b_ih", "b_hh"):
        b = args[name]
        if b is not None and tuple(b.shape) != (G * H,):
            raise RuntimeError(f"{op}: {name} must have shape ({G * H},) ({G} * hidden_size), "
                               f"got {tuple(b.shape)}")
    if tuple(h0.shape) != (B, P):
        raise RuntimeError(f"{op}: expected h0 of shape ({B}, {P}) (batch, "
                           f"{'proj_size' if w_hr is not None else 'hidden_size'}) for x of "
                           f"shape {tuple(x.shape)}, got {tuple(h0.shape)}")
    if cell == "lstm" and tuple(c0.shape) != (B, H):
        raise RuntimeError(f"{op}: expected c0 of shape ({B}, {H}) (batch, hidden_size) for x of "
                           f"shape {tuple(x.shape)}, got {tuple(c0.shape)}")
    if batch_sizes is not None:
        bs = tuple(int(n) for n in batch_sizes)
        if len(bs) != T or any(not 0 <= n <= B for n in bs) or \
                any(a < b for a, b in zip(bs, bs[1:])):
            raise RuntimeError(f"{op}: batch_sizes must be {T} non-increasing counts between 0 "
                               f"and the batch size {B} (one per step of x {tuple(x.shape)}), "
                               f"got {list(bs)}")
        batch_sizes = None if all(n == B for n in bs) else bs
    return T, B, I, H, P, batch_sizes


# --- helpers of the rule: one code for arrays (into buffers) and tensors (recorded) ------------

def _into(arrays):
    """buffer[index] on arrays (a view to write into), None on tensors (no buffers)."""
    if arrays:
        return lambda buf, *index: buf[index]
    return lambda buf, *index: None


def _mul(a, b, out):
    return a * b if out is None else np.multiply(a, b, out=out)


def _add(a, b, out):
    return a + b if out is None else np.add(a, b, out=out)


def _mm(a, b, out):
    return a @ b if out is None else np.matmul(a, b, out=out)


def _rows(new, old, n):
    """The state after a step that updated the first n rows: on arrays `new` was written into
    old[:n]; on tensors it is joined with the rows that did not run."""
    if isinstance(new, Tensor):
        return new if n == old.shape[0] else cat([new, old[n:]])
    return old


def _gathered(per_step, B):
    """Per-step tensors of the active rows, zero-padded to B rows and stacked over time."""
    rows = []
    for v in per_step:
        if v.shape[0] != B:
            pad = np.zeros((B - v.shape[0],) + tuple(v.shape[1:]), v.dtype)
            v = cat([v, Tensor._const(pad)])
        rows.append(v)
    return stack(rows)


def _grad_buffer(node, shape, dtype):
    """Per-step gradients of all rows: zeros where packed steps leave rows out."""
    return (np.empty if node.batch_sizes is None else np.zeros)(shape, dtype)


def _stack(parts, axis):
    return stack(parts, axis) if isinstance(parts[0], Tensor) else np.stack(parts, axis)


def _split(y, T, B, P, H, lstm):
    """(output (T, B, P), h_n (B, P), c_n (B, H) or None) as views of the flat y."""
    bp = B * P
    out = y[:T * bp].reshape(T, B, P)
    h_n = y[T * bp:(T + 1) * bp].reshape(B, P)
    c_n = y[(T + 1) * bp:].reshape(B, H) if lstm else None
    return out, h_n, c_n


class _Seq(Node):
    """Shared parameters of the sequence nodes: sizes, which optional inputs are present,
    batch_sizes and direction. Output: flat [output (T, B, P), h_n (B, P)(, c_n (B, H))]. The
    states live in a buffer of their own (T + 1, B, P), [h0, after step 0, ...] (reverse:
    [after step 0, ..., after step T - 1, h0]), so changing the output in place is allowed, as
    in PyTorch."""
    __slots__ = ("T", "B", "I", "H", "P", "present", "batch_sizes", "reverse", "mode", "_s")
    saved = ("_s",)
    reads = None  # every input: with create_graph the rule recomputes the forward from them
    cell = None

    def __init__(self, T, B, I, H, P, present, batch_sizes, reverse, mode=None):
        self.T, self.B, self.I, self.H, self.P = T, B, I, H, P
        self.present, self.batch_sizes, self.reverse = present, batch_sizes, reverse
        self.mode = mode

    def params(self):
        return {"batch_sizes": self.batch_sizes, "reverse": self.reverse}

    def _args(self, xs):
        """The inputs by name (absent optional ones None)."""
        args = dict.fromkeys(("x", "h0", "c0", "w_ih", "w_hh", "b_ih", "b_hh", "w_hr"))
        args.update(zip(self.present, xs))
        return args

    def _n(self, t):
        return self.B if self.batch_sizes is None else self.batch_sizes[t]

    def _buffers(self, dtype, lstm):
        """(flat output, states (T + 1, B, P), the output (T, B, P) as a view of the first)"""
        T, B, P, H = self.T, self.B, self.P, self.H
        size = (T + 1) * B * P + (B * H if lstm else 0)
        y = (np.empty if self.batch_sizes is None else np.zeros)(size, dtype)
        return y, np.empty((T + 1, B, P), dtype), _split(y, T, B, P, H, lstm)[0]

    def _before_after(self, states):
        """(state before step t, state after step t), each indexed by t."""
        T = self.T
        return (states[1:], states[:T]) if self.reverse else (states[:T], states[1:])

    def _finish(self, y, states, out, h0):
        """Copies the states after each step to the output (with packed steps the active rows
        only: the others output zeros) and the final state to h_n."""
        T, B, P = self.T, self.B, self.P
        h_n = y[T * B * P:(T + 1) * B * P].reshape(B, P)
        h_n[...] = states[0] if self.reverse else states[T]
        _, after = self._before_after(states)
        if self.batch_sizes is None:
            out[...] = after
        else:
            for t in range(T):
                n = self.batch_sizes[t]
                out[t, :n] = after[t, :n]

    def _copy_carried(self, before, after, t, n):
        if n != self.B:
            after[n:] = before[n:]

    def backward(self, g, out, *xs):
        """Backpropagation through time: the gradient of every input from g (the flat output's)"""
        a = self._args(xs)
        arrays = not isinstance(g, Tensor)
        if arrays:
            saved = self._s
        else:  # create_graph: the activations recomputed by recorded ops, then the same rule
            saved = _composed(self.cell, a["x"], a["h0"], a["c0"], a["w_ih"], a["w_hh"],
                              a["b_ih"], a["b_hh"], a["w_hr"], self.batch_sizes, self.reverse,
                              self.mode, keep=True)[3]
        grads = self._bptt(g, a, saved, arrays)
        needs = dict(zip(self.present, self.needs_input_grad))
        return tuple(grads.get(name) if needs[name] else None for name in self.present)

    def _weight_grads(self, a, dz_x, perm_x, dz_h, perm_h, hp, gh0, extra=()):
        """The gradients of x, the weights and biases from the gate gradients of all steps
        (dz_x (T B, G H) for the input side, dz_h for the recurrent side; perm: their gate
        order to PyTorch's), one product each."""
        T, B, I, P = self.T, self.B, self.I, self.P
        needs = dict(zip(self.present, self.needs_input_grad))
        grads = {"h0": gh0}
        w_ih = a["w_ih"]
        if needs["x"]:
            w = w_ih if perm_x is None else w_ih[perm_x]
            grads["x"] = (dz_x @ w).reshape(T, B, I)

        def back(v, perm):
            return v if perm is None else v[np.argsort(perm)]
        if needs["w_ih"]:
            grads["w_ih"] = back(dz_x.mT @ a["x"].reshape(T * B, I), perm_x)
        if needs["w_hh"]:
            grads["w_hh"] = back(dz_h.mT @ hp.reshape(T * B, P), perm_h)
        if needs.get("b_ih"):
            grads["b_ih"] = back(dz_x.sum(0), perm_x)
        if needs.get("b_hh"):
            if dz_h is dz_x and perm_h is perm_x and needs.get("b_ih"):  # the same sum
                db = grads["b_ih"]
                grads["b_hh"] = db.copy() if isinstance(db, np.ndarray) else db
            else:
                grads["b_hh"] = back(dz_h.sum(0), perm_h)
        grads.update(extra)
        return grads


# --- vanilla RNN -------------------------------------------------------------------------------

class RNNSeq(_Seq):
    """h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), act tanh or relu, over the whole
    sequence; BPTT: dz_t = (g_t + dh_t) act'(z_t), dh_{t-1} = dz_t W_hh"""
    __slots__ = ()
    cell = "rnn"

    def forward(self, x, h0, w_ih, w_hh, *biases):
        a = self._args((x, h0, w_ih, w_hh) + biases)
        T, B, I = x.shape
        bias = _sum_bias(a["b_ih"], a["b_hh"])
        z = np.matmul(x.reshape(T * B, I), w_ih.T).reshape(T, B, -1)
        if bias is not None:
            z += bias
        y, states, out = self._buffers(x.dtype, False)
        before, after = self._before_after(states)
        before[T - 1 if self.reverse else 0][...] = h0
        whT = w_hh.T
        for t in _steps(T, self.reverse):
            n = self._n(t)
            h = after[t, :n]
            np.matmul(before[t, :n], whT, out=h)
            h += z[t, :n]
            if self.mode == "tanh":
                np.tanh(h, out=h)
            else:
                np.maximum(h, 0, out=h)
            self._copy_carried(before[t], after[t], t, n)
        self._finish(y, states, out, h0)
        self._s = {"Hs": states}
        return y

    def _bptt(self, g, a, s, arrays):
        T, B, P = self.T, self.B, self.P
        into = _into(arrays)
        gy, gh_n, _ = _split(g, T, B, P, P, False)
        hp, act = self._before_after(s["Hs"])
        local = 1 - act * act if self.mode == "tanh" else raw(act) > 0
        w_hh = a["w_hh"]
        dh_rec = gh_n.copy() if arrays else gh_n
        dz_all = _grad_buffer(self, (T, B, P), g.dtype) if arrays else [None] * T
        dh = np.empty((B, P), g.dtype) if arrays else None
        for t in _steps(T, not self.reverse):
            n = self._n(t)
            d = _add(gy[t, :n], dh_rec[:n], into(dh, slice(0, n)))
            dz = _mul(d, local[t, :n], into(dz_all, t, slice(0, n)))
            if not arrays:
                dz_all[t] = dz
            dh_rec = _rows(_mm(dz, w_hh, into(dh_rec, slice(0, n))), dh_rec, n)
        dz = (dz_all if arrays else _gathered(dz_all, B)).reshape(T * B, P)
        return self._weight_grads(a, dz, None, dz, None, hp, dh_rec)


def _sum_bias(b_ih, b_hh):
    if b_ih is None:
        return b_hh
    return b_ih if b_hh is None else b_ih + b_hh


# --- LSTM --------------------------------------------------------------------------------------

def _lstm_local(S, Q, L=None):
    """L = [S (1 - S) Q, o (1 - tanh^2 c_t)] over the leading gate axis (4 -> 5), with S the
    sigmoids of i, f, 2 z_g, o and Q = [g, c_{t-1}, 4 i, tanh c_t] (4 s (1 - s) = 1 - g^2 for
    s = sigmoid(2 z_g)): the pre-activations' gradients are dz = (dc, dc, dc, dm) L[:4] and
    dc = dm L[4] + f dc_{t+1}; into L on arrays"""
    tc, o = Q[3], S[3]
    if L is None:
        return cat([S * (1 - S) * Q, (o * (1 - tc * tc))[None]])
    sd, lc = L[:4], L[4]
    np.multiply(np.subtract(1, S, out=sd), S, out=sd)
    sd *= Q
    np.multiply(np.subtract(1, np.multiply(tc, tc, out=lc), out=lc), o, out=lc)
    return L


class LSTMSeq(_Seq):
    """c_t = f c_{t-1} + i g, h_t = o tanh(c_t) (W_hr h_t with a projection), gates
    sigma/sigma/tanh/sigma of x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh; BPTT:
    dc_t = dc_{t+1} f_{t+1} + dm_t o (1 - tanh^2 c_t), dz = gate' (dc or dm) (g, c, i, tanh c)"""
    __slots__ = ()
    cell = "lstm"
    chunk = 4  # steps whose local derivatives are computed together, while still in cache

    def forward(self, x, h0, c0, w_ih, w_hh, *rest):
        a = self._args((x, h0, c0, w_ih, w_hh) + rest)
        T, B, I = x.shape
        H, rev, dt = self.H, self.reverse, x.dtype
        w_hr = a["w_hr"]
        # sigmoid(z) = 1 / (1 + exp(-z)) for i, f, o and tanh(z) = 2 sigmoid(2 z) - 1 for g:
        # one exp covers every gate. Gate-major layout (4, T, B, H): each gate's rows of a
        # step are one contiguous block (elementwise work on strided rows costs ~3x)
        scale = np.array([-1.0, -1.0, -2.0, -1.0], dt).reshape(4, 1, 1)
        z = np.matmul(x.reshape(T * B, I), (w_ih.reshape(4, H, I) * scale).mT)
        z = z.reshape(4, T, B, H)  # becomes S, the sigmoids
        bias = _sum_bias(a["b_ih"], a["b_hh"])
        if bias is not None:
            z += (bias.reshape(4, 1, H) * scale).reshape(4, 1, 1, H)
        whT = np.ascontiguousarray((w_hh.reshape(4, H, -1) * scale).mT)  # (4, P, H)
        y, states, out = self._buffers(dt, True)
        # Q of _lstm_local, indexed like the states: q[1] holds the cell states
        q = np.empty((4, T + 1, B, H), dt)
        loc = np.empty((5, T, B, H), dt)
        ms = None if w_hr is None else (np.zeros if self.batch_sizes else np.empty)((T, B, H), dt)
        before, after = self._before_after(states)
        qs, c_after = (q[:, 1:], q[1, :T]) if rev else (q[:, :T], q[1, 1:])
        first = T - 1 if rev else 0
        before[first][...] = h0
        qs[1, first][...] = c0
        w_hrT = None if w_hr is None else w_hr.T
        with np.errstate(over="ignore", invalid="ignore"):  # exp(-z) = inf: sigmoid 0, right;
            # invalid: the local derivatives of rows a packed step skips (never read)
            self._lstm_steps(z, qs, loc, before, after, c_after, ms, whT, w_hrT)
        self._finish(y, states, out, h0)
        y[(T + 1) * B * self.P:] = (c_after[0] if rev else c_after[T - 1]).reshape(-1)
        self._s = {"S": z, "L": loc, "M": ms, "Hs": states}
        return y

    def _lstm_steps(self, z, qs, loc, before, after, c_after, ms, whT, w_hrT):
        B, H, T, K = self.B, self.H, self.T, self.chunk
        tmp = np.empty((4, B, H), z.dtype)
        ig = np.empty((B, H), z.dtype)
        for k, t in enumerate(_steps(T, self.reverse)):
            n = self._n(t)
            st, qt = z[:, t, :n], qs[:, t, :n]
            st += np.matmul(before[t, :n], whT, out=tmp[:, :n])
            np.exp(st, out=st)
            st += 1.0
            np.divide(1.0, st, out=st)  # faster than np.reciprocal for float32
            g = np.multiply(st[2], 2.0, out=qt[0])
            g -= 1.0
            c = np.multiply(st[1], qt[1], out=c_after[t, :n])
            c += np.multiply(st[0], g, out=ig[:n])
            tc = np.tanh(c, out=qt[3])
            if w_hrT is None:
                np.multiply(st[3], tc, out=after[t, :n])
            else:
                np.matmul(np.multiply(st[3], tc, out=ms[t, :n]), w_hrT, out=after[t, :n])
            if n != B:
                after[t, n:] = before[t, n:]
                c_after[t, n:] = qs[1, t, n:]
            if (k + 1) % K == 0 or k == T - 1:  # the local derivatives of the last m steps
                m = k % K + 1
                done = slice(t, t + m) if self.reverse else slice(t + 1 - m, t + 1)
                np.multiply(z[0, done], 4.0, out=qs[2, done])
                _lstm_local(z[:, done], qs[:, done], loc[:, done])

    def _bptt(self, g, a, s, arrays):
        T, B, P, H = self.T, self.B, self.P, self.H
        into = _into(arrays)
        gy, gh_n, gc_n = _split(g, T, B, P, H, True)
        hp, _ = self._before_after(s["Hs"])
        if arrays:
            L, f = s["L"], s["S"][1]
        else:  # the same local derivatives, recorded, from the recomputed activations
            A, TC = s["A"], s["TC"]
            cp, _ = self._before_after(s["Cs"])
            i, f, gg = A[0], A[1], A[2]
            L = _lstm_local(cat([A[:2], ((gg + 1) * 0.5)[None], A[3:]]),
                            stack([gg, cp, i * 4.0, TC]))
        w_hh, w_hr = a["w_hh"], a["w_hr"]
        dh_rec = gh_n.copy() if arrays else gh_n
        dc_rec = gc_n.copy() if arrays else gc_n
        if arrays:
            dz_all = _grad_buffer(self, (T, B, 4, H), g.dtype)
            dh_all = None if w_hr is None else np.zeros((T, B, P), g.dtype)
            dm_buf, dc = np.empty((B, H), g.dtype), np.empty((B, H), g.dtype)
            # a step's [dz_i, dz_f, dz_g, dz_o, dm o (1 - tanh^2 c)], gate-major like L, copied
            # to dz_all in one pass (elementwise ops on strided rows cost ~3x)
            e = np.empty((5, B, H), g.dtype)
        else:
            dz_all, dh_all, dm_buf, dc, e = [None] * T, [None] * T, None, None, None
        for t in _steps(T, not self.reverse):
            n = self._n(t)
            rows = slice(0, n)
            if w_hr is None:
                dm = _add(gy[t, :n], dh_rec[:n], into(dm_buf, rows))
            else:
                dh = _add(gy[t, :n], dh_rec[:n], into(dh_all, t, rows))
                dm = _mm(dh, w_hr, into(dm_buf, rows))
                if not arrays:
                    dh_all[t] = dh
            d_o = _mul(dm, L[3:, t, :n], into(e, slice(3, 5), rows))
            d_c = _add(d_o[1], dc_rec[:n], into(dc, rows))
            d_3 = _mul(d_c, L[:3, t, :n], into(e, slice(0, 3), rows))
            dc_rec = _rows(_mul(d_c, f[t, :n], into(dc_rec, rows)), dc_rec, n)
            if arrays:
                dz = dz_all[t, :n]
                np.copyto(dz, e[:4, :n].transpose(1, 0, 2))
                dz = dz.reshape(n, 4 * H)
            else:
                dz = dz_all[t] = cat([d_3, d_o[:1]]).permute(1, 0, 2).reshape(n, 4 * H)
            dh_rec = _rows(_mm(dz, w_hh, into(dh_rec, rows)), dh_rec, n)
        dz = (dz_all if arrays else _gathered(dz_all, B)).reshape(T * B, 4 * H)
        extra = {"c0": dc_rec}
        if w_hr is not None and self.needs_input_grad[self.present.index("w_hr")]:
            dh = (dh_all if arrays else _gathered(dh_all, B)).reshape(T * B, P)
            extra["w_hr"] = dh.mT @ s["M"].reshape(T * B, H)
        return self._weight_grads(a, dz, None, dz, None, hp, dh_rec, extra)


# --- GRU ---------------------------------------------------------------------------------------

class GRUSeq(_Seq):
    """r, z = sigma(x W_i{r,z}^T + b_i{r,z} + h W_h{r,z}^T + b_h{r,z}), n = tanh(x W_in^T + b_in +
    r (h W_hn^T + b_hn)), h_t = n + z (h_{t-1} - n); BPTT: dn = dh (1 - z)(1 - n^2),
    dz = dh (h_{t-1} - n) z (1 - z), dr = dn hn r (1 - r), dh_{t-1} = dh z + [dr, dz, dn r] W_hh"""
    __slots__ = ()
    cell = "gru"

    def forward(self, x, h0, w_ih, w_hh, *biases):
        a = self._args((x, h0, w_ih, w_hh) + biases)
        T, B, I = x.shape
        H, rev = self.H, self.reverse
        b_ih, b_hh = a["b_ih"], a["b_hh"]
        scale = np.ones((3 * H, 1), x.dtype)
        scale[:2 * H] = -1.0  # sigmoid(z) = 1 / (1 + exp(-z)) for r and z
        z = np.matmul(x.reshape(T * B, I), (w_ih * scale).T).reshape(T, B, 3, H)
        if b_ih is not None:
            z += (b_ih * scale[:, 0]).reshape(3, H)
        if b_hh is not None:
            z[:, :, :2] -= b_hh[:2 * H].reshape(2, H)
        b_hn = None if b_hh is None else b_hh[2 * H:]
        whT = (w_hh * scale).T
        y, states, out = self._buffers(x.dtype, False)
        packed = self.batch_sizes is not None
        hns = (np.zeros if packed else np.empty)((T, B, H), x.dtype)
        before, after = self._before_after(states)
        before[T - 1 if rev else 0][...] = h0
        with np.errstate(over="ignore"):  # exp(-z) = inf for z << 0: sigmoid 0, as it should
            self._gru_steps(z, before, after, hns, whT, b_hn)
        self._finish(y, states, out, h0)
        self._s = {"A": z, "HN": hns, "Hs": states}
        return y

    def _gru_steps(self, z, before, after, hns, whT, b_hn):
        B, H = self.B, self.H
        tmp = np.empty((B, 3 * H), z.dtype)
        rh = np.empty((B, H), z.dtype)
        for t in _steps(self.T, self.reverse):
            n = self._n(t)
            zt = z[t, :n]
            hw = np.matmul(before[t, :n], whT, out=tmp[:n]).reshape(n, 3, H)
            rz = zt[:, :2]
            rz += hw[:, :2]
            np.exp(rz, out=rz)
            rz += 1.0
            np.divide(1.0, rz, out=rz)
            hn = hns[t, :n]
            if b_hn is None:
                hn[...] = hw[:, 2]
            else:
                np.add(hw[:, 2], b_hn, out=hn)
            nn = zt[:, 2]
            nn += np.multiply(zt[:, 0], hn, out=rh[:n])
            np.tanh(nn, out=nn)
            h = np.subtract(before[t, :n], nn, out=after[t, :n])
            h *= zt[:, 1]
            h += nn
            if n != B:
                after[t, n:] = before[t, n:]

    def _bptt(self, g, a, s, arrays):
        T, B, P = self.T, self.B, self.P
        H = P
        into = _into(arrays)
        gy, gh_n, _ = _split(g, T, B, P, H, False)
        hp, _ = self._before_after(s["Hs"])
        A, HN = s["A"], s["HN"]
        r, z, n_ = A[:, :, 0], A[:, :, 1], A[:, :, 2]
        k_n = (1 - z) * (1 - n_ * n_)  # dn = dh * k_n (n's pre-activation)
        k_z = (hp - n_) * (z * (1 - z))  # dz = dh * k_z
        k_r = HN * (r * (1 - r))  # dr = dn * k_r
        w_hh = a["w_hh"]
        dh_rec = gh_n.copy() if arrays else gh_n
        # per step [dn, dr, dz, dhn]: [:3] the input side's gates (order n, r, z), [1:] the
        # recurrent side's (order r, z, n)
        if arrays:
            d_all = _grad_buffer(self, (T, B, 4, H), g.dtype)
            dh_buf = np.empty((B, H), g.dtype)
            tmp = np.empty((B, H), g.dtype)
        else:
            d_all, dh_buf, tmp = [None] * T, None, None
        for t in _steps(T, not self.reverse):
            n = self._n(t)
            rows = slice(0, n)
            dh = _add(gy[t, :n], dh_rec[:n], into(dh_buf, rows))
            dn = _mul(dh, k_n[t, :n], into(d_all, t, rows, 0))
            dr = _mul(dn, k_r[t, :n], into(d_all, t, rows, 1))
            dz = _mul(dh, k_z[t, :n], into(d_all, t, rows, 2))
            dhn = _mul(dn, r[t, :n], into(d_all, t, rows, 3))
            if arrays:
                d_h = d_all[t, :n, 1:].reshape(n, 3 * H)
            else:
                d_all[t] = _stack([dn, dr, dz, dhn], 1)
                d_h = d_all[t][:, 1:].reshape(n, 3 * H)
            back = _mm(d_h, w_hh, into(tmp, rows))
            dh_rec = _rows(_add(_mul(dh, z[t, :n], into(dh_rec, rows)), back,
                                into(dh_rec, rows)), dh_rec, n)
        d = d_all if arrays else _gathered(d_all, B)
        d_x = d[:, :, :3].reshape(T * B, 3 * H)
        d_h = d[:, :, 1:].reshape(T * B, 3 * H)
        order_x = np.concatenate([np.arange(2 * H, 3 * H), np.arange(0, 2 * H)])
        return self._weight_grads(a, d_x, order_x, d_h, None, hp, dh_rec)


# --- the public functions ------------------------------------------------------------------------

def _run(node_class, mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, batch_sizes, reverse):
    cell = node_class.cell
    T, B, I, H, P, batch_sizes = _check(cell, mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr,
                                        batch_sizes)
    named = (("x", x), ("h0", h0), ("c0", c0), ("w_ih", w_ih), ("w_hh", w_hh), ("b_ih", b_ih),
             ("b_hh", b_hh), ("w_hr", w_hr))
    present = tuple(name for name, v in named if v is not None)
    inputs = [v for _, v in named if v is not None]
    node = node_class(T, B, I, H, P, present, batch_sizes, bool(reverse), mode)
    y = apply(node, *inputs)
    return _split(y, T, B, P, H, cell == "lstm")


def rnn_tanh(x, h0, w_ih, w_hh, b_ih=None, b_hh=None, *, batch_sizes=None, reverse=False):
    """h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) -> (output, h_n)"""
    return _run(RNNSeq, "tanh", x, h0, None, w_ih, w_hh, b_ih, b_hh, None, batch_sizes,
                reverse)[:2]


def rnn_relu(x, h0, w_ih, w_hh, b_ih=None, b_hh=None, *, batch_sizes=None, reverse=False):
    """h_t = relu(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) -> (output, h_n)"""
    return _run(RNNSeq, "relu", x, h0, None, w_ih, w_hh, b_ih, b_hh, None, batch_sizes,
                reverse)[:2]


def lstm(x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, w_hr=None, *, batch_sizes=None,
         reverse=False):
    """i, f, g, o = sigma, sigma, tanh, sigma of x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh;
    c_t = f c_{t-1} + i g; h_t = o tanh(c_t) (then h_t W_hr^T with a projection)
    -> (output, h_n, c_n)"""
    return _run(LSTMSeq, None, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, batch_sizes, reverse)


def gru(x, h0, w_ih, w_hh, b_ih=None, b_hh=None, *, batch_sizes=None, reverse=False):
    """r, z = sigma(x W_ir^T + b_ir + h W_hr^T + b_hr), sigma(... z ...);
    n = tanh(x W_in^T + b_in + r (h W_hn^T + b_hn)); h_t = (1 - z) n + z h_{t-1}
    -> (output, h_n)"""
    return _run(GRUSeq, None, x, h0, None, w_ih, w_hh, b_ih, b_hh, None, batch_sizes,
                reverse)[:2]


def _reference(name, x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, w_hr=None, *,
               batch_sizes=None, reverse=False):
    """The composed form of `name` ('rnn_tanh', 'rnn_relu', 'lstm', 'gru'): (output, h_n, c_n)
    by a Python loop of recorded ops (the oracle the fused nodes are tested against)."""
    cell, mode = (("rnn", name[4:]) if name.startswith("rnn") else (name, None))
    batch_sizes = _check(cell, mode or "tanh", x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr,
                         batch_sizes)[5]
    return _composed(cell, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, batch_sizes, reverse, mode)
