"""Random number generators: a default one (reseeded by manual_seed) and explicit Generators."""
import weakref

import numpy as np

# Every Generator, so that autodiff.compile can watch their draws while it traces a call.
generators = weakref.WeakSet()


def _reseeding(what):
    from . import function
    if function._tracer is not None:
        function._tracer.unsupported(what)


class Generator:
    """A seedable source of randomness, like torch.Generator; `.rng` is a numpy Generator."""

    def __init__(self, seed=None):
        if seed is None:  # from the OS's entropy, remembered for initial_seed() as in PyTorch
            seed = int(np.random.SeedSequence().entropy % 2**63)
        self.rng = np.random.default_rng(int(seed))
        self._seed = int(seed)
        generators.add(self)

    def manual_seed(self, seed):
        """Reseeds this generator and returns it."""
        _reseeding("reseeding a random generator (manual_seed)")
        self.rng = np.random.default_rng(int(seed))
        self._seed = int(seed)
        return self

    def initial_seed(self):
        return self._seed

    def get_state(self):
        return self.rng.bit_generator.state

    def set_state(self, state):
        _reseeding("setting a random generator's state")
        self.rng.bit_generator.state = state


default_generator = Generator()


def manual_seed(seed):
    """Reseeds the default generator (used by rand, randn, init, dropout, shuffling)."""
    return default_generator.manual_seed(seed)


def rng(generator=None):
    """The numpy Generator to draw from: the given one's, else the default's."""
    return (generator or default_generator).rng


def seed():
    """Reseeds the default generator from the operating system's entropy; returns the seed."""
    default_generator.manual_seed(Generator().initial_seed())
    return default_generator.initial_seed()


def initial_seed():
    """The seed the default generator was last seeded with."""
    return default_generator.initial_seed()


def get_rng_state():
    """The default generator's state (an opaque value for set_rng_state, as in PyTorch)."""
    return default_generator.get_state()


def set_rng_state(new_state):
    """Restores the default generator's state from get_rng_state()."""
    default_generator.set_state(new_state)
