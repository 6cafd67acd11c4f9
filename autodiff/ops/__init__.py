"""Every primitive, one family per file, forward and backward side by side."""
from .elementwise import *  # noqa: F401,F403
from .reduce import (sum, mean, var, std, amax, amin, max, min, argmax, argmin, logsumexp,  # noqa
                     softmax, log_softmax, softmax_cross_entropy, prod, norm, all, any)
from .shape import (broadcast_to, sum_to, reshape, view, flatten, squeeze, unsqueeze,  # noqa
                    permute, transpose, swapaxes, expand, getitem, index_add, index_put, gather,
                    cat, stack,
                    split, chunk, unbind, repeat, flip, pad, mT)
from .linalg import matmul, einsum, linear  # noqa
from .extras import (mm, bmm, dot, outer, square, rsqrt, tril, triu, cumsum, sort, topk,  # noqa
                     isinf, allclose)
from .conv import conv2d, conv1d, max_pool2d, avg_pool2d, adaptive_avg_pool2d  # noqa
