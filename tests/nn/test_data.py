"""nn.data: Dataset, TensorDataset, Subset, random_split, DataLoader, default_collate."""
import collections
import warnings

import numpy as np
import pytest
from hypothesis import given, strategies as st

import autodiff as ad
from nn.data import DataLoader, Dataset, Subset, TensorDataset, default_collate, random_split


def arange_dataset(n, width=3):
    """TensorDataset whose sample i is (row [i, i, ...] float32, label i int64)."""
    X = np.repeat(np.arange(n, dtype=np.float32)[:, None], width, axis=1)
    return TensorDataset(ad.tensor(X), ad.tensor(np.arange(n, dtype=np.int64)))


class PairDataset(Dataset):
    """Plain (non-Tensor) dataset: sample i = (float32 Tensor of shape (2,), Python int i)."""

    def __init__(self, n):
        self.n = n

    def __getitem__(self, i):
        return ad.tensor(np.array([i, -i], dtype=np.float32)), i

    def __len__(self):
        return self.n


def labels_of(loader):
    return [b[1].numpy().tolist() for b in loader]


# ---- Dataset, TensorDataset, Subset -------------------------------------------------------

def test_dataset_is_abstract():
    class Empty(Dataset):
        pass
    with pytest.raises(NotImplementedError, match="Empty must define __getitem__"):
        Empty()[0]
    with pytest.raises(NotImplementedError, match="__len__"):
        len(Empty())


def test_tensor_dataset_items_and_len():
    ds = arange_dataset(5)
    assert len(ds) == 5
    x, y = ds[3]
    assert x.numpy().tolist() == [3.0, 3.0, 3.0] and int(y.numpy()) == 3
    assert x.dtype == ad.float32 and y.dtype == ad.int64


def test_tensor_dataset_accepts_numpy_arrays():
    ds = TensorDataset(np.zeros((4, 2), np.float32), np.arange(4))
    assert isinstance(ds.tensors[0], ad.Tensor) and len(ds) == 4


def test_tensor_dataset_size_mismatch_names_sizes():
    with pytest.raises(ValueError, match=r"same size in dim 0.*\[4, 3\]"):
        TensorDataset(ad.tensor(np.zeros((4, 2))), ad.tensor(np.zeros(3)))


def test_tensor_dataset_rejects_no_tensors_0d_and_other_types():
    with pytest.raises(ValueError, match="at least one tensor"):
        TensorDataset()
    with pytest.raises(ValueError, match="tensor 0 is 0-d"):
        TensorDataset(ad.tensor(np.float32(1.0)))
    with pytest.raises(TypeError, match="argument 1 must be a Tensor.*list"):
        TensorDataset(ad.tensor(np.zeros(2)), [1, 2])


def test_subset_maps_indices_including_lists():
    ds = arange_dataset(10)
    sub = Subset(ds, [7, 2, 5])
    assert len(sub) == 3
    assert int(sub[1][1].numpy()) == 2
    assert [int(s[1].numpy()) for s in sub[[0, 2]]] == [7, 5]


# ---- random_split ---------------------------------------------------------------------------

def test_random_split_int_lengths_are_disjoint_and_cover():
    parts = random_split(arange_dataset(10), [3, 7], generator=ad.Generator().manual_seed(0))
    assert [len(p) for p in parts] == [3, 7]
    seen = [int(p[i][1].numpy()) for p in parts for i in range(len(p))]
    assert sorted(seen) == list(range(10))


@pytest.mark.parametrize("n, fractions, sizes", [
    (10, [0.8, 0.2], [8, 2]),
    (5, [0.5, 0.5], [3, 2]),          # remainder goes round-robin from the first subset
    (10, [1 / 3, 1 / 3, 1 / 3], [4, 3, 3]),
    (7, [0.7, 0.2, 0.1], [5, 2, 0]),  # floors 4, 1, 0; remainder 2 -> first two (warns)
])
def test_random_split_fractions(n, fractions, sizes):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parts = random_split(arange_dataset(n), fractions, generator=ad.Generator().manual_seed(1))
    assert [len(p) for p in parts] == sizes
    assert sorted(i for p in parts for i in p.indices) == list(range(n))


