"""Catalog entries for the special family (tests/catalog.py appends ENTRIES and merges the sets)."""
import math

import numpy as np
from hypothesis import strategies as st

from _optional import require
from catalog import Op, broadcastable, fixed, in_place, unary

import autodiff as ad
from autodiff.ops import special as S


def _scipy(name):
    """scipy.special.<name> as a reference; without scipy the entry skips, naming the package."""
    def ref(*args, **kwargs):
        return getattr(require("scipy.special"), name)(*args, **kwargs)
    return ref


def _needs_scipy(fn):
    def run(*args, **kwargs):
        require("scipy.special")
        return fn(*args, **kwargs)
    return run


def _np_entr(x):
    return -x * np.log(x)


def _np_mvlgamma(x, p):
    lg = _scipy("gammaln")
    return p * (p - 1) / 4 * math.log(math.pi) + sum(lg(x - j / 2) for j in range(p))


def _p(draw, shapes):
    return {"p": draw(st.integers(1, 3))}


def _n(draw, shapes):
    return {"n": draw(st.integers(0, 3))}


ENTRIES = [
    Op("lgamma", S.lgamma, _scipy("gammaln"), unary(), domain="positive"),
    Op("digamma", S.digamma, _scipy("psi"), unary(), domain="positive"),
    Op("polygamma", lambda x, n: S.polygamma(n, x),
       lambda x, n: _scipy("polygamma")(n, x), unary(), domain="positive", params=_n),
    Op("mvlgamma", lambda x, p: S.mvlgamma(x + 1.0, p),
       lambda x, p: _np_mvlgamma(x + 1.0, p), unary(), domain="positive", params=_p),
    Op("erfc", S.erfc, np.vectorize(math.erfc, otypes=[float]), unary()),
    Op("erfinv", S.erfinv, _scipy("erfinv"), unary(), domain="unit"),
    Op("i0", S.i0, _scipy("i0"), unary()),
    Op("special.erfcx", ad.special.erfcx, _scipy("erfcx"), unary()),
    Op("special.i0e", ad.special.i0e, _scipy("i0e"), unary(), domain="away"),
    Op("special.i1", ad.special.i1, _scipy("i1"), unary()),
    Op("special.i1e", ad.special.i1e, _scipy("i1e"), unary(),
       domain="away"),  # exp(-|x|): a kink at 0
    Op("special.ndtr", ad.special.ndtr, _scipy("ndtr"), unary()),
    Op("special.log_ndtr", ad.special.log_ndtr, _scipy("log_ndtr"), unary()),
    Op("special.ndtri", lambda x: ad.special.ndtri(0.5 + 0.5 * x),
       lambda x: _scipy("ndtri")(0.5 + 0.5 * x), unary(), domain="unit"),
    Op("special.entr", ad.special.entr, _np_entr, unary(), domain="positive"),
    Op("special.xlog1py", ad.special.xlog1py, lambda x, y: x * np.log1p(y), broadcastable(2),
       domain=("real", "positive")),
    # differentiable in their second argument only (as PyTorch): the first is a constant
    Op("special.gammainc", ad.special.gammainc, _scipy("gammainc"), broadcastable(2),
       domain="positive", constants=(0,)),
    Op("special.gammaincc", ad.special.gammaincc, _scipy("gammaincc"), broadcastable(2),
       domain="positive", constants=(0,)),
    Op("special.zeta", lambda s, q: ad.special.zeta(s + 1.5, q),
       lambda s, q: _scipy("zeta")(s + 1.5, q), broadcastable(2), domain="positive",
       constants=(0,)),
    Op("igamma_", lambda a, x: (a * 1).igamma_(x), _scipy("gammainc"), fixed((2, 3), (2, 3)),
       domain="positive", constants=(0,)),
    Op("igammac_", lambda a, x: (a * 1).igammac_(x), _scipy("gammaincc"), fixed((3,), (3,)),
       domain="positive", constants=(0,)),
    # in place, recorded on a non-leaf (and through a view for lgamma_: the other methods share
    # its code path, and tests/test_torch_special.py checks them through views against torch)
    *in_place("lgamma_", _scipy("gammaln"), domain="positive"),
    in_place("digamma_", _scipy("psi"), domain="positive")[0],
    in_place("polygamma_", lambda x: _scipy("polygamma")(1, x), domain="positive",
             kw={"n": 1})[0],
    in_place("mvlgamma_", _scipy("gammaln"), domain="positive", kw={"p": 1})[0],
    in_place("erfinv_", _scipy("erfinv"), domain="unit")[0],
    in_place("erfc_", np.vectorize(math.erfc, otypes=[float]))[0],
    in_place("i0_", _scipy("i0"))[0],
]

# without scipy, the entries of ops whose values come from scipy.special skip
_NUMPY_ONLY = {"erfc", "erfc_", "special.ndtr", "special.entr", "special.xlog1py"}
for _op in ENTRIES:
    if _op.name not in _NUMPY_ONLY:
        _op.fn = _needs_scipy(_op.fn)

# Bessel functions and orthogonal polynomials: no gradient (their results do not require grad
# in PyTorch either)
NON_DIFFERENTIABLE = {f"special.{name}" for name in S._NO_GRADIENT}

# autodiff.special names that are another catalogued op
NAMESPACE_ALIASES = {
    "special.gammaln": "lgamma", "special.digamma": "digamma", "special.psi": "digamma",
    "special.polygamma": "polygamma", "special.multigammaln": "mvlgamma",
    "special.erfc": "erfc", "special.erfinv": "erfinv", "special.i0": "i0",
    "special.erf": "erf", "special.expit": "sigmoid", "special.log1p": "log1p",
    "special.round": "round", "special.softmax": "softmax",
    "special.log_softmax": "log_softmax", "special.logsumexp": "logsumexp",
    "special.exp2": "exp2", "special.expm1": "expm1", "special.logit": "logit",
    "special.sinc": "sinc", "special.xlogy": "xlogy",
    "igamma": "special.gammainc", "igammac": "special.gammaincc",  # (top-level torch names)
}
