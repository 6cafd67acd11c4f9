"""PyTorch's Tensor habits and exact semantics (issue 13, items 2 and 3): type names, legacy
constructors, dtypes and devices as objects, the printed form, numpy() and .grad guards, the
exception classes, mixed indexing, and the edge values of linspace, pow, std/var, sign, prod,
empty tensors. Each behaviour is asserted without torch and cross-checked against torch."""
import pickle
import warnings

import numpy as np
import pytest

import autodiff as ad
from _torch import assert_close, pair


# --- Tensor API habits ----------------------------------------------------------------------------

TYPE_NAMES = [("float32", "FloatTensor"), ("float64", "DoubleTensor"), ("float16", "HalfTensor"),
              ("int64", "LongTensor"), ("int32", "IntTensor"), ("int16", "ShortTensor"),
              ("int8", "CharTensor"), ("uint8", "ByteTensor"), ("bool", "BoolTensor")]


@pytest.mark.parametrize("dtype, name", TYPE_NAMES)
def test_type_names_and_legacy_classes(dtype, name, torch):
    x = ad.ones(2, dtype=dtype)
    assert x.type() == "autodiff." + name
    assert torch.ones(2, dtype=getattr(torch, dtype)).type() == "torch." + name
    legacy = getattr(ad, name)
    assert isinstance(x, legacy) and isinstance(x, ad.Tensor)
    assert not isinstance(ad.ones(2, dtype="float32" if dtype != "float32" else "int64"), legacy)
    for args in [(2, 3), ([1, 0],), ()]:
        ours, theirs = legacy(*args), getattr(torch, name)(*args)
        assert ours.shape == tuple(theirs.shape) and ours.dtype == dtype
        if args and isinstance(args[0], list):
            assert ours.tolist() == theirs.tolist()


def test_type_casts(torch):
    x = ad.tensor([[1.5, 2.0]], requires_grad=True)
    assert x.type(ad.float32) is x  # (its own type: the tensor itself, as torch)
    y = x.type("autodiff.DoubleTensor")
    assert y.dtype == ad.float64 and y.requires_grad  # differentiable between floats
    y.sum().backward()
    assert x.grad.dtype == ad.float32 and x.grad.tolist() == [[1.0, 1.0]]
    assert x.type(ad.int64).tolist() == [[1, 2]] and x.type(ad.LongTensor).dtype == ad.int64
    assert x.type("torch.IntTensor").dtype == ad.int32
    with pytest.raises(ValueError, match="invalid type: 'autodiff.FooTensor'"):
        x.type("autodiff.FooTensor")
    with pytest.raises(ValueError, match="invalid type"):
        torch.ones(1).type("torch.FooTensor")


def test_sizes_and_counts(torch):
    for shape, dtype in [((2, 3), "float32"), ((), "float64"), ((0, 4), "int16"), ((5,), "bool")]:
        a, t = ad.zeros(shape, dtype=dtype), torch.zeros(shape, dtype=getattr(torch, dtype))
        got = (a.dim(), a.ndimension(), a.nelement(), a.numel(), a.element_size(), a.itemsize,
               a.nbytes)
        assert got == (t.dim(), t.ndimension(), t.nelement(), t.numel(), t.element_size(),
                       t.itemsize, t.nbytes)
    x = ad.arange(6.0).reshape(2, 3)
    assert x.view_as(ad.zeros(3, 2)).shape == (3, 2) and x.view_as(ad.zeros(6))._base is x._base
    assert x.expand_as(ad.zeros(4, 2, 3)).shape == (4, 2, 3)
    assert x.reshape_as(ad.zeros(6)).shape == (6,)
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        x.T.view_as(ad.zeros(6))


