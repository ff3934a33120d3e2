"""cr.utils.data: datasets, samplers, collate and DataLoader - semantics checked against torch.utils.data."""
import collections
import warnings

import numpy as np
import pytest
from hypothesis import given, strategies as st

import chainrule as cr
from chainrule.utils import data as D
from chainrule.utils.data import dataloader as dl_module
from oracle import needs_torch, torch

if torch is not None:
    import torch.utils.data as TD


# ---------------------------------------------------------------------------------------------------- helpers
def to_np(x):
    if isinstance(x, cr.Tensor):
        return x.detach().numpy()
    return x.detach().numpy()


def assert_same_structure(ours, theirs):
    """Recursively: the same container types, tensor dtypes (by name), shapes and values."""
    if torch is not None and isinstance(theirs, torch.Tensor):
        assert isinstance(ours, cr.Tensor), f"expected a Tensor, got {type(ours).__name__}"
        assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1], (ours.dtype, theirs.dtype)
        assert tuple(ours.shape) == tuple(theirs.shape)
        np.testing.assert_array_equal(to_np(ours), theirs.numpy())
    elif isinstance(theirs, dict):
        assert type(ours) is type(theirs) and list(ours) == list(theirs)
        for k in theirs:
            assert_same_structure(ours[k], theirs[k])
    elif isinstance(theirs, (list, tuple)):
        assert type(ours).__name__ == type(theirs).__name__, (type(ours), type(theirs))
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            assert_same_structure(a, b)
    else:
        assert type(ours) is type(theirs) and ours == theirs


def data_pair(n, feat=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, feat)), rng.integers(0, 10, n)


# ---------------------------------------------------------------------------------------------------- datasets
def test_tensor_dataset_rows_and_len():
    X, y = data_pair(7)
    ds = D.TensorDataset(cr.tensor(X), cr.tensor(y))
    assert len(ds) == 7
    xi, yi = ds[3]
    np.testing.assert_array_equal(xi.numpy(), X[3])
    assert yi.item() == y[3]
    ds_np = D.TensorDataset(X, y)                      # NumPy arrays accepted, no copy
    assert np.shares_memory(ds_np.tensors[0].numpy(), X)


def test_tensor_dataset_size_mismatch_is_clear():
    with pytest.raises(ValueError, match=r"size mismatch.*\[4, 5\]"):
        D.TensorDataset(cr.zeros(4, 2), cr.zeros(5))
    with pytest.raises(TypeError, match="expected Tensors"):
        D.TensorDataset([1, 2, 3])


def test_getitems_reads_a_batch_with_one_fancy_index():
    X, y = data_pair(10)
    ds = D.TensorDataset(cr.tensor(X), cr.tensor(y))
    b = ds.__getitems__([4, 1, 1, 9])
    assert len(b) == 4
    xs, ys = D.default_collate(b)
    np.testing.assert_array_equal(xs.numpy(), X[[4, 1, 1, 9]])
    np.testing.assert_array_equal(ys.numpy(), y[[4, 1, 1, 9]])
    # it is also a sequence of samples, for custom collate functions
    x1, y1 = b[1]
    np.testing.assert_array_equal(x1.numpy(), X[1])
    assert [int(s[1]) for s in b] == y[[4, 1, 1, 9]].tolist()


def test_loader_never_reads_samples_one_by_one_from_a_tensor_dataset(monkeypatch):
    X, y = data_pair(50)
    ds = D.TensorDataset(cr.tensor(X), cr.tensor(y))

    def per_sample(self, i):
        raise AssertionError("per-sample __getitem__ used")
    monkeypatch.setattr(D.TensorDataset, "__getitem__", per_sample)
    got = np.concatenate([xb.numpy() for xb, _ in D.DataLoader(ds, batch_size=8, shuffle=True)])
    assert got.shape == X.shape
    np.testing.assert_array_equal(np.sort(got, axis=0), np.sort(X, axis=0))


