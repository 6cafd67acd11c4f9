"""RMSprop, plain or centered, with momentum and weight decay (PyTorch's algorithm)."""
import numpy as np

import autodiff as ad
from nn.optim.optimizer import Optimizer, bump_step, check_range, new_scalar, scalars


class RMSprop(Optimizer):
    """v = alpha*v + (1-alpha)*g^2; d = sqrt(v - gbar^2 if centered else v) + eps;
    b = mu*b + g/d, p -= lr*b (momentum) or p -= lr*g/d."""

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, capturable=False, foreach=None, maximize=False,
                 differentiable=False):
        super().__init__(params, dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps,
                                      centered=centered, weight_decay=weight_decay,
                                      capturable=capturable, foreach=foreach, maximize=maximize,
                                      differentiable=differentiable))

    def _validate(self, group):
        for name in ("lr", "eps", "momentum", "weight_decay", "alpha"):  # alpha: >= 0, as torch
            check_range(name, group[name], opt="RMSprop")

    def _update_group(self, group, params, grads):
        lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
        wd, mu, centered = group["weight_decay"], group["momentum"], group["centered"]
        dtype = None
        for p, g in zip(params, grads):
            if g.dtype is not dtype:
                dtype = g.dtype
                lr_, alpha_, rest, eps_, wd_, mu_ = scalars(dtype, lr, alpha, 1 - alpha, eps, wd,
                                                            mu)
            state = self.state[p]
            if not state:
                state["step"] = new_scalar()
                state["square_avg"] = ad.zeros_like(p)
                if mu > 0:
                    state["momentum_buffer"] = ad.zeros_like(p)
                if centered:
                    state["grad_avg"] = ad.zeros_like(p)
            bump_step(state)
            if wd != 0:
                g = g + wd_ * p.data
            v = state["square_avg"].mul_(alpha_).add_(rest * (g * g))
            if centered:
                gbar = state["grad_avg"].mul_(alpha_).add_(rest * g).data
                avg = np.sqrt(v.data - gbar * gbar)
            else:
                avg = np.sqrt(v.data)
            avg += eps_
            if mu > 0:
                buf = state["momentum_buffer"].mul_(mu_).add_(g / avg)
                p.sub_(lr_ * buf.data)
            else:
                p.sub_(lr_ * (g / avg))
