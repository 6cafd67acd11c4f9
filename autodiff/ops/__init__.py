"""Every primitive, one family per file, forward and backward side by side: elementwise,
broadcast (broadcast_to <-> sum_to and operand handling), reduce (reductions, softmax, scans,
sorting), shape (views, indexing, joining, padding), linalg (products), conv (convolution),
pooling."""
from .elementwise import *  # noqa: F401,F403
from .reduce import (sum, mean, var, std, amax, amin, max, min, argmax, argmin, logsumexp,  # noqa
                     softmax, log_softmax, softmax_cross_entropy, prod, norm, all, any,
                     cumsum, sort, topk)
from .broadcast import broadcast_to, sum_to  # noqa
from .shape import (reshape, view, flatten, squeeze, unsqueeze,  # noqa
                    permute, transpose, swapaxes, expand, getitem, index_add, index_put, gather,
                    cat, stack, narrow, select,
                    split, chunk, unbind, repeat, flip, pad, mT, tril, triu)
from .linalg import matmul, einsum, linear, mm, bmm, dot, outer  # noqa
from .conv import *  # noqa: F401,F403  (each lists its public functions in __all__)
from .pooling import *  # noqa: F401,F403

# The wider surface (issue 13): each family module lists its public functions in __all__ and the
# Tensor methods it adds in METHODS (attached by autodiff/tensor_methods.py).
from . import unary, binary, scans, indexing, layout, products, decompositions, special  # noqa
from . import predicates, numerics, recurrent, attention  # noqa
from .normalization import *  # noqa: F401,F403  (layer_norm: torch.layer_norm, F.layer_norm)
from .unary import *  # noqa: F401,F403
from .binary import *  # noqa: F401,F403
from .scans import *  # noqa: F401,F403
from .indexing import *  # noqa: F401,F403
from .layout import *  # noqa: F401,F403
from .products import *  # noqa: F401,F403
from .predicates import *  # noqa: F401,F403
from .numerics import *  # noqa: F401,F403

_FAMILY_METHODS = {}
for _family in (unary, binary, scans, indexing, layout, products, decompositions, special,
                predicates, numerics):
    _FAMILY_METHODS.update(_family.METHODS)

# torch.* names of functions that live in the linalg and special namespaces (torch.det,
# torch.lgamma): TOP_LEVEL is a list of names, or a dict name -> function where the top-level
# form differs from the namespace's (torch.svd returns V, torch.linalg.svd returns Vh).
for _family in (decompositions, special):
    _top = getattr(_family, "TOP_LEVEL", ())
    for _name in _top:
        globals()[_name] = _top[_name] if isinstance(_top, dict) else getattr(_family, _name)

# `from autodiff.ops import *` exports the functions, not the family modules (autodiff.linalg
# and autodiff.special are namespaces of their own).
__all__ = [_n for _n, _v in list(globals().items())
           if not _n.startswith("_") and type(_v).__name__ != "module"]
