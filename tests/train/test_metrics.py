"""Streaming metrics: hand-computed values, scikit-learn's values on the same predictions, and batching
invariance (the sums of several batches give the value of the whole set)."""
import numpy as np
import pytest

from chainrule.train import metrics as M


def _stream(metric, out, tgt, sizes):
    metric.reset()
    start = 0
    for s in sizes:
        metric.update(out[start:start + s], tgt[start:start + s])
        start += s
    return metric.compute()


def _data(rng, n=97, c=4):
    logits = rng.normal(size=(n, c))
    target = rng.integers(0, c, size=n)
    return logits, target


# ------------------------------------------------------------------------------------------ hand-computed
def test_accuracy_by_hand():
    out = np.array([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [1.0, 0.0, 5.0], [9.0, 0.0, 0.0]])
    tgt = np.array([0, 1, 0, 2])
    m = M.Accuracy()
    m.update(out, tgt)
    assert m.compute() == 0.5
    m.update(out[:1], tgt[:1])             # running: 3 of 5
    assert m.compute() == pytest.approx(3 / 5)


def test_binary_outputs_probabilities_and_logits():
    m = M.Accuracy()
    m.update(np.array([0.9, 0.2, 0.6, 0.4]), np.array([1, 0, 0, 0]))     # probabilities: threshold 0.5
    assert m.compute() == 0.75
    m.reset()
    m.update(np.array([[2.0], [-1.0], [0.3], [-0.2]]), np.array([1.0, 0.0, 0.0, 0.0]))   # logits: threshold 0
    assert m.compute() == 0.75


def test_top_k_by_hand():
    out = np.array([[0.1, 0.5, 0.4], [0.7, 0.2, 0.1], [0.2, 0.35, 0.45]])
    tgt = np.array([2, 2, 0])
    m = M.TopKAccuracy(2)
    m.update(out, tgt)
    assert m.compute() == pytest.approx(1 / 3)    # only sample 0's top 2 {1, 2} holds its target
    assert M.get_metric("top2").name == "top2"


def test_precision_recall_f1_confusion_by_hand():
    # true:  0 0 1 1 2 2 ; pred: 0 1 1 1 0 2
    tgt = np.array([0, 0, 1, 1, 2, 2])
    out = np.eye(3)[[0, 1, 1, 1, 0, 2]]
    cm = M.ConfusionMatrix()
    cm.update(out, tgt)
    np.testing.assert_array_equal(cm.compute(), [[1, 1, 0], [0, 2, 0], [1, 0, 1]])
    # per class precision: 1/2, 2/3, 1/1 ; recall: 1/2, 2/2, 1/2 ; f1: 1/2, 4/5, 2/3
    p, r, f = M.Precision(None), M.Recall(None), M.F1(None)
    for m in (p, r, f):
        m.update(out, tgt)
    np.testing.assert_allclose(p.compute(), [1 / 2, 2 / 3, 1.0])
    np.testing.assert_allclose(r.compute(), [1 / 2, 1.0, 1 / 2])
    np.testing.assert_allclose(f.compute(), [1 / 2, 4 / 5, 2 / 3])
    macro = M.F1("macro")
    macro.update(out, tgt)
    assert macro.compute() == pytest.approx((1 / 2 + 4 / 5 + 2 / 3) / 3)
    micro = M.F1("micro")
    micro.update(out, tgt)
    assert micro.compute() == pytest.approx(4 / 6)
    weighted = M.Recall("weighted")
    weighted.update(out, tgt)
    assert weighted.compute() == pytest.approx((1 / 2 * 2 + 1.0 * 2 + 1 / 2 * 2) / 6)


def test_regression_by_hand():
    out = np.array([1.0, 2.0, 4.0])
    tgt = np.array([1.0, 3.0, 2.0])
    mse, mae, r2 = M.MSE(), M.MAE(), M.R2()
    for m in (mse, mae, r2):
        m.update(out[:2], tgt[:2])
        m.update(out[2:], tgt[2:])
    assert mse.compute() == pytest.approx((0 + 1 + 4) / 3)
    assert mae.compute() == pytest.approx((0 + 1 + 2) / 3)
    ss_tot = sum((t - 2.0) ** 2 for t in tgt)
    assert r2.compute() == pytest.approx(1 - 5 / ss_tot)


