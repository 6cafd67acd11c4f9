"""Adagrad with learning-rate decay and weight decay (PyTorch's algorithm)."""
import numpy as np

import autodiff as ad
from nn.optim.optimizer import Optimizer, check_range, new_scalar, scalars


class Adagrad(Optimizer):
    """g += wd*p; lr_t = lr / (1 + (t-1)*lr_decay); s += g^2; p -= lr_t * g / (sqrt(s) + eps)."""

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, foreach=None, *, maximize=False, differentiable=False, fused=None):
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, eps=eps,
                                      weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      foreach=foreach, maximize=maximize,
                                      differentiable=differentiable, fused=fused))
        for group in self.param_groups:  # PyTorch creates the state eagerly
            for p in group["params"]:
                self.state[p] = self._fresh(p, group)

    @staticmethod
    def _fresh(p, group):
        return {"step": new_scalar(), "sum": ad.from_numpy(
            np.full(p.shape, group["initial_accumulator_value"], dtype=p.dtype))}

    def _validate(self, group):
        for name in ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"):
            check_range(name, group[name], opt="Adagrad")

    def _update_group(self, group, params, grads):
        lr, lr_decay, wd, eps = group["lr"], group["lr_decay"], group["weight_decay"], group["eps"]
        dtype = t_of_scalars = None
        for p, g in zip(params, grads):
            state = self.state[p]
            if not state:
                state.update(self._fresh(p, group))
            step = state["step"].data  # a 0-d array; item/setitem: 20x faster than +=
            t = step.item() + 1
            step[()] = t
            if t != t_of_scalars or g.dtype is not dtype:
                dtype, t_of_scalars = g.dtype, t
                wd_, eps_ = scalars(dtype, wd, eps)
                clr = np.asarray(lr / (1 + (t - 1) * lr_decay), dtype)  # changes every step
            if wd != 0:
                g = g + wd_ * p.data
            s = state["sum"].add_(g * g)
            std = np.sqrt(s.data)
            std += eps_
            p.sub_(clr * (g / std))
