"""PyTorch cross-checks of nn's lookups (embedding, embedding_bag, one_hot) and distances
(cosine_similarity, pairwise_distance, pdist): values, gradients, in-place renormalisation,
module printouts and state_dicts, and errors."""
import math

import numpy as np
import pytest

import autodiff as ad
import nn
import nn.functional as F
from _torch import assert_close, require_torch, run_outputs, same_error, to_numpy

torch = require_torch()
TF = torch.nn.functional


def funcs(lib):
    return TF if lib is torch else F


def mods(lib):
    return torch.nn if lib is torch else nn


def table(n=6, d=3, seed=0):
    return np.random.default_rng(seed).normal(size=(n, d))


IDS = np.array([[1, 2, 4], [4, 4, 0], [5, 1, 4]])


# --- embedding -------------------------------------------------------------------------------

EMBEDDING = {
    "plain": {},
    "padding_idx": {"padding_idx": 4},
    "negative padding_idx": {"padding_idx": -2},
    "scale_grad_by_freq": {"scale_grad_by_freq": True},
    "both": {"padding_idx": 1, "scale_grad_by_freq": True},
}


@pytest.mark.parametrize("name", EMBEDDING)
def test_embedding_matches_torch(name):
    kw = EMBEDDING[name]
    # torch's second derivative drops the frequency scaling (its double backward gathers the
    # unscaled vector); ours differentiates the scaled first derivative, so the orders agree
    run_outputs(torch, lambda lib, w, ids: funcs(lib).embedding(ids, w, **kw), table(), IDS,
                second_order="scale_grad_by_freq" not in kw)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf])
def test_embedding_max_norm_renormalizes_the_referenced_rows_in_place(norm_type):
    w = table(seed=1) * 2
    ids = np.array([0, 2, 2, 5])
    tw, aw = torch.tensor(w, requires_grad=True), ad.tensor(w, requires_grad=True)
    version = aw._version
    tout = TF.embedding(torch.tensor(ids), tw, max_norm=1.5, norm_type=norm_type)
    aout = F.embedding(ad.tensor(ids), aw, max_norm=1.5, norm_type=norm_type)
    assert_close(aw, tw)  # the weight itself changed, as torch's
    assert aw._version == version + 1
    assert not np.allclose(aw.data[[0, 2, 5]], w[[0, 2, 5]])
    np.testing.assert_array_equal(aw.data[[1, 3, 4]], w[[1, 3, 4]])
    assert_close(aout, tout)
    g = np.random.default_rng(2).normal(size=tout.shape)
    tout.backward(torch.tensor(g))
    aout.backward(ad.tensor(g))
    assert_close(aw.grad, tw.grad)
    # a module with max_norm, through a state_dict from torch
    t = torch.nn.Embedding(6, 3, max_norm=1.0, norm_type=norm_type).double()
    m = nn.Embedding(6, 3, max_norm=1.0, norm_type=norm_type).double()
    m.load_state_dict({"weight": to_numpy(t.weight)})
    assert_close(m(ad.tensor(IDS)), t(torch.tensor(IDS)))
    assert_close(m.weight, t.weight)


