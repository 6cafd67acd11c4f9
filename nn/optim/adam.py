"""Adam and AdamW (decoupled weight decay), with optional AMSGrad (PyTorch's algorithms)."""
import math

import numpy as np

import autodiff as ad
from nn.optim.optimizer import Optimizer, check_betas, check_range, new_scalar, scalars


class Adam(Optimizer):
    """g += wd*p (or p *= 1-lr*wd if decoupled); m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2;
    p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)  (v -> running max of v if amsgrad)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, decoupled_weight_decay=False):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize, foreach=foreach,
                                      capturable=capturable, differentiable=differentiable,
                                      fused=fused, decoupled_weight_decay=decoupled_weight_decay))

    def _validate(self, group):
        name = type(self).__name__
        for key in ("lr", "eps", "weight_decay"):
            check_range(key, group[key], opt=name)
        check_betas(group, name)

    def _update_group(self, group, params, grads):
        lr, wd, eps, amsgrad = group["lr"], group["weight_decay"], group["eps"], group["amsgrad"]
        b1, b2 = group["betas"]
        decoupled = group.get("decoupled_weight_decay", False)
        dtype = t_of_scalars = None
        for p, g in zip(params, grads):
            state = self.state[p]
            if not state:
                state["step"] = new_scalar()
                state["exp_avg"] = ad.zeros_like(p)
                state["exp_avg_sq"] = ad.zeros_like(p)
                if amsgrad:
                    state["max_exp_avg_sq"] = ad.zeros_like(p)
            step = state["step"].data  # a 0-d array; item/setitem: 20x faster than +=
            t = step.item() + 1
            step[()] = t
            if t != t_of_scalars or g.dtype is not dtype:
                dtype, t_of_scalars = g.dtype, t
                b1_, b2_, rest1, rest2, eps_, wd_, decay = scalars(
                    dtype, b1, b2, 1 - b1, 1 - b2, eps, wd, 1 - lr * wd)
                bias2 = np.asarray(math.sqrt(1 - b2 ** t), dtype)  # these change every step
                step_size = np.asarray(lr / (1 - b1 ** t), dtype)
            if wd != 0:
                if decoupled:
                    p.mul_(decay)
                else:
                    g = g + wd_ * p.data
            m, v = state["exp_avg"], state["exp_avg_sq"]
            md, vd, pd = m.data, v.data, p.data
            if amsgrad or not (pd.flags.writeable and md.flags.writeable):
                m.mul_(b1_).add_(rest1 * g)
                v.mul_(b2_).add_(rest2 * (g * g))
                if amsgrad:
                    vmax = state["max_exp_avg_sq"]
                    v = vmax.copy_(np.maximum(vmax.data, v.data))
                denom = np.sqrt(v.data) / bias2
                denom += eps_
                p.sub_(step_size * (m.data / denom))
                continue
            # the same arithmetic as mul_/add_/sub_ make, without a method call each, and
            # with one scratch array for the temporaries (bit-identical: the same operations)
            np.multiply(md, b1_, out=md)
            tmp = np.multiply(g, rest1)
            np.add(md, tmp, out=md)
            np.multiply(vd, b2_, out=vd)
            np.multiply(g, g, out=tmp)
            tmp *= rest2
            np.add(vd, tmp, out=vd)
            denom = np.sqrt(vd, out=tmp)
            denom /= bias2
            denom += eps_
            step = np.divide(md, denom, out=tmp)
            step *= step_size
            np.subtract(pd, step, out=pd)
            ad.increment_version(m, v, p)


class AdamW(Adam):
    """Adam with decoupled weight decay: p *= 1 - lr*wd before the Adam step."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, foreach=None, capturable=False,
                 differentiable=False, fused=None):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)
