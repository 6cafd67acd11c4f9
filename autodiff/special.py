"""autodiff.special: PyTorch's torch.special namespace. Functions numpy lacks take their
forward from scipy.special, installed with the extra: pip install "autodiff[special]".
The primitives live in autodiff/ops/special.py."""
from .ops.special import *  # noqa: F401,F403
from .ops.special import __all__  # noqa: F401
