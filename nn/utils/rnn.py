"""Variable-length sequences (torch.nn.utils.rnn): PackedSequence and its helpers.

A packed sequence stores the valid steps of a batch of sequences sorted by decreasing length,
time-major: `data` (sum(lengths), *) holds step 0 of every sequence, then step 1 of those
still running, ...; `batch_sizes[t]` counts the sequences running at step t. Everything here
is built from indexing, cat, stack and pad, so gradients flow back to the data.
"""
from collections import namedtuple

import numpy as np

import autodiff as ad

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence", "pad_packed_sequence",
           "pad_sequence", "unpad_sequence", "pack_sequence", "unpack_sequence"]


def _int64(values):
    return ad.from_numpy(np.asarray(values, dtype=np.int64))


def _ints(t):
    """A tensor, array or sequence of ints as a 1-D int64 ndarray (None stays None)."""
    if t is None:
        return None
    return np.asarray(t.data if isinstance(t, ad.Tensor) else t, dtype=np.int64).reshape(-1)


class PackedSequence(namedtuple("PackedSequence_",
                                ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])):
    """(data, batch_sizes, sorted_indices, unsorted_indices): a batch of variable-length
    sequences packed time-major; build it with pack_padded_sequence or pack_sequence"""
    __slots__ = ()

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:
            if not (isinstance(data, (list, tuple)) and len(data) == 2):
                raise TypeError("PackedSequence: give (data, batch_sizes) as two arguments or "
                                "as one pair; build packed sequences with pack_padded_sequence "
                                "or pack_sequence")
            data, batch_sizes = data
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs):
        """The same packing with data.to(*args, **kwargs) (self when nothing changes)."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        return type(self)(data, self.batch_sizes, self.sorted_indices, self.unsorted_indices)

    def float(self):
        return self.to(ad.float32)

    def double(self):
        return self.to(ad.float64)

    def half(self):
        return self.to(ad.float16)

    def long(self):
        return self.to(ad.int64)

    def int(self):
        return self.to(ad.int32)

    def short(self):
        return self.to(ad.int16)

    def char(self):
        return self.to(ad.int8)

    def byte(self):
        return self.to(ad.uint8)

    def cpu(self):
        return self

    def cuda(self, *args, **kwargs):
        raise RuntimeError("PackedSequence.cuda: autodiff runs on the CPU only "
                           "(autodiff.cuda.is_available() is False); keep the packed sequence "
                           "on the CPU (.cpu() returns it as it is)")

    @property
    def is_cuda(self):
        return False

    def is_pinned(self):
        return False


def invert_permutation(permutation):
    """p^-1 with p^-1[p[i]] = i (None stays None)"""
    if permutation is None:
        return None
    p = _ints(permutation)
    out = np.empty_like(p)
    out[p] = np.arange(p.size, dtype=np.int64)
    return _int64(out)


def _batch_sizes(lengths):
    """batch_sizes[t] = #{b : lengths[b] > t} for t < max(lengths) (lengths sorted)."""
    return (lengths[None, :] > np.arange(lengths[0])[:, None]).sum(1).astype(np.int64)