def test_r2_constant_target_follows_sklearn_force_finite():
    m = M.R2()
    m.update(np.array([2.0, 2.0]), np.array([2.0, 2.0]))
    assert m.compute() == 1.0
    m.reset()
    m.update(np.array([1.0, 2.0]), np.array([2.0, 2.0]))
    assert m.compute() == 0.0


@pytest.mark.parametrize("name", ["accuracy", "top3", "f1", "f1_micro", "precision_weighted", "recall",
                                  "mse", "mae", "r2"])
def test_streaming_equals_one_batch(rng, name):
    logits, target = _data(rng)
    if name in ("mse", "mae", "r2"):
        target = rng.normal(size=logits.shape)
    whole = _stream(M.get_metric(name), logits, target, [len(target)])
    pieces = _stream(M.get_metric(name), logits, target, [10, 1, 30, 56])
    assert pieces == pytest.approx(whole, rel=1e-12, abs=1e-12)


def test_state_dict_round_trip(rng):
    logits, target = _data(rng)
    a = M.F1()
    a.update(logits[:50], target[:50])
    b = M.F1()
    b.load_state_dict(a.state_dict())
    a.update(logits[50:], target[50:])
    b.update(logits[50:], target[50:])
    assert a.compute() == b.compute()


def test_bad_inputs_are_clear():
    with pytest.raises(ValueError, match="unknown metric 'acuracy'.*did you mean 'accuracy'"):
        M.get_metric("acuracy")
    with pytest.raises(ValueError, match="same number of samples"):
        M.Accuracy().update(np.zeros((3, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="class indices"):
        M.Accuracy().update(np.zeros((2, 2)), np.array([0.5, 1.0]))
    with pytest.raises(ValueError, match="C >= 5"):
        M.TopKAccuracy(5).update(np.zeros((2, 3)), np.zeros(2))


# ----------------------------------------------------------------------------------------- scikit-learn
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_classification_equals_sklearn(seed):
    skm = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(seed)
    logits, target = _data(rng, n=203, c=5)
    target[target == 4] = 3                # class 4 absent from the targets (predicted sometimes)
    pred = logits.argmax(1)
    sizes = [64, 64, 64, 11]
    assert _stream(M.Accuracy(), logits, target, sizes) == pytest.approx(skm.accuracy_score(target, pred))
    assert _stream(M.TopKAccuracy(3), logits, target, sizes) == pytest.approx(
        skm.top_k_accuracy_score(target, logits, k=3, labels=range(5)))
    np.testing.assert_array_equal(_stream(M.ConfusionMatrix(), logits, target, sizes),
                                  skm.confusion_matrix(target, pred, labels=range(5)))
    for cls, fn in ((M.Precision, skm.precision_score), (M.Recall, skm.recall_score), (M.F1, skm.f1_score)):
        for avg in ("macro", "micro", "weighted"):
            assert _stream(cls(avg), logits, target, sizes) == pytest.approx(
                fn(target, pred, average=avg, zero_division=0)), (cls.__name__, avg)
        np.testing.assert_allclose(_stream(cls(None), logits, target, sizes),
                                   fn(target, pred, average=None, labels=range(5), zero_division=0))


def test_binary_f1_equals_sklearn(rng):
    skm = pytest.importorskip("sklearn.metrics")
    scores = rng.normal(size=150)
    target = (rng.random(150) < 0.4).astype(np.int64)
    pred = (scores > 0).astype(np.int64)
    assert _stream(M.F1("binary"), scores, target, [50, 100]) == pytest.approx(skm.f1_score(target, pred))
    assert _stream(M.Precision("binary"), scores, target, [150]) == pytest.approx(skm.precision_score(target, pred))


@pytest.mark.parametrize("shape", [(120,), (120, 3)])
def test_regression_equals_sklearn(rng, shape):
    skm = pytest.importorskip("sklearn.metrics")
    target = rng.normal(size=shape) * 3 + 100          # an offset: the streaming R2 must not cancel
    out = target + rng.normal(size=shape)
    sizes = [7, 64, 49]
    assert _stream(M.MSE(), out, target, sizes) == pytest.approx(skm.mean_squared_error(target, out), rel=1e-10)
    assert _stream(M.MAE(), out, target, sizes) == pytest.approx(skm.mean_absolute_error(target, out), rel=1e-10)
    assert _stream(M.R2(), out, target, sizes) == pytest.approx(skm.r2_score(target, out), rel=1e-10)