def test_embedding_module_state_dict_repr_and_from_pretrained():
    for args, kw in (((5, 3), {}), ((5, 3), {"padding_idx": -1, "max_norm": 1.0,
                                              "norm_type": 1.0, "scale_grad_by_freq": True}),
                     ((7, 2), {"max_norm": 1}), ((4, 4), {"padding_idx": 0})):
        ours, theirs = nn.Embedding(*args, **kw), torch.nn.Embedding(*args, **kw)
        assert repr(ours) == repr(theirs)
        assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == \
            {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    m = nn.Embedding(5, 3, padding_idx=2)
    assert not m.weight.data[2].any() and m.weight.data.any()
    t = torch.nn.Embedding(6, 3, padding_idx=2, scale_grad_by_freq=True).double()
    m = nn.Embedding(6, 3, padding_idx=2, scale_grad_by_freq=True).double()
    m.load_state_dict({"weight": to_numpy(t.weight)})
    run_outputs(torch, lambda lib, ids: (m if lib is ad else t)(ids), IDS)
    out, tout = m(ad.tensor(IDS)), t(torch.tensor(IDS))
    out.sum().backward()
    tout.sum().backward()
    assert_close(m.weight.grad, t.weight.grad)

    pre = table()
    for freeze in (True, False):
        ours = nn.Embedding.from_pretrained(ad.tensor(pre), freeze=freeze, padding_idx=1)
        theirs = torch.nn.Embedding.from_pretrained(torch.tensor(pre), freeze=freeze,
                                                    padding_idx=1)
        assert repr(ours) == repr(theirs)
        assert ours.weight.requires_grad == theirs.weight.requires_grad == (not freeze)
        assert_close(ours(ad.tensor(IDS)), theirs(torch.tensor(IDS)))
        np.testing.assert_array_equal(ours.weight.data[1], pre[1])  # (not zeroed)


EMBEDDING_ERRORS = [
    lambda lib: funcs(lib).embedding(lib.tensor([1]), lib.ones(5, 3), padding_idx=5),
    lambda lib: funcs(lib).embedding(lib.tensor([1]), lib.ones(5, 3), padding_idx=-6),
    lambda lib: funcs(lib).embedding(lib.tensor([5]), lib.ones(5, 3)),
    lambda lib: funcs(lib).embedding(lib.tensor([-1]), lib.ones(5, 3)),
    lambda lib: funcs(lib).embedding(lib.tensor([1]), lib.ones(5)),
    lambda lib: mods(lib).Embedding(5, 3, padding_idx=5),
    lambda lib: mods(lib).Embedding(5, 3, _weight=lib.ones(4, 3)),
    lambda lib: mods(lib).Embedding.from_pretrained(lib.ones(5)),
    lambda lib: mods(lib).EmbeddingBag(5, 3, padding_idx=-6),
    lambda lib: mods(lib).EmbeddingBag.from_pretrained(lib.ones(5)),
]


@pytest.mark.parametrize("case", range(len(EMBEDDING_ERRORS)))
def test_embedding_errors_have_torch_classes(case):
    same_error(torch, EMBEDDING_ERRORS[case])


def test_sparse_gradients_are_refused_naming_the_dense_default():
    for call in (lambda: F.embedding(ad.tensor([1]), ad.ones(5, 3), sparse=True),
                 lambda: nn.Embedding(5, 3, sparse=True),
                 lambda: nn.EmbeddingBag(5, 3, sparse=True),
                 lambda: F.embedding_bag(ad.tensor([1]), ad.ones(5, 3), ad.tensor([0]),
                                         sparse=True)):
        with pytest.raises(ValueError, match="sparse=True.*sparse=False"):
            call()
    with pytest.raises(ValueError, match="max mode does not support sparse"):
        F.embedding_bag(ad.tensor([1]), ad.ones(5, 3), ad.tensor([0]), mode="max",
                        sparse=True)


# --- embedding_bag ---------------------------------------------------------------------------

BAG_IDS = np.array([1, 2, 4, 5, 4, 3, 2, 0, 4])
BAGS = {  # name -> (input, offsets, keyword arguments)
    "sum": (BAG_IDS, [0, 4, 4, 7], {"mode": "sum"}),
    "mean": (BAG_IDS, [0, 4, 4, 7], {}),
    "max": (BAG_IDS, [0, 4, 4, 7], {"mode": "max"}),
    "include_last_offset": (BAG_IDS, [0, 2, 6, 8], {"mode": "sum",
                                                    "include_last_offset": True}),
    "2-D": (IDS, None, {"mode": "mean"}),
    "2-D max": (IDS, None, {"mode": "max"}),
    "padding_idx mean": (BAG_IDS, [0, 3, 6], {"padding_idx": 4}),
    "padding_idx max": (np.array([4, 4, 1, 2]), [0, 2], {"mode": "max", "padding_idx": -2}),
    "padding_idx sum": (BAG_IDS, [0, 3], {"mode": "sum", "padding_idx": 2}),
    "empty input": (np.array([], np.int64), [0, 0], {"mode": "sum"}),
    "int32": (BAG_IDS.astype(np.int32), [0, 5], {"mode": "sum"}),
}


@pytest.mark.parametrize("name", BAGS)
def test_embedding_bag_matches_torch(name):
    ids, offsets, kw = BAGS[name]
    offsets = None if offsets is None else np.array(offsets, ids.dtype)

    def fn(lib, w, ids):
        return funcs(lib).embedding_bag(ids, w, None if offsets is None else
                                        lib.tensor(offsets), **kw)
    run_outputs(torch, fn, table(), ids)  # (torch has no second order here; the catalog does)


@pytest.mark.parametrize("shape", [(9,), (3, 3)])
def test_embedding_bag_per_sample_weights_match_torch(shape):
    ids = BAG_IDS.reshape(shape)
    psw = np.random.default_rng(3).normal(size=shape)
    offsets = np.array([0, 2, 2, 5]) if len(shape) == 1 else None

    def fn(lib, w, psw, ids):
        return funcs(lib).embedding_bag(ids, w, None if offsets is None else lib.tensor(offsets),
                                        mode="sum", per_sample_weights=psw, padding_idx=3)
    run_outputs(torch, fn, table(), psw, ids)


def test_embedding_bag_max_norm_renormalizes_in_place():
    w = table(seed=4) * 3
    tw, aw = torch.tensor(w), ad.tensor(w)
    ids, offsets = BAG_IDS[:5], np.array([0, 2])
    tout = TF.embedding_bag(torch.tensor(ids), tw, torch.tensor(offsets), max_norm=1.0)
    aout = F.embedding_bag(ad.tensor(ids), aw, ad.tensor(offsets), max_norm=1.0)
    assert_close(aout, tout)
    assert_close(aw, tw)
    assert not np.allclose(aw.data, w)


def test_embedding_bag_module_matches_torch():
    for kw in ({}, {"mode": "sum", "padding_idx": 2}, {"mode": "max", "max_norm": 2.0,
                                                       "norm_type": 1.0},
               {"mode": "sum", "include_last_offset": True}):
        ours, theirs = nn.EmbeddingBag(6, 3, **kw), torch.nn.EmbeddingBag(6, 3, **kw)
        assert repr(ours) == repr(theirs)
        kw = dict(kw, scale_grad_by_freq=True)
        assert repr(nn.EmbeddingBag(6, 3, **kw)) == repr(torch.nn.EmbeddingBag(6, 3, **kw))
        theirs = theirs.double()
        ours = ours.double()
        ours.load_state_dict({"weight": to_numpy(theirs.weight)})
        offsets, ids = np.array([0, 3, 3, 6]), BAG_IDS
        out = ours(ad.tensor(ids), ad.tensor(offsets))
        tout = theirs(torch.tensor(ids), torch.tensor(offsets))
        assert_close(out, tout)
        out.sum().backward()
        tout.sum().backward()
        assert_close(ours.weight.grad, theirs.weight.grad)
    m = nn.EmbeddingBag(6, 3, mode="sum")
    psw = ad.ones(2, 3)
    assert m(ad.tensor(IDS[:2]), per_sample_weights=psw).shape == (2, 3)
    pre = table()
    ours = nn.EmbeddingBag.from_pretrained(ad.tensor(pre), mode="max")
    theirs = torch.nn.EmbeddingBag.from_pretrained(torch.tensor(pre), mode="max")
    assert repr(ours) == repr(theirs) and not ours.weight.requires_grad
    assert_close(ours(ad.tensor(IDS)), theirs(torch.tensor(IDS)))


BAG_ERRORS = [
    lambda lib: funcs(lib).embedding_bag(lib.tensor(IDS), lib.ones(6, 3), lib.tensor([0, 1])),
    lambda lib: funcs(lib).embedding_bag(lib.tensor(BAG_IDS), lib.ones(6, 3)),
    lambda lib: funcs(lib).embedding_bag(lib.tensor(BAG_IDS), lib.ones(6, 3),
                                         lib.tensor([[0]])),
    lambda lib: funcs(lib).embedding_bag(lib.tensor(IDS[None]), lib.ones(6, 3)),
    lambda lib: funcs(lib).embedding_bag(lib.tensor(IDS), lib.ones(6, 3), mode="median"),
    lambda lib: funcs(lib).embedding_bag(lib.tensor(IDS), lib.ones(6, 3), mode="max",
                                         scale_grad_by_freq=True),
    lambda lib: funcs(lib).embedding_bag(lib.tensor(IDS), lib.ones(6, 3),
                                         per_sample_weights=lib.ones(3, 3)),
    lambda lib: funcs(lib).embedding_bag(lib.tensor(IDS), lib.ones(6, 3), mode="sum",
                                         per_sample_weights=lib.ones(9)),
    lambda lib: funcs(lib).embedding_bag(lib.tensor(BAG_IDS), lib.ones(6, 3),
                                         lib.tensor([1, 4])),
    lambda lib: funcs(lib).embedding_bag(lib.tensor(BAG_IDS), lib.ones(6, 3),
                                         lib.tensor([0, 10])),
    lambda lib: funcs(lib).embedding_bag(lib.tensor(BAG_IDS), lib.ones(6, 3),
                                         lib.tensor([0, 4]), padding_idx=6),
    lambda lib: funcs(lib).embedding_bag(lib.tensor([7]), lib.ones(6, 3), lib.tensor([0])),
    lambda lib: funcs(lib).embedding_bag(lib.tensor(IDS), lib.ones(6)),
]


@pytest.mark.parametrize("case", range(len(BAG_ERRORS)))
def test_embedding_bag_errors_have_torch_classes(case):
    same_error(torch, BAG_ERRORS[case])


@pytest.mark.parametrize("mode", ["sum", "mean"])
def test_embedding_bag_scales_gradients_by_the_frequency_of_each_id(mode):
    # torch 2.13's CPU embedding_bag miscounts (it divides row 3's gradient by 2 for the ids
    # [3, 2, 2, 0], which hold one 3); ours divides each row's gradient by its count in the
    # batch, as torch's F.embedding does: compared with the bags composed from that
    ids, offsets = np.array([3, 2, 2, 0, 4, 2, 5]), [0, 4, 4]

    def fn(lib, w):
        f = funcs(lib)
        if lib is ad:
            return f.embedding_bag(lib.tensor(ids), w, lib.tensor(offsets), mode=mode,
                                   scale_grad_by_freq=True)
        rows = f.embedding(lib.tensor(ids), w, scale_grad_by_freq=True)
        reduce = (lambda r: r.sum(0)) if mode == "sum" else (lambda r: r.mean(0))
        return lib.stack([reduce(rows[:4]), lib.zeros(3, dtype=w.dtype), reduce(rows[4:])])
    run_outputs(torch, fn, table())


def test_embedding_bag_refuses_decreasing_offsets():
    # (torch reads past the bag boundaries and returns arbitrary rows)
    with pytest.raises(RuntimeError, match="non-decreasing"):
        F.embedding_bag(ad.tensor(BAG_IDS), ad.ones(6, 3), ad.tensor([0, 5, 4]))


# --- one_hot ---------------------------------------------------------------------------------

def test_one_hot_matches_torch():
    for labels, n in ((np.array([0, 2, 1]), -1), (np.array([[1, 0], [3, 3]]), 5),
                      (np.array([], np.int64), 4), (np.array(2), 3)):
        ours, theirs = F.one_hot(ad.tensor(labels), n), TF.one_hot(torch.tensor(labels), n)
        assert_close(ours, theirs)
    same_error(torch, lambda lib: funcs(lib).one_hot(lib.tensor([], dtype=lib.int64)))


# --- distances -------------------------------------------------------------------------------

COSINE = {  # name -> (x1, x2, keyword arguments)
    "rows": ((4, 5), (4, 5), {}),
    "dim 0": ((4, 5), (4, 5), {"dim": 0}),
    "broadcast": ((3, 1, 4), (2, 4), {"dim": -1}),
    "broadcast along dim": ((3, 1), (3, 4), {"dim": 1}),
    "1-D": ((5,), (5,), {"dim": 0}),
    "eps": ((4, 5), (4, 5), {"eps": 0.5}),
}


@pytest.mark.parametrize("name", COSINE)
def test_cosine_similarity_matches_torch(name):
    s1, s2, kw = COSINE[name]
    rng = np.random.default_rng(0)
    x1, x2 = rng.normal(size=s1), rng.normal(size=s2)
    run_outputs(torch, lambda lib, a, b: funcs(lib).cosine_similarity(a, b, **kw), x1, x2,
                second_order=True)
    run_outputs(torch, lambda lib, a, b: funcs(lib).cosine_similarity(a, b, **kw),
                x1.astype(np.float32), x2.astype(np.float32))


def test_cosine_similarity_clamps_each_norm_outside_the_graph():
    # tiny and zero vectors: torch 2.13 clamps ||x1|| and ||x2|| separately, at eps, and
    # differentiates the unclamped norms
    x1 = np.array([[1e-10, 0.0], [0.0, 0.0], [1e-5, 0.0], [3.0, 4.0]])
    x2 = np.array([[1.0, 1.0], [1.0, 2.0], [1e-5, 1e-5], [1e-9, 2e-9]])
    for eps in (1e-8, 1e-3):
        run_outputs(torch, lambda lib, a, b: funcs(lib).cosine_similarity(a, b, eps=eps),
                    x1, x2)
        # (torch's second derivative of the norm of a zero vector is NaN; ours is finite)
        run_outputs(torch, lambda lib, a, b: funcs(lib).cosine_similarity(a, b, eps=eps),
                    x1[[0, 2, 3]], x2[[0, 2, 3]], second_order=True)
    huge = np.full((1, 2), 1e200)
    run_outputs(torch, lambda lib, a: funcs(lib).cosine_similarity(a, a * 2.0), huge)


def test_cosine_similarity_dtypes_as_torch():
    ints, floats = np.ones((2, 3), np.int64), np.ones((2, 3), np.float32)
    ours = F.cosine_similarity(ad.tensor(ints), ad.tensor(floats))
    theirs = TF.cosine_similarity(torch.tensor(ints), torch.tensor(floats))
    assert_close(ours, theirs)
    same_error(torch, lambda lib: funcs(lib).cosine_similarity(lib.tensor(ints),
                                                               lib.tensor(ints)))
    same_error(torch, lambda lib: funcs(lib).cosine_similarity(lib.ones(2, 3), lib.ones(2, 4)))


PAIRWISE = [(2.0, {}), (1.0, {}), (3.0, {"keepdim": True}), (math.inf, {}), (0.0, {}),
            (-1.0, {}), (0.5, {"eps": 1e-3}), (-math.inf, {"keepdim": True})]


@pytest.mark.parametrize("case", range(len(PAIRWISE)))
def test_pairwise_distance_matches_torch(case):
    p, kw = PAIRWISE[case]
    rng = np.random.default_rng(case)
    x1, x2 = rng.normal(size=(4, 5)), rng.normal(size=(4, 5))
    run_outputs(torch, lambda lib, a, b: funcs(lib).pairwise_distance(a, b, p, **kw), x1, x2,
                second_order=math.isfinite(p) and p >= 1)


def test_pairwise_distance_shapes_as_torch():
    rng = np.random.default_rng(5)
    for s1, s2 in (((3, 2), (2,)), ((2,), (2,)), ((), ()), ((2, 1, 3), (4, 3)), ((3, 2), (3, 2))):
        x1, x2 = rng.normal(size=s1), rng.normal(size=s2)
        for keepdim in (False, True):
            run_outputs(torch, lambda lib, a, b: funcs(lib).pairwise_distance(
                a, b, keepdim=keepdim), x1, x2)
    same = rng.normal(size=(3, 4))  # a zero difference: the eps keeps the norm off its kink
    run_outputs(torch, lambda lib, a: funcs(lib).pairwise_distance(a, a * 1.0), same)


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, math.inf, 0.0, 0.5])
def test_pdist_matches_torch(p):
    x = np.random.default_rng(6).normal(size=(5, 3))
    run_outputs(torch, lambda lib, a: funcs(lib).pdist(a, p), x)


def test_pdist_edges_and_errors_as_torch():
    run_outputs(torch, lambda lib, a: funcs(lib).pdist(a), np.ones((1, 3)))
    same_error(torch, lambda lib: funcs(lib).pdist(lib.ones(3)))
    same_error(torch, lambda lib: funcs(lib).pdist(lib.ones(3, 2), -1.0))


def test_distance_modules_as_torch():
    for make in (lambda m: m.CosineSimilarity(), lambda m: m.CosineSimilarity(0, 1e-3),
                 lambda m: m.PairwiseDistance(), lambda m: m.PairwiseDistance(1.0, 1e-3, True)):
        ours, theirs = make(nn), make(torch.nn)
        assert repr(ours) == repr(theirs)
        rng = np.random.default_rng(7)
        run_outputs(torch, lambda lib, a, b: (ours if lib is ad else theirs)(a, b),
                    rng.normal(size=(3, 4)), rng.normal(size=(3, 4)))
    assert nn.PairwiseDistance(3.0).norm == torch.nn.PairwiseDistance(3.0).norm
