"""Stochastic weight averaging and EMA of a model (torch.optim.swa_utils).

AveragedModel keeps a copy of a model whose parameters are a running average (SWA: equal
weights; EMA: get_ema_multi_avg_fn) of the model's over calls to update_parameters(model);
SWALR anneals each group's lr to a constant swa_lr; update_bn recomputes the BatchNorm running
statistics of the averaged weights with one pass over the data.
"""
import copy
import itertools
import math
import numbers

import autodiff as ad
from nn.module import Module
from nn.optim.lr_scheduler import LRScheduler, _format_param

__all__ = ["AveragedModel", "update_bn", "SWALR", "get_ema_multi_avg_fn",
           "get_swa_multi_avg_fn", "get_ema_avg_fn", "get_swa_avg_fn", "PARAM_LIST"]

PARAM_LIST = tuple[ad.Tensor, ...] | list[ad.Tensor]  # what a multi_avg_fn receives


def _check_decay(decay):
    if not 0.0 <= decay <= 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in "
                         f"[0,1] range (the weight kept by the average each update)")


def _lerp_(avg, cur, weight):
    """avg += weight * (cur - avg) in place (float tensors), as torch's lerp_."""
    if avg.dtype.kind == "f":
        avg.lerp_(cur, weight)
    else:
        avg.copy_(avg * (1 - weight) + cur * weight)


def get_ema_multi_avg_fn(decay=0.999):
    """ema = decay * ema + (1 - decay) * p, in place on lists of tensors."""
    _check_decay(decay)

    def ema_update(ema_param_list, current_param_list, _):
        with ad.no_grad():
            for e, p in zip(ema_param_list, current_param_list):
                if e.dtype.kind == "f":
                    e.lerp_(p, 1 - decay)
                else:
                    e.copy_(e * decay + p * (1 - decay))
    return ema_update


def get_swa_multi_avg_fn():
    """avg += (p - avg) / (n + 1), in place on lists of tensors (n = models averaged)."""
    def swa_update(averaged_param_list, current_param_list, num_averaged):
        with ad.no_grad():
            n = float(num_averaged)
            for a, p in zip(averaged_param_list, current_param_list):
                _lerp_(a, p, 1 / (n + 1))
    return swa_update


def get_ema_avg_fn(decay=0.999):
    """(ema, p, n) -> decay * ema + (1 - decay) * p."""
    _check_decay(decay)

    def ema_update(ema_param, current_param, num_averaged):
        with ad.no_grad():
            return decay * ema_param + (1 - decay) * current_param
    return ema_update


def get_swa_avg_fn():
    """(avg, p, n) -> avg + (p - avg) / (n + 1)."""
    def swa_update(averaged_param, current_param, num_averaged):
        with ad.no_grad():
            return averaged_param + (current_param - averaged_param) / (num_averaged + 1)
    return swa_update


