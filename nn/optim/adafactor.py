"""Adafactor (PyTorch's variant): factored second moments, relative steps, update clipping."""
import math
import numbers

import numpy as np

import autodiff as ad
from nn.optim.optimizer import Optimizer, _restore, bump_step, lerp, new_scalar


def _factor_shapes(shape):
    """(row_var, col_var) shapes of a >=2-D parameter: its last, resp. second-last, dim -> 1."""
    shape = tuple(shape)
    return shape[:-1] + (1,), shape[:-2] + (1,) + shape[-1:]


def _norm(a):
    """||a||_2 rounded to a's dtype, as a Python float (torch's p.norm(2).item())."""
    return float(np.sqrt(np.sum(a * a)).astype(a.dtype))


class Adafactor(Optimizer):
    """rho = min(lr, t^-1/2); alpha = max(eps2, RMS(p)) rho; p *= 1 - lr wd;
    V = R C / max(mean(R), eps1) (R, C = lerp to row/col means of g^2, weight t^beta2_decay;
    1-D: V = lerp to g^2); U = g / sqrt(max(V, eps1^2)); p -= alpha U / max(1, RMS(U)/d)."""

    def __init__(self, params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0,
                 weight_decay=0.0, *, foreach=None, maximize=False):
        super().__init__(params, dict(lr=lr, beta2_decay=beta2_decay, eps=eps, d=d,
                                      weight_decay=weight_decay, foreach=foreach,
                                      maximize=maximize))

    def _validate(self, group):
        # torch checks these in __init__ only; we check every group (add_param_group too)
        def real(name, value, allow_none=False):
            if value is None and allow_none:
                return
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                hint = " (a tensor-valued lr is not supported; pass a float)" \
                    if name == "lr" else ""
                raise TypeError(f"Adafactor: {name} must be a real number, got {value!r}{hint}")

        eps = group["eps"]
        if not isinstance(eps, (tuple, list)) or len(eps) != 2:
            raise TypeError(f"Adafactor: eps must be a pair (eps1, eps2) with eps1 a float or "
                            f"None (None: the machine epsilon of each parameter's dtype), got "
                            f"{eps!r}")
        for name in ("lr", "beta2_decay", "d", "weight_decay"):
            real(name, group[name])
        real("eps[0]", eps[0], allow_none=True)
        real("eps[1]", eps[1])
        # `not a <= b` rather than `a > b`, so that NaN is rejected too
        checks = [
            (0.0 <= group["lr"], f"Learning rate should be >= 0 but is: {group['lr']}"),
            (0.0 >= group["beta2_decay"],
             f"beta2_decay should be <= 0 but is: {group['beta2_decay']}"),
            (eps[0] is None or 0.0 <= eps[0], f"epsilon1 should be >= 0 but is: {eps[0]}"),
            (0.0 <= eps[1], f"epsilon2 should be >= 0 but is: {eps[1]}"),
            (1.0 <= group["d"], f"Clipping threshold d should be >= 1 but is: {group['d']}"),
            (0.0 <= group["weight_decay"],
             f"weight_decay should be >= 0 but is: {group['weight_decay']}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"Adafactor: {message}")

    def _update_group(self, group, params, grads):
        lr, wd, d, decay = group["lr"], group["weight_decay"], group["d"], group["beta2_decay"]
        eps1, eps2 = group["eps"]
        for p, g in zip(params, grads):
            dtype = g.dtype
            state = self.state[p]
            if not state:
                state["step"] = new_scalar()
                if g.ndim > 1:
                    row_shape, col_shape = _factor_shapes(g.shape)
                    state["row_var"] = ad.zeros(*row_shape, dtype=dtype)
                    state["col_var"] = ad.zeros(*col_shape, dtype=dtype)
                else:
                    state["variance"] = ad.zeros_like(p)
            if eps1 is None:
                # as torch: the first parameter's dtype fixes eps1 for the rest of the group
                eps1 = float(np.finfo(dtype).eps)
            t = bump_step(state)
            weight = t ** decay  # 1 - beta2_t
            rho = min(lr, 1 / t ** 0.5)
            alpha = max(eps2, _norm(p.data) / math.sqrt(p.data.size)) * rho  # RMS before decay
            if wd != 0:
                p.mul_(np.asarray(1 - lr * wd, dtype))
            if g.ndim > 1:
                row, col = state["row_var"], state["col_var"]
                # mean of g^2 along a dim, as torch forms it: (||g||_dim)^2 / n
                for var, axis in ((row, -1), (col, -2)):
                    norm = np.sqrt(np.sum(g * g, axis=axis, keepdims=True))
                    var.copy_(lerp(var.data, norm * norm / np.asarray(g.shape[axis], dtype),
                                   weight))
                est = row.data * col.data  # the outer product R C (torch: row_var @ col_var)
                est /= np.maximum(row.data.mean(axis=-2, keepdims=True),
                                  np.asarray(eps1, dtype))
            else:
                v = state["variance"]
                v.copy_(lerp(v.data, g * g, weight))
                est = v.data.copy()
            # eps1 is squared because the square root follows
            update = np.asarray(1, dtype) / np.sqrt(np.maximum(est, np.asarray(eps1 * eps1,
                                                                                dtype)))
            update *= g
            clip = max(1.0, _norm(update) / (math.sqrt(update.size) * d))
            p.add_(np.asarray(-alpha / clip, dtype) * update)

    def _restore_entry(self, value, p, key):
        if key in ("row_var", "col_var") and isinstance(value, (ad.Tensor, np.ndarray)):
            arr = value.data if isinstance(value, ad.Tensor) else value
            want = _factor_shapes(p.shape)[key == "col_var"] if p.ndim > 1 else None
            if arr.shape != want:
                raise ValueError(f"Adafactor.load_state_dict: state {key!r} has shape "
                                 f"{arr.shape} but a parameter of shape {tuple(p.shape)} needs "
                                 f"{want if want else 'none (1-D parameters keep variance)'}; "
                                 f"the state dict belongs to a different model")
            return ad.tensor(np.array(arr, dtype=p.dtype if arr.dtype.kind == "f" else None))
        return _restore(value, p, key, type(self).__name__)
