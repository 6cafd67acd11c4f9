"""gradcheck and gradgradcheck: analytic gradients (the engine) against finite differences.

How a check runs, in float64:
  * every output is contracted with a random upstream vector v (entries +-U(0.5, 1.5), never
    all ones), so the quantity checked is F(x) = sum_j <v_j, f_j(x)> and its gradient J^T v;
  * the numeric side perturbs one input element at a time (every element, for inputs up to
    `max_full` elements in total) or a random direction (random projections, beyond that), with
    a step scaled to the element's magnitude, h = eps * max(1, |x|), central differences and one
    Richardson extrapolation (error O(h^4)); output differences are taken before contracting;
  * one symmetric closeness rule: |a - n| <= atol + rtol * max(|a|, |n|);
  * where fn is not differentiable there is no bogus mismatch: at a kink (relu or abs at 0,
    ties of max: the one-sided slopes disagree, and keep disagreeing as h halves) an analytic
    value within the one-sided slopes is accepted; at a jump (x[x > 0] switching, or, for
    gradgradcheck, a kink of the first derivative) there is no derivative to compare with. Both
    are reported as a GradcheckWarning "the function is not differentiable here".
"""
import warnings

import numpy as np

from ..engine import grad as _grad
from ..grad_mode import enable_grad
from ..tensor import Tensor

DEFAULT_EPS = 1e-6
DEFAULT_ATOL = 1e-5
DEFAULT_RTOL = 1e-3


class GradcheckError(AssertionError):
    """A gradient check failed; attributes name the input, element, values, tolerance and step."""

    def __init__(self, message, **facts):
        super().__init__(message)
        self.input = facts.get("input")
        self.index = facts.get("index")
        self.analytic = facts.get("analytic")
        self.numeric = facts.get("numeric")
        self.difference = facts.get("difference")
        self.tolerance = facts.get("tolerance")
        self.step = facts.get("step")
        self.dtype = facts.get("dtype")
        self.order = facts.get("order", 1)


class GradcheckWarning(UserWarning):
    """Something the check did on the user's behalf: an upcast, or a kink it accepted."""


