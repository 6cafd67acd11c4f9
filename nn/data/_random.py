"""Resolve the `generator=` argument of data utilities to a numpy Generator."""
import numpy as np

import autodiff as ad


def rng_from(generator, name="generator"):
    """ad.Generator -> its .rng; numpy Generator -> itself; None -> ad.default_generator.rng."""
    if generator is None:
        return ad.default_generator.rng
    if isinstance(generator, np.random.Generator):
        return generator
    rng = getattr(generator, "rng", None)
    if isinstance(rng, np.random.Generator):
        return rng
    raise TypeError(
        f"{name} must be an ad.Generator (e.g. ad.Generator().manual_seed(0)), a "
        f"numpy.random.Generator or None, got {type(generator).__name__}"
    )
