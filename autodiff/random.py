"""Random number generators: a default one (reseeded by manual_seed) and explicit Generators."""
import numpy as np


class Generator:
    """A seedable source of randomness, like torch.Generator; `.rng` is a numpy Generator."""

    def __init__(self, seed=None):
        self.rng = np.random.default_rng(seed)
        self._seed = seed

    def manual_seed(self, seed):
        """Reseeds this generator and returns it."""
        self.rng = np.random.default_rng(int(seed))
        self._seed = int(seed)
        return self

    def initial_seed(self):
        return self._seed

    def get_state(self):
        return self.rng.bit_generator.state

    def set_state(self, state):
        self.rng.bit_generator.state = state


default_generator = Generator()


def manual_seed(seed):
    """Reseeds the default generator (used by rand, randn, init, dropout, shuffling)."""
    return default_generator.manual_seed(seed)


def rng(generator=None):
    """The numpy Generator to draw from: the given one's, else the default's."""
    return (generator or default_generator).rng
