"""autodiff.linalg: PyTorch's torch.linalg namespace (matrix functions and decompositions,
differentiable to second order where PyTorch's are). The primitives live in
autodiff/ops/decompositions.py."""
from .ops.decompositions import *  # noqa: F401,F403
from .ops.decompositions import __all__  # noqa: F401
