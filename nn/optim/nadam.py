"""NAdam (PyTorch's algorithm): Adam with Nesterov momentum and a momentum-decay schedule."""
import numpy as np

import autodiff as ad
from nn.optim.optimizer import (Optimizer, bump_step, check_betas, check_range, lerp,
                                new_scalar, scalars)


class NAdam(Optimizer):
    """mu_t = b1*(1 - 0.5*0.96^(t*psi)); m = lerp(m, g, 1-b1); v = b2*v + (1-b2)*g^2;
    d = sqrt(v/(1-b2^t)) + eps; p -= lr*(1-mu_t)/(1-prod mu) * g/d
    + lr*mu_{t+1}/(1-prod mu * mu_{t+1}) * m/d."""

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, foreach=None,
                 maximize=False, capturable=False, differentiable=False):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      momentum_decay=momentum_decay,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize, foreach=foreach,
                                      capturable=capturable, differentiable=differentiable))

    def _validate(self, group):
        check_range("lr", group["lr"], opt="NAdam")
        check_range("eps", group["eps"], opt="NAdam")
        check_betas(group, "NAdam")
        check_range("weight_decay", group["weight_decay"], opt="NAdam")
        check_range("momentum_decay", group["momentum_decay"], opt="NAdam")

    def _update_group(self, group, params, grads):
        lr, eps, wd = group["lr"], group["eps"], group["weight_decay"]
        b1, b2 = group["betas"]
        psi, decoupled = group["momentum_decay"], group["decoupled_weight_decay"]
        for p, g in zip(params, grads):
            dtype = g.dtype
            b2_, rest2, eps_, wd_ = scalars(dtype, b2, 1 - b2, eps, wd)
            state = self.state[p]
            if not state:
                state["step"] = new_scalar()
                state["mu_product"] = new_scalar(1.0)
                state["exp_avg"] = ad.zeros_like(p)
                state["exp_avg_sq"] = ad.zeros_like(p)
            t = bump_step(state)
            bias2 = 1 - b2 ** t
            if wd != 0:
                if decoupled:
                    p.mul_(np.asarray(1 - lr * wd, dtype))
                else:
                    g = g + wd_ * p.data
            mu = b1 * (1.0 - 0.5 * 0.96 ** (t * psi))
            mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
            # the running product is a 0-d state tensor of the scalar dtype (float32 by
            # default) and is read back rounded to it, as in torch
            prod = state["mu_product"].data
            prod *= mu
            prod = float(prod)
            m = state["exp_avg"]
            m.copy_(lerp(m.data, g, 1 - b1))
            v = state["exp_avg_sq"].mul_(b2_).add_(rest2 * (g * g))
            denom = np.sqrt(v.data / np.asarray(bias2, dtype))
            denom += eps_
            p.add_(np.asarray(-lr * (1.0 - mu) / (1.0 - prod), dtype) * (g / denom))
            p.add_(np.asarray(-lr * mu_next / (1.0 - prod * mu_next), dtype) * (m.data / denom))
