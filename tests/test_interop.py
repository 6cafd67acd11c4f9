"""PyTorch's utility names around tensors (autodiff/interop.py and friends): dtype queries,
constants, memory sharing, print options, Size, anomaly / inference flags, post-accumulate
hooks and the small Tensor habits (byte/char/short, is_cpu, hardshrink, prelu), each against
PyTorch when it is installed and against closed forms without it."""
import math
import warnings

import numpy as np
import pytest

import autodiff as ad

DTYPES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"]


def _t(torch, name):
    return getattr(torch, name)


def _a(name):
    return getattr(ad, "bool_" if name == "bool" else name)


@pytest.mark.parametrize("name", ["float16", "float32", "float64"])
def test_finfo_matches_torch(torch, name):
    ours, theirs = ad.finfo(_a(name)), torch.finfo(_t(torch, name))
    for field in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution"):
        assert getattr(ours, field) == getattr(theirs, field), field
    assert ad.finfo().eps == torch.finfo().eps  # the default dtype


@pytest.mark.parametrize("name", ["int8", "int16", "int32", "int64", "uint8"])
def test_iinfo_matches_torch(torch, name):
    ours, theirs = ad.iinfo(_a(name)), torch.iinfo(_t(torch, name))
    assert (ours.bits, ours.max, ours.min) == (theirs.bits, theirs.max, theirs.min)


def test_finfo_and_iinfo_refuse_the_other_kind():
    with pytest.raises(TypeError, match="iinfo"):
        ad.finfo(ad.int32)
    with pytest.raises(TypeError, match="finfo"):
        ad.iinfo(ad.float32)
    assert ad.finfo(ad.float64).eps == np.finfo(np.float64).eps


@pytest.mark.parametrize("a", DTYPES)
@pytest.mark.parametrize("b", DTYPES)
def test_promote_types_and_can_cast_match_torch(torch, a, b):
    if {a, b} == {"float16"} or "uint8" in (a, b) and {a, b} & {"int8"}:
        pass  # (covered too: torch's table is what we compare against)
    ours = ad.promote_types(_a(a), _a(b))
    theirs = torch.promote_types(_t(torch, a), _t(torch, b))
    assert str(ours).split(".")[1] == str(theirs).split(".")[1]
    assert ad.can_cast(_a(a), _a(b)) == torch.can_cast(_t(torch, a), _t(torch, b))


@pytest.mark.parametrize("x, y", [
    ([1, 2], 1.5), ([1, 2], 2), ([1., 2.], 2), ([True], 1), ([1, 2], [1.5]), ([1., 2.], [3]),
    (3, 1.5), (2, 3),
])
def test_result_type_matches_torch(torch, x, y):
    def ours(v):
        return ad.tensor(v) if isinstance(v, list) else v

    def theirs(v):
        return torch.tensor(v) if isinstance(v, list) else v
    if not isinstance(x, list) and not isinstance(y, list):
        expected = torch.result_type(torch.tensor(x), torch.tensor(y))
    else:
        expected = torch.result_type(theirs(x), theirs(y))
    assert str(ad.result_type(ours(x), ours(y))).split(".")[1] == str(expected).split(".")[1]


def test_result_type_without_torch():
    assert ad.result_type(ad.tensor([1, 2]), 1.5) == ad.float32
    assert ad.result_type(ad.tensor([1., 2.], dtype=ad.float64), ad.tensor([1.])) == ad.float64
    assert ad.promote_types(ad.int64, ad.float16) == ad.float16
    assert ad.can_cast(ad.int32, ad.float32) and not ad.can_cast(ad.float32, ad.int64)


def test_constants_and_typename():
    assert (ad.e, ad.pi, ad.inf) == (math.e, math.pi, math.inf) and math.isnan(ad.nan)
    assert ad.newaxis is None
    assert ad.typename(ad.zeros(2)) == "autodiff.FloatTensor"
    assert ad.typename(ad.zeros(2, dtype=ad.int64)) == "autodiff.LongTensor"
    assert ad.typename(3) == "int"


def test_size_is_a_tuple_with_numel_like_torch_size(torch):
    s = ad.zeros(2, 3, 4).size()
    assert isinstance(s, tuple) and s == (2, 3, 4) and s.numel() == 24
    assert isinstance(s[1:], ad.Size) and s[1:].numel() == 12 and s[0] == 2
    assert repr(s) == "autodiff.Size([2, 3, 4])"
    assert repr(torch.zeros(2, 3, 4).size()).replace("torch", "autodiff") == repr(s)
    assert ad.Size([]).numel() == 1


def test_asarray_shares_memory_and_copies_on_request():
    a = np.arange(3.0)
    t = ad.asarray(a)
    a[0] = 7
    assert t[0].item() == 7.0 and t.dtype == ad.float64
    c = ad.asarray(a, copy=True)
    a[1] = 9
    assert c[1].item() == 1.0
    with pytest.raises(ValueError, match="copy=False"):
        ad.asarray(a, dtype=ad.float32, copy=False)
    assert ad.asarray([1.0, 2.0]).dtype == ad.float32  # Python floats: the default dtype
    assert ad.asarray([1.0], requires_grad=True).requires_grad


def test_frombuffer_views_the_buffer(torch):
    buf = bytearray(np.arange(4, dtype=np.float32).tobytes())
    t = ad.frombuffer(buf, dtype=ad.float32, count=2, offset=4)
    np.testing.assert_array_equal(t.numpy(), [1.0, 2.0])
    t[0] = 5.0
    assert np.frombuffer(buf, np.float32)[1] == 5.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = torch.frombuffer(bytearray(np.arange(4, dtype=np.float32).tobytes()),
                                    dtype=torch.float32, count=2, offset=4)
    np.testing.assert_array_equal(expected.numpy(), [1.0, 2.0])
    with pytest.raises(ValueError, match="frombuffer"):
        ad.frombuffer(bytearray(3), dtype=ad.float32)


