"""skip_init (torch.nn.utils.init): a module built without initializing its parameters."""
import inspect

import numpy as np

import autodiff as ad

__all__ = ["skip_init"]


def skip_init(module_cls, *args, **kwargs):
    """module_cls(*args, **kwargs) with uninitialized parameters and buffers (the random state
    is left as it was), for code that fills them itself."""
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError("Module must support a 'device' arg to skip initialization")
    state = ad.get_rng_state()
    try:
        module = module_cls(*args, **kwargs)
    finally:
        ad.set_rng_state(state)
    for t in (*module.parameters(), *module.buffers()):
        t.data = np.empty_like(t.data)
    return module