def test_loader_calls_getitems_once_per_batch_and_subset_delegates():
    calls = []

    class DS(D.Dataset):
        def __len__(self):
            return 20

        def __getitem__(self, i):
            raise AssertionError("per-sample path used")

        def __getitems__(self, idx):
            calls.append(list(idx))
            return [(i, float(i)) for i in idx]

    loader = D.DataLoader(DS(), batch_size=6)
    batches = list(loader)
    assert calls == [list(range(0, 6)), list(range(6, 12)), list(range(12, 18)), [18, 19]]
    assert batches[-1][0].tolist() == [18, 19]
    calls.clear()
    sub = D.Subset(DS(), [5, 3, 17, 0])
    out = list(D.DataLoader(sub, batch_size=3))
    assert calls == [[5, 3, 17], [0]]
    assert out[0][0].tolist() == [5, 3, 17]


def test_tensor_dataset_batch_keeps_the_graph():
    w = cr.tensor(np.arange(12.0).reshape(6, 2), requires_grad=True)
    ds = D.TensorDataset(w)
    (xb,) = next(iter(D.DataLoader(ds, batch_size=4)))
    (xb * 2).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), np.r_[np.full((4, 2), 2.0), np.zeros((2, 2))])


@needs_torch
def test_subset_and_concat_match_torch():
    X, y = data_pair(9)
    a = D.TensorDataset(cr.tensor(X[:4]), cr.tensor(y[:4]))
    b = D.TensorDataset(cr.tensor(X[4:]), cr.tensor(y[4:]))
    ta = TD.TensorDataset(torch.tensor(X[:4]), torch.tensor(y[:4]))
    tb = TD.TensorDataset(torch.tensor(X[4:]), torch.tensor(y[4:]))
    cat, tcat = a + b, ta + tb
    assert isinstance(cat, D.ConcatDataset) and len(cat) == len(tcat) == 9
    assert cat.cumulative_sizes == tcat.cumulative_sizes
    for i in list(range(-9, 9)):
        assert_same_structure(list(cat[i]), list(tcat[i]))
    with pytest.raises(IndexError):
        cat[9]
    with pytest.raises(IndexError):
        cat[-10]
    sub, tsub = D.Subset(cat, [8, 0, 4]), TD.Subset(tcat, [8, 0, 4])
    assert len(sub) == 3
    for i in range(3):
        assert_same_structure(list(sub[i]), list(tsub[i]))
    assert_same_structure(next(iter(D.DataLoader(sub, batch_size=3))),
                          next(iter(TD.DataLoader(tsub, batch_size=3))))


def test_concat_rejects_iterable_and_empty():
    class It(D.IterableDataset):
        def __iter__(self):
            return iter(range(3))
    with pytest.raises(TypeError, match="ChainDataset"):
        D.ConcatDataset([It()])
    with pytest.raises(ValueError, match="empty"):
        D.ConcatDataset([])
    assert list(It() + It()) == [0, 1, 2, 0, 1, 2]


# ---------------------------------------------------------------------------------------------------- random_split
@needs_torch
@pytest.mark.parametrize("n,lengths", [(10, [0.5, 0.5]), (11, [0.3, 0.3, 0.4]), (7, [0.1, 0.9]),
                                       (100, [0.8, 0.1, 0.1]), (5, [2, 3]), (3, [1 / 3] * 3)])
def test_random_split_lengths_match_torch(n, lengths):
    ds = D.TensorDataset(cr.arange(n))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = D.random_split(ds, lengths, generator=cr.Generator().manual_seed(0))
        theirs = TD.random_split(TD.TensorDataset(torch.arange(n)), lengths,
                                 generator=torch.Generator().manual_seed(0))
    assert [len(s) for s in ours] == [len(s) for s in theirs]
    idx = sorted(i for s in ours for i in s.indices)
    assert idx == list(range(n))                         # disjoint and covering


def test_random_split_is_reproducible_and_random():
    ds = D.TensorDataset(cr.arange(50))
    a = D.random_split(ds, [0.6, 0.4], generator=cr.Generator().manual_seed(3))
    b = D.random_split(ds, [0.6, 0.4], generator=cr.Generator().manual_seed(3))
    c = D.random_split(ds, [0.6, 0.4], generator=cr.Generator().manual_seed(4))
    assert [s.indices for s in a] == [s.indices for s in b]
    assert a[0].indices != c[0].indices
    assert a[0].indices != sorted(a[0].indices)         # shuffled, not a slice
    cr.manual_seed(9)
    g1 = D.random_split(ds, [25, 25])
    cr.manual_seed(9)
    g2 = D.random_split(ds, [25, 25])
    assert g1[0].indices == g2[0].indices


