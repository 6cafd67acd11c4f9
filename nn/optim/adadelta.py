"""Adadelta (PyTorch's algorithm): a step from the ratio of running RMS of updates and grads."""
import numpy as np

import autodiff as ad
from nn.optim.optimizer import Optimizer, bump_step, check_range, new_scalar, scalars


class Adadelta(Optimizer):
    """g += wd*p; v = rho*v + (1-rho)*g^2; d = sqrt(u+eps)/sqrt(v+eps)*g;
    u = rho*u + (1-rho)*d^2; p -= lr*d."""

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *,
                 capturable=False, maximize=False, differentiable=False):
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay,
                                      maximize=maximize, capturable=capturable, foreach=foreach,
                                      differentiable=differentiable))

    def _validate(self, group):
        check_range("lr", group["lr"], opt="Adadelta")
        check_range("rho", group["rho"], high=1.0, high_open=False, opt="Adadelta")
        check_range("eps", group["eps"], opt="Adadelta")
        check_range("weight_decay", group["weight_decay"], opt="Adadelta")

    def _update_group(self, group, params, grads):
        lr, rho, eps, wd = group["lr"], group["rho"], group["eps"], group["weight_decay"]
        dtype = None
        for p, g in zip(params, grads):
            if g.dtype is not dtype:
                dtype = g.dtype
                lr_, rho_, rest, eps_, wd_ = scalars(dtype, lr, rho, 1 - rho, eps, wd)
            state = self.state[p]
            if not state:
                state["step"] = new_scalar()
                state["square_avg"] = ad.zeros_like(p)
                state["acc_delta"] = ad.zeros_like(p)
            bump_step(state)
            if wd != 0:
                g = g + wd_ * p.data
            v = state["square_avg"].mul_(rho_).add_(rest * (g * g)).data
            u = state["acc_delta"]
            delta = np.sqrt(u.data + eps_) / np.sqrt(v + eps_) * g
            u.mul_(rho_).add_(rest * (delta * delta))
            p.sub_(lr_ * delta)
