"""Adagrad with learning-rate decay and weight decay (PyTorch's algorithm)."""
import numpy as np

import autodiff as ad
from nn.optim.optimizer import Optimizer, check_range


class Adagrad(Optimizer):
    """g += wd*p; lr_t = lr / (1 + (t-1)*lr_decay); s += g^2; p -= lr_t * g / (sqrt(s) + eps)."""

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, maximize=False):
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      eps=eps, maximize=maximize))
        for group in self.param_groups:  # PyTorch creates the state eagerly
            for p in group["params"]:
                self.state[p] = self._fresh(p, group)

    @staticmethod
    def _fresh(p, group):
        return {"step": 0, "sum": ad.from_numpy(
            np.full(p.shape, group["initial_accumulator_value"], dtype=p.dtype))}

    def _validate(self, group):
        for name in ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"):
            check_range(name, group[name], opt="Adagrad")

    def _update(self, p, g, state, group):
        if not state:
            state.update(self._fresh(p, group))
        state["step"] += 1
        wd = group["weight_decay"]
        if wd != 0:
            g = g + wd * p.data
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        s = state["sum"].data
        s += g * g
        p.data -= clr * (g / (np.sqrt(s) + group["eps"]))
