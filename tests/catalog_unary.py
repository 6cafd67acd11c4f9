"""Catalog entries for the unary family (tests/catalog.py appends ENTRIES and merges the sets)."""

import numpy as np

import autodiff as ad
from catalog import Op, in_place, unary

ENTRIES = [
    Op("tan", ad.tan, np.tan, unary(), domain="unit"),
    Op("asin", ad.asin, np.arcsin, unary(), domain="unit"),
    Op("acos", ad.acos, np.arccos, unary(), domain="unit"),
    Op("atan", ad.atan, np.arctan, unary()),
    Op("sinh", ad.sinh, np.sinh, unary()),
    Op("cosh", ad.cosh, np.cosh, unary()),
    Op("asinh", ad.asinh, np.arcsinh, unary()),
    Op("acosh", lambda x: ad.acosh(x + 1.0), lambda x: np.arccosh(x + 1.0), unary(),
       domain="positive"),
    Op("atanh", ad.atanh, np.arctanh, unary(), domain="unit"),
    Op("expm1", ad.expm1, np.expm1, unary()),
    Op("exp2", ad.exp2, np.exp2, unary()),
    Op("log2", ad.log2, np.log2, unary(), domain="positive"),
    Op("log10", ad.log10, np.log10, unary(), domain="positive"),
    Op("logit", lambda x: ad.logit(x * 0.5 + 0.5), lambda x: np.log((x + 1) / (1 - x)),
       unary(), domain="unit"),
    # eps = 0.25 clamps to [0.25, 0.75]: inputs x * 0.5 + 0.5 stay away from +-0.5 (the bounds)
    Op("logit", lambda x: ad.logit(x * 0.5 + 0.5, eps=0.25),
       lambda x: (lambda p: np.log(p / (1 - p)))(np.clip(x * 0.5 + 0.5, 0.25, 0.75)), unary(),
       domain="away_half", label="eps"),
    Op("sinc", ad.sinc, np.sinc, unary(), domain="away"),  # (PyTorch's sinc''(0) is 0, not -pi²/3)
    Op("sinc", lambda x: ad.sinc(x * (x.abs() > 1)), lambda x: np.sinc(x * (np.abs(x) > 1)),
       unary(), domain="away", label="at 0"),
    Op("frac", ad.frac, lambda x: x - np.trunc(x), unary(), domain="unit"),
    *[Op(name, getattr(ad, name), ref, unary(), domain="between_steps") for name, ref in (
        ("trunc", np.trunc), ("fix", np.trunc), ("sgn", np.sign))],  # (a zero gradient)
    Op("deg2rad", ad.deg2rad, np.deg2rad, unary()),
    Op("rad2deg", ad.rad2deg, np.rad2deg, unary()),
    Op("reciprocal", ad.reciprocal, np.reciprocal, unary(), domain="away"),
    Op("positive", ad.positive, np.positive, unary()),
    Op("negative", ad.negative, np.negative, unary()),
    Op("nan_to_num", lambda x: ad.nan_to_num(ad.log(x)), lambda x: np.nan_to_num(np.log(x)),
       unary(), domain="away"),  # log of negative inputs: NaN -> 0 with a zero gradient
    # in place: a one-op rule, and a composed one (its history is several ops) with kwargs
    *in_place("tan_", np.tan, domain="unit"),
    *in_place("logit_", lambda x: np.log(np.clip(x, 0.25, 0.75) / (1 - np.clip(x, 0.25, 0.75))),
              domain="unit", kw={"eps": 0.25}),
]
NON_DIFFERENTIABLE = {"signbit"}  # public functions with no gradient
NAMESPACE_ALIASES = {"arcsin": "asin", "arccos": "acos", "arctan": "atan", "arcsinh": "asinh",
                     "arccosh": "acosh", "arctanh": "atanh", "absolute": "abs"}
# The other in-place forms run the catalogued function through the same in-place machinery
# (autodiff/inplace.py's _unary) as tan_ and logit_ above; tests/test_torch_elementwise.py
# checks each against PyTorch (values and gradients, through a view too).
METHOD_ALIASES = {name + "_": name for name in (
    "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "expm1", "exp2", "log2",
    "log10", "sinc", "frac", "deg2rad", "rad2deg", "reciprocal", "negative", "nan_to_num",
    "trunc", "fix", "sgn")}
METHOD_ALIASES.update({a + "_": n for a, n in NAMESPACE_ALIASES.items()})
METHOD_NON_DIFFERENTIABLE = set()
