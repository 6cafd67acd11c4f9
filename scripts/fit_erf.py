"""Fits the rational approximations autodiff's erf uses on |x| <= 4 and prints their
coefficients (the _ERF_FITS of autodiff/ops/elementwise.py).

erf(x) = x P(x^2) / Q(x^2), Q(0) = 1, with deg P, deg Q = 10, 9 for float64 and 6, 5 for
float32 and narrower (largest relative errors 1.5e-11 and 2.0e-9). The fit minimises the largest
relative error of P/Q against f(t) = erf(sqrt t) / sqrt t (math.erf as the reference) on
t in [0, 16]: Loeb's linearised least squares (P - f Q = 0, weighted by 1 / (f Q_prev)) for a
start, then Lawson's reweighting toward the minimax solution; the best iterate is kept. Run:

    python scripts/fit_erf.py      # prints the tuples and their largest relative errors
"""
import math

import numpy as np

X_MAX = 4.0
DEGREES = {64: (10, 9), 32: (6, 5)}  # by the widest float dtype each serves


def sample_points(n=8000):
    """x in [0, X_MAX], dense at both ends and uniform in between."""
    quarter = np.linspace(0, np.pi / 2, n)
    return np.unique(np.concatenate([X_MAX * (1 - np.cos(quarter)), np.linspace(0, X_MAX, n),
                                     X_MAX * np.sin(quarter)]))


def fit(deg_p, deg_q, loeb_steps=30, lawson_steps=300):
    """(P coefficients, Q coefficients, largest relative error), lowest degree first."""
    x = sample_points()
    t_max = X_MAX * X_MAX
    f = np.array([math.erf(v) / v if v > 0 else 2 / math.sqrt(math.pi) for v in x])
    s = x * x / t_max  # the fit runs on t / t_max in [0, 1], for conditioning
    vp = np.vander(s, deg_p + 1, increasing=True)
    vq = np.vander(s, deg_q + 1, increasing=True)[:, 1:]
    q_prev, weights, best = np.ones_like(s), np.ones_like(s), None
    for step in range(loeb_steps + lawson_steps):
        scale = np.sqrt(weights) / (np.abs(f) * q_prev)
        a = np.concatenate([vp, -f[:, None] * vq], axis=1) * scale[:, None]
        c = np.linalg.lstsq(a, f * scale, rcond=None)[0]
        q_prev = 1 + vq @ c[deg_p + 1:]
        err = (vp @ c[:deg_p + 1]) / q_prev / f - 1
        if best is None or np.abs(err).max() < best[0]:
            best = (np.abs(err).max(), c)
        if step >= loeb_steps:
            weights = weights * np.abs(err)
            weights /= weights.sum()
    worst, c = best
    p = c[:deg_p + 1] / t_max ** np.arange(deg_p + 1)
    q = np.concatenate([[1.0], c[deg_p + 1:] / t_max ** np.arange(1, deg_q + 1)])
    return p, q, worst


def main():
    for bits, (deg_p, deg_q) in DEGREES.items():
        p, q, worst = fit(deg_p, deg_q)
        print(f"{bits}: (  # largest relative error on [0, {X_MAX}]: {worst:.3g}")
        print("    (" + ", ".join(repr(float(v)) for v in p) + "),")
        print("    (" + ", ".join(repr(float(v)) for v in q) + ")),")


if __name__ == "__main__":
    main()