def close(a, b, *, atol=DEFAULT_ATOL, rtol=DEFAULT_RTOL):
    """|a - b| <= atol + rtol * max(|a|, |b|), elementwise; symmetric in a and b.

    >>> bool(close(1.0, 1.0005)), bool(close(1.0005, 1.0)), bool(close(0.0, 2e-5))
    (True, True, False)
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    with np.errstate(invalid="ignore"):
        diff = np.abs(a - b)
        # inf <= inf would call 1 and inf close; NaN is close to nothing
        return (a == b) | (np.isfinite(diff) & (diff <= atol + rtol * np.maximum(np.abs(a),
                                                                                np.abs(b))))


def gradcheck(fn, inputs, *, eps=None, atol=None, rtol=None, raise_exception=True,
              nondet_tol=0.0, seed=0, max_full=256, n_projections=8):
    """True if fn's gradients match central differences; else raises GradcheckError (or False).

    `inputs` is a tensor or a tuple of arguments; float tensors with requires_grad=True are
    checked, everything else (ints, masks, requires_grad=False tensors, numbers) is passed through.

    >>> import autodiff as ad
    >>> x = ad.tensor([0.5, -1.0, 2e4], dtype=ad.float64, requires_grad=True)
    >>> gradcheck(lambda x: ad.tanh(x) * x ** 2, (x,))
    True
    """
    with enable_grad():
        problem = _Problem(fn, inputs, "gradcheck", seed)
        return problem.run(eps, atol, rtol, raise_exception, nondet_tol, max_full,
                           n_projections, order=1)


def gradgradcheck(fn, inputs, grad_outputs=None, *, eps=None, atol=None, rtol=None,
                  raise_exception=True, nondet_tol=0.0, seed=0, max_full=256, n_projections=8):
    """gradcheck of (x, v) -> grad(fn(x), x, v, create_graph=True): second-order gradients.

    The first-order gradient is taken with respect to the very input tensors being checked, so a
    backward rule that escapes to numpy (`.data`, raw `np.`) yields no second-order graph and
    fails here, although it passes gradcheck. `grad_outputs` (v) defaults to random tensors and
    is differentiated against too (a backward cut off from its incoming g fails).

    >>> import autodiff as ad
    >>> x = ad.tensor([[0.3, -1.2], [2.0, 0.7]], dtype=ad.float64, requires_grad=True)
    >>> gradgradcheck(lambda x: ad.softmax(x, dim=1), (x,))
    True
    """
    with enable_grad():
        first = _Problem(fn, inputs, "gradgradcheck", seed)
        outs = first.float_outputs(first.call(first.base))
        vs = _grad_outputs(first, outs, grad_outputs)
        args = list(first.args)
        for p, leaf in zip(first.positions, first.leaves()):
            args[p] = leaf
        second = _Problem(_first_order(fn, first), tuple(args) + tuple(vs), "gradgradcheck",
                          seed + 1, warn=False,
                          labels=first.labels + [f"grad_outputs[{j}]" for j in range(len(vs))])
        second.original_dtypes = first.original_dtypes + [np.dtype(np.float64)] * len(vs)
        return second.run(eps, atol, rtol, raise_exception, nondet_tol, max_full,
                          n_projections, order=2)


def _grad_outputs(first, outs, grad_outputs):
    """v for gradgradcheck: random (default) or the user's, as float64 leaves."""
    if grad_outputs is None:
        return [Tensor._from_data(first.rng_vector(o.shape), requires_grad=True) for o in outs]
    given = (grad_outputs,) if isinstance(grad_outputs, Tensor) else tuple(grad_outputs)
    if len(given) != len(outs):
        raise ValueError(f"gradgradcheck: fn returns {len(outs)} float output(s) but "
                         f"{len(given)} grad_outputs were given; give one per output")
    vs = []
    for j, (g, o) in enumerate(zip(given, outs)):
        arr = np.asarray(g.data if isinstance(g, Tensor) else g, np.float64)
        if arr.shape != o.shape:
            raise ValueError(f"gradgradcheck: grad_outputs[{j}] has shape {arr.shape} but "
                             f"output {j} has shape {tuple(o.shape)}")
        vs.append(Tensor._from_data(arr, requires_grad=True))
    return vs


def _first_order(fn, first):
    """(*args, *v) -> grad(fn(*args), the differentiable args, v, create_graph=True)."""
    n_args, positions = len(first.args), first.positions

    def first_order(*flat):
        args, v = list(flat[:n_args]), flat[n_args:]
        with enable_grad():
            out = first.float_outputs(fn(*args))
            if any(o.shape != g.shape for o, g in zip(out, v)):
                raise _ShapeChanged()
            pairs = [(o, g) for o, g in zip(out, v) if o.requires_grad]
            xs = [args[p] for p in positions]
            gs = (_grad([o for o, _ in pairs], xs, [g for _, g in pairs], create_graph=True,
                        allow_unused=True) if pairs else (None,) * len(xs))
        return tuple(g if g is not None else Tensor._const(np.zeros(x.shape, x.dtype))
                     for g, x in zip(gs, xs))

    return first_order


class _ShapeChanged(Exception):
    """fn's output shape changed at a perturbed point (gradgradcheck's v no longer fits)."""


