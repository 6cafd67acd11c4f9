"""Adamax (PyTorch's algorithm): Adam with an exponentially weighted infinity norm."""
import numpy as np

import autodiff as ad
from nn.optim.optimizer import (Optimizer, bump_step, check_betas, check_range, lerp,
                                new_scalar, scalars)


class Adamax(Optimizer):
    """g += wd*p; m = lerp(m, g, 1-b1); u = max(b2*u, |g| + eps); p -= lr/(1-b1^t) * m/u."""

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 foreach=None, *, maximize=False, differentiable=False, capturable=False):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      foreach=foreach, maximize=maximize,
                                      differentiable=differentiable, capturable=capturable))

    def _validate(self, group):
        check_range("lr", group["lr"], opt="Adamax")
        check_range("eps", group["eps"], opt="Adamax")
        check_betas(group, "Adamax")
        check_range("weight_decay", group["weight_decay"], opt="Adamax")

    def _update_group(self, group, params, grads):
        lr, eps, wd = group["lr"], group["eps"], group["weight_decay"]
        b1, b2 = group["betas"]
        for p, g in zip(params, grads):
            b2_, eps_, wd_ = scalars(g.dtype, b2, eps, wd)
            state = self.state[p]
            if not state:
                state["step"] = new_scalar()
                state["exp_avg"] = ad.zeros_like(p)
                state["exp_inf"] = ad.zeros_like(p)
            t = bump_step(state)
            if wd != 0:
                g = g + wd_ * p.data
            m = state["exp_avg"]
            m.copy_(lerp(m.data, g, 1 - b1))
            u = state["exp_inf"]
            u.copy_(np.maximum(u.data * b2_, np.abs(g) + eps_))
            clr = np.asarray(lr / (1 - b1 ** t), g.dtype)
            p.sub_(clr * (m.data / u.data))
