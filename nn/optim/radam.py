"""RAdam (PyTorch's algorithm): Adam with the variance of the adaptive rate rectified."""
import math

import numpy as np

import autodiff as ad
from nn.optim.optimizer import (Optimizer, bump_step, check_betas, check_range, lerp,
                                new_scalar, scalars)


class RAdam(Optimizer):
    """m = lerp(m, g, 1-b1); v = b2*v + (1-b2)*g^2; rho_t = rho_inf - 2t*b2^t/(1-b2^t);
    p -= lr*m/(1-b1^t) * (r_t*sqrt(1-b2^t)/(sqrt(v)+eps) if rho_t > 5 else 1)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False,
                 capturable=False, differentiable=False):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      maximize=maximize, foreach=foreach, capturable=capturable,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      differentiable=differentiable))

    def _validate(self, group):
        check_range("lr", group["lr"], opt="RAdam")
        check_range("eps", group["eps"], opt="RAdam")
        check_betas(group, "RAdam")
        check_range("weight_decay", group["weight_decay"], opt="RAdam")

    def _update_group(self, group, params, grads):
        lr, eps, wd = group["lr"], group["eps"], group["weight_decay"]
        b1, b2 = group["betas"]
        decoupled = group["decoupled_weight_decay"]
        rho_inf = 2 / (1 - b2) - 1  # the longest the approximated moving average can be
        for p, g in zip(params, grads):
            dtype = g.dtype
            b2_, rest2, eps_, wd_ = scalars(dtype, b2, 1 - b2, eps, wd)
            state = self.state[p]
            if not state:
                state["step"] = new_scalar()
                state["exp_avg"] = ad.zeros_like(p)
                state["exp_avg_sq"] = ad.zeros_like(p)
            t = bump_step(state)
            if wd != 0:
                if decoupled:
                    p.mul_(np.asarray(1 - lr * wd, dtype))
                else:
                    g = g + wd_ * p.data
            m = state["exp_avg"]
            m.copy_(lerp(m.data, g, 1 - b1))
            v = state["exp_avg_sq"].mul_(b2_).add_(rest2 * (g * g))
            bias1, bias2 = 1 - b1 ** t, 1 - b2 ** t
            corrected = m.data / np.asarray(bias1, dtype)
            rho_t = rho_inf - 2 * t * (b2 ** t) / bias2
            if rho_t > 5.0:  # the variance is tractable: rectified adaptive step
                rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                                 / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
                root = np.sqrt(v.data)
                root += eps_
                adaptive = np.asarray(bias2 ** 0.5, dtype) / root
                p.sub_(corrected * np.asarray(lr, dtype) * adaptive * np.asarray(rect, dtype))
            else:  # early steps: SGD with momentum
                p.sub_(corrected * np.asarray(lr, dtype))
