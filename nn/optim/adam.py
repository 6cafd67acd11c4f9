"""Adam and AdamW (decoupled weight decay), with optional AMSGrad (PyTorch's algorithms)."""
import math

import numpy as np

import autodiff as ad
from nn.optim.optimizer import Optimizer, check_range


class Adam(Optimizer):
    """g += wd*p; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2;
    p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)  (v -> running max of v if amsgrad)."""

    _decoupled = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, maximize=False):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize))

    def _validate(self, group):
        name = type(self).__name__
        for key in ("lr", "eps", "weight_decay"):
            check_range(key, group[key], opt=name)
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"{name}: betas must be a pair (beta1, beta2), got {betas!r}")
        group["betas"] = tuple(betas)
        check_range("beta parameter at index 0", betas[0], high=1.0, opt=name)
        check_range("beta parameter at index 1", betas[1], high=1.0, opt=name)

    def _update(self, p, g, state, group):
        if not state:
            state["step"] = 0
            state["exp_avg"] = ad.zeros_like(p)
            state["exp_avg_sq"] = ad.zeros_like(p)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = ad.zeros_like(p)
        state["step"] += 1
        t = state["step"]
        lr, wd, (b1, b2) = group["lr"], group["weight_decay"], group["betas"]
        if wd != 0:
            if self._decoupled:
                p.data *= 1 - lr * wd
            else:
                g = g + wd * p.data
        m, v = state["exp_avg"].data, state["exp_avg_sq"].data
        m *= b1
        m += (1 - b1) * g
        v *= b2
        v += (1 - b2) * (g * g)
        if group["amsgrad"]:
            vmax = state["max_exp_avg_sq"].data
            np.maximum(vmax, v, out=vmax)
            v = vmax
        denom = np.sqrt(v) / math.sqrt(1 - b2 ** t)
        denom += group["eps"]
        p.data -= (lr / (1 - b1 ** t)) * (m / denom)


class AdamW(Adam):
    """Adam with decoupled weight decay: p *= 1 - lr*wd before the Adam step."""

    _decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, maximize=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize)
