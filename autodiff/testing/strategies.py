"""Hypothesis strategies for tensors, shapes and input domains (needs `hypothesis`).

Domains are built constructively - each value is drawn inside the allowed set, never drawn and
then filtered - so hypothesis never runs out of examples and shrinks toward simple values.

    >>> from hypothesis import given
    >>> from autodiff.testing import strategies as ts
    >>> @given(ts.tensors(shape=(2, 3), elements=ts.positive()))
    ... def test_log_is_finite(x):
    ...     assert (x.log().data > -10).all()
    >>> test_log_is_finite()
"""
import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ..creation import tensor as _tensor

__all__ = ["shapes", "broadcastable_shapes", "broadcastable_tensors", "tensors",
           "separated_tensors", "floats", "positive", "bounded", "away_from"]


def shapes(*, min_dims=0, max_dims=3, min_side=1, max_side=4):
    """Shape tuples with min_dims..max_dims dimensions, each of min_side..max_side (0-d included
    by default; min_side=0 allows empty tensors).

    >>> from hypothesis import find
    >>> find(shapes(), lambda s: len(s) == 2)  # the simplest 2-d shape
    (1, 1)
    """
    _check_dims(min_dims, max_dims, min_side, max_side, "shapes")
    return st.lists(st.integers(min_side, max_side), min_size=min_dims,
                    max_size=max_dims).map(tuple)


def broadcastable_shapes(n, *, min_dims=0, max_dims=3, min_side=1, max_side=4):
    """A tuple of n shapes that broadcast together under numpy's rules: each is a trailing part
    of one result shape, with some dimensions replaced by 1.

    >>> from hypothesis import find
    >>> import numpy as np
    >>> group = find(broadcastable_shapes(3), lambda g: len(set(g)) == 3)
    >>> len(group), np.broadcast_shapes(*group)
    (3, (2,))
    """
    if n < 1:
        raise ValueError(f"broadcastable_shapes: n must be at least 1, got {n}")
    _check_dims(min_dims, max_dims, min_side, max_side, "broadcastable_shapes")

    @st.composite
    def group(draw):
        full = draw(shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                           max_side=max_side))
        out = []
        for _ in range(n):
            ndim = draw(st.integers(min(min_dims, len(full)), len(full)))
            tail = full[len(full) - ndim:]
            ones = draw(st.lists(st.booleans(), min_size=ndim, max_size=ndim))
            out.append(tuple(1 if one else side for one, side in zip(ones, tail)))
        return tuple(out)

    return group()


def broadcastable_tensors(n, *, elements=None, dtype=np.float64, requires_grad=True,
                          **shape_options):
    """A tuple of n tensors whose shapes broadcast together (see broadcastable_shapes), for
    property-testing binary and ternary functions.

    >>> from hypothesis import find
    >>> x, y = find(broadcastable_tensors(2), lambda xy: xy[0].shape != xy[1].shape)
    >>> (x + y).shape == np.broadcast_shapes(x.shape, y.shape)
    True
    """
    return broadcastable_shapes(n, **shape_options).flatmap(
        lambda group: st.tuples(*(tensors(s, dtype, elements, requires_grad=requires_grad)
                                  for s in group)))


def floats(min_value=-3.0, max_value=3.0, *, min_magnitude=0.0):
    """Finite floats in [min_value, max_value] with |x| >= min_magnitude (drawn, not filtered)."""
    if min_magnitude > 0:
        return away_from(0.0, margin=min_magnitude, min_value=min_value, max_value=max_value)
    _check_range(min_value, max_value, "floats")
    return st.floats(min_value, max_value, allow_nan=False, allow_infinity=False)


def positive(min_value=0.1, max_value=10.0):
    """Floats in [min_value, max_value], min_value > 0: the domain of log, sqrt, pow, 1/x.

    The lower bound keeps the finite-difference step (1e-6 * max(1, |x|)) inside the domain and
    the derivatives (1/x, 1/sqrt(x)) moderate.
    """
    if not min_value > 0:
        raise ValueError(f"positive: min_value must be > 0, got {min_value}")
    return floats(min_value, max_value)


def bounded(limit=10.0):
    """Floats in [-limit, limit]: for exp, cosh, softplus (exp(10) ~ 2.2e4 keeps float64
    differences accurate; exp(710) overflows)."""
    if not limit > 0:
        raise ValueError(f"bounded: limit must be > 0, got {limit}")
    return floats(-limit, limit)


