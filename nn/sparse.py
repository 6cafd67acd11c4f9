"""Lookup layers: Embedding and EmbeddingBag."""
import autodiff as ad
from nn import functional as F
from nn import init
from nn.functional.sparse import _check_sparse
from nn.module import Module
from nn.parameter import Parameter

__all__ = ['Embedding', 'EmbeddingBag']


def _module_padding_idx(padding_idx, n, what):
    if padding_idx is None:
        return None
    if not -n <= padding_idx < n:
        raise AssertionError(f"{what} must be within num_embeddings: {padding_idx} is not in "
                             f"[{-n}, {n - 1}]")
    return padding_idx % n


def _initial_weight(module, _weight, freeze, dtype):
    shape = (module.num_embeddings, module.embedding_dim)
    if _weight is None:
        module.weight = Parameter(ad.empty(*shape, dtype=dtype), requires_grad=not freeze)
        module.reset_parameters()
        return
    if tuple(_weight.shape) != shape:
        raise AssertionError(f"Shape of weight does not match num_embeddings and "
                             f"embedding_dim: got {tuple(_weight.shape)}, expected {shape}")
    module.weight = Parameter(_weight.detach(), requires_grad=not freeze)


def _pretrained(embeddings):
    embeddings = ad.as_tensor(embeddings)
    if embeddings.ndim != 2:
        raise AssertionError(f"Embeddings parameter is expected to be 2-dimensional "
                             f"(num_embeddings, embedding_dim), got shape "
                             f"{tuple(embeddings.shape)}")
    return embeddings


class Embedding(Module):
    """out = weight[ids]: a lookup table of num_embeddings rows of size embedding_dim, ~ N(0, 1)
    (the padding_idx row starts at zero and gets no gradient; max_norm renormalizes the rows
    looked up, in place)"""

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None,
                 norm_type=2.0, scale_grad_by_freq=False, sparse=False, _weight=None,
                 _freeze=False, device=None, dtype=None):
        super().__init__()
        _check_sparse(sparse, "Embedding")
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = _module_padding_idx(padding_idx, num_embeddings, "Padding_idx")
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        _initial_weight(self, _weight, _freeze, dtype)

    def reset_parameters(self):
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with ad.no_grad():
                self.weight[self.padding_idx] = 0.0

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None, max_norm=None,
                        norm_type=2.0, scale_grad_by_freq=False, sparse=False):
        """An Embedding whose weight is the 2-D tensor embeddings (values kept as given, the
        padding_idx row included); freeze=True (default, as PyTorch) makes it untrainable"""
        embeddings = _pretrained(embeddings)
        rows, cols = embeddings.shape
        return cls(rows, cols, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse,
                   _weight=embeddings, _freeze=freeze)

    def forward(self, input):
        return F.embedding(input, self.weight, self.padding_idx, self.max_norm,
                           self.norm_type, self.scale_grad_by_freq, self.sparse)

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        if self.sparse:
            s += ", sparse=True"
        return s


class EmbeddingBag(Module):
    """out[b] = sum, mean or max of the embeddings of bag b's ids (bags given by offsets into a
    1-D input, or the rows of a 2-D input), without building the (bag, id, dim) tensor"""

    def __init__(self, num_embeddings, embedding_dim, max_norm=None, norm_type=2.0,
                 scale_grad_by_freq=False, mode="mean", sparse=False, _weight=None,
                 include_last_offset=False, padding_idx=None, device=None, dtype=None):
        super().__init__()
        _check_sparse(sparse, "EmbeddingBag")
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.mode, self.sparse = scale_grad_by_freq, mode, sparse
        self.include_last_offset = include_last_offset
        self.padding_idx = _module_padding_idx(padding_idx, num_embeddings, "padding_idx")
        _initial_weight(self, _weight, False, dtype)

    def reset_parameters(self):
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with ad.no_grad():
                self.weight[self.padding_idx] = 0.0

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, max_norm=None, norm_type=2.0,
                        scale_grad_by_freq=False, mode="mean", sparse=False,
                        include_last_offset=False, padding_idx=None):
        """An EmbeddingBag whose weight is the 2-D tensor embeddings; freeze=True (default)
        makes it untrainable"""
        embeddings = _pretrained(embeddings)
        rows, cols = embeddings.shape
        module = cls(rows, cols, max_norm, norm_type, scale_grad_by_freq, mode, sparse,
                     _weight=embeddings, include_last_offset=include_last_offset,
                     padding_idx=padding_idx)
        module.weight.requires_grad = not freeze
        return module

    def forward(self, input, offsets=None, per_sample_weights=None):
        return F.embedding_bag(input, self.weight, offsets, self.max_norm, self.norm_type,
                               self.scale_grad_by_freq, self.mode, self.sparse,
                               per_sample_weights, self.include_last_offset, self.padding_idx)

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        s += f", mode={self.mode!r}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        return s
