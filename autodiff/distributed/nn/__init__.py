"""torch.distributed.nn: the differentiable collectives (see .functional)."""
from . import functional  # noqa: F401