def test_legacy_tensor_constructor(torch):
    for args in [(3, 4), (0,), ([1, 2],), ((2, 3),), ([[1.5, 2.5]],), (np.array([1, 2]),), ()]:
        ours, theirs = ad.Tensor(*args), torch.Tensor(*args)
        assert ours.dtype == ad.float32 and ours.shape == tuple(theirs.shape), args
        if args and not isinstance(args[0], int):
            assert ours.tolist() == theirs.tolist()
    with ad.no_grad():
        assert ad.Tensor(2, dtype=ad.float64).dtype == ad.float64
    for bad in [(2.5,), (2, 2.5), (-1,)]:
        with pytest.raises(TypeError):
            ad.Tensor(*bad)
        with pytest.raises((TypeError, RuntimeError)):
            torch.Tensor(*bad)
    # autodiff.tensor still infers the dtype; pickling keeps it
    assert ad.tensor([1, 2]).dtype == ad.int64 and ad.tensor(np.ones(2)).dtype == ad.float64
    t = pickle.loads(pickle.dumps(ad.tensor(np.ones(2), requires_grad=True)))
    assert t.dtype == ad.float64 and t.requires_grad


def test_dtypes_print_as_autodiff_and_stand_for_numpy_dtypes(torch):
    d = ad.ones(2).dtype
    assert repr(d) == str(d) == "autodiff.float32" and d is ad.float32
    assert repr(torch.float32) == "torch.float32"
    assert d == np.float32 and np.float32 == d and d == "float32" and np.dtype("float32") == d
    assert d != ad.float64 and d != np.int64 and d != "not a dtype"
    assert np.dtype(d) == np.float32 and np.zeros(2, d).dtype == np.float32
    assert np.ones(2).astype(ad.float64).dtype == np.float64 and np.issubdtype(d, np.floating)
    assert {np.dtype(np.float32): 1}[d] == 1 and hash(d) == hash(np.dtype(np.float32))
    assert pickle.loads(pickle.dumps(d)) is d
    assert d.kind == "f" and d.itemsize == 4 and d.name == "float32"
    for name in ("float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8",
                 "bool"):
        ours, theirs = getattr(ad, name), getattr(torch, name)
        assert (ours.is_floating_point, ours.itemsize, ours.is_signed, ours.is_complex) == \
            (theirs.is_floating_point, theirs.itemsize, theirs.is_signed, theirs.is_complex)
    assert ad.float is ad.float32 and ad.long is ad.int64 and ad.bool is ad.bool_
    assert ad.get_default_dtype() == ad.float32


def test_device_object(torch):
    x = ad.ones(2)
    assert repr(x.device) == repr(torch.ones(2).device) == "device(type='cpu')"
    assert str(x.device) == "cpu" and x.device.type == "cpu" and x.device.index is None
    assert x.device == ad.device("cpu") and x.device == "cpu"  # (torch's is not == 'cpu')
    assert repr(ad.device("cpu:0")) == repr(torch.device("cpu:0")) == "device(type='cpu', index=0)"
    assert ad.device("cpu", 0) == ad.device("cpu:0") != ad.device("cpu")
    assert x.to(x.device) is x and ad.zeros(2, device=ad.device("cpu")).device == "cpu"
    assert hash(ad.device("cpu")) == hash(x.device)
    with pytest.raises(RuntimeError, match="CPU only"):
        ad.device("cuda")
    with pytest.raises(RuntimeError, match="CPU only"):
        ad.zeros(2, device="cuda")
    assert not ad.cuda.is_available()


# (data, dtype name or None for the default): the printed forms are compared with torch's
REPR_CASES = [
    ([1.0, 2.0], None), ([0.1, 0.2], None), ([1e-5, 1.0], None), ([1e9, 1.0], None),
    ([1.0, 2000.0], None), ([[1.5, -2.25], [3.0, 4.0]], None), (3.0, None), (0.5, "float64"),
    ([1, 2, -30], "int64"), ([1, 2], "int32"), ([True, False], "bool"), ([np.nan, 1.0], None),
    ([np.inf, -np.inf, 1.0], None), ([np.inf, 0.5], None), ([0.0, 0.0], None), ([-0.0], None),
    ([1.0, 2.5], "float16"), ([3, 200], "uint8"), ([123456.789, 0.001], "float64"),
    (np.arange(24.0).reshape(2, 3, 4), None), (np.arange(2000.0).reshape(40, 50) / 7, None),
    (np.arange(1500), "int64"), (np.random.RandomState(0).randn(3, 30), "float64"),
    (np.zeros((0,)), None), (np.zeros((0, 3)), None), (np.zeros((2, 0, 1)), "int64"),
    (np.zeros((0,)), "float64"), (np.zeros((0,)), "bool"),
]