class AveragedModel(Module):
    """A deep copy of `model` (as .module) whose parameters (and buffers, if use_buffers)
    are averaged by update_parameters(model); forward calls the copy."""

    def __init__(self, model, device=None, avg_fn=None, multi_avg_fn=None, use_buffers=False):
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise ValueError("AveragedModel: Only one of avg_fn and multi_avg_fn should be "
                             "provided (avg_fn works per tensor, multi_avg_fn on lists)")
        if device not in (None, "cpu"):
            raise ValueError(f"AveragedModel: device={device!r}: only the CPU exists here")
        self.module = copy.deepcopy(model)
        self.register_buffer("n_averaged", ad.tensor(0, dtype=ad.int64))
        self.avg_fn, self.multi_avg_fn, self.use_buffers = avg_fn, multi_avg_fn, use_buffers

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def update_parameters(self, model):
        """Fold the current weights of `model` into the average (the first call copies)."""
        if self.use_buffers:
            mine = list(itertools.chain(self.module.parameters(), self.module.buffers()))
            theirs = list(itertools.chain(model.parameters(), model.buffers()))
        else:
            mine, theirs = list(self.parameters()), list(model.parameters())
        if len(mine) != len(theirs):
            raise ValueError(f"AveragedModel.update_parameters: the model has {len(theirs)} "
                             f"tensors to average but the averaged copy has {len(mine)}; pass "
                             f"the model this AveragedModel was built from")
        with ad.no_grad():
            mine = [a.detach() for a in mine]
            theirs = [p.detach() for p in theirs]
            n = int(self.n_averaged.item())
            if n == 0:
                for a, p in zip(mine, theirs):
                    a.copy_(p)
            else:
                if self.multi_avg_fn is not None or self.avg_fn is None:
                    multi = self.multi_avg_fn
                    for dtype in dict.fromkeys(a.dtype for a in mine):  # torch groups by dtype
                        pairs = [(a, p) for a, p in zip(mine, theirs) if a.dtype == dtype]
                        if multi is not None:
                            multi([a for a, _ in pairs], [p for _, p in pairs], self.n_averaged)
                        else:  # torch's CPU default: the per-tensor SWA rule
                            avg = get_swa_avg_fn()
                            for a, p in pairs:
                                a.copy_(avg(a, p, self.n_averaged))
                else:
                    for a, p in zip(mine, theirs):
                        a.copy_(self.avg_fn(a, p, self.n_averaged))
            if not self.use_buffers:  # buffers follow the model (update_bn can recompute them)
                mine_b, theirs_b = list(self.module.buffers()), list(model.buffers())
                if len(mine_b) != len(theirs_b):
                    raise ValueError(f"AveragedModel.update_parameters: the model has "
                                     f"{len(theirs_b)} buffers but the averaged copy has "
                                     f"{len(mine_b)}")
                for b, m in zip(mine_b, theirs_b):
                    b.detach().copy_(m.detach())
            self.n_averaged.add_(1)


def _is_batchnorm(module):
    return any(c.__name__ in ("_BatchNorm", "BatchNorm1d", "BatchNorm2d", "BatchNorm3d")
               for c in type(module).__mro__)


def update_bn(loader, model, device=None):
    """Recompute every BatchNorm's running mean/var with one pass over `loader` (batches, or
    (input, ...) tuples whose first item is the input), as a cumulative average."""
    momenta = {}
    for module in model.modules():
        if _is_batchnorm(module):
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None  # momentum None: the running stats are the plain average
    with ad.no_grad():
        for batch in loader:
            if isinstance(batch, (list, tuple)):
                batch = batch[0]
            model(batch)
    for module, momentum in momenta.items():
        module.momentum = momentum
    model.train(was_training)


class SWALR(LRScheduler):
    """Anneals each group's lr from its value to swa_lr over anneal_epochs ('cos' or
    'linear'), then holds swa_lr."""

    def __init__(self, optimizer, swa_lr, anneal_epochs=10, anneal_strategy="cos",
                 last_epoch=-1):
        swa_lrs = _format_param("swa_lr", optimizer, swa_lr)
        for lr, group in zip(swa_lrs, optimizer.param_groups):
            group["swa_lr"] = lr
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"SWALR: anneal_strategy must be one of 'cos' or 'linear', "
                             f"instead got {anneal_strategy!r}")
        self._anneal_strategy = anneal_strategy
        if isinstance(anneal_epochs, bool) or not isinstance(anneal_epochs, numbers.Integral) \
                or anneal_epochs < 0:
            raise ValueError(f"SWALR: anneal_epochs must be equal or greater than 0, got "
                             f"{anneal_epochs!r}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    def anneal_func(self, t):
        """Fraction of the way to swa_lr at progress t in [0, 1]."""
        if self._anneal_strategy == "cos":
            return (1 - math.cos(math.pi * t)) / 2
        return t

    @staticmethod
    def _get_initial_lr(lr, swa_lr, alpha):
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def get_lr(self):
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        # recover the lr the annealing started from, so a changed lr carries on
        prev_alpha = self.anneal_func(max(0, min(1, (step - 1) / max(1, self.anneal_epochs))))
        prev_lrs = [self._get_initial_lr(g["lr"], g["swa_lr"], prev_alpha)
                    for g in self.optimizer.param_groups]
        alpha = self.anneal_func(max(0, min(1, step / max(1, self.anneal_epochs))))
        return [g["swa_lr"] * alpha + lr * (1 - alpha)
                for g, lr in zip(self.optimizer.param_groups, prev_lrs)]
