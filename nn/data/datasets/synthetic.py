"""2-D toy classification sets: moons, circles (scikit-learn's conventions) and CS231n spirals."""
import numbers

import numpy as np

import autodiff as ad


def _rng(seed):
    """int seed -> fresh numpy Generator; None -> the global ad.default_generator
    (ad.manual_seed)."""
    if seed is None:
        return ad.default_generator.rng
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an int or None, got {seed!r}")
    return np.random.default_rng(int(seed))


def _split(n_samples, parts, name):
    """Per-class counts: n_samples split as evenly as possible, earlier classes get the extra."""
    if isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral) or n_samples < 0:
        raise ValueError(f"{name}: n_samples must be a non-negative int, got {n_samples!r}")
    return [n_samples // parts + (1 if k < n_samples % parts else 0) for k in range(parts)]


def _finish(X, y, noise, shuffle, rng, name):
    """Add N(0, noise^2) to X, optionally shuffle, and return (X float32, y int64) Tensors."""
    if noise is None:
        noise = 0.0
    if noise < 0:
        raise ValueError(f"{name}: noise must be >= 0 (a standard deviation), got {noise}")
    if shuffle:
        perm = rng.permutation(len(y))
        X, y = X[perm], y[perm]
    if noise > 0:
        X = X + rng.normal(0.0, noise, size=X.shape)
    return ad.from_numpy(X.astype(np.float32)), ad.from_numpy(y.astype(np.int64))


def make_moons(n_samples=100, noise=0.0, seed=None, shuffle=True):
    """Two interleaved half circles of radius 1: class 0 on the upper one centred at (0, 0),
    class 1 on the lower one centred at (1, 0.5); Gaussian noise of std `noise`."""
    n_in, n_out = _split(n_samples, 2, "make_moons")  # as scikit-learn: class 0 gets n // 2
    rng = _rng(seed)
    t_out, t_in = np.linspace(0, np.pi, n_out), np.linspace(0, np.pi, n_in)
    X = np.concatenate([np.stack([np.cos(t_out), np.sin(t_out)], 1),
                        np.stack([1 - np.cos(t_in), 0.5 - np.sin(t_in)], 1)])
    y = np.repeat([0, 1], [n_out, n_in])
    return _finish(X, y, noise, shuffle, rng, "make_moons")


def make_circles(n_samples=100, noise=0.0, factor=0.8, seed=None, shuffle=True):
    """Two concentric circles: class 0 radius 1, class 1 radius `factor` (0 <= factor < 1)."""
    if not 0 <= factor < 1:
        raise ValueError(f"make_circles: factor is the inner/outer radius ratio and must be in "
                         f"[0, 1), got {factor}")
    n_in, n_out = _split(n_samples, 2, "make_circles")  # as scikit-learn: class 0 gets n // 2
    rng = _rng(seed)
    t_out = np.linspace(0, 2 * np.pi, n_out, endpoint=False)
    t_in = np.linspace(0, 2 * np.pi, n_in, endpoint=False)
    X = np.concatenate([np.stack([np.cos(t_out), np.sin(t_out)], 1),
                        factor * np.stack([np.cos(t_in), np.sin(t_in)], 1)])
    y = np.repeat([0, 1], [n_out, n_in])
    return _finish(X, y, noise, shuffle, rng, "make_circles")


def make_spirals(n_samples=300, n_classes=3, noise=0.2, seed=None, shuffle=True):
    """CS231n spirals: class k has radius r in [0, 1] and angle 4k + 4r + N(0, noise^2) radians,
    point (r sin t, r cos t); noise perturbs the angle, not the coordinates."""
    if isinstance(n_classes, bool) or not isinstance(n_classes, numbers.Integral) or n_classes < 1:
        raise ValueError(f"make_spirals: n_classes must be a positive int, got {n_classes!r}")
    if noise is None:
        noise = 0.0
    if noise < 0:
        raise ValueError(f"make_spirals: noise must be >= 0 (a std in radians), got {noise}")
    counts = _split(n_samples, n_classes, "make_spirals")
    rng = _rng(seed)
    X, y = [], []
    for k, m in enumerate(counts):
        r = np.linspace(0.0, 1.0, m)
        t = np.linspace(4.0 * k, 4.0 * (k + 1), m) + rng.normal(0.0, noise, size=m)
        X.append(np.stack([r * np.sin(t), r * np.cos(t)], 1))
        y.append(np.full(m, k))
    return _finish(np.concatenate(X), np.concatenate(y), 0.0, shuffle, rng, "make_spirals")
