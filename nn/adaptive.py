"""AdaptiveLogSoftmaxWithLoss: the efficient softmax of Grave et al. for large vocabularies (a
head over frequent classes and cluster tokens, a low-rank tail per cluster), as torch.nn."""
from collections import namedtuple

import numpy as np

import autodiff as ad
from nn import functional as F
from nn.containers import ModuleList, Sequential
from nn.layers import Linear
from nn.module import Module

__all__ = ["AdaptiveLogSoftmaxWithLoss"]

_ASMoutput = namedtuple("_ASMoutput", ["output", "loss"])


class AdaptiveLogSoftmaxWithLoss(Module):
    """log p(y|x) = head log-softmax for y < cutoffs[0]; else the cluster token's head log-prob
    plus the log-softmax of that cluster's tail, Linear(in, in / div^(i+1)) -> Linear(.., size)"""

    def __init__(self, in_features, n_classes, cutoffs, div_value=4.0, head_bias=False,
                 device=None, dtype=None):
        super().__init__()
        cutoffs = list(cutoffs)
        if len(cutoffs) == 0:
            raise ValueError("AdaptiveLogSoftmaxWithLoss: cutoffs should be a sequence of length "
                             "larger than 0, e.g. [n_classes // 4]")
        if (cutoffs != sorted(cutoffs) or min(cutoffs) <= 0 or max(cutoffs) > n_classes - 1
                or len(set(cutoffs)) != len(cutoffs) or any(int(c) != c for c in cutoffs)):
            raise ValueError(f"AdaptiveLogSoftmaxWithLoss: cutoffs should be a sequence of unique, "
                             f"positive integers sorted in an increasing order, where each value "
                             f"is between 1 and n_classes-1 = {n_classes - 1}; got {cutoffs}")
        self.in_features, self.n_classes = in_features, n_classes
        self.cutoffs = cutoffs + [n_classes]
        self.div_value, self.head_bias = div_value, head_bias
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        kw = {} if dtype is None else {"dtype": dtype}
        self.head = Linear(in_features, self.head_size, bias=head_bias, **kw)
        self.tail = ModuleList()
        for i in range(self.n_clusters):
            hidden = int(in_features // (div_value ** (i + 1)))
            size = self.cutoffs[i + 1] - self.cutoffs[i]
            self.tail.append(Sequential(Linear(in_features, hidden, bias=False, **kw),
                                        Linear(hidden, size, bias=False, **kw)))

    def reset_parameters(self):
        self.head.reset_parameters()
        for projection in self.tail:
            for layer in projection:
                layer.reset_parameters()

    def _inputs(self, input, target):
        if target.ndim == 1:
            if input.ndim != 2:
                raise RuntimeError(f"AdaptiveLogSoftmaxWithLoss: a 1D target expects a 2D input "
                                   f"(batch, in_features), got input of shape "
                                   f"{tuple(input.shape)}")
            if input.shape[0] != target.shape[0]:
                raise RuntimeError(f"AdaptiveLogSoftmaxWithLoss: input and target should have "
                                   f"the same size in the batch dimension, got "
                                   f"{input.shape[0]} and {target.shape[0]}")
        elif target.ndim == 0:
            if input.ndim != 1:
                raise RuntimeError(f"AdaptiveLogSoftmaxWithLoss: a 0D target expects a 1D input "
                                   f"(in_features,), got input of shape {tuple(input.shape)}")
            input, target = input.unsqueeze(0), target.unsqueeze(0)
        else:
            raise RuntimeError(f"AdaptiveLogSoftmaxWithLoss: 0D or 1D target tensor expected, "
                               f"multi-target not supported (got shape {tuple(target.shape)})")
        return input, target

    def forward(self, input, target):
        batched = target.ndim > 0
        input, target = self._inputs(input, target)
        t = np.asarray(target.data)
        if t.size and (t.min() < 0 or t.max() > self.n_classes - 1):
            raise RuntimeError(f"AdaptiveLogSoftmaxWithLoss: target values should be in "
                               f"[0, {self.n_classes - 1}], but values in range "
                               f"[{t.min()}, {t.max()}] were found")
        head_index = t.copy()
        output = None  # the tail log-probabilities of the rows whose class is in a cluster
        for i in range(self.n_clusters):
            low, high = self.cutoffs[i], self.cutoffs[i + 1]
            rows = np.flatnonzero((t >= low) & (t < high))
            if rows.size == 0:
                continue
            head_index[rows] = self.shortlist_size + i
            rows_t = ad.tensor(rows)
            logp = F.log_softmax(self.tail[i](input.index_select(0, rows_t)), dim=1)
            local = logp.gather(1, ad.tensor(t[rows] - low)[:, None])[:, 0]
            part = ad.zeros(t.shape[0], dtype=input.dtype).index_add(0, rows_t, local)
            output = part if output is None else output + part
        head_logp = F.log_softmax(self.head(input), dim=1)
        picked = head_logp.gather(1, ad.tensor(head_index)[:, None])[:, 0]
        output = picked if output is None else picked + output
        loss = (-output).mean()
        return _ASMoutput(output if batched else output.squeeze(0), loss)

    def _full_log_prob(self, input):
        head_logp = F.log_softmax(self.head(input), dim=1)
        parts = [head_logp[:, :self.shortlist_size]]
        for i in range(self.n_clusters):
            cluster = F.log_softmax(self.tail[i](input), dim=1)
            parts.append(cluster + head_logp[:, self.shortlist_size + i].unsqueeze(1))
        return ad.cat(parts, dim=1)

    def log_prob(self, input):
        """(batch, n_classes) log-probabilities of every class (or (n_classes,) unbatched)"""
        if input.ndim not in (1, 2):
            raise RuntimeError(f"AdaptiveLogSoftmaxWithLoss.log_prob: expected a 1D or 2D input, "
                               f"got shape {tuple(input.shape)}")
        out = self._full_log_prob(input if input.ndim == 2 else input.unsqueeze(0))
        return out if input.ndim == 2 else out.squeeze(0)

    def predict(self, input):
        """the most likely class of each row: argmax of log_prob"""
        return ad.argmax(self.log_prob(input), dim=-1)
