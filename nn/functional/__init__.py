"""Functional forms of nn's layers, activations and losses (`import nn.functional as F`).

Everything here is composed from autodiff's public differentiable ops; nothing defines a
primitive. Integer inputs (class indices, embedding ids) are read as constants. One module per
family, as torch.nn.functional's documentation groups them; this package re-exports them all.
"""
from nn.functional._util import (_const, _tensor, _float_input, _check_reduction,  # noqa: F401
                                 _reduce, _same_shape)
from nn.functional.linear import *  # noqa: F401,F403
from nn.functional.sparse import *  # noqa: F401,F403
from nn.functional.activation import *  # noqa: F401,F403
from nn.functional.dropout import *  # noqa: F401,F403
from nn.functional.normalization import *  # noqa: F401,F403
from nn.functional.loss import *  # noqa: F401,F403
from nn.functional.distance import *  # noqa: F401,F403
from nn.functional.conv import *  # noqa: F401,F403
from nn.functional.pooling import *  # noqa: F401,F403
from nn.functional.sampling import *  # noqa: F401,F403
from nn.functional.attention import *  # noqa: F401,F403