def test_random_split_errors():
    ds = D.TensorDataset(cr.arange(10))
    with pytest.raises(ValueError, match=r"sum of input lengths \(9\).*\(10\)"):
        D.random_split(ds, [4, 5])
    with pytest.raises(ValueError, match="not between 0 and 1"):
        D.random_split(ds, [1.5, -0.5])


# ---------------------------------------------------------------------------------------------------- samplers
@needs_torch
@pytest.mark.parametrize("n,bs,drop", [(10, 3, False), (10, 3, True), (9, 3, True), (2, 5, False),
                                       (2, 5, True), (0, 4, False)])
def test_batch_sampler_matches_torch(n, bs, drop):
    ours = D.BatchSampler(D.SequentialSampler(range(n)), bs, drop)
    theirs = TD.BatchSampler(TD.SequentialSampler(range(n)), bs, drop)
    assert list(ours) == list(theirs)
    assert len(ours) == len(theirs)
    # a plain iterable sampler (the generic path) gives the same
    assert list(D.BatchSampler(list(range(n)), bs, drop)) == list(theirs)


def test_batch_sampler_validation():
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        D.BatchSampler(range(3), 0, False)
    with pytest.raises(ValueError, match="drop_last should be a boolean"):
        D.BatchSampler(range(3), 2, 1)


def test_random_sampler_permutations_and_replacement():
    data = range(20)
    g = cr.Generator().manual_seed(0)
    s = D.RandomSampler(data, generator=g)
    e1, e2 = list(s), list(s)
    assert sorted(e1) == sorted(e2) == list(range(20)) and e1 != e2      # new order each epoch
    g.manual_seed(0)
    assert list(s) == e1                                                # reproducible from the seed
    big = list(D.RandomSampler(data, num_samples=45, generator=g))
    assert len(big) == 45 and sorted(big[:20]) == list(range(20)) and sorted(big[20:40]) == list(range(20))
    rep = list(D.RandomSampler(data, replacement=True, num_samples=200, generator=g))
    assert len(rep) == 200 and max(collections.Counter(rep).values()) > 1     # repeats happen
    assert all(0 <= i < 20 for i in rep)
    with pytest.raises(ValueError, match="num_samples should be a positive integer"):
        D.RandomSampler(data, num_samples=0)
    with pytest.raises(TypeError, match="replacement should be a boolean"):
        D.RandomSampler(data, replacement=1)
    with pytest.raises(TypeError, match="chainrule.Generator"):
        D.RandomSampler(data, generator=42)


def test_subset_random_and_weighted_samplers():
    g = cr.Generator().manual_seed(1)
    idx = [3, 7, 11, 19]
    s = D.SubsetRandomSampler(idx, generator=g)
    assert sorted(s) == idx and len(s) == 4
    w = D.WeightedRandomSampler([0.0, 1.0, 3.0], 4000, generator=g)
    counts = collections.Counter(w)
    assert counts[0] == 0 and len(w) == 4000
    assert abs(counts[2] / 4000 - 0.75) < 0.05
    with pytest.raises(ValueError, match="without replacement"):
        D.WeightedRandomSampler([0.0, 1.0], 2, replacement=False)


# ---------------------------------------------------------------------------------------------------- collate
@needs_torch
@pytest.mark.parametrize("name", ["ints", "floats", "bools", "mixed_tuple", "lists", "dicts", "nested", "numpy",
                                  "np_scalars", "np_int_scalars", "np0d", "strings", "namedtuple", "tensors"])
def test_default_collate_matches_torch(name):
    P = collections.namedtuple("P", "x y")
    rng = np.random.default_rng(0)
    arrs = [rng.standard_normal((2, 3)).astype(np.float32) for _ in range(3)]
    batches = {
        "ints": [1, 2, 3], "floats": [1.5, 2.0, -3.25], "bools": [True, False, True],
        "mixed_tuple": [(1, 2.0, "a"), (3, 4.0, "b")],
        "lists": [[1, 2], [3, 4], [5, 6]],
        "dicts": [{"a": 1, "b": np.float64(0.5)}, {"a": 2, "b": np.float64(1.5)}],
        "nested": [{"x": (np.ones(2, np.int32), [1.0, 2.0])}, {"x": (np.zeros(2, np.int32), [3.0, 4.0])}],
        "numpy": arrs, "np_scalars": [np.float32(1), np.float32(2.5)], "np_int_scalars": [np.int32(4), np.int32(5)],
        "np0d": [np.array(1.0), np.array(2.0)],
        "strings": ["a", "bc"], "namedtuple": [P(1, 2.0), P(3, 4.0)],
    }
    if name == "tensors":
        ours = D.default_collate([cr.tensor(a) for a in arrs])
        theirs = TD.default_collate([torch.tensor(a) for a in arrs])
    else:
        ours, theirs = D.default_collate(batches[name]), TD.default_collate(batches[name])
    assert_same_structure(ours, theirs)


