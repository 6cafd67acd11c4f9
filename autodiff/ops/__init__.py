"""Every primitive, one family per file, forward and backward side by side: elementwise,
broadcast (broadcast_to <-> sum_to and operand handling), reduce (reductions, softmax, scans,
sorting), shape (views, indexing, joining, padding), linalg (products), conv (convolution and
pooling)."""
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
from .conv import conv2d, conv1d, max_pool2d, avg_pool2d, adaptive_avg_pool2d  # noqa
