"""autodiff.compile over the op catalog: for every op, a function computing it, calling
backward with a fixed upstream gradient and returning the output and the inputs' gradients is
compiled and called with three sets of input values (same shapes). Every call's results must
equal the eager function's bit for bit; ops that graph-break are listed in GRAPH_BREAKS."""
import collections
import warnings

import numpy as np
import pytest
from hypothesis import Phase, find, settings, strategies as st
from hypothesis.errors import NoSuchExample

import autodiff as ad
from autodiff.compiler import GraphBreakWarning
from catalog import CATALOG, IN_PLACE
from test_catalog import domain_arrays


def _unique_ids(ops):
    """op.id, with '#k' added to the k-th repeat of an id (the catalog repeats a few)."""
    seen = collections.Counter()
    ids = []
    for op in ops:
        ids.append(op.id + (f"#{seen[op.id]}" if seen[op.id] else ""))
        seen[op.id] += 1
    return ids


IDS = dict(zip(map(id, CATALOG), _unique_ids(CATALOG)))

# Ops whose compiled step graph-breaks (runs eagerly, with one GraphBreakWarning), by id, with
# the reason. The test asserts that an op breaks exactly when it is listed, so a new break (a
# regression) or an op that starts compiling (take it off the list) is noticed.
IN_PLACE_REASON = ("an in-place op on a tensor computed in the step (x * 1 then the op, or the op "
                   "through a view of it): not replayable by design")
GENERATOR_REASON = ("passes generator=ad.Generator(0) made inside the step: eager starts that "
                    "generator anew each call, a replay would continue its sequence")
SEED_REASON = "calls ad.manual_seed inside the step (reseeding cannot be replayed)"
_READ = ("computes from input values in Python outside a recorded op ({}): a replay would "
         "reuse the traced values")