@needs_torch
def test_default_convert_matches_torch():
    for sample in [(1, np.zeros(2)), [1, 2], np.float32(3), {"a": np.ones(1, np.int64)}, "s"]:
        assert_same_structure(D.default_convert(sample), TD.default_convert(sample))


def test_default_collate_errors_are_clear():
    with pytest.raises(RuntimeError, match="equal size"):
        D.default_collate([[1, 2], [3]])
    with pytest.raises(RuntimeError, match=r"different shapes.*\(2,\).*\(3,\)"):
        D.default_collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(RuntimeError, match="different shapes"):
        D.default_collate([cr.zeros(2), cr.zeros(3)])
    with pytest.raises(TypeError, match="found object.*collate_fn"):
        D.default_collate([object(), object()])
    with pytest.raises(TypeError, match="dtype <U1"):
        D.default_collate([np.array(["a"]), np.array(["b"])])


# ---------------------------------------------------------------------------------------------------- DataLoader
@needs_torch
@given(n=st.integers(0, 40), bs=st.integers(1, 12), drop=st.booleans())
def test_loader_unshuffled_matches_torch(n, bs, drop):
    X, y = data_pair(n)
    ours = D.DataLoader(D.TensorDataset(cr.tensor(X), cr.tensor(y)), batch_size=bs, drop_last=drop)
    theirs = TD.DataLoader(TD.TensorDataset(torch.tensor(X), torch.tensor(y)), batch_size=bs, drop_last=drop)
    assert len(ours) == len(theirs)
    a, b = list(ours), list(theirs)
    assert len(a) == len(b)
    for ob, tb in zip(a, b):
        assert_same_structure(ob, tb)


@needs_torch
def test_loader_of_dict_samples_matches_torch():
    class DS(D.Dataset):
        def __len__(self):
            return 7

        def __getitem__(self, i):
            return {"img": np.full((2, 2), i, np.float32), "label": i % 3, "w": float(i), "id": f"s{i}"}

    class TDS(TD.Dataset):
        __len__ = DS.__len__
        __getitem__ = DS.__getitem__

    for ob, tb in zip(D.DataLoader(DS(), batch_size=3), TD.DataLoader(TDS(), batch_size=3)):
        assert_same_structure(ob, tb)


def test_loader_shuffle_is_seeded_and_covers_every_sample():
    X, y = data_pair(23)
    ds = D.TensorDataset(cr.tensor(X), cr.tensor(y))

    def epoch(loader):
        return np.concatenate([yb.numpy() for _, yb in loader])

    def order(loader):
        # rows of X identify samples
        rows = np.concatenate([xb.numpy() for xb, _ in loader])
        return [int(np.flatnonzero((X == r).all(1))[0]) for r in rows]

    l1 = D.DataLoader(ds, batch_size=5, shuffle=True, generator=cr.Generator().manual_seed(7))
    l2 = D.DataLoader(ds, batch_size=5, shuffle=True, generator=cr.Generator().manual_seed(7))
    o1, o2 = order(l1), order(l2)
    assert o1 == o2 and sorted(o1) == list(range(23)) and o1 != list(range(23))
    assert order(l1) != o1                               # the next epoch is a new order
    cr.manual_seed(5)
    g1 = epoch(D.DataLoader(ds, batch_size=4, shuffle=True))
    cr.manual_seed(5)
    g2 = epoch(D.DataLoader(ds, batch_size=4, shuffle=True))
    np.testing.assert_array_equal(g1, g2)


