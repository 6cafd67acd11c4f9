"""SGD with momentum, dampening, Nesterov, weight decay and maximize (PyTorch's algorithm)."""
import numpy as np

import autodiff as ad
from nn.optim.optimizer import Optimizer, check_range


class SGD(Optimizer):
    """g += wd*p; b = mu*b + (1-tau)*g (b = g at step 1); g = g + mu*b if nesterov else b;
    p -= lr*g."""

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, maximize=False):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize))

    def _validate(self, group):
        check_range("lr", group["lr"], opt="SGD")
        check_range("momentum", group["momentum"], opt="SGD")
        check_range("weight_decay", group["weight_decay"], opt="SGD")
        check_range("dampening", group["dampening"], opt="SGD")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(f"SGD: nesterov=True requires momentum > 0 and dampening = 0, got "
                             f"momentum={group['momentum']}, dampening={group['dampening']}; "
                             f"set e.g. momentum=0.9 or nesterov=False")

    def _update(self, p, g, state, group):
        wd, mu = group["weight_decay"], group["momentum"]
        if wd != 0:
            g = g + wd * p.data
        if mu != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                state["momentum_buffer"] = buf = ad.from_numpy(np.array(g, copy=True))
            else:
                b = buf.data
                b *= mu
                b += (1 - group["dampening"]) * g
            g = g + mu * buf.data if group["nesterov"] else buf.data
        p.data -= group["lr"] * g