def test_random_split_warns_on_empty_fraction():
    with pytest.warns(UserWarning, match="empty subset"):
        parts = random_split(arange_dataset(2), [0.9, 0.05, 0.05])
    assert sum(len(p) for p in parts) == 2


@pytest.mark.parametrize("lengths, match", [
    ([3, 3], r"sum to 6 but the dataset has 10"),
    ([0.5, 0.4], r"fractions must sum to 1"),
    ([-1, 11], r"non-negative"),
    ([], r"empty"),
    ([True, 9], r"non-negative ints or fractions"),
])
def test_random_split_bad_lengths(lengths, match):
    with pytest.raises(ValueError, match=match):
        random_split(arange_dataset(10), lengths)


def test_random_split_seeded_is_deterministic_and_uses_default_generator():
    ds = arange_dataset(20)
    a = random_split(ds, [10, 10], generator=ad.Generator().manual_seed(5))
    b = random_split(ds, [10, 10], generator=ad.Generator().manual_seed(5))
    assert a[0].indices == b[0].indices
    ad.manual_seed(3)
    c = random_split(ds, [10, 10])
    ad.manual_seed(3)
    d = random_split(ds, [10, 10])
    assert c[0].indices == d[0].indices


# ---- DataLoader: batching -------------------------------------------------------------------

@pytest.mark.parametrize("n, bs, drop_last, n_batches, last", [
    (10, 3, False, 4, 1), (10, 3, True, 3, 3), (9, 3, False, 3, 3), (9, 3, True, 3, 3),
    (2, 5, False, 1, 2), (2, 5, True, 0, None), (0, 4, False, 0, None),
])
def test_len_and_batch_sizes(n, bs, drop_last, n_batches, last):
    loader = DataLoader(arange_dataset(n), batch_size=bs, drop_last=drop_last)
    batches = list(loader)
    assert len(loader) == n_batches == len(batches)
    if batches:
        assert all(b[0].shape == (bs, 3) for b in batches[:-1])
        assert batches[-1][0].shape == (last, 3)