def test_loader_batch_sizes_and_drop_last():
    ds = D.TensorDataset(cr.arange(10))
    sizes = [len(b[0]) for b in D.DataLoader(ds, batch_size=4)]
    assert sizes == [4, 4, 2] and len(D.DataLoader(ds, batch_size=4)) == 3
    loader = D.DataLoader(ds, batch_size=4, drop_last=True, shuffle=True)
    assert [len(b[0]) for b in loader] == [4, 4] and len(loader) == 2
    it = iter(loader)
    assert len(it) == 2


@needs_torch
def test_loader_without_batching_matches_torch():
    ours = list(D.DataLoader(D.TensorDataset(cr.arange(4)), batch_size=None))
    theirs = list(TD.DataLoader(TD.TensorDataset(torch.arange(4)), batch_size=None))
    assert len(ours) == 4
    for a, b in zip(ours, theirs):
        assert_same_structure(a, b)


@needs_torch
@pytest.mark.parametrize("bs,drop", [(3, False), (3, True), (None, False), (7, False)])
def test_iterable_dataset_matches_torch(bs, drop):
    class It(D.IterableDataset):
        def __iter__(self):
            return iter([(i, np.float32(i) / 2) for i in range(7)])

    class TIt(TD.IterableDataset):
        __iter__ = It.__iter__

    ours, theirs = D.DataLoader(It(), batch_size=bs, drop_last=drop), TD.DataLoader(TIt(), batch_size=bs,
                                                                                     drop_last=drop)
    a, b = list(ours), list(theirs)
    assert len(a) == len(b)
    for x, t in zip(a, b):
        assert_same_structure(x, t)
    with pytest.raises(TypeError):
        len(ours)                                            # no __len__ on the stream, as in torch


def test_custom_collate_and_batch_sampler():
    ds = D.TensorDataset(cr.arange(10), cr.arange(10) * 10)
    loader = D.DataLoader(ds, batch_size=4, collate_fn=lambda samples: [int(s[1]) for s in samples])
    assert list(loader) == [[0, 10, 20, 30], [40, 50, 60, 70], [80, 90]]
    bsamp = [[9, 0], [5]]
    loader = D.DataLoader(ds, batch_sampler=bsamp)
    assert [b[0].tolist() for b in loader] == [[9, 0], [5]] and len(loader) == 2
    samp = [3, 1, 2]
    assert [b[0].tolist() for b in D.DataLoader(ds, sampler=samp, batch_size=2)] == [[3, 1], [2]]


def test_loader_argument_errors():
    ds = D.TensorDataset(cr.arange(10))
    with pytest.raises(ValueError, match="sampler option is mutually exclusive with shuffle"):
        D.DataLoader(ds, shuffle=True, sampler=[0, 1])
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive"):
        D.DataLoader(ds, batch_size=4, batch_sampler=[[0]])
    with pytest.raises(ValueError, match="batch_size=None .* drop_last"):
        D.DataLoader(ds, batch_size=None, drop_last=True)
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        D.DataLoader(ds, batch_size=0)
    with pytest.raises(ValueError, match="num_workers"):
        D.DataLoader(ds, num_workers=-1)

    class It(D.IterableDataset):
        def __iter__(self):
            return iter(range(3))
    with pytest.raises(ValueError, match="IterableDataset: expected unspecified shuffle"):
        D.DataLoader(It(), shuffle=True)
    with pytest.raises(ValueError, match="IterableDataset: expected unspecified sampler"):
        D.DataLoader(It(), sampler=[0])


def test_num_workers_runs_in_process_and_warns_once(monkeypatch):
    monkeypatch.setattr(dl_module, "_warned_workers", False)
    ds = D.TensorDataset(cr.arange(10))
    with pytest.warns(UserWarning, match="main process"):
        loader = D.DataLoader(ds, batch_size=3, num_workers=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        D.DataLoader(ds, batch_size=3, num_workers=4)          # no second warning
    assert [b[0].tolist() for b in loader] == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    assert D.get_worker_info() is None


def test_loader_over_plain_dataset_uses_getitem():
    class Squares(D.Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return cr.tensor([float(i)]), i * i

    xb, yb = next(iter(D.DataLoader(Squares(), batch_size=5)))
    assert tuple(xb.shape) == (5, 1) and yb.tolist() == [0, 1, 4, 9, 16] and yb.dtype == cr.int64
