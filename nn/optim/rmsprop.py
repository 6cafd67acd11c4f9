"""RMSprop, plain or centered, with momentum and weight decay (PyTorch's algorithm)."""
import numpy as np

import autodiff as ad
from nn.optim.optimizer import Optimizer, check_range


class RMSprop(Optimizer):
    """v = alpha*v + (1-alpha)*g^2; d = sqrt(v - gbar^2 if centered else v) + eps;
    b = mu*b + g/d, p -= lr*b (momentum) or p -= lr*g/d."""

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, maximize=False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, maximize=maximize))

    def _validate(self, group):
        for name in ("lr", "eps", "weight_decay", "momentum"):
            check_range(name, group[name], opt="RMSprop")
        check_range("alpha", group["alpha"], high=1.0, high_open=False, opt="RMSprop")

    def _update(self, p, g, state, group):
        if not state:
            state["step"] = 0
            state["square_avg"] = ad.zeros_like(p)
            if group["momentum"] > 0:
                state["momentum_buffer"] = ad.zeros_like(p)
            if group["centered"]:
                state["grad_avg"] = ad.zeros_like(p)
        state["step"] += 1
        alpha, wd, mu = group["alpha"], group["weight_decay"], group["momentum"]
        if wd != 0:
            g = g + wd * p.data
        v = state["square_avg"].data
        v *= alpha
        v += (1 - alpha) * (g * g)
        if group["centered"]:
            gbar = state["grad_avg"].data
            gbar *= alpha
            gbar += (1 - alpha) * g
            d = np.sqrt(v - gbar * gbar)
        else:
            d = np.sqrt(v)
        d += group["eps"]
        if mu > 0:
            b = state["momentum_buffer"].data
            b *= mu
            b += g / d
            p.data -= group["lr"] * b
        else:
            p.data -= group["lr"] * (g / d)