@given(n=st.integers(0, 40), bs=st.integers(1, 12), shuffle=st.booleans(),
       drop_last=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_batches_partition_the_dataset(n, bs, shuffle, drop_last, seed):
    if n == 0 and shuffle:  # torch's RandomSampler refuses an empty dataset
        with pytest.raises(ValueError, match="num_samples"):
            DataLoader(arange_dataset(n), batch_size=bs, shuffle=True)
        return
    loader = DataLoader(arange_dataset(n), batch_size=bs, shuffle=shuffle, drop_last=drop_last,
                        generator=ad.Generator().manual_seed(seed))
    batches = labels_of(loader)
    seen = sum(batches, [])
    assert len(batches) == len(loader)
    assert all(len(b) == bs for b in batches[:-1]) and all(0 < len(b) <= bs for b in batches)
    assert len(seen) == len(set(seen)) == (n - n % bs if drop_last else n)
    assert set(seen) <= set(range(n))
    if not shuffle:
        assert seen == list(range(len(seen)))


def test_no_shuffle_keeps_order():
    assert sum(labels_of(DataLoader(arange_dataset(10), batch_size=4)), []) == list(range(10))


def test_shuffle_visits_every_index_once_and_reshuffles_each_epoch():
    loader = DataLoader(arange_dataset(50), batch_size=8, shuffle=True,
                        generator=ad.Generator().manual_seed(0))
    epochs = [sum(labels_of(loader), []) for _ in range(3)]
    for order in epochs:
        assert sorted(order) == list(range(50))
    assert epochs[0] != epochs[1] != epochs[2]


def test_shuffle_same_seed_same_order():
    def orders(seed):
        loader = DataLoader(arange_dataset(30), batch_size=7, shuffle=True,
                            generator=ad.Generator().manual_seed(seed))
        return [labels_of(loader) for _ in range(2)]
    assert orders(4) == orders(4)
    assert orders(4) != orders(5)


def test_shuffle_without_generator_follows_manual_seed():
    loader = DataLoader(arange_dataset(30), batch_size=30, shuffle=True)
    ad.manual_seed(11)
    first = labels_of(loader)
    ad.manual_seed(11)
    assert labels_of(loader) == first


def test_drop_last_with_shuffle_drops_the_remainder_only():
    loader = DataLoader(arange_dataset(10), batch_size=4, shuffle=True, drop_last=True,
                        generator=ad.Generator().manual_seed(2))
    seen = sum(labels_of(loader), [])
    assert len(seen) == 8 and len(set(seen)) == 8


# ---- DataLoader: the TensorDataset fast path ------------------------------------------------

def test_fast_path_does_not_call_getitem(monkeypatch):
    def boom(self, index):
        raise AssertionError("per-sample __getitem__ called on the fast path")
    ds = arange_dataset(12)
    monkeypatch.setattr(TensorDataset, "__getitem__", boom)
    batches = list(DataLoader(ds, batch_size=5, shuffle=True))
    assert [b[0].shape for b in batches] == [(5, 3), (5, 3), (2, 3)]


class Slow(Dataset):
    """Same samples as the wrapped dataset, but not a TensorDataset: no fast path."""

    def __init__(self, inner):
        self.inner = inner

    def __getitem__(self, i):
        return self.inner[i]

    def __len__(self):
        return len(self.inner)


def test_fast_path_matches_per_sample_collation():
    ds = arange_dataset(23, width=4)

    def nest(d):
        return Subset(Subset(d, list(range(3, 23))), [5, 0, 19, 2, 7, 11])

    for fast_ds, slow_ds in [(ds, Slow(ds)), (nest(ds), nest(Slow(ds)))]:
        fast, slow = (list(DataLoader(d, batch_size=4, shuffle=True,
                                      generator=ad.Generator().manual_seed(9)))
                      for d in (fast_ds, slow_ds))
        assert len(fast) == len(slow) > 0
        for (fx, fy), (sx, sy) in zip(fast, slow):
            assert isinstance(fx, ad.Tensor) and fx.dtype == ad.float32 and fy.dtype == ad.int64
            np.testing.assert_array_equal(fx.numpy(), sx.numpy())
            np.testing.assert_array_equal(fy.numpy(), sy.numpy())


def test_subset_from_random_split_loads_its_own_samples():
    train, val = random_split(arange_dataset(20), [15, 5], generator=ad.Generator().manual_seed(0))
    got = sum(labels_of(DataLoader(val, batch_size=2)), [])
    assert got == val.indices


def test_subclass_with_own_getitem_is_respected():
    class Doubled(TensorDataset):
        def __getitem__(self, i):
            x, y = super().__getitem__(i)
            return x, ad.tensor(np.int64(2 * int(y.numpy())))
    ds = Doubled(ad.tensor(np.zeros((4, 1), np.float32)), ad.tensor(np.arange(4)))
    assert labels_of(DataLoader(ds, batch_size=4)) == [[0, 2, 4, 6]]


# ---- collation ------------------------------------------------------------------------------

def test_tuple_of_tensor_and_int_collates_to_tuple_of_tensors():
    x, y = next(iter(DataLoader(PairDataset(6), batch_size=4)))
    assert x.shape == (4, 2) and x.dtype == ad.float32
    assert y.shape == (4,) and y.dtype == ad.int64 and y.numpy().tolist() == [0, 1, 2, 3]


def test_collate_dicts_numpy_and_floats():
    samples = [{"img": np.full((2, 2), i, np.float64), "label": i, "w": 0.5 * i, "name": f"s{i}"}
               for i in range(3)]
    batch = default_collate(samples)
    assert set(batch) == {"img", "label", "w", "name"}
    assert batch["img"].shape == (3, 2, 2) and batch["img"].dtype == ad.float64
    assert batch["label"].dtype == ad.int64 and batch["label"].numpy().tolist() == [0, 1, 2]
    assert batch["w"].dtype == ad.float32 and batch["w"].numpy().tolist() == [0.0, 0.5, 1.0]
    assert batch["name"] == ["s0", "s1", "s2"]


def test_collate_nested_and_namedtuple_and_numpy_scalars():
    Point = collections.namedtuple("Point", "x y")
    batch = default_collate([Point(np.float32(i), [i, (i, True)]) for i in range(3)])
    assert isinstance(batch, Point)
    assert batch.x.dtype == ad.float32 and batch.x.shape == (3,)
    ints, (ints2, flags) = batch.y
    assert ints.numpy().tolist() == [0, 1, 2] and flags.numpy().dtype == np.bool_


def test_collate_dict_in_dataloader():
    class DictDataset(Dataset):
        def __getitem__(self, i):
            return {"x": ad.tensor(np.ones(3, np.float32) * i), "y": i}

        def __len__(self):
            return 5
    batches = list(DataLoader(DictDataset(), batch_size=2))
    assert [b["x"].shape for b in batches] == [(2, 3), (2, 3), (1, 3)]
    assert batches[2]["y"].numpy().tolist() == [4]


def test_collate_errors_are_clear():
    with pytest.raises(ValueError, match=r"sample 0 has shape \(2,\) but sample 1 has \(3,\)"):
        default_collate([ad.tensor(np.zeros(2)), ad.tensor(np.zeros(3))])
    with pytest.raises(ValueError, match="sample 0 has 2 fields but sample 1 has 3"):
        default_collate([(1, 2), (1, 2, 3)])
    with pytest.raises(ValueError, match="keys"):
        default_collate([{"a": 1}, {"b": 1}])
    with pytest.raises(TypeError, match="cannot batch samples of type object.*collate_fn"):
        default_collate([object(), object()])


def test_custom_collate_fn_is_used_and_disables_fast_path():
    seen = []

    def collate(samples):
        seen.append(len(samples))
        return samples
    batches = list(DataLoader(arange_dataset(5), batch_size=2, collate_fn=collate))
    assert seen == [2, 2, 1] and isinstance(batches[0], list)


# ---- argument checking ----------------------------------------------------------------------

@pytest.mark.parametrize("bs", [0, -1, 2.5, True, "4"])
def test_bad_batch_size(bs):
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        DataLoader(arange_dataset(3), batch_size=bs)


def test_batch_size_none_passes_samples_through_unbatched():
    items = list(DataLoader(arange_dataset(3), batch_size=None))
    assert len(items) == 3 and [int(y) for _, y in items] == [0, 1, 2]
    assert all(tuple(x.shape) == tuple(arange_dataset(3)[0][0].shape) for x, _ in items)


def test_bad_generator_and_dataset_and_collate():
    with pytest.raises(TypeError, match="generator must be an ad.Generator"):
        DataLoader(arange_dataset(3), shuffle=True, generator=42)
    with pytest.raises(TypeError, match="must define __getitem__ and __len__"):
        DataLoader(42)
    with pytest.raises(TypeError, match="collate_fn must be callable"):
        DataLoader(arange_dataset(3), collate_fn=3)


def test_numpy_generator_is_accepted():
    a = labels_of(DataLoader(arange_dataset(9), batch_size=9, shuffle=True,
                             generator=np.random.default_rng(0)))
    b = labels_of(DataLoader(arange_dataset(9), batch_size=9, shuffle=True,
                             generator=np.random.default_rng(0)))
    assert a == b
