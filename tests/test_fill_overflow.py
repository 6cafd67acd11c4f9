"""Numbers written into tensors of another dtype (full, full_like, fill_, masked_fill and its
in-place form) convert as PyTorch's checked conversion does: truncation toward zero for
integers, negatives wrapping in uint8 down to -255, and a RuntimeError for NaN, infinities and
values the dtype cannot hold - never a silent INT64_MIN.

Tests taking `lib` run with autodiff and with torch (skipped without it): one body, PyTorch's
answer written out in it.
"""
import pytest

import autodiff as ad
import nn
from _torch import require_torch


@pytest.fixture(params=["autodiff", "torch"])
def lib(request):
    return ad if request.param == "autodiff" else require_torch()


def _writers(lib):
    mask = lib.tensor([True, False])
    return {
        "full": lambda dt, v: lib.full((2,), v, dtype=dt),
        "full_like": lambda dt, v: lib.full_like(lib.zeros(2, dtype=dt), v),
        "fill_": lambda dt, v: lib.zeros(2, dtype=dt).fill_(v),
        "masked_fill": lambda dt, v: lib.zeros(2, dtype=dt).masked_fill(mask, v),
        "masked_fill_": lambda dt, v: lib.zeros(2, dtype=dt).masked_fill_(mask, v),
    }


CONVERTS = [  # (dtype, value, the first element written)
    ("int64", 2.7, 2), ("int64", -2.7, -2), ("int64", 2 ** 63 - 1, 2 ** 63 - 1),
    ("int64", -2 ** 63, -2 ** 63), ("int8", 127, 127), ("uint8", -1, 255), ("uint8", -255, 1),
    ("float16", float("inf"), float("inf")), ("float32", -3.5, -3.5), ("bool", 5, True),
]

OVERFLOWS = [
    ("int64", float("-inf")), ("int32", float("nan")), ("int64", 1e20), ("int32", 2 ** 40),
    ("int8", 200), ("int8", -129.5), ("uint8", 300), ("uint8", -256), ("float16", 70000.0),
    ("float32", 1e40),
]


@pytest.mark.parametrize("writer", ["full", "full_like", "fill_", "masked_fill", "masked_fill_"])
@pytest.mark.parametrize("dtype,value,first", CONVERTS)
def test_numbers_convert_as_torch(lib, writer, dtype, value, first):
    out = _writers(lib)[writer](getattr(lib, dtype), value)
    assert out.tolist()[0] == first


@pytest.mark.parametrize("writer", ["full", "full_like", "fill_", "masked_fill", "masked_fill_"])
@pytest.mark.parametrize("dtype,value", OVERFLOWS)
def test_values_the_dtype_cannot_hold_raise(lib, writer, dtype, value):
    with pytest.raises(RuntimeError, match="cannot be converted to .* without overflow"):
        _writers(lib)[writer](getattr(lib, dtype), value)


def test_the_message_names_the_op_value_and_dtype():
    with pytest.raises(RuntimeError, match=r"full: value -inf cannot be converted to int64 "
                                           r"without overflow; pick a value the dtype holds"):
        ad.full((2,), float("-inf"), dtype=ad.int64)


def test_an_integer_causal_mask_is_refused_not_silently_wrong(lib):
    """generate_square_subsequent_mask fills -inf: an integer dtype cannot hold it."""
    transformer = nn.Transformer if lib is ad else lib.nn.Transformer
    with pytest.raises(RuntimeError, match="without overflow"):
        transformer.generate_square_subsequent_mask(3, dtype=lib.int64)
    mask = transformer.generate_square_subsequent_mask(3)
    assert mask.tolist() == [[0.0, float("-inf"), float("-inf")], [0.0, 0.0, float("-inf")],
                             [0.0, 0.0, 0.0]]
