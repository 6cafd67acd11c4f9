"""Error messages name the op, the shapes or dtypes involved, and the fix."""
import pytest

import autodiff as ad


def test_backward_of_a_non_scalar_without_gradient():
    y = ad.ones(3, 2, requires_grad=True) * 2
    with pytest.raises(RuntimeError,
                       match=r"only for scalar outputs.*\(3, 2\).*\.sum\(\)\.backward"):
        y.backward()


def test_backward_with_a_wrong_shape_gradient():
    y = ad.ones(3, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match=r"gradient has shape \(2,\).*\(3,\)"):
        y.backward(ad.ones(2))


def test_backward_on_a_tensor_that_does_not_require_grad():
    with pytest.raises(RuntimeError, match="does not require grad.*requires_grad=True"):
        ad.ones(1).backward()


def test_broadcast_mismatch_names_the_op_and_shapes():
    with pytest.raises(RuntimeError, match=r"mul: shapes \(3, 2\), \(4,\) cannot be broadcast"):
        ad.ones(3, 2) * ad.ones(4)


def test_matmul_mismatch():
    with pytest.raises(RuntimeError, match=r"matmul: shapes \(2, 3\) and \(4, 5\) are not aligned"):
        ad.ones(2, 3) @ ad.ones(4, 5)


def test_reshape_mismatch():
    with pytest.raises(RuntimeError,
                       match=r"reshape: shape \(4,\) is invalid.*\(2, 3\).*6 elements"):
        ad.ones(2, 3).reshape(4)


def test_dim_out_of_range():
    with pytest.raises(IndexError, match="sum: dim 2 is out of range.*2 dimension"):
        ad.ones(2, 3).sum(2)


def test_bool_of_a_vector():
    with pytest.raises(RuntimeError, match=r"\(3,\)"):
        if ad.ones(3):
            pass


def test_int_requires_grad():
    with pytest.raises(RuntimeError, match="int64"):
        ad.zeros(2, dtype=ad.int64, requires_grad=True)


def test_cat_shape_mismatch():
    with pytest.raises(RuntimeError,
                       match=r"cat: tensor 1 has shape \(2, 2\).*\(3, 2\) outside dim 0"
                             r"|cat: tensor 1 has shape"):
        ad.cat([ad.ones(3, 2), ad.ones(2, 3)], 0)


def test_bad_operand_type():
    with pytest.raises(TypeError, match="mul"):
        ad.ones(2) * "a"


def test_getitem_out_of_range_names_the_shape():
    with pytest.raises(IndexError, match=r"\(2, 3\)"):
        ad.ones(2, 3)[5]
