"""Rprop, resilient backpropagation (PyTorch's algorithm): per-weight steps from sign changes."""
import numpy as np

import autodiff as ad
from nn.optim.optimizer import Optimizer, bump_step, check_range, new_scalar


class Rprop(Optimizer):
    """s = clamp(s * (eta+ if g*g_prev > 0, eta- if < 0, else 1), smin, smax);
    g = 0 where the sign flipped; p -= sign(g) * s; g_prev = g."""

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        super().__init__(params, dict(lr=lr, etas=etas, step_sizes=step_sizes, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable,
                                      capturable=capturable))

    def _validate(self, group):
        check_range("lr", group["lr"], opt="Rprop")
        for key in ("etas", "step_sizes"):
            pair = group[key]
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise ValueError(f"Rprop: {key} must be a pair, got {pair!r}")
            group[key] = tuple(pair)
        etaminus, etaplus = group["etas"]
        if not 0.0 < etaminus < 1.0 < etaplus:
            raise ValueError(f"Rprop: Invalid eta values: {etaminus}, {etaplus} (etas = "
                             f"(etaminus, etaplus) needs 0 < etaminus < 1 < etaplus)")

    def _update_group(self, group, params, grads):
        etaminus, etaplus = group["etas"]
        smin, smax = group["step_sizes"]
        for p, g in zip(params, grads):
            state = self.state[p]
            if not state:
                state["step"] = new_scalar()
                state["prev"] = ad.zeros_like(p)
                state["step_size"] = ad.from_numpy(np.full(g.shape, group["lr"], g.dtype))
            bump_step(state)
            prod = g * state["prev"].data
            factor = np.where(prod > 0, np.asarray(etaplus, g.dtype),
                              np.where(prod < 0, np.asarray(etaminus, g.dtype),
                                       np.asarray(1, g.dtype)))
            size = state["step_size"]
            size.copy_(np.clip(size.data * factor, np.asarray(smin, g.dtype),
                               np.asarray(smax, g.dtype)))
            g = np.where(prod < 0, np.zeros((), g.dtype), g)  # a sign flip: no move this step
            p.sub_(np.sign(g) * size.data)
            state["prev"].copy_(g)