GRAPH_BREAKS = {
    **dict.fromkeys([IDS[id(op)] for op in IN_PLACE], IN_PLACE_REASON),
    **dict.fromkeys([  # the in-place ops of the family catalogs
        "addbmm_", "addmm_", "addmm_[through a view]", "addmv_", "addr_", "atan2_",
        "atan2_[through a view]", "baddbmm_", "cumprod_", "cumprod_[through a view]", "cumsum_",
        "cumsum_[through a view]", "digamma_", "erfc_", "erfinv_", "i0_", "igamma_", "igammac_",
        "lgamma_", "lgamma_[through a view]", "logit_", "logit_[through a view]", "mvlgamma_",
        "polygamma_", "renorm_", "renorm_[through a view]", "squeeze_", "squeeze_[on a view]",
        "t_", "t_[on a view]", "tan_", "tan_[through a view]", "transpose_", "tril_",
        "tril_[through a view]", "triu_", "triu_[through a view]", "unsqueeze_",
        "diagonal[zero_() through the view]", "diagonal[mul_() through the view]",
        "transpose_[a view of the base made before]",
    ], IN_PLACE_REASON),
    **dict.fromkeys(["F.dropout1d", "F.dropout2d", "F.dropout3d", "F.alpha_dropout",
                     "F.feature_alpha_dropout"], GENERATOR_REASON),
    **dict.fromkeys(["svd_lowrank", "pca_lowrank"], SEED_REASON),
    # reads: masks from comparisons (ops without a node, so not recorded), index tensors
    # converted with .astype, orders from argsort ... done on .data in the op's Python code
    "F.batch_norm[eval]": _READ.format("add"),
    "kthvalue": _READ.format("argsort"),
    "median[dim]": _READ.format("argsort"),
    "msort": _READ.format("argsort"),
    "nanmedian[dim]": _READ.format("argsort"),
    "nanquantile": _READ.format("argsort"),
    "nanquantile[a NaN]": _READ.format("argsort"),
    "quantile": _READ.format("argsort"),
    "F.embedding_bag[max]": _READ.format("astype()"),
    "F.embedding_bag[mean]": _READ.format("astype()"),
    "F.interpolate[nearest]": _READ.format("astype()"),
    "F.multilabel_margin_loss": _READ.format("astype()"),
    "fractional_max_pool2d": _READ.format("astype()"),
    "fractional_max_pool3d": _READ.format("astype()"),
    "index_add_": _READ.format("astype()"),
    "index_add_[through a view]": _READ.format("astype()"),
    "index_copy": _READ.format("astype()"),
    "index_copy_": _READ.format("astype()"),
    "index_fill[number value]": _READ.format("astype()"),
    "index_fill_": _READ.format("astype()"),
    "index_reduce[amax, amin]": _READ.format("astype()"),
    "index_reduce[prod, mean]": _READ.format("astype()"),
    "index_reduce_": _READ.format("astype()"),
    "index_select[0-d index]": _READ.format("astype()"),
    "ldexp[integer exponent]": _READ.format("astype()"),
    "linalg.lu": _READ.format("astype()"),
    "put": _READ.format("astype()"),
    "put[accumulate]": _READ.format("astype()"),
    "put_": _READ.format("astype()"),
    "scatter[reduce='add']": _READ.format("astype()"),
    "scatter[reduce='multiply']": _READ.format("astype()"),
    "scatter[src]": _READ.format("astype()"),
    "scatter[value]": _READ.format("astype()"),
    "scatter_": _READ.format("astype()"),
    "scatter_[through a view]": _READ.format("astype()"),
    "scatter_add": _READ.format("astype()"),
    "scatter_add_": _READ.format("astype()"),
    "scatter_reduce[amax, amin]": _READ.format("astype()"),
    "scatter_reduce_": _READ.format("astype()"),
    "take": _READ.format("astype()"),
    "linalg.lstsq": _READ.format("broadcast_to"),
    "fill_diagonal_": _READ.format("copyto"),
    "F.normalize[p=0.0]": _READ.format("count_nonzero"),
    "F.cosine_embedding_loss": _READ.format("equal"),
    "F.normalize[p=-1.5]": _READ.format("equal"),
    "sinc": _READ.format("equal"),
    "F.grid_sample[bicubic]": _READ.format("floor"),
    "F.grid_sample[bilinear]": _READ.format("floor"),
    "frexp": _READ.format("frexp"),
    "frexp[method, exponent -1]": _READ.format("frexp"),
    "F.elu": _READ.format("greater"),
    "F.leaky_relu": _READ.format("greater"),
    "masked_scatter": _READ.format("greater"),
    "masked_scatter_": _READ.format("greater"),
    "masked_select": _READ.format("greater"),
    "renorm": _READ.format("greater"),
    "renorm[p=inf]": _READ.format("greater"),
    "sinc[at 0]": _READ.format("greater"),
    "logit[eps]": _READ.format("greater_equal"),
    "F.multi_margin_loss": _READ.format("indexing .data"),
    "adaptive_max_pool1d": _READ.format("indexing .data"),
    "adaptive_max_pool2d": _READ.format("indexing .data"),
    "adaptive_max_pool3d": _READ.format("indexing .data"),
    "nanmean": _READ.format("isnan"),
    "nanmean[a NaN]": _READ.format("isnan"),
    "nansum": _READ.format("isnan"),
    "nansum[a NaN]": _READ.format("isnan"),
    "F.ctc_loss": _READ.format("isneginf"),
    "F.cosine_similarity": _READ.format("less"),
    "F.gaussian_nll_loss": _READ.format("less"),
    "F.max_unpool1d": _READ.format("less"),
    "F.max_unpool2d": _READ.format("less"),
    "F.max_unpool3d": _READ.format("less"),
    "cov[weights]": _READ.format("less"),
    "quantile[q tensor]": _READ.format("less"),
    "repeat_interleave": _READ.format("less"),
    "linalg.lu_factor": _READ.format("logical_or"),
    "linalg.lu_solve": _READ.format("logical_or"),
    "cummax": _READ.format("maximum"),
    "cummax[ties]": _READ.format("maximum"),
    "cummin": _READ.format("minimum"),
    "lu_unpack": _READ.format("minimum"),
    "mode": _READ.format("moveaxis"),
    "mode[a repeated value]": _READ.format("moveaxis"),
    "F.binary_cross_entropy": _READ.format("nanmin"),
    "sort": _READ.format("negative"),
    "topk": _READ.format("negative"),
    "F.hinge_embedding_loss": _READ.format("not_equal"),
    "F.nll_loss": _READ.format("not_equal"),
    "F.grid_sample[nearest]": _READ.format("rint"),
    "logdet": _READ.format("slogdet"),
    "slogdet": _READ.format("slogdet"),
    "masked_scatter_[through a view]": _READ.format("greater"),
    "index_add[Tensor.index_add, PyTorch's form]": _READ.format("astype()"),
    "index_add[Tensor.index_add, last dim]": _READ.format("astype()"),
    "index_fill[0-d tensor value, repeated and negative indices]": _READ.format("astype()"),
    "take_along_dim[broadcast, negative indices]": _READ.format("astype()"),
    "scatter_reduce[sum, prod, mean]": _READ.format("astype()"),
    "scatter_reduce[prod with a zero]": _READ.format("astype()"),
    "F.embedding_bag[sum, per_sample_weights]": _READ.format("astype()"),
    "F.interpolate[nearest-exact]": _READ.format("astype()"),
    "fill_diagonal_[wrap, through a view]": _READ.format("copyto"),
    "F.instance_norm[running stats]": _READ.format("add"),
    "F.scaled_dot_product_attention[bool mask with a fully masked row]":
        _READ.format("logical_or"),
    "F.scaled_dot_product_attention[is_causal, scale]": _READ.format("logical_or"),
    "attention.scaled_dot_product_attention[float mask, broadcast]": _READ.format("isneginf"),
    "F.multi_head_attention_forward[separate projections, bias_kv, zero attn, padding mask]":
        _READ.format("isneginf"),
}


