"""nn.utils.rnn against torch.nn.utils.rnn: packing and padding values, batch_sizes and
permutations, gradients through pack / pad (second order too), PackedSequence's methods and
the error paths."""
import numpy as np
import pytest

import autodiff as ad
import nn
from nn.utils.rnn import PackedSequence
from _torch import assert_close, require_torch, run_outputs, same_error

torch = require_torch()


def _R(lib):
    return torch.nn.utils.rnn if lib is torch else nn.utils.rnn


def _rng(*key):
    return np.random.default_rng(abs(hash(repr(key))) % 2**32)


def _packed(p):
    return [p.data, p.batch_sizes] + [x for x in (p.sorted_indices, p.unsorted_indices)
                                      if x is not None]


@pytest.mark.parametrize("lengths, batch_first, enforce_sorted", [
    ([4, 2, 2, 1], False, True),
    ([1, 4, 2, 3], False, False),
    ([3, 3, 1, 3], True, False),
    ([4, 4, 4, 4], True, True),
    ("tensor", False, False),
])
def test_pack_padded_sequence_matches_torch(lengths, batch_first, enforce_sorted):
    x = _rng(lengths, batch_first).standard_normal((4, 4, 2))

    def fn(lib, x):
        lens = lib.tensor([2, 4, 1, 3]) if lengths == "tensor" else lengths
        return _packed(_R(lib).pack_padded_sequence(x, lens, batch_first=batch_first,
                                                    enforce_sorted=enforce_sorted))
    ours, _ = run_outputs(torch, fn, x)
    assert ours[1].dtype == ad.int64


@pytest.mark.parametrize("batch_first, padding_value, total_length, enforce_sorted", [
    (False, 0.0, None, True), (True, -1.5, 6, False), (False, 2.0, 4, False),
    (True, 0.0, None, True)])
def test_pad_packed_sequence_inverts_packing_like_torch(batch_first, padding_value, total_length,
                                                        enforce_sorted):
    lengths = [4, 3, 1] if enforce_sorted else [1, 4, 3]
    x = _rng("pad", batch_first).standard_normal((3, 4, 2) if batch_first else (4, 3, 2))

    def fn(lib, x):
        R = _R(lib)
        p = R.pack_padded_sequence(x, lengths, batch_first=batch_first,
                                   enforce_sorted=enforce_sorted)
        return R.pad_packed_sequence(p, batch_first=batch_first, padding_value=padding_value,
                                     total_length=total_length)
    (padded, lens), _ = run_outputs(torch, fn, x)
    assert lens.tolist() == lengths and lens.dtype == ad.int64


def test_pack_and_pad_are_twice_differentiable():
    x = _rng("second").standard_normal((3, 3, 2))

    def fn(lib, x):
        R = _R(lib)
        p = R.pack_padded_sequence(x, [2, 3, 1], enforce_sorted=False)
        return R.pad_packed_sequence(p, padding_value=1.0)[0]
    run_outputs(torch, fn, x, second_order=True)


@pytest.mark.parametrize("shapes, batch_first, padding_value, padding_side", [
    ([(3, 2), (1, 2), (4, 2)], False, 0.0, "right"),
    ([(3,), (5,), (1,)], True, -1.0, "left"),
    ([(2, 2, 3), (3, 2, 3)], True, 0.5, "right"),
    ([(2, 2), (2, 2)], False, 7.0, "left"),
])
def test_pad_sequence_matches_torch(shapes, batch_first, padding_value, padding_side):
    rng = _rng(shapes)
    arrays = [rng.standard_normal(s) for s in shapes]

    def fn(lib, *seqs):
        return _R(lib).pad_sequence(list(seqs), batch_first=batch_first,
                                    padding_value=padding_value, padding_side=padding_side)
    run_outputs(torch, fn, *arrays)


def test_pad_sequence_of_a_tensor_pads_its_rows():
    x = _rng("rows").standard_normal((3, 4))
    run_outputs(torch, lambda lib, x: _R(lib).pad_sequence(x, batch_first=True), x)


@pytest.mark.parametrize("first, second, expected", [
    ("float32", "float64", [[1.5, 3.5], [2.5, 0.0]]),
    ("int64", "float32", [[1, 3], [2, 0]]),      # 3.5 truncated to the first sequence's int64
    ("float64", "int64", [[1.5, 3.0], [2.5, 0.0]]),
])
def test_pad_sequence_takes_the_first_sequences_dtype_like_torch(first, second, expected):
    """No type promotion: the result has sequences[0]'s dtype, as torch's."""
    def fn(lib, dtype_a, dtype_b):
        return _R(lib).pad_sequence([lib.tensor([1.5, 2.5]).to(getattr(lib, dtype_a)),
                                     lib.tensor([3.5]).to(getattr(lib, dtype_b))])
    ours, theirs = fn(ad, first, second), fn(torch, first, second)
    assert ours.dtype == getattr(ad, first) and ours.tolist() == expected
    assert_close(ours, theirs)


