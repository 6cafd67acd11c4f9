"""Sequence-model primitives, the public home of what nn's recurrent and attention layers run on:
one recurrent layer in one direction over a whole time-major sequence (`rnn_tanh`, `rnn_relu`,
`lstm`, `gru`; packed `batch_sizes`, `reverse`) and fused scaled dot-product attention. Each is
one graph node with a hand-derived backward (docs/ops_recurrent.md)."""
from .ops.recurrent import *  # noqa: F401,F403
from .ops.attention import *  # noqa: F401,F403
from .ops import attention as _attention, recurrent as _recurrent

__all__ = [*_recurrent.__all__, *_attention.__all__]