@pytest.mark.parametrize("data, dtype", REPR_CASES, ids=range(len(REPR_CASES)))
def test_repr_matches_torch(data, dtype, torch):
    a = np.asarray(data, dtype=dtype or np.float32)
    ours = repr(ad.tensor(a))
    assert ours == repr(torch.tensor(a)).replace("torch.", "autodiff.")
    assert str(ad.tensor(a)) == ours


def test_repr_without_torch():
    assert repr(ad.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(ad.tensor([0.1, 0.2])) == "tensor([0.1000, 0.2000])"
    assert repr(ad.tensor([1e-5, 1.0])) == "tensor([1.0000e-05, 1.0000e+00])"
    assert repr(ad.tensor(np.ones(2))) == "tensor([1., 1.], dtype=autodiff.float64)"
    assert repr(ad.zeros(0, 3)) == "tensor([], size=(0, 3))"
    assert repr(ad.tensor([True, False])) == "tensor([ True, False])"
    assert "...," in repr(ad.arange(2000.0).reshape(40, 50))
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    assert repr(x) == "tensor([1., 2.], requires_grad=True)"
    assert repr(x * 2) == "tensor([2., 4.], grad_fn=<MulBackward0>)"
    assert repr((x * 2).sum()) == "tensor(6., grad_fn=<SumBackward0>)"


def test_repr_of_graph_tensors_matches_torch(torch):
    xa, xt = ad.tensor([1.0, 2.0], requires_grad=True), torch.tensor([1.0, 2.0],
                                                                   requires_grad=True)
    for f in [lambda x: x, lambda x: x * 2, lambda x: (x * 2).sum(), lambda x: x.double() * 1e6,
              lambda x: x.exp()]:
        assert repr(f(xa)) == repr(f(xt)).replace("torch.", "autodiff.")


def test_no_grad_decorates_with_and_without_parentheses(torch):
    for lib in (ad, torch):
        @lib.no_grad
        def bare(x):
            return x * 2

        @lib.no_grad()
        def called(x):
            return x * 2

        @lib.enable_grad
        def enabled(x):
            return x * 2

        x = lib.ones(2, requires_grad=True)
        assert not bare(x).requires_grad and not called(x).requires_grad
        with lib.no_grad():
            assert enabled(x).requires_grad


MESSAGE = ("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() "
           "instead.")


def test_numpy_of_a_tensor_that_requires_grad(torch):
    for lib in (ad, torch):
        x = lib.ones(2, requires_grad=True)
        with pytest.raises(RuntimeError) as e:
            x.numpy()
        assert str(e.value) == MESSAGE
        with pytest.raises(RuntimeError):
            (x * 2).numpy()
        assert x.numpy(force=True).tolist() == [1.0, 1.0]
        assert x.detach().numpy().tolist() == [1.0, 1.0]
        with lib.no_grad():
            assert (x * 2).numpy().tolist() == [2.0, 2.0]
    a = ad.ones(2)
    assert a.numpy() is a.data  # shared, not a copy


def _grad_warnings(t):
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        t.grad
    return [(w.category, str(w.message)) for w in seen]


def test_grad_of_a_non_leaf_warns(torch):
    ours, theirs = [], []
    for lib, out in ((ad, ours), (torch, theirs)):
        x = lib.ones(2, requires_grad=True)
        y, z = x * 2, x * 3
        z.retain_grad()
        (y + z).sum().backward()
        out.append(_grad_warnings(y))
        out += [_grad_warnings(x), _grad_warnings(z), _grad_warnings(lib.ones(2))]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert y.grad is None and z.grad.tolist() == [1.0, 1.0]
    assert [len(w) for w in ours] == [len(w) for w in theirs] == [1, 0, 0, 0]
    (category, message), = ours[0]
    assert category is UserWarning and theirs[0][0][1].startswith(message)


# --- exception classes --------------------------------------------------------------------------

def _cases(lib):
    """(label, call) pairs that raise the same exception class in autodiff and torch"""
    ones, t = lib.ones, lib.tensor
    return [
        ("matmul mismatch", lambda: ones(2, 3) @ ones(2, 3)),
        ("matmul 0-d", lambda: lib.matmul(t(2.0), ones(2))),
        ("mm mismatch", lambda: lib.mm(ones(2, 3), ones(2, 3))),
        ("broadcast", lambda: ones(3, 2) * ones(4)),
        ("cat mismatch", lambda: lib.cat([ones(2, 3), ones(2, 2)])),
        ("cat empty list", lambda: lib.cat([])),
        ("stack mismatch", lambda: lib.stack([ones(2), ones(3)])),
        ("permute length", lambda: ones(2, 3).permute(0)),
        ("permute repeated", lambda: ones(2, 3).permute(0, 0)),
        ("flip dim out of range", lambda: ones(2, 3).flip(5)),
        ("sum dim out of range", lambda: ones(2, 3).sum(2)),
        ("sum dim twice", lambda: ones(2, 3).sum((0, 0))),
        ("sum dim float", lambda: ones(3, 3).sum(dim=1.0)),
        ("index out of range", lambda: ones(2, 3)[5]),
        ("index list out of range", lambda: ones(2, 3)[[0, 2]]),
        ("gather out of range", lambda: lib.gather(ones(3), 0, t([3]))),
        ("gather negative", lambda: lib.gather(ones(3), 0, t([-1]))),
        ("gather dims", lambda: lib.gather(ones(3, 2), 0, t([0]))),
        ("where non-bool", lambda: lib.where(t([1.0, 0.0]), ones(2), ones(2))),
        ("randn float size", lambda: lib.randn(2.5)),
        ("zeros negative size", lambda: lib.zeros(-1)),
        ("expand -1 new dim", lambda: ones(3).expand(-1, 3)),
        ("expand fewer sizes", lambda: ones(2, 3).expand(3)),
        ("expand mismatch", lambda: ones(2, 3).expand(4, 3)),
        ("chunk 0", lambda: ones(3).chunk(0)),
        ("split sizes", lambda: ones(3).split([1, 1])),
        ("reshape", lambda: ones(2, 3).reshape(4)),
        ("repeat too few", lambda: ones(2, 3).repeat(2)),
        ("topk k", lambda: ones(3).topk(4)),
        ("int // 0", lambda: t([1, 2]) // 0),
        ("int // zero tensor", lambda: t([1, 2]) // t([0, 1])),
        ("prod of dims", lambda: ones(2, 3).prod((0, 1))),
        ("clamp without bounds", lambda: lib.clamp(ones(2))),
        ("string ndarray", lambda: t(np.array(["a"]))),
        ("object ndarray", lambda: t(np.array([1, "a"], dtype=object))),
        ("datetime ndarray", lambda: t(np.array(["2020-01-01"], dtype="datetime64[D]"))),
        ("requires_grad int", lambda: t([1, 2], requires_grad=True)),
        ("tril 1-d", lambda: lib.tril(ones(3))),
        ("mT 1-d", lambda: ones(3).mT),
        ("flatten dims reversed", lambda: ones(2, 3, 4).flatten(2, 1)),
        ("unsqueeze dim", lambda: ones(2).unsqueeze(3)),
        ("select index", lambda: ones(2, 3).select(1, 3)),
        ("narrow past the end", lambda: ones(2, 3).narrow(1, 2, 2)),
        ("narrow start", lambda: ones(2, 3).narrow(1, 5, 0)),
    ]


def _conv_cases(lib, F):
    z = lambda *s: lib.zeros(*s)  # noqa: E731
    return [
        ("conv channels", lambda: F.conv2d(z(1, 3, 5, 5), z(8, 2, 3, 3), groups=2)),
        ("conv input dims", lambda: F.conv2d(z(3, 5, 5, 1, 1), z(1, 3, 1, 1))),
        ("conv kernel too big", lambda: F.conv2d(z(1, 1, 4, 4), z(1, 1, 7, 7))),
        ("conv bias", lambda: F.conv2d(z(1, 2, 5, 5), z(3, 2, 3, 3), z(2))),
        ("conv stride 0", lambda: F.conv2d(z(1, 1, 5, 5), z(1, 1, 3, 3), stride=0)),
        ("pool padding", lambda: F.max_pool2d(z(1, 1, 5, 5), 2, padding=2)),
    ]


def _raised(call):
    try:
        call()
    except Exception as e:  # noqa: BLE001  (the class is what is compared)
        return type(e)
    return None


@pytest.mark.parametrize("i", range(len(_cases(ad))), ids=[c[0] for c in _cases(ad)])
def test_exception_classes_match_torch(i, torch):
    label, ours = _cases(ad)[i]
    theirs = _cases(torch)[i][1]
    expected = _raised(theirs)
    assert expected is not None, f"{label}: torch raises nothing"
    assert _raised(ours) is expected, f"{label}: ours raises {_raised(ours)}, torch {expected}"


@pytest.mark.parametrize("i", range(6))
def test_conv_exception_classes_match_torch(i, torch):
    import torch.nn.functional as F
    label, ours = _conv_cases(ad, ad)[i]
    expected = _raised(_conv_cases(torch, F)[i][1])
    assert expected is RuntimeError and _raised(ours) is expected, label


def test_exception_classes_and_messages_without_torch():
    expect = {"matmul mismatch": (RuntimeError, r"matmul: shapes \(2, 3\) and \(2, 3\)"),
              "cat mismatch": (RuntimeError, "cat: tensor 1 has shape"),
              "permute repeated": (RuntimeError, "must be a permutation"),
              "flip dim out of range": (IndexError, "flip: dim 5 is out of range"),
              "sum dim float": (TypeError, "dim must be an int or a tuple of ints, got 1.0"),
              "index out of range": (IndexError, "out of bounds"),
              "gather negative": (RuntimeError, "gather: index -1 is out of bounds"),
              "where non-bool": (RuntimeError, "where expected condition to be a boolean"),
              "randn float size": (TypeError, "randn: sizes must be integers"),
              "expand -1 new dim": (RuntimeError, "size -1 .* new leading dim"),
              "chunk 0": (RuntimeError, "chunks must be a positive int"),
              "int // 0": (RuntimeError, "ZeroDivisionError"),
              "string ndarray": (TypeError, "can't convert an ndarray of dtype <U1")}
    cases = dict(_cases(ad))
    for label, (cls, pattern) in expect.items():
        with pytest.raises(cls, match=pattern):
            cases[label]()
    for label, call in _cases(ad) + _conv_cases(ad, ad):
        expected = ValueError if label == "cat empty list" else (RuntimeError, IndexError,
                                                                 TypeError)
        assert issubclass(_raised(call), expected), label
    # what stays lenient: uint8 masks in where, float // 0 (inf), a bool index
    assert ad.where(ad.tensor([1, 0], dtype=ad.uint8), ad.ones(2), ad.zeros(2)).tolist() == [1, 0]
    with np.errstate(divide="ignore"):
        assert (ad.tensor([1.0]) // 0).tolist() == [float("inf")]


# --- mixed basic and advanced indexing ------------------------------------------------------------

IDX = [0, 2]
INDEX_CASES = [
    ((5, 6, 20, 7, 4), lambda I: (1, slice(None), slice(3, 11, 2), I, slice(0, 2))),
    ((4, 5, 6), lambda I: (I, slice(None), I)),
    ((4, 5, 6), lambda I: (I, 1, slice(None))),
    ((4, 5, 6), lambda I: (1, slice(None), I)),
    ((4, 5, 6), lambda I: (slice(None), I, 1)),
    ((4, 5, 6, 3), lambda I: (I, 1, slice(None), I)),
    ((4, 5, 6, 3), lambda I: (1, I, slice(None), I)),
    ((4, 5, 6, 3), lambda I: (None, I, slice(None), I)),
    ((4, 5, 6, 3), lambda I: (Ellipsis, I, 1, I)),
    ((4, 5, 6, 3), lambda I: (1, Ellipsis, I)),
    ((4, 5, 6, 3), lambda I: (1, slice(None), None, I, -1)),
    ((4, 5, 6), lambda I: (np.array([True, False, True, True]), 1, slice(None))),
    ((4, 5, 6), lambda I: (-1, np.array([[True] * 6] * 5))),
    ((4, 5, 6), lambda I: (I, slice(None))),  # (no int: numpy's rules already)
]


@pytest.mark.parametrize("shape, index", INDEX_CASES, ids=range(len(INDEX_CASES)))
def test_mixed_indexing_places_dims_as_torch(shape, index, torch):
    a = np.random.default_rng(0).standard_normal(shape)
    ours = lambda x: x[tuple(ad.tensor(i) if isinstance(i, np.ndarray) else i  # noqa: E731
                             for i in index(ad.tensor(IDX)))]
    theirs = lambda x: x[tuple(torch.tensor(i) if isinstance(i, np.ndarray) else i  # noqa: E731
                               for i in index(torch.tensor(IDX)))]
    xa, xt = pair(a)
    oa, ot = ours(xa), theirs(xt)
    assert_close(oa, ot)
    g = np.random.default_rng(1).standard_normal(tuple(ot.shape))
    oa.backward(ad.tensor(g))
    ot.backward(torch.tensor(g))
    assert_close(xa.grad, xt.grad)


def test_mixed_indexing_without_torch():
    x = ad.zeros(5, 6, 20, 7, 4)
    assert x[1, :, 3:11:2, ad.tensor(IDX), 0:2].shape == (6, 4, 2, 2)  # numpy: (2, 6, 4, 2)
    assert ad.zeros(4, 5, 6)[1, :, IDX].shape == (5, 2)  # numpy: (2, 5)
    assert ad.zeros(4, 5, 6)[IDX, :, IDX].shape == (2, 5)  # (advanced apart: in front)
    y = ad.arange(24.0).reshape(2, 3, 4).requires_grad_()
    y[0, :, [1, 3]].sum().backward()
    assert y.grad[0].tolist() == [[0, 1, 0, 1]] * 3 and y.grad[1].sum().item() == 0


# --- edge values --------------------------------------------------------------------------------

@pytest.mark.parametrize("start, end, steps, dtype", [
    (-2.5, 2.5, 5, "int64"), (0, 10, 4, "int32"), (-7, -1, 4, "int64"), (1, 1, 3, "int64"),
    (0.0, 1.0, 5, "float64"), (3, 3, 0, "int64")])
def test_linspace_integer_dtypes_truncate(start, end, steps, dtype, torch):
    ours = ad.linspace(start, end, steps, dtype=dtype)
    assert_close(ours, torch.linspace(start, end, steps, dtype=getattr(torch, dtype)))


def test_linspace_without_torch():
    assert ad.linspace(-2.5, 2.5, 5, dtype=ad.int64).tolist() == [-2, -1, 0, 1, 2]


BASES = [0.0, -0.0, 2.0, -2.0, 0.5]


@pytest.mark.parametrize("p", [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, -1.0, -0.5, -2.0])
def test_pow_gradients_at_a_zero_base_match_torch(p, torch):
    with np.errstate(all="ignore"):
        bases = np.array(BASES[:1] + BASES[2:] if p == 0.5 else BASES)  # (0.5 at -0.0: below)
        xa, xt = pair(bases)
        (xa ** p).sum().backward()
        (xt ** p).sum().backward()
        assert_close(xa.grad, xt.grad)
        xa, xt = pair(bases)
        ya, yt = pair(np.full(len(bases), p))
        (xa ** ya).sum().backward()
        (xt ** yt).sum().backward()
        assert_close(xa.grad, xt.grad)
        assert_close(ya.grad, yt.grad)


def test_pow_gradients_at_a_zero_base_without_torch():
    with np.errstate(all="ignore"):
        x = ad.tensor([0.0, 0.0, 0.0], dtype=ad.float64, requires_grad=True)
        y = ad.tensor([2.0, 0.0, -1.0], dtype=ad.float64, requires_grad=True)
        (x ** y).sum().backward()
    assert y.grad.tolist() == [0.0, 0.0, -np.inf]  # out * log(0) where y < 0: -inf, as torch
    assert x.grad.tolist() == [0.0, 0.0, -np.inf]


STD_CASES = [([1.0, 1.0, 1.0], None, 1), ([1.0, 1.0, 1.0], None, 0), ([2.0], None, 1),
             ([2.0], None, 0), ([2.0], None, 2), ([[1.0, 1.0], [1.0, 2.0]], 1, 1),
             ([[1.0, 1.0], [1.0, 2.0]], 0, 1), ([[3.0], [4.0]], 1, 1), ([1.0, 2.0, 4.0], None, 1),
             ([[1.0, 2.0], [5.0, 5.0]], (0, 1), 1)]


@pytest.mark.parametrize("fn", ["std", "var"])
@pytest.mark.parametrize("data, dim, correction", STD_CASES)
def test_std_var_gradients_with_no_spread_match_torch(fn, data, dim, correction, torch):
    with np.errstate(all="ignore"):
        xa, xt = pair(np.array(data))
        oa = getattr(ad, fn)(xa, dim, correction=correction)
        ot = getattr(torch, fn)(xt, dim, correction=correction)
        assert_close(oa, ot)
        (ga,), (gt,) = ad.grad(oa.sum(), xa, create_graph=True), \
            torch.autograd.grad(ot.sum(), xt, create_graph=True)
        assert_close(ga, gt)
        a = np.asarray(data)
        n = a.size if dim is None else np.prod([a.shape[d] for d in np.atleast_1d(dim)])
        if n > correction and (fn == "var" or np.ptp(data) > 0):  # (torch: no 2nd order else)
            (ga * ga).sum().backward()
            (gt * gt).sum().backward()
            assert_close(xa.grad, xt.grad)


def test_std_gradient_without_torch():
    x = ad.tensor([1.0, 1.0, 1.0], requires_grad=True)
    ad.std(x).backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]  # (sqrt's 0 * inf would give nan)
    with np.errstate(all="ignore"):
        y = ad.tensor([2.0], requires_grad=True)
        ad.var(y).backward()  # no degrees of freedom left: nan, as torch
    assert np.isnan(y.grad.item())


def test_sign_has_a_zero_gradient(torch):
    for lib in (ad, torch):
        x = lib.tensor([-2.0, 0.0, 3.0], requires_grad=True)
        y = lib.sign(x)
        assert y.requires_grad and y.tolist() == [-1.0, 0.0, 1.0]
        (y * 5).sum().backward()
        assert x.grad.tolist() == [0.0, 0.0, 0.0]
        assert lib.sign(lib.tensor([-3, 0, 4])).tolist() == [-1, 0, 1]
    assert ad.sign(ad.tensor([-3, 4])).dtype == ad.int64


def test_prod_over_dim_0_of_a_0d_tensor(torch):
    for lib in (ad, torch):
        x = lib.tensor(3.0, requires_grad=True)
        y = x.prod(0)
        assert y.shape == () and y.item() == 3.0 and y is not x
        y.backward()
        assert x.grad.item() == 1.0
        assert x.prod(0, keepdim=True).shape == ()
        assert x.prod(-1).item() == 3.0


# --- empty tensors through conv, pooling and logsumexp ------------------------------------------

def _empty_cases(lib, F):
    return [
        ("logsumexp empty dim", lambda x: lib.logsumexp(x, 1), (2, 0)),
        ("logsumexp other dim", lambda x: lib.logsumexp(x, 1), (0, 3)),
        ("logsumexp all", lambda x: lib.logsumexp(x, (0, 1)), (0, 3)),
        ("conv2d empty batch", lambda x: F.conv2d(x, lib.ones(4, 3, 3, 3, dtype=lib.float64)),
         (0, 3, 5, 5)),
        ("max_pool2d empty batch", lambda x: F.max_pool2d(x, 2), (0, 3, 5, 5)),
        ("avg_pool2d empty batch", lambda x: F.avg_pool2d(x, 2), (0, 3, 5, 5)),
        ("adaptive_avg_pool2d", lambda x: F.adaptive_avg_pool2d(x, 1), (0, 3, 5, 5)),
        ("sum of empty", lambda x: x.sum(0), (0, 3)),
        ("mean over empty", lambda x: x.mean(0), (0, 3)),
    ]


@pytest.mark.parametrize("i", range(9))
def test_empty_tensors_forward_and_backward_match_torch(i, torch):
    import torch.nn.functional as F
    label, ours, shape = _empty_cases(ad, ad)[i]
    theirs = _empty_cases(torch, F)[i][1]
    with np.errstate(all="ignore"):
        xa, xt = pair(np.zeros(shape))
        oa, ot = ours(xa), theirs(xt)
        assert_close(oa, ot, err_msg=label)
        g = np.ones(tuple(ot.shape))
        oa.backward(ad.tensor(g))
        ot.backward(torch.tensor(g))
        assert_close(xa.grad, xt.grad, err_msg=label)


def test_empty_tensors_without_torch():
    x = ad.zeros(2, 0, requires_grad=True)
    y = ad.logsumexp(x, 1)
    assert y.tolist() == [-np.inf, -np.inf]
    y.sum().backward()
    assert x.grad.shape == (2, 0)
    w = ad.ones(4, 3, 3, 3, requires_grad=True)
    out = ad.conv2d(ad.zeros(0, 3, 5, 5, requires_grad=True), w)
    assert out.shape == (0, 4, 3, 3)
    out.sum().backward()
    assert w.grad.shape == (4, 3, 3, 3) and not w.grad.data.any()
    assert ad.max_pool2d(ad.zeros(0, 2, 4, 4), 2).shape == (0, 2, 2, 2)


@pytest.mark.parametrize("record", [False, True])
def test_assignment_with_mixed_int_and_advanced_indices_places_dims_as_torch(torch, record):
    """x[1, :, 3:11:2, idx, 0:2] = v: the ints select first, as in getitem (numpy would move
    the advanced dims to the front and refuse v's shape)."""
    x = np.arange(2 * 5 * 12 * 4 * 3, dtype=np.float64).reshape(2, 5, 12, 4, 3)
    idx = [0, 2, 3]
    v = np.random.default_rng(0).standard_normal((5, 4, 3, 2))
    ours = ad.tensor(x, requires_grad=record)
    theirs = torch.tensor(x, requires_grad=record)
    vo, vt = ad.tensor(v, requires_grad=record), torch.tensor(v, requires_grad=record)
    a, b = ours * 2, theirs * 2
    a[1, :, 3:11:2, idx, 0:2] = vo * 3
    b[1, :, 3:11:2, idx, 0:2] = vt * 3
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    if record:
        (a * a).sum().backward()
        (b * b).sum().backward()
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy())
        np.testing.assert_allclose(vo.grad.numpy(), vt.grad.numpy())


def test_assignment_with_mixed_indices_without_torch():
    x = ad.zeros(2, 3, 4)
    x[1, [0, 2], 1:3] = ad.ones(2, 2)
    expected = np.zeros((2, 3, 4))
    expected[1][[0, 2], 1:3] = 1.0
    np.testing.assert_array_equal(x.numpy(), expected)
