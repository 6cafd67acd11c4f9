"""ASGD, averaged SGD (PyTorch's algorithm): SGD with a decaying rate and a running average."""
import numpy as np

import autodiff as ad
from nn.optim.optimizer import (Optimizer, bump_step, check_range, new_scalar, scalar_dtype,
                                scalars)


class ASGD(Optimizer):
    """g += wd*p; p = p*(1 - lambd*eta) - eta*g; ax += mu*(p - ax) (ax = p while mu = 1);
    eta = lr/(1 + lambd*lr*t)^alpha; mu = 1/max(1, t - t0)."""

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0,
                 foreach=None, maximize=False, differentiable=False, capturable=False):
        super().__init__(params, dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0,
                                      weight_decay=weight_decay, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable,
                                      capturable=capturable))

    def _validate(self, group):
        check_range("lr", group["lr"], opt="ASGD")
        check_range("weight_decay", group["weight_decay"], opt="ASGD")

    def _update_group(self, group, params, grads):
        lr, lambd, alpha = group["lr"], group["lambd"], group["alpha"]
        t0, wd = group["t0"], group["weight_decay"]
        for p, g in zip(params, grads):
            dtype = g.dtype
            state = self.state[p]
            if not state:
                state["step"] = new_scalar()
                state["eta"] = new_scalar(lr)
                state["mu"] = new_scalar(1.0)
                state["ax"] = ad.zeros_like(p)
            t = bump_step(state)
            if wd != 0:
                g = g + scalars(dtype, wd)[0] * p.data
            # eta and mu are 0-d state tensors (float32 by default), read back rounded
            eta = float(state["eta"].data)
            p.mul_(np.asarray(1 - lambd * eta, dtype))
            p.sub_(np.asarray(eta, dtype) * g)
            ax, mu = state["ax"], state["mu"].data
            if mu != 1:
                ax.add_((p.data - ax.data) * mu.astype(dtype))
            else:
                ax.copy_(p.data)
            # torch rounds the new values to the scalar dtype even when a loaded state dict
            # has made these tensors float64
            state["eta"].data[...] = np.asarray(lr / ((1 + lambd * lr * t) ** alpha),
                                                scalar_dtype())
            state["mu"].data[...] = np.asarray(1 / max(1, t - t0), scalar_dtype())