def _packed_rows(batch_sizes, stride_t, stride_b, order=None):
    """Row of the padded input holding each packed element, in packed (time-major) order:
    t * stride_t + order[b] * stride_b for every b < batch_sizes[t]."""
    t, b = np.nonzero(np.arange(batch_sizes[0])[None, :] < batch_sizes[:, None])
    if order is not None:
        b = order[b]
    return t * stride_t + b * stride_b


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Packs a padded batch (T, B, *) (or (B, T, *) with batch_first) of sequences with the
    given lengths; enforce_sorted=False sorts them by decreasing length first"""
    lens = np.asarray(lengths.data if isinstance(lengths, ad.Tensor) else lengths)
    if lens.ndim != 1:
        raise RuntimeError(f"pack_padded_sequence: 'lengths' argument should be a 1D CPU int64 "
                           f"tensor or a list of ints, but got a {lens.ndim}D one of shape "
                           f"{lens.shape}")
    lens = lens.astype(np.int64)
    if input.ndim < 2:
        raise RuntimeError(f"pack_padded_sequence: input must have at least 2 dims (time and "
                           f"batch), got shape {tuple(input.shape)}")
    T, B = (input.shape[1], input.shape[0]) if batch_first else input.shape[:2]
    if lens.size != B:
        raise RuntimeError(f"pack_padded_sequence: Expected `len(lengths)` to be equal to "
                           f"batch_size, but got {lens.size} (batch_size={B})")
    sorted_indices = None
    order = None
    if enforce_sorted:
        if np.any(lens[1:] > lens[:-1]):
            raise RuntimeError(
                f"pack_padded_sequence: `lengths` array must be sorted in decreasing order when "
                f"`enforce_sorted` is True, got {lens.tolist()}. Pass enforce_sorted=False to "
                f"pack_padded_sequence and/or pack_sequence to have them sorted for you")
    else:
        order = np.argsort(-lens, kind="stable")
        lens = lens[order]
        sorted_indices = _int64(order)
    if B == 0 or lens[-1] <= 0:
        raise RuntimeError("pack_padded_sequence: Length of all samples has to be greater than "
                           f"0, but found an element in 'lengths' that is <= 0 (lengths "
                           f"{lens.tolist()}); drop empty sequences before packing")
    if lens[0] > T:
        raise RuntimeError(f"pack_padded_sequence: a length ({int(lens[0])}) is larger than the "
                           f"padded input's sequence length {T} (input shape "
                           f"{tuple(input.shape)}, batch_first={batch_first})")
    batch_sizes = _batch_sizes(lens)
    rows = (_packed_rows(batch_sizes, 1, T, order) if batch_first
            else _packed_rows(batch_sizes, B, 1, order))
    data = input.reshape((T * B,) + tuple(input.shape[2:]))[rows]
    return PackedSequence(data, _int64(batch_sizes), sorted_indices, None)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """(padded (T, B, *) or (B, T, *), lengths int64 (B,)): the inverse of
    pack_padded_sequence, rows back in the original order; T = total_length or the longest"""
    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"pad_packed_sequence: expected a PackedSequence, got "
                        f"{type(sequence).__name__}")
    data, bs = sequence.data, _ints(sequence.batch_sizes)
    T = bs.size
    if total_length is not None:
        if total_length < T:
            raise ValueError(f"Expected total_length to be at least the length of the longest "
                             f"sequence in input, but got total_length={total_length} and max "
                             f"sequence length being {T}")
        T = int(total_length)
    B = int(bs[0])
    lengths = (bs[None, :] > np.arange(B)[:, None]).sum(1).astype(np.int64)
    # index of each padded slot into [data; padding row], in sorted batch order
    index = np.full((T, B), data.shape[0], dtype=np.int64)
    t, b = np.nonzero(np.arange(B)[None, :] < bs[:, None])
    index[t, b] = np.arange(t.size)
    unsorted = _ints(sequence.unsorted_indices)
    if unsorted is not None:
        index, lengths = index[:, unsorted], lengths[unsorted]
    if batch_first:
        index = index.T
    rest = tuple(data.shape[1:])
    pad_row = ad.full((1,) + rest, padding_value, dtype=data.dtype)
    return ad.cat([data, pad_row])[index], _int64(lengths)


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stacks sequences (L_i, *) into (L_max, B, *) (or (B, L_max, *) with batch_first), each
    padded with padding_value on padding_side ('right' or 'left'); the result has the first
    sequence's dtype"""
    if isinstance(sequences, ad.Tensor):
        sequences = [sequences[i] for i in range(sequences.shape[0])]
    try:
        sequences = list(sequences)
    except TypeError:
        raise RuntimeError(f"pad_sequence: Expected iterable for input sequences, but got arg "
                           f"of type: {type(sequences)}") from None
    if not sequences:
        raise RuntimeError("pad_sequence: received an empty list of sequences")
    if padding_side not in ("left", "right"):
        raise RuntimeError(f"pad_sequence: Expected padding_side to be one of left or right, "
                           f"but got {padding_side}.")
    rest = tuple(sequences[0].shape[1:])
    for i, s in enumerate(sequences):
        if s.ndim == 0 or tuple(s.shape[1:]) != rest:
            raise RuntimeError(f"pad_sequence: every sequence must have shape (L_i, *{rest}) "
                               f"like sequence 0 (shape {tuple(sequences[0].shape)}), but "
                               f"sequence {i} has shape {tuple(s.shape)}")
    L = max(s.shape[0] for s in sequences)
    dtype = sequences[0].dtype  # the result's dtype, as PyTorch (no type promotion)
    padded = []
    for s in sequences:
        s = s.to(dtype)
        gap = L - s.shape[0]
        if gap:
            spec = [0, 0] * len(rest) + ([gap, 0] if padding_side == "left" else [0, gap])
            s = ad.pad(s, tuple(spec), value=padding_value)
        padded.append(s)
    return ad.stack(padded, dim=0 if batch_first else 1)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """The list of sequences padded[:lengths[i], i] (padded[i, :lengths[i]] with batch_first);
    the inverse of pad_sequence"""
    lens = _ints(lengths)
    batch = padded_sequences.shape[0 if batch_first else 1]
    if lens.size != batch:
        raise ValueError(f"unpad_sequence: got {lens.size} lengths for a batch of {batch} "
                         f"sequences (padded shape {tuple(padded_sequences.shape)}, "
                         f"batch_first={batch_first}); give one length per sequence")
    if batch_first:
        return [padded_sequences[i, :int(n)] for i, n in enumerate(lens)]
    return [padded_sequences[:int(n), i] for i, n in enumerate(lens)]


def pack_sequence(sequences, enforce_sorted=True):
    """pack_padded_sequence(pad_sequence(sequences), their lengths): a list of (L_i, *)
    tensors as one PackedSequence"""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences):
    """The list of sequences a PackedSequence holds, in their original order"""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