def test_dlpack_round_trips_with_torch_sharing_memory(torch):
    x = ad.arange(4.0)
    t = torch.from_dlpack(x)
    t[0] = 10.0
    assert x[0].item() == 10.0
    back = ad.from_dlpack(torch.ones(3))
    assert back.tolist() == [1.0, 1.0, 1.0]
    capsule = ad.from_dlpack(torch.to_dlpack(torch.full((2,), 3.0)))
    assert capsule.tolist() == [3.0, 3.0]
    assert torch.from_dlpack(ad.to_dlpack(x)).tolist() == x.tolist()


def test_dlpack_without_torch():
    x = ad.arange(3.0)
    y = ad.from_dlpack(ad.to_dlpack(x))
    assert np.shares_memory(x.data, y.data) and y.tolist() == [0.0, 1.0, 2.0]
    np.testing.assert_array_equal(np.from_dlpack(x), x.numpy())
    with pytest.raises(TypeError, match="to_dlpack"):
        ad.to_dlpack(np.ones(2))


def test_set_printoptions_changes_precision_and_sci_mode(torch):
    x = [1.23456, 2.5]
    try:
        for kwargs in ({"precision": 2}, {"sci_mode": True}, {"precision": 6},
                       {"profile": "short"}):
            ad.set_printoptions(**kwargs)
            torch.set_printoptions(**kwargs)
            assert repr(ad.tensor(x)) == repr(torch.tensor(x))
    finally:
        ad.set_printoptions(profile="default")
        torch.set_printoptions(profile="default")
    assert repr(ad.tensor([1.5])) == "tensor([1.5000])"
    with pytest.raises(ValueError, match="profile"):
        ad.set_printoptions(profile="huge")


def test_set_printoptions_threshold_summarises():
    try:
        ad.set_printoptions(threshold=5, edgeitems=1)
        assert repr(ad.arange(10)) == "tensor([0,  ..., 9])"  # (PyTorch's spacing)
    finally:
        ad.set_printoptions(profile="default")


def test_anomaly_and_inference_flags():
    assert not ad.is_anomaly_enabled() and ad.is_anomaly_check_nan_enabled()
    with ad.detect_anomaly(check_nan=False):
        assert ad.is_anomaly_enabled() and not ad.is_anomaly_check_nan_enabled()
        x = ad.tensor([0.0], requires_grad=True)
        ad.sqrt(x).sum().backward()  # inf gradient: no error without check_nan
        assert math.isinf(x.grad.item())
    assert not ad.is_anomaly_enabled() and ad.is_anomaly_check_nan_enabled()
    ad.set_anomaly_enabled(True)
    try:
        assert ad.is_anomaly_enabled()
        x = ad.tensor([0.0], requires_grad=True)
        with pytest.raises(RuntimeError, match="NaN or Inf"):
            ad.sqrt(x).sum().backward()
    finally:
        ad.set_anomaly_enabled(False)
    assert not ad.is_inference_mode_enabled()
    with ad.inference_mode():
        assert ad.is_inference_mode_enabled() and not ad.is_grad_enabled()
        with ad.inference_mode(False):
            assert not ad.is_inference_mode_enabled()
    assert not ad.is_inference_mode_enabled()

    @ad.inference_mode()
    def f():
        return ad.is_inference_mode_enabled()
    assert f() and not ad.is_inference_mode_enabled()


def test_post_accumulate_grad_hook_sees_the_accumulated_grad(torch):
    def run(lib):
        w = lib.tensor([1.0, 2.0], requires_grad=True)
        seen = []
        handle = w.register_post_accumulate_grad_hook(lambda p: seen.append(p.grad.tolist()))
        (w * w).sum().backward()
        (w * 3).sum().backward()
        handle.remove()
        (w * 3).sum().backward()
        return seen
    assert run(ad) == run(torch) == [[2.0, 4.0], [5.0, 7.0]]


def test_post_accumulate_grad_hook_refuses_non_leaves():
    x = ad.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="non-leaf"):
        (x * 2).register_post_accumulate_grad_hook(lambda p: None)
    with pytest.raises(RuntimeError, match="non-leaf"):
        ad.tensor([1.0]).register_post_accumulate_grad_hook(lambda p: None)


def test_small_tensor_habits_match_torch(torch):
    v = [[-1.5, 0.3], [0.7, -0.2]]
    x, tx = ad.tensor(v, requires_grad=True), torch.tensor(v, requires_grad=True)
    for name in ("byte", "char", "short"):
        a, b = getattr(ad.tensor([1.0, 300.0, -2.0]), name)(), getattr(
            torch.tensor([1.0, 300.0, -2.0]), name)()
        assert str(a.dtype).split(".")[1] == str(b.dtype).split(".")[1]
    assert x.is_cpu and tx.is_cpu and x.const_data_ptr() == x.data_ptr()
    w, tw = ad.tensor([0.25, 0.5], requires_grad=True), torch.tensor([0.25, 0.5],
                                                                       requires_grad=True)
    out, tout = x.hardshrink(0.5) * 2 + x.prelu(w), tx.hardshrink(0.5) * 2 + tx.prelu(tw)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-6)
    out.sum().backward()
    tout.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-6)
    with pytest.raises(RuntimeError, match="channels"):
        x.prelu(ad.tensor([1.0, 2.0, 3.0]))


def test_detach_function():
    x = ad.tensor([1.0], requires_grad=True)
    y = ad.detach(x * 2)
    assert not y.requires_grad and y.item() == 2.0
