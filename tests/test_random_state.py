"""The default generator's seed and state, with PyTorch's functions: seed, initial_seed,
get_rng_state / set_rng_state."""
import numpy as np

import autodiff as ad


def test_rng_state_round_trip_replays_the_same_draws():
    state = ad.get_rng_state()
    a = ad.randn(5).numpy()
    ad.set_rng_state(state)
    np.testing.assert_array_equal(ad.randn(5).numpy(), a)


def test_initial_seed_reports_the_last_manual_seed():
    ad.manual_seed(1234)
    assert ad.initial_seed() == 1234
    assert ad.Generator(7).initial_seed() == 7


def test_seed_reseeds_from_entropy_and_reports_it():
    s = ad.seed()
    assert isinstance(s, int) and ad.initial_seed() == s
    a = ad.rand(4).numpy()
    ad.manual_seed(s)
    np.testing.assert_array_equal(ad.rand(4).numpy(), a)
    assert isinstance(ad.Generator().initial_seed(), int)  # never None, as in PyTorch
