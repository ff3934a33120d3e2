"""cr.datasets generated data: the documented formulas, seeding, shapes/dtypes, and use with a DataLoader."""
import numpy as np
import pytest

import chainrule as cr
from chainrule import datasets as ds
from chainrule.utils.data import DataLoader, TensorDataset


def arrays(d):
    assert isinstance(d, TensorDataset)
    X, y = d.tensors
    return X.numpy(), y.numpy()


def test_linear_1d_is_y_equals_2x():
    X, y = arrays(ds.linear_1d())
    np.testing.assert_array_equal(X[:, 0], np.arange(1, 11))
    np.testing.assert_array_equal(y, 2 * X)
    assert X.shape == y.shape == (10, 1) and X.dtype == np.float32


def test_linear_noise_recovers_the_line_and_is_seeded():
    X, y = arrays(ds.linear_noise(2000, seed=0, dtype=cr.float64))
    assert X.shape == y.shape == (2000, 1) and X.dtype == np.float64
    slope, intercept = np.polyfit(X[:, 0], y[:, 0], 1)
    assert abs(slope - 2) < 0.1 and abs(intercept - 1) < 0.1
    resid = y[:, 0] - (2 * X[:, 0] + 1)
    assert abs(resid.std() - 1) < 0.1                            # unit noise
    X2, y2 = arrays(ds.linear_noise(2000, seed=0, dtype=cr.float64))
    np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(y, arrays(ds.linear_noise(2000, seed=1, dtype=cr.float64))[1])
    _, y0 = arrays(ds.linear_noise(50, seed=3, noise=0.0))
    X0, _ = arrays(ds.linear_noise(50, seed=3, noise=0.0))
    np.testing.assert_allclose(y0, 2 * X0 + 1, rtol=1e-6, atol=1e-6)


def test_xor_truth_table():
    X, y = arrays(ds.xor())
    assert X.shape == (4, 2) and y.shape == (4, 1)
    np.testing.assert_array_equal(y[:, 0], np.logical_xor(X[:, 0], X[:, 1]).astype(np.float32))


def test_moons_lie_on_their_half_circles():
    X, y = arrays(ds.moons(101, seed=0, dtype=cr.float64))
    assert X.shape == (101, 2) and y.dtype == np.int64 and np.bincount(y).tolist() == [50, 51]
    outer, inner = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.hypot(outer[:, 0], outer[:, 1]), 1, atol=1e-12)
    assert (outer[:, 1] >= -1e-12).all() and (inner[:, 1] <= 0.5 + 1e-12).all()
    np.testing.assert_allclose(np.hypot(inner[:, 0] - 1, inner[:, 1] - 0.5), 1, atol=1e-12)
    Xn, _ = arrays(ds.moons(101, noise=0.1, seed=0, dtype=cr.float64))
    assert 0.05 < np.abs(np.hypot(Xn[y == 0][:, 0], Xn[y == 0][:, 1]) - 1).mean() < 0.2
    Xs, ys = arrays(ds.moons((3, 5), shuffle=False, random_state=0))
    assert ys.tolist() == [0] * 3 + [1] * 5


def test_blobs_counts_centers_and_spread():
    X, y = arrays(ds.blobs(n_samples=1003, centers=[[0, 0], [10, 10], [-10, 5]], cluster_std=0.5, seed=0,
                           dtype=cr.float64))
    assert np.bincount(y).tolist() == [335, 334, 334]             # remainder to the first clusters
    for k, c in enumerate([[0, 0], [10, 10], [-10, 5]]):
        np.testing.assert_allclose(X[y == k].mean(0), c, atol=0.1)
        np.testing.assert_allclose(X[y == k].std(0), [0.5, 0.5], atol=0.05)
    X, y = arrays(ds.blobs(n_samples=[5, 7], n_features=4, seed=1))
    assert X.shape == (12, 4) and np.bincount(y).tolist() == [5, 7]
    X3, y3 = arrays(ds.blobs(30, seed=2))
    assert X3.shape == (30, 2) and set(y3.tolist()) == {0, 1, 2}
    assert (np.abs(X3) < 10 + 6).all()                             # centers drawn in the (-10, 10) box


def test_two_spirals_shape_and_geometry():
    X, y = arrays(ds.two_spirals(200, seed=0, shuffle=False, dtype=cr.float64))
    assert X.shape == (200, 2) and np.bincount(y).tolist() == [100, 100]
    r = np.hypot(X[:, 0], X[:, 1])
    assert np.all(np.diff(r[:100]) > 0) and r.min() >= 0.05 - 1e-12 and r.max() <= 1 + 1e-12
    np.testing.assert_allclose(X[100:], -X[:100], atol=1e-12)     # the second spiral is the first turned by pi
    Xs, ys = arrays(ds.two_spirals(200, seed=0))
    assert sorted(map(tuple, Xs)) == sorted(map(tuple, X.astype(np.float32)))


def test_seed_none_follows_manual_seed():
    cr.manual_seed(11)
    a = arrays(ds.moons(20, noise=0.1))[0]
    cr.manual_seed(11)
    b = arrays(ds.moons(20, noise=0.1))[0]
    np.testing.assert_array_equal(a, b)


def test_bad_arguments_are_clear():
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        ds.linear_noise(0)
    with pytest.raises(TypeError, match="floating dtype"):
        ds.xor(dtype=cr.int64)
    with pytest.raises(ValueError, match="one count per center"):
        ds.blobs([3, 4], centers=[[0, 0]])


def test_generated_data_trains_through_a_loader():
    data = ds.linear_noise(64, seed=0, noise=0.0, dtype=cr.float64)
    w = cr.zeros(1, 1, dtype=cr.float64, requires_grad=True)
    b = cr.zeros(1, dtype=cr.float64, requires_grad=True)
    for _ in range(60):
        for xb, yb in DataLoader(data, batch_size=16, shuffle=True, generator=cr.Generator().manual_seed(0)):
            loss = ((xb @ w + b - yb) ** 2).mean()
            loss.backward()
            with cr.no_grad():
                w -= 0.1 * w.grad
                b -= 0.1 * b.grad
            w.grad = None
            b.grad = None
    assert abs(w.item() - 2) < 1e-3 and abs(b.item() - 1) < 1e-3