class _Problem:
    """One check: fn, its arguments, which of them are differentiated, and the random v."""

    def __init__(self, fn, inputs, who, seed, labels=None, warn=True):
        self.fn, self.who = fn, who
        self.rng = np.random.default_rng(seed)
        args = [inputs] if isinstance(inputs, Tensor) else list(inputs)
        self.positions, self.base, self.original_dtypes, upcast = [], [], [], []
        for i, a in enumerate(args):
            if isinstance(a, Tensor) and a.dtype.kind == "f" and a.dtype != np.float64:
                if a.requires_grad:
                    upcast.append(i)
                # constants are upcast too, so every float in fn is computed in float64
                args[i] = a.detach().to(np.float64) if not a.requires_grad else a
            if isinstance(a, Tensor) and a.requires_grad and a.dtype.kind == "f":
                self.positions.append(i)
                self.base.append(np.array(a.data, np.float64))
                self.original_dtypes.append(a.dtype)
        if not self.positions:
            raise ValueError(f"{who}: no input requires grad, so there is nothing to check; pass "
                             f"the tensors to differentiate with requires_grad=True (float dtype)")
        if upcast and warn:
            names = ", ".join(f"input {i} ({args[i].dtype})" for i in upcast)
            warnings.warn(f"{who}: {names} upcast to float64 for the check; finite differences "
                          f"in lower precision are too noisy to judge a gradient. Rounding "
                          f"specific to the original dtype is not tested.", GradcheckWarning,
                          stacklevel=3)
        self.args = args
        self.labels = labels or [f"input {p}" for p in self.positions]
        self.out_slots = None

    def leaves(self):
        return [Tensor._from_data(b, requires_grad=True) for b in self.base]

    def rng_vector(self, shape):
        """Random entries with |v| in [0.5, 1.5] and random sign: no zero hides an element."""
        mag = self.rng.uniform(0.5, 1.5, size=shape)
        return np.where(self.rng.random(shape) < 0.5, -mag, mag)

    def call(self, arrays, leaves=None):
        args = list(self.args)
        for p, arr, leaf in zip(self.positions, arrays, leaves or [None] * len(arrays)):
            args[p] = leaf if leaf is not None else Tensor._from_data(arr, requires_grad=True)
        return self.fn(*args)

    def float_outputs(self, result):
        """The float tensors among fn's outputs (indices and masks carry no gradient)."""
        items = [result] if isinstance(result, Tensor) else (
            list(result) if isinstance(result, (tuple, list)) else None)
        if items is None:
            raise TypeError(f"{self.who}: fn must return a Tensor or a tuple of Tensors, got "
                            f"{type(result).__name__}")
        if self.out_slots is None:
            self.out_slots = [j for j, o in enumerate(items)
                              if isinstance(o, Tensor) and o.dtype.kind == "f"]
            if not self.out_slots:
                raise TypeError(f"{self.who}: fn returned no float Tensor, so there is no "
                                f"gradient to check")
        return [items[j] for j in self.out_slots]

    def values(self, arrays):
        """fn's float outputs at `arrays`, as float64 ndarrays."""
        return [np.array(o.data, np.float64) for o in self.float_outputs(self.call(arrays))]

    # --- the check ------------------------------------------------------------------------
    def run(self, eps, atol, rtol, raise_exception, nondet_tol, max_full, n_projections, order):
        eps = DEFAULT_EPS if eps is None else float(eps)
        atol = DEFAULT_ATOL if atol is None else float(atol)
        rtol = DEFAULT_RTOL if rtol is None else float(rtol)
        self.tol = (eps, atol, rtol, order)
        try:
            analytic = self.analytic(nondet_tol)
            f0 = self.values(self.base)
            self.scale = sum(float(np.sum(np.abs(v * f))) for v, f in zip(self.vs, f0))
            total = sum(b.size for b in self.base)
            if total <= max_full:
                failure = self.sweep_all(analytic, f0)
            else:
                failure = self.projections(analytic, f0, n_projections)
        except GradcheckError:
            if raise_exception:
                raise
            return False
        if failure is not None:
            if raise_exception:
                raise failure
            return False
        return True

    def analytic(self, nondet_tol):
        """J^T v for every differentiable input, checked for shape, dtype and reentrancy."""
        leaves = self.leaves()
        outs = self.float_outputs(self.call(self.base, leaves))
        self.vs = [self.rng_vector(o.shape) for o in outs]
        pairs = [(o, Tensor._from_data(v)) for o, v in zip(outs, self.vs) if o.requires_grad]
        if not pairs:
            return [np.zeros_like(b) for b in self.base]
        runs = []
        for _ in range(2):
            gs = _grad([o for o, _ in pairs], leaves, [v for _, v in pairs], retain_graph=True,
                       allow_unused=True)
            runs.append(gs)
        result = []
        for k, (g, g2, leaf) in enumerate(zip(runs[0], runs[1], leaves)):
            if g is None:
                result.append(np.zeros_like(self.base[k]))
                continue
            if g.shape != leaf.shape or g.dtype != np.float64:
                raise self.error(
                    f"the gradient of {self.labels[k]} has shape {tuple(g.shape)} and dtype "
                    f"{g.dtype}, but the input has shape {tuple(leaf.shape)} and dtype float64; "
                    f"a backward rule must return a gradient shaped and typed like its input",
                    input=self.labels[k], dtype=str(g.dtype))
            a, a2 = np.array(g.data, np.float64), np.array(g2.data, np.float64)
            diff = np.where((a == a2) | (np.isnan(a) & np.isnan(a2)), 0.0, np.abs(a - a2))
            if diff.size and not np.max(diff) <= nondet_tol:
                i = int(np.argmax(np.where(np.isnan(diff), np.inf, diff)))
                idx = np.unravel_index(i, a.shape)
                raise self.error(
                    f"backward is not deterministic for {self.labels[k]}: two identical "
                    f"backward passes gave {a.flat[i]!r} and {a2.flat[i]!r} at index {idx} "
                    f"(difference {diff.flat[i]:.3g} > nondet_tol {nondet_tol:g}); a rule that "
                    f"mutates saved state or accumulates into a shared buffer does this",
                    input=self.labels[k], index=idx, analytic=float(a.flat[i]),
                    numeric=float(a2.flat[i]), difference=float(diff.flat[i]),
                    tolerance=nondet_tol, dtype="float64")
            result.append(a)
        return result

    def contract(self, pos, neg):
        """<v, f(pos) - f(neg)>: differences first, so unrelated large outputs cancel exactly."""
        return float(sum(np.sum(v * (p - n)) for v, p, n in zip(self.vs, pos, neg)))

    def slopes(self, at, f0, h):
        """(central, lo, hi, kink, jump) for the perturbation at(s) (which returns the point
        x + s*direction and its actual offset): the Richardson-extrapolated central difference,
        the range [lo, hi] of one-sided slopes, and whether a kink or a jump lies within x +- h."""
        f = {}
        try:
            for s in (1.0, -1.0, 0.5, -0.5):
                arrays, offset = at(s * h)
                f[s] = (self.values(arrays), offset)
        except _ShapeChanged:
            return np.nan, np.nan, np.nan, False, "shape"
        (fp, dp), (fm, dm) = f[1.0], f[-1.0]
        (hp, dhp), (hm, dhm) = f[0.5], f[-0.5]
        if any(p.shape != c.shape for s in f.values() for p, c in zip(s[0], f0)):
            # a data-dependent selection (x[x > 0]) switched within x +- h: a discontinuity
            return np.nan, np.nan, np.nan, False, "shape"
        c1 = self.contract(fp, fm) / (dp - dm)
        c2 = self.contract(hp, hm) / (dhp - dhm)
        central = c2 + (c2 - c1) / 3.0
        lo, hi = self.one_sided(fp, f0, fm, dp, dm)
        lo2, hi2 = self.one_sided(hp, f0, hm, dhp, dhm)
        # on a smooth function the one-sided slopes differ by ~h * f'', so halving h halves
        # the gap; at a kink the gap stays
        kink = (hi2 - lo2) >= 0.75 * (hi - lo)
        # a jump J inside x +- h gives central differences ~J / h that double when h halves;
        # rounding noise does that too, so the jump must also stand out of the noise
        size = max(abs(c1 * (dp - dm)), abs(c2 * (dhp - dhm)))
        jump = (max(abs(c1), abs(c2)) > 1.5 * min(abs(c1), abs(c2))
                and size > 1e4 * np.finfo(np.float64).eps * self.scale)
        return central, lo, hi, kink, jump

    def one_sided(self, fp, f0, fm, dp, dm):
        """The range of sum_j v_j * (left or right slope of output j): several kinks crossed
        at once (a broadcast scalar tied with many elements) each pick their own side."""
        lo = hi = 0.0
        for v, p, c, m in zip(self.vs, fp, f0, fm):
            right, left = v * (p - c) / dp, v * (c - m) / -dm
            lo += float(np.sum(np.minimum(left, right)))
            hi += float(np.sum(np.maximum(left, right)))
        return lo, hi

    def judge(self, a, central, lo, hi, kink, jump):
        """None if a matches; 'kink' if a lies in the range of one-sided slopes at a kink,
        'jump' at a discontinuity (no derivative to compare with); else a short reason."""
        eps, atol, rtol, _ = self.tol
        if not np.isfinite(a):
            return "analytic is not finite"
        if jump == "shape":
            return "jump"
        if not (np.isfinite(central) and np.isfinite(lo) and np.isfinite(hi)):
            return "domain"
        if close(a, central, atol=atol, rtol=rtol):
            return None
        if jump:
            return "jump"
        if kink and not close(lo, hi, atol=atol, rtol=rtol):
            tol = atol + rtol * max(abs(lo), abs(hi))
            return "kink" if lo - tol <= a <= hi + tol else "kink-outside"
        return "mismatch"

    def sweep(self, k, analytic, f0):
        """Every element of input k: (ratio, index, a, n, lo, hi, h, x, verdict) for the worst
        failing element (None if all pass), and the count of failing and kink elements."""
        eps, atol, rtol, _ = self.tol
        x = self.base[k]
        worst, bad, kinks = None, 0, []
        for i in range(x.size):
            xi = float(x.flat[i])
            h = eps * max(1.0, abs(xi))

            def at(s, i=i, xi=xi):
                arr = x.copy()
                arr.flat[i] = xi + s
                arrays = list(self.base)
                arrays[k] = arr
                return arrays, float(arr.flat[i]) - xi

            central, lo, hi, kink, jump = self.slopes(at, f0, h)
            a = float(analytic[k].flat[i])
            verdict = self.judge(a, central, lo, hi, kink, jump)
            if verdict is None:
                continue
            idx = tuple(int(j) for j in np.unravel_index(i, x.shape))
            if verdict in ("kink", "jump"):
                kinks.append((verdict, idx, a, lo, hi))
                continue
            bad += 1
            diff = abs(a - central)
            tol = atol + rtol * max(abs(a), abs(central))
            ratio = np.inf if verdict != "mismatch" and verdict != "kink-outside" else diff / tol
            if worst is None or ratio > worst[0]:
                worst = (ratio, idx, a, central, lo, hi, h, xi, verdict)
        return worst, bad, kinks

    def sweep_all(self, analytic, f0):
        all_kinks = []
        for k in range(len(self.base)):
            worst, bad, kinks = self.sweep(k, analytic, f0)
            all_kinks += [(k,) + kk for kk in kinks]
            if worst is not None:
                return self.mismatch(k, worst, bad)
        self.warn_kinks(all_kinks)
        return None

    def projections(self, analytic, f0, n_projections):
        """Random directions d (scaled by max(1, |x|)) across all inputs: d.grad vs numeric."""
        eps, atol, rtol, _ = self.tol
        kinks = 0
        for p in range(n_projections):
            dirs = [self.rng_vector(b.shape) * np.maximum(1.0, np.abs(b)) for b in self.base]

            def at(s):
                return [b + s * d for b, d in zip(self.base, dirs)], s

            central, lo, hi, kink, jump = self.slopes(at, f0, eps)
            a = float(sum(np.sum(g * d) for g, d in zip(analytic, dirs)))
            verdict = self.judge(a, central, lo, hi, kink, jump)
            if verdict in ("kink", "jump"):
                kinks += 1
            elif verdict is not None:
                # localize: a per-element sweep names the element, when affordable
                for k in range(len(self.base)):
                    if self.base[k].size > 20000:
                        continue
                    worst, bad, _ = self.sweep(k, analytic, f0)
                    if worst is not None:
                        return self.mismatch(k, worst, bad)
                diff = abs(a - central)
                tol = atol + rtol * max(abs(a), abs(central))
                return self.error(
                    f"the directional derivative along random projection {p} disagrees: "
                    f"analytic {a!r}, numeric {central!r}, |difference| {diff:.3g} > tolerance "
                    f"{tol:.3g} (= atol {atol:g} + rtol {rtol:g} * max(|analytic|, |numeric|)), "
                    f"step eps = {eps:g} * max(1, |x|) per element; no single element could be "
                    f"blamed, so the error is spread over many elements",
                    analytic=a, numeric=central, difference=diff, tolerance=tol, step=eps,
                    dtype="float64")
        if kinks:
            warnings.warn(f"{self.who}: the function is not differentiable here: along {kinks} "
                          f"random direction(s) it has a kink or a jump; the analytic values "
                          f"there were accepted",
                          GradcheckWarning, stacklevel=4)
        return None

    def warn_kinks(self, kinks):
        if not kinks:
            return
        k, kind, idx, a, lo, hi = kinks[0]
        more = f" (and {len(kinks) - 1} more element(s))" if len(kinks) > 1 else ""
        if kind == "kink":
            what = (f"has one-sided slopes from {lo:.6g} to {hi:.6g}; the analytic value "
                    f"{a:.6g} lies between them and was accepted as a subgradient")
        else:
            what = (f"jumps within x +- h (a discontinuity: for gradgradcheck, a kink of the "
                    f"first derivative, e.g. a tie of max; or a data-dependent selection such "
                    f"as x[x > 0] that switches); no derivative exists to compare the analytic "
                    f"value {a:.6g} with, so it was accepted")
        warnings.warn(f"{self.who}: the function is not differentiable here: {self.labels[k]} "
                      f"at index {idx}{more} {what}", GradcheckWarning, stacklevel=5)

    def mismatch(self, k, worst, bad):
        eps, atol, rtol, order = self.tol
        _, idx, a, n, lo, hi, h, xi, verdict = worst
        diff = abs(a - n)
        tol = atol + rtol * max(abs(a), abs(n))
        x = self.base[k]
        odt = self.original_dtypes[k]
        dtype = "float64" + (f" (upcast from {np.dtype(odt).name})" if odt != np.float64 else "")
        what = "second-order gradient (gradgradcheck)" if order == 2 else "gradient"
        head = (f"{self.who}: {what} mismatch for {self.labels[k]} (shape {x.shape}, "
                f"{dtype}) at index {idx}: analytic {a!r}, numeric {n!r}, "
                f"|difference| {diff:.3g} > tolerance {tol:.3g} (= atol {atol:g} + rtol {rtol:g}"
                f" * max(|analytic|, |numeric|)); central differences at x = {xi!r} with step "
                f"h = {h:.3g} (eps {eps:g} * max(1, |x|)); {bad} of {x.size} element(s) fail. "
                f"The gradient checked is J^T v for a random upstream v, not of .sum().")
        if verdict == "domain":
            tail = (" fn returned NaN or Inf within x +- h, so the step leaves fn's domain: keep "
                    "inputs farther than h from the boundary (e.g. strategies.positive()).")
        elif verdict == "analytic is not finite":
            tail = (" The analytic gradient is NaN or Inf there; the backward rule divides by "
                    "zero or overflows.")
        elif verdict == "kink-outside":
            tail = (f" The function is not differentiable here (one-sided slopes from {lo:.6g} "
                    f"to {hi:.6g}), and the analytic value is not between them, so it is not a "
                    f"valid subgradient either.")
        elif order == 2:
            tail = (" Either a backward rule computes on .data or with numpy, which cuts the "
                    "graph (its first-order values can still be right, so gradcheck passes): "
                    "write it with differentiable Tensor ops; or the derivative of a backward "
                    "rule is itself wrong.")
        else:
            tail = " The backward rule for this input is wrong at that element."
        return GradcheckError(head + tail, input=self.labels[k], index=idx, analytic=a,
                              numeric=n, difference=diff, tolerance=tol, step=h, dtype=dtype,
                              order=order)

    def error(self, message, **facts):
        return GradcheckError(f"{self.who}: {message}", order=self.tol[3], **facts)