@st.composite
def _case(draw, op):
    shapes = op.shapes(draw)
    params = op.params(draw, shapes) if op.params else {}
    return shapes, params, draw(st.integers(0, 2**32 - 1))


def _nontrivial(case):
    """At least one input of several elements (a 0-d or one-element example replays little)."""
    return any(int(np.prod(s)) > 1 for s in case[0])


_DRAW = settings(database=None, derandomize=True, phases=[Phase.generate], max_examples=30)


def draw_one(op):
    """One deterministic example of op (shapes, params, seed): the first one drawn with an
    input of several elements, else the first one drawn."""
    try:
        return find(_case(op), _nontrivial, settings=_DRAW)
    except NoSuchExample:
        return find(_case(op), lambda _: True, settings=_DRAW)


def _make_step(op, n_inputs, params, constants, upstream):
    """The function compiled: op's output and its free inputs' gradients (read, then reset to
    None) for a fixed upstream gradient; the op's constant inputs are fixed tensors."""
    def step(*xs):
        free = iter(xs)
        args = [constants[i] if i in constants else next(free) for i in range(n_inputs)]
        out = op.fn(*args, **params)
        out.backward(upstream)
        grads = tuple(x.grad for x in xs)
        for x in xs:
            x.grad = None
        return out, grads
    return step


def _free(op, arrays):
    return [ad.tensor(a, requires_grad=True) for i, a in enumerate(arrays)
            if i not in op.constants]


def _bits(x):
    """An array's dtype, shape and bytes: equal exactly when two results are bit for bit."""
    if x is None:
        return None
    arr = x.data if isinstance(x, ad.Tensor) else np.asarray(x)
    return arr.dtype.str, arr.shape, np.ascontiguousarray(arr).tobytes()


def _result_bits(result):
    out, grads = result
    return _bits(out), tuple(_bits(g) for g in grads)


def _output(op, arrays, constants, params):
    with ad.no_grad():
        return op.fn(*[constants[i] if i in constants else ad.tensor(a)
                       for i, a in enumerate(arrays)], **params)


def _more_values(op, shapes, seed, constants, params, out_shape):
    """Two more sets of input values whose output has out_shape (a boolean mask's selection
    depends on the values; the first seeds that keep the shape are taken)."""
    found = []
    for k in range(1, 40):
        arrays = domain_arrays(op, shapes, seed + k)
        if _output(op, arrays, constants, params).shape == out_shape:
            found.append(arrays)
            if len(found) == 2:
                return found
    raise AssertionError(f"{op.id}: no other input values give an output of shape {out_shape}")


@pytest.mark.parametrize("op", CATALOG, ids=[IDS[id(op)] for op in CATALOG])
def test_compiled_step_equals_eager_bit_for_bit(op):
    shapes, params, seed = draw_one(op)
    first = domain_arrays(op, shapes, seed)
    constants = {i: ad.tensor(first[i]) for i in op.constants}
    probe = _output(op, first, constants, params)
    values = [first] + _more_values(op, shapes, seed, constants, params, probe.shape)
    rng = np.random.default_rng(seed)
    upstream = ad.tensor(rng.uniform(-1, 1, probe.shape).astype(probe.dtype))
    step = _make_step(op, len(shapes), params, constants, upstream)
    compiled = ad.compile(step)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for k, arrays in enumerate(values):
            got = _result_bits(compiled(*_free(op, arrays)))
            expected = _result_bits(step(*_free(op, arrays)))
            assert got[0] == expected[0], f"call {k}: the output differs from eager"
            for i, (g, e) in enumerate(zip(got[1], expected[1])):
                assert g == e, f"call {k}: the gradient of input {i} differs from eager"
    breaks = [str(w.message) for w in caught if issubclass(w.category, GraphBreakWarning)]
    if IDS[id(op)] in GRAPH_BREAKS:
        assert len(breaks) == 1, f"expected one graph break ({GRAPH_BREAKS[IDS[id(op)]]})"
        assert compiled.stats == {"traces": 1, "replays": 0, "eager": 2, "graph_breaks": 1}
    else:
        assert not breaks, breaks[0]
        assert compiled.stats == {"traces": 1, "replays": 2, "eager": 0, "graph_breaks": 0}


def test_graph_break_list_names_catalog_ops():
    assert set(GRAPH_BREAKS) <= set(IDS.values()), sorted(set(GRAPH_BREAKS) - set(IDS.values()))
    assert all(isinstance(r, str) and r for r in GRAPH_BREAKS.values())