def test_pad_sequence_casts_differentiably_to_the_first_dtype():
    x = ad.tensor([3.5], dtype=ad.float64, requires_grad=True)
    out = nn.utils.rnn.pad_sequence([ad.tensor([1.5, 2.5]), x], padding_value=-1.0)
    assert out.dtype == ad.float32 and out.tolist() == [[1.5, 3.5], [2.5, -1.0]]
    (out * ad.tensor([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
    assert x.grad.dtype == ad.float64 and x.grad.tolist() == [2.0]


@pytest.mark.parametrize("lengths, enforce_sorted", [([3, 2, 2], True), ([1, 3, 2], False)])
def test_pack_sequence_and_unpack_sequence_match_torch(lengths, enforce_sorted):
    rng = _rng(lengths)
    arrays = [rng.standard_normal((n, 2)) for n in lengths]

    def fn(lib, *seqs):
        R = _R(lib)
        p = R.pack_sequence(list(seqs), enforce_sorted=enforce_sorted)
        return _packed(p) + [s * 2.0 for s in R.unpack_sequence(p)]
    ours, _ = run_outputs(torch, fn, *arrays)
    n = len(_packed(nn.utils.rnn.pack_sequence([ad.tensor(a) for a in arrays],
                                               enforce_sorted=enforce_sorted)))
    for a, o in zip(arrays, ours[n:]):
        assert_close(o, 2.0 * a)


@pytest.mark.parametrize("batch_first", [False, True])
def test_unpad_sequence_matches_torch_and_leaves_its_input_alone(batch_first):
    x = _rng("unpad", batch_first).standard_normal((3, 4, 2) if batch_first else (4, 3, 2))
    lengths = [2, 4, 1]

    def fn(lib, x):
        # torch's unpad_sequence transposes its argument in place: give it a copy
        return _R(lib).unpad_sequence(x * 1.0, lib.tensor(lengths), batch_first=batch_first)
    run_outputs(torch, fn, x)
    padded = ad.tensor(x)
    nn.utils.rnn.unpad_sequence(padded, ad.tensor(lengths), batch_first=batch_first)
    assert padded.shape == x.shape


def test_invert_permutation_matches_torch():
    perm = [3, 0, 4, 1, 2]
    ours = nn.utils.rnn.invert_permutation(ad.tensor(perm))
    assert_close(ours, torch.nn.utils.rnn.invert_permutation(torch.tensor(perm)))
    assert nn.utils.rnn.invert_permutation(None) is None


def test_packed_sequence_is_a_namedtuple_with_torchs_methods():
    p = nn.utils.rnn.pack_sequence([ad.ones(1, 2), ad.ones(3, 2)], enforce_sorted=False)
    data, batch_sizes, sorted_indices, unsorted_indices = p
    assert p._fields == torch.nn.utils.rnn.PackedSequence._fields
    assert batch_sizes.tolist() == [2, 1, 1] and sorted_indices.tolist() == [1, 0]
    assert unsorted_indices.tolist() == [1, 0]
    assert repr(p).startswith("PackedSequence(data=tensor(")
    assert p.is_cuda is False and not p.is_pinned() and p.cpu() is p
    assert p.float() is p
    d = p.double()
    assert isinstance(d, PackedSequence) and d.data.dtype == ad.float64
    assert d.batch_sizes is p.batch_sizes and d.sorted_indices is p.sorted_indices
    assert p.to(ad.float64).data.dtype == ad.float64
    # unsorted_indices are derived from sorted_indices, and (data, batch_sizes) may come paired
    q = PackedSequence(data, batch_sizes, sorted_indices)
    assert q.unsorted_indices.tolist() == [1, 0]
    r = PackedSequence((data, batch_sizes))
    assert r.batch_sizes is batch_sizes and r.sorted_indices is None
    assert r.unsorted_indices is None


@pytest.mark.parametrize("method, dtype", [("long", "int64"), ("int", "int32"),
                                           ("short", "int16"), ("char", "int8"),
                                           ("byte", "uint8")])
def test_packed_sequence_integer_casts_match_torch(method, dtype):
    """p.long() ... convert data and keep batch_sizes and the indices, as torch's."""
    def fn(lib):
        p = _R(lib).pack_sequence([lib.tensor([[2.7, 1.0], [3.0, 0.0]]), lib.tensor([[1.2, 5.9]])])
        return getattr(p, method)()
    ours, theirs = fn(ad), fn(torch)
    assert isinstance(ours, PackedSequence) and ours.data.dtype == getattr(ad, dtype)
    assert str(theirs.data.dtype) == f"torch.{dtype}"
    assert ours.data.tolist() == theirs.data.tolist() == [[2, 1], [1, 5], [3, 0]]
    assert ours.batch_sizes.tolist() == theirs.batch_sizes.tolist() == [2, 1]
    p = nn.utils.rnn.pack_sequence([ad.ones(1), ad.ones(2)], enforce_sorted=False)
    q = getattr(p, method)()
    assert q.batch_sizes is p.batch_sizes and q.sorted_indices is p.sorted_indices
    assert q.unsorted_indices is p.unsorted_indices


def test_packed_sequence_cuda_raises_that_autodiff_is_cpu_only():
    p = nn.utils.rnn.pack_sequence([ad.ones(2, 2), ad.ones(1, 2)])
    with pytest.raises(RuntimeError, match=r"PackedSequence.cuda: autodiff runs on the CPU only"):
        p.cuda()
    with pytest.raises(RuntimeError, match="CPU only"):
        p.cuda(0, non_blocking=True)


def test_gradient_reaches_each_sequence_through_a_layer():
    seqs = [ad.randn(n, 2, requires_grad=True) for n in (3, 1, 2)]
    out, h = nn.GRU(2, 3)(nn.utils.rnn.pack_sequence(seqs, enforce_sorted=False))
    h.sum().backward()
    for s in seqs:
        assert s.grad is not None and s.grad.shape == s.shape
        assert np.any(s.grad.data[0] != 0)


# --- errors --------------------------------------------------------------------------------------

def _errors():
    x = lambda lib: lib.zeros(4, 3, 2)  # noqa: E731
    pack = lambda lib, lens, **kw: _R(lib).pack_padded_sequence(x(lib), lens, **kw)  # noqa: E731
    return {
        "unsorted": lambda lib: pack(lib, [2, 3, 1]),
        "zero length": lambda lib: pack(lib, [3, 1, 0]),
        "zero length unsorted": lambda lib: pack(lib, [0, 1, 3], enforce_sorted=False),
        "too few lengths": lambda lib: pack(lib, [3, 2]),
        "too many lengths": lambda lib: pack(lib, [3, 2, 1, 1]),
        "2-D lengths": lambda lib: pack(lib, [[3], [2], [1]]),
        "total_length": lambda lib: _R(lib).pad_packed_sequence(pack(lib, [3, 2, 1]),
                                                                total_length=2),
        "empty list": lambda lib: _R(lib).pad_sequence([]),
        "not iterable": lambda lib: _R(lib).pad_sequence(3),
        "padding_side": lambda lib: _R(lib).pad_sequence([lib.zeros(2)], padding_side="up"),
        "trailing dims": lambda lib: _R(lib).pad_sequence([lib.zeros(2, 3), lib.zeros(3, 2)]),
        "unpad lengths": lambda lib: _R(lib).unpad_sequence(x(lib), lib.tensor([2, 1])),
        "pack_sequence unsorted": lambda lib: _R(lib).pack_sequence([lib.zeros(1),
                                                                     lib.zeros(2)]),
    }


@pytest.mark.parametrize("what", list(_errors()))
def test_errors_match_torchs_classes(what):
    same_error(torch, _errors()[what])


@pytest.mark.parametrize("fn, pattern", [
    (lambda: nn.utils.rnn.pack_padded_sequence(ad.zeros(4, 3), [2, 3, 1]),
     r"sorted in decreasing order.*enforce_sorted=False"),
    (lambda: nn.utils.rnn.pack_padded_sequence(ad.zeros(4, 3), [3, 1, 0]),
     r"greater than 0.*\[3, 1, 0\]"),
    (lambda: nn.utils.rnn.pack_padded_sequence(ad.zeros(4, 3), [3, 1]),
     r"got 2 \(batch_size=3\)"),
    # torch reads past the end of the input here; we refuse
    (lambda: nn.utils.rnn.pack_padded_sequence(ad.zeros(4, 3), [5, 1, 1]),
     r"length \(5\) is larger than the padded input's sequence length 4"),
    (lambda: nn.utils.rnn.pad_sequence([ad.zeros(2, 3), ad.zeros(3, 2)]),
     r"sequence 1 has shape \(3, 2\)"),
])
def test_error_messages(fn, pattern):
    with pytest.raises(RuntimeError, match=pattern):
        fn()


def test_pad_packed_sequence_total_length_message():
    p = nn.utils.rnn.pack_sequence([ad.zeros(3), ad.zeros(2)])
    with pytest.raises(ValueError, match="total_length=2 and max sequence length being 3"):
        nn.utils.rnn.pad_packed_sequence(p, total_length=2)
    with pytest.raises(TypeError, match="expected a PackedSequence"):
        nn.utils.rnn.pad_packed_sequence(ad.zeros(3, 2))
