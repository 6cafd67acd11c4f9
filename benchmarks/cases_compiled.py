"""Benchmark cases for autodiff.compile: each runs the autodiff step through autodiff.compile
(first call traced, the timed calls replayed) against PyTorch eager, plus the moons Adam step
(issue 18's target) eager and compiled."""
import numpy as np

from cases import Chain, Moons, case


def _compiled(step):
    import autodiff as ad
    return ad.compile(step, fullgraph=True)  # a graph break would be a benchmark bug


@case("chain1000_compiled", "chain1000 through autodiff.compile (PyTorch eager)", unit="us/op")
class ChainCompiled:
    setup_torch = staticmethod(Chain.setup_torch)

    @staticmethod
    def setup_autodiff():
        step, ops = Chain.setup_autodiff()
        return _compiled(step), ops


@case("moons_compiled", "moons through autodiff.compile (PyTorch eager)")
class MoonsCompiled:
    setup_torch = staticmethod(Moons.setup_torch)

    @staticmethod
    def setup_autodiff():
        step, ops = Moons.setup_autodiff()
        return _compiled(step), ops


def _moons50():
    from nn.data.datasets import make_moons
    X, y = make_moons(n_samples=50, noise=0.1, seed=0)
    return X.numpy().astype(np.float32), y.numpy().astype(np.int64)


@case("moons_adam", "2-32-32-2 MLP on 50 moons points, cross-entropy, Adam step")
class MoonsAdam:
    @staticmethod
    def _setup(tensor, seed, nn, F, optim):
        """One program for both libraries (a PyTorch script ported by changing imports)."""
        X, y = _moons50()
        X, y = tensor(X), tensor(y)
        seed(0)
        model = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(),
                              nn.Linear(32, 2))
        opt = optim.Adam(model.parameters(), lr=1e-2)

        def step():
            loss = F.cross_entropy(model(X), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss
        return step, 1

    @staticmethod
    def setup_autodiff():
        import autodiff as ad
        import nn
        import nn.functional as F
        return MoonsAdam._setup(ad.tensor, ad.manual_seed, nn, F, nn.optim)

    @staticmethod
    def setup_torch():
        import torch
        return MoonsAdam._setup(torch.from_numpy, torch.manual_seed, torch.nn,
                                torch.nn.functional, torch.optim)


@case("moons_adam_compiled", "moons_adam through autodiff.compile (PyTorch eager)")
class MoonsAdamCompiled:
    setup_torch = staticmethod(MoonsAdam.setup_torch)

    @staticmethod
    def setup_autodiff():
        step, ops = MoonsAdam.setup_autodiff()
        return _compiled(step), ops
