"""Gradient health: vanishing / healthy / exploding / NaN, judged relative to the data."""
import numpy as np

VANISHING = 1e-5   # rms(grad) / rms(data) below this: vanishing (exactly zero included)
EXPLODING = 1e3    # ... above this: exploding
DATA_FLOOR = 1e-2  # data smaller than this (zero-initialised biases) is compared as if it were this

COLORS = {
    "nan": "#d62728",        # red
    "exploding": "#ff7f0e",  # orange
    "healthy": "#2ca02c",    # green
    "vanishing": "#1f77b4",  # blue
    "zero": "#7f7f7f",       # grey: exactly zero
}

LEGEND = [
    ("healthy", f"healthy: {VANISHING:g} ≤ rms(g)/rms(x) ≤ {EXPLODING:g}"),
    ("vanishing", f"vanishing: rms(g)/rms(x) < {VANISHING:g}"),
    ("zero", "zero gradient"),
    ("exploding", f"exploding: rms(g)/rms(x) > {EXPLODING:g}"),
    ("nan", "NaN or Inf in the gradient"),
]


def _rms(a):
    a = np.asarray(a, dtype=np.float64)
    return float(np.sqrt(np.mean(a * a))) if a.size else 0.0


def ratio(grad, data):
    """rms(grad) / max(rms(data), DATA_FLOOR): how big a step the gradient is, relative to x."""
    return _rms(grad) / max(_rms(data), DATA_FLOOR)


def classify(grad, data):
    """'nan', 'zero', 'vanishing', 'healthy' or 'exploding' for a gradient of `data`."""
    g = np.asarray(grad)
    if g.dtype.kind == "f" and not np.all(np.isfinite(g)):
        return "nan"
    if not np.any(g):
        return "zero"
    r = ratio(g, data)
    if r < VANISHING:
        return "vanishing"
    if r > EXPLODING:
        return "exploding"
    return "healthy"


def color(kind):
    return COLORS[kind]


def relu_activity(x):
    """(fraction of inputs <= 0, dead units, units) for a relu input; units are the last
    dim's entries that are inactive for every row of the batch (None for < 2-d inputs)."""
    x = np.asarray(x)
    inactive = x <= 0
    frac = float(inactive.mean()) if x.size else 0.0
    if x.ndim < 2:
        return frac, None, None
    dead = inactive.reshape(-1, x.shape[-1]).all(axis=0)
    return frac, int(dead.sum()), int(x.shape[-1])


def relu_note(x):
    """'inactive 43%, dead 5/256' for the input of a relu."""
    frac, dead, units = relu_activity(x)
    note = f"inactive {frac:.0%}"
    if dead is not None and dead:
        note += f", dead {dead}/{units}"
    return note
