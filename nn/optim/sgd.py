"""SGD with momentum, dampening, Nesterov, weight decay and maximize (PyTorch's algorithm)."""
import autodiff as ad
from nn.optim.optimizer import Optimizer, check_range, scalars


class SGD(Optimizer):
    """g += wd*p; b = mu*b + (1-tau)*g (b = g at step 1); g = g + mu*b if nesterov else b;
    p -= lr*g."""

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, *, maximize=False, foreach=None, differentiable=False,
                 fused=None):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize, foreach=foreach,
                                      differentiable=differentiable, fused=fused))

    def _validate(self, group):
        check_range("lr", group["lr"], opt="SGD")
        check_range("momentum", group["momentum"], opt="SGD")
        check_range("weight_decay", group["weight_decay"], opt="SGD")
        check_range("dampening", group["dampening"], opt="SGD")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(f"SGD: Nesterov momentum requires a momentum and zero dampening "
                             f"(nesterov=True needs momentum > 0 and dampening = 0), got "
                             f"momentum={group['momentum']}, dampening={group['dampening']}; "
                             f"set e.g. momentum=0.9 or nesterov=False")

    def _update_group(self, group, params, grads):
        lr, wd, mu = group["lr"], group["weight_decay"], group["momentum"]
        dampening, nesterov = group["dampening"], group["nesterov"]
        dtype = None
        for p, g in zip(params, grads):
            if g.dtype is not dtype:
                dtype = g.dtype
                lr_, wd_, mu_, undamped = scalars(dtype, lr, wd, mu, 1 - dampening)
            if wd != 0:
                g = g + wd_ * p.data
            if mu != 0:
                state = self.state[p]
                buf = state.get("momentum_buffer")
                if buf is None:
                    state["momentum_buffer"] = buf = ad.tensor(g)  # a copy
                else:
                    buf.mul_(mu_).add_(undamped * g if dampening else g)
                g = g + mu_ * buf.data if nesterov else buf.data
            p.sub_(lr_ * g)