def away_from(*points, margin=0.1, min_value=-3.0, max_value=3.0):
    """Floats in [min_value, max_value] with |x - p| >= margin for every p in points: inputs away
    from kinks (relu, abs at 0; clamp at its bounds), so finite differences see a smooth function.

    >>> from hypothesis import find
    >>> x = find(away_from(0.0, 1.0, margin=0.25), lambda x: 0.5 < x < 1.0)
    >>> 0.5 < x <= 0.75
    True
    """
    _check_range(min_value, max_value, "away_from")
    if not margin > 0:
        raise ValueError(f"away_from: margin must be > 0, got {margin}")
    pieces, lo = [], float(min_value)
    for p in sorted(float(p) for p in points):
        hi = _inward(p - margin, -np.inf)
        if hi >= lo:
            pieces.append((lo, hi))
        lo = max(lo, _inward(p + margin, np.inf))
    if max_value >= lo:
        pieces.append((lo, float(max_value)))
    if not pieces:
        raise ValueError(f"away_from: no value in [{min_value}, {max_value}] is at least "
                         f"{margin} from every point of {points}; widen the range or shrink margin")
    return st.one_of([st.floats(a, b, allow_nan=False, allow_infinity=False) for a, b in pieces])


def tensors(shape=None, dtype=np.float64, elements=None, min_magnitude=0.0, requires_grad=True):
    """Tensors of `shape` (a tuple, an int, a strategy, or None for shapes()) with `elements`
    (a float strategy; default floats(-3, 3)). requires_grad applies to float dtypes only.

    >>> from hypothesis import find
    >>> t = find(tensors(shape=(2, 3), min_magnitude=0.5), lambda t: True)
    >>> t.shape, t.dtype.name, t.requires_grad, bool((abs(t.data) >= 0.5).all())
    ((2, 3), 'float64', True, True)
    """
    dtype = np.dtype(dtype)
    if elements is not None and min_magnitude:
        raise ValueError("tensors: give either elements or min_magnitude, not both; for a custom "
                         "range away from zero use elements=away_from(0.0, margin=...)")
    if elements is None:
        if dtype.kind == "f":
            elements = floats(min_magnitude=min_magnitude)
        elif dtype.kind == "b":
            elements = st.booleans()
        else:
            elements = st.integers(-5, 5)
    if shape is None:
        shape = shapes()
    elif isinstance(shape, int):
        shape = (shape,)
    # floats are drawn in float64 and then rounded to dtype, so any float strategy works
    draw_dtype = np.float64 if dtype.kind == "f" else dtype
    grad = bool(requires_grad) and dtype.kind == "f"
    return hnp.arrays(draw_dtype, shape, elements=elements).map(
        lambda a: _tensor(a.astype(dtype, copy=False), requires_grad=grad))


def separated_tensors(shape=None, *, margin=0.1, min_value=-3.0, dtype=np.float64,
                      requires_grad=True):
    """Tensors whose elements differ pairwise by at least `margin` (no ties, so max, min and
    sort are differentiable), built as a shuffled increasing sequence.

    >>> from hypothesis import find
    >>> import numpy as np
    >>> t = find(separated_tensors(shape=(4,), margin=0.5), lambda t: True)
    >>> t.shape, bool(np.diff(np.sort(t.data)).min() >= 0.5)
    ((4,), True)
    """
    if not margin > 0:
        raise ValueError(f"separated_tensors: margin must be > 0, got {margin}")
    shape = shapes() if shape is None else ((shape,) if isinstance(shape, int) else shape)
    shape_st = shape if isinstance(shape, st.SearchStrategy) else st.just(tuple(shape))

    @st.composite
    def build(draw):
        sh = draw(shape_st)
        n = int(np.prod(sh, dtype=np.int64))
        start = draw(st.floats(min_value, min_value + margin))
        # the 1e-9 slack absorbs cumsum rounding, so differences stay >= margin exactly
        gaps = draw(st.lists(st.floats(margin * (1 + 1e-9), 3 * margin), min_size=n, max_size=n))
        values = start + np.cumsum(np.array(gaps, np.float64)) - gaps[0] if n else np.zeros(0)
        order = draw(st.permutations(range(n)))
        arr = values[np.array(order, np.int64)].reshape(sh) if n else np.zeros(sh)
        return _tensor(arr.astype(dtype), requires_grad=requires_grad)

    return build()


def _inward(x, direction):
    """x moved two ulps toward `direction`, so rounding never lands inside the excluded band."""
    return float(np.nextafter(np.nextafter(x, direction), direction))


def _check_range(lo, hi, who):
    if not (np.isfinite(lo) and np.isfinite(hi) and lo <= hi):
        raise ValueError(f"{who}: need finite min_value <= max_value, got {lo} and {hi}")


def _check_dims(min_dims, max_dims, min_side, max_side, who):
    if not 0 <= min_dims <= max_dims:
        raise ValueError(f"{who}: need 0 <= min_dims <= max_dims, got {min_dims}, {max_dims}")
    if not 0 <= min_side <= max_side:
        raise ValueError(f"{who}: need 0 <= min_side <= max_side, got {min_side}, {max_side}")
