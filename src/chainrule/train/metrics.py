"""Streaming metrics: each batch updates a few running sums; ``compute()`` turns them into the value.

No predictions are stored, so a metric costs the same on a million samples as on a thousand, and the sums
of several batches (or of several MPI ranks) add up to the sums of the whole set.

    m = Accuracy()
    for out, y in batches:
        m.update(out, y)        # NumPy arrays (or Tensors): model outputs and targets
    m.compute()                 # 0.93

Classification metrics take the model's raw output: ``(N, C)`` scores/logits/probabilities (the class is the
argmax), or ``(N,)``/``(N, 1)`` for a binary task (probabilities thresholded at 0.5; when a batch holds values
outside [0, 1] they are read as logits and thresholded at 0, as torchmetrics does). Targets are class
indices ``(N,)`` or one-hot ``(N, C)``. Precision/recall/F1 follow scikit-learn's definitions: ``macro`` is
the mean over the classes that occur in the targets or the predictions, a 0/0 counts as 0.

Metrics are named in ``Trainer(metrics=[...])`` by object or by string (``get_metric``): "accuracy",
"top5" (any k), "precision", "recall", "f1" (macro; ``_micro``/``_weighted``/``_per_class`` suffixes),
"confusion_matrix", "mse", "mae", "r2".
"""
import difflib
import re

import numpy as np

__all__ = ["Metric", "Accuracy", "TopKAccuracy", "ConfusionMatrix", "Precision", "Recall", "F1", "MSE", "MAE",
           "R2", "get_metric", "METRIC_NAMES"]


def _np(x):
    data = getattr(x, "_data", None)          # a chainrule Tensor: its array, no copy
    return data if isinstance(data, np.ndarray) else np.asarray(x)


class Metric:
    """Base class. Subclasses list their running sums in ``_state`` (attribute names) and implement
    ``reset``, ``update(output, target)`` and ``compute()`` (a float, or an array for per-class values)."""
    name = "metric"
    higher_is_better = True
    _state = ()

    def reset(self):
        raise NotImplementedError

    def update(self, output, target):
        raise NotImplementedError

    def compute(self):
        raise NotImplementedError

    def state_dict(self):
        return {k: getattr(self, k) for k in self._state}

    def load_state_dict(self, state):
        for k in self._state:
            v = state[k]
            setattr(self, k, np.array(v) if isinstance(v, np.ndarray) else v)

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r})"


# ------------------------------------------------------------------------------------------- classification
def _check_rows(out, tgt, who):
    if out.ndim == 0 or tgt.ndim == 0 or out.shape[0] != tgt.shape[0]:
        raise ValueError(f"{who}: output shape {out.shape} and target shape {tgt.shape} must have the same "
                         f"number of samples along dim 0")


def class_labels(output, target, who="metric"):
    """(predicted class, true class, number of classes the output can name) as int arrays."""
    out, tgt = _np(output), _np(target)
    _check_rows(out, tgt, who)
    if out.ndim == 2 and tgt.ndim == 1 and tgt.dtype.kind in "iu" and out.shape[1] > 1:   # the common case
        if tgt.size and tgt.min() < 0:
            raise ValueError(f"{who}: class indices must be >= 0, got {tgt.min()}")
        return out.argmax(axis=1), tgt, out.shape[1]
    if out.ndim == 2 and out.shape[1] > 1:
        pred, width = out.argmax(axis=1), out.shape[1]
    elif out.ndim == 1 or (out.ndim == 2 and out.shape[1] == 1):
        o = out.reshape(-1)
        if o.dtype.kind in "iub":
            pred = o.astype(np.int64)
        else:
            threshold = 0.0 if o.size and (o.min() < 0 or o.max() > 1) else 0.5
            pred = (o > threshold).astype(np.int64)
        width = 2
    else:
        raise ValueError(f"{who}: a classification output must be (N, C) scores or (N,)/(N, 1) binary scores, "
                         f"got shape {out.shape}")
    if tgt.ndim == 2 and tgt.shape[1] > 1:
        true = tgt.argmax(axis=1)
    elif tgt.ndim == 1 or (tgt.ndim == 2 and tgt.shape[1] == 1):
        t = tgt.reshape(-1)
        true = t.astype(np.int64)
        if t.dtype.kind == "f" and not np.array_equal(true, t):
            raise ValueError(f"{who}: targets must be class indices (or one-hot rows), got non-integer values "
                             f"such as {t[true != t][0]}; for regression use 'mse', 'mae' or 'r2'")
    else:
        raise ValueError(f"{who}: targets must be class indices (N,) or one-hot (N, C), got shape {tgt.shape}")
    if true.size and true.min() < 0:
        raise ValueError(f"{who}: class indices must be >= 0, got {true.min()}")
    return pred, true, width


class Accuracy(Metric):
    """Fraction of samples whose predicted class equals the target."""
    _state = ("correct", "total")

    def __init__(self, name="accuracy"):
        self.name = name
        self.reset()

    def reset(self):
        self.correct, self.total = 0, 0

    def update(self, output, target):
        pred, true, _ = class_labels(output, target, "accuracy")
        self.correct += int(np.count_nonzero(pred == true))
        self.total += int(true.size)

    def compute(self):
        return self.correct / self.total if self.total else float("nan")


class TopKAccuracy(Metric):
    """Fraction of samples whose target is among the ``k`` highest scores."""
    _state = ("correct", "total")

    def __init__(self, k=5, name=None):
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise ValueError(f"TopKAccuracy: k must be a positive integer, got {k!r}")
        self.k = k
        self.name = name or f"top{k}"
        self.reset()

    def reset(self):
        self.correct, self.total = 0, 0

    def update(self, output, target):
        out, tgt = _np(output), _np(target)
        _check_rows(out, tgt, self.name)
        if out.ndim != 2 or out.shape[1] < self.k:
            raise ValueError(f"{self.name}: needs (N, C) class scores with C >= {self.k}, got shape {out.shape}")
        true = tgt.argmax(axis=1) if tgt.ndim == 2 and tgt.shape[1] > 1 else tgt.reshape(-1).astype(np.int64)
        top = np.argpartition(-out, self.k - 1, axis=1)[:, :self.k]
        self.correct += int(np.count_nonzero((top == true[:, None]).any(axis=1)))
        self.total += int(true.size)

    def compute(self):
        return self.correct / self.total if self.total else float("nan")


class ConfusionMatrix(Metric):
    """``matrix[i, j]`` = number of samples of true class i predicted as class j (scikit-learn's layout).
    ``num_classes``: fixed size; default: the output's width, grown when a larger class index appears."""
    _state = ("matrix",)
    scalar = False

    def __init__(self, num_classes=None, name="confusion_matrix"):
        self.num_classes = num_classes
        self.name = name
        self.reset()

    def reset(self):
        self.matrix = np.zeros((self.num_classes or 0,) * 2, np.int64)

    def update(self, output, target):
        pred, true, width = class_labels(output, target, self.name)
        c = max(self.matrix.shape[0], width, int(pred.max(initial=-1)) + 1, int(true.max(initial=-1)) + 1)
        if self.num_classes is not None and c > self.num_classes:
            raise ValueError(f"{self.name}: class index {c - 1} out of range for num_classes={self.num_classes}")
        if c > self.matrix.shape[0]:
            grown = np.zeros((c, c), np.int64)
            k = self.matrix.shape[0]
            grown[:k, :k] = self.matrix
            self.matrix = grown
        self.matrix += np.bincount(true * c + pred, minlength=c * c).reshape(c, c)

    def compute(self):
        return self.matrix.copy()


_AVERAGES = ("macro", "micro", "weighted", None, "binary")


class _FromConfusion(Metric):
    """Precision / recall / F1 from a running confusion matrix."""
    _state = ("matrix",)
    kind = ""

    def __init__(self, average="macro", num_classes=None, name=None):
        if average not in _AVERAGES:
            raise ValueError(f"{type(self).__name__}: average must be one of {_AVERAGES}, got {average!r}")
        self.average = average
        self._cm = ConfusionMatrix(num_classes)
        suffix = {"macro": "", None: "_per_class"}.get(average, f"_{average}")
        self.name = name or self.kind + suffix
        self.scalar = average is not None

    def reset(self):
        self._cm.reset()

    @property
    def matrix(self):
        return self._cm.matrix

    @matrix.setter
    def matrix(self, value):
        self._cm.matrix = np.asarray(value, np.int64)

    def update(self, output, target):
        self._cm.update(output, target)

    def _per_class(self, tp, fp, fn):
        raise NotImplementedError

    def compute(self):
        m = self._cm.matrix
        tp = np.diag(m).astype(np.float64)
        fp = m.sum(axis=0) - tp
        fn = m.sum(axis=1) - tp
        if self.average == "micro":
            return float(_safe_div(self._per_class_numerator(tp.sum()),
                                   self._per_class_denominator(tp.sum(), fp.sum(), fn.sum())))
        scores = _safe_div(self._per_class_numerator(tp), self._per_class_denominator(tp, fp, fn))
        if self.average is None:
            return scores
        if self.average == "binary":
            if m.shape[0] > 2:
                raise ValueError(f"{self.name}: average='binary' needs two classes, found {m.shape[0]}")
            return float(scores[1]) if m.shape[0] == 2 else 0.0
        present = (m.sum(axis=0) + m.sum(axis=1)) > 0      # scikit-learn's labels: seen in targets or predictions
        if not present.any():
            return float("nan")
        if self.average == "weighted":
            support = m.sum(axis=1)
            return float((scores * support).sum() / support.sum()) if support.sum() else 0.0
        return float(scores[present].mean())

    def _per_class_numerator(self, tp):
        return tp


def _safe_div(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return np.divide(a, b, out=np.zeros(np.broadcast(a, b).shape), where=b != 0)


class Precision(_FromConfusion):
    """tp / (tp + fp) per class, averaged by ``average`` ('macro', 'micro', 'weighted', 'binary', None)."""
    kind = "precision"

    def _per_class_denominator(self, tp, fp, fn):
        return tp + fp


class Recall(_FromConfusion):
    """tp / (tp + fn) per class, averaged by ``average``."""
    kind = "recall"

    def _per_class_denominator(self, tp, fp, fn):
        return tp + fn


class F1(_FromConfusion):
    """2 tp / (2 tp + fp + fn) per class (the harmonic mean of precision and recall), averaged by ``average``
    (macro: the mean of the per-class F1, as scikit-learn)."""
    kind = "f1"

    def _per_class_numerator(self, tp):
        return 2 * tp

    def _per_class_denominator(self, tp, fp, fn):
        return 2 * tp + fp + fn


# ------------------------------------------------------------------------------------------------ regression
def _pair(output, target, who):
    out, tgt = _np(output), _np(target)
    if out.shape != tgt.shape:
        if out.size != tgt.size:
            raise ValueError(f"{who}: output shape {out.shape} and target shape {tgt.shape} do not match")
        out = out.reshape(tgt.shape)
    return out.astype(np.float64, copy=False), tgt.astype(np.float64, copy=False)


class MSE(Metric):
    """Mean squared error over all elements."""
    _state = ("sum", "count")
    higher_is_better = False

    def __init__(self, name="mse"):
        self.name = name
        self.reset()

    def reset(self):
        self.sum, self.count = 0.0, 0

    def update(self, output, target):
        out, tgt = _pair(output, target, self.name)
        d = out - tgt
        self.sum += float(np.dot(d.reshape(-1), d.reshape(-1)))
        self.count += d.size

    def compute(self):
        return self.sum / self.count if self.count else float("nan")


class MAE(MSE):
    """Mean absolute error over all elements."""

    def __init__(self, name="mae"):
        super().__init__(name)

    def update(self, output, target):
        out, tgt = _pair(output, target, self.name)
        self.sum += float(np.abs(out - tgt).sum())
        self.count += out.size


class R2(Metric):
    """Coefficient of determination 1 - SS_res / SS_tot per output column, averaged over columns (scikit-
    learn's ``uniform_average``). SS_tot streams with Chan's pairwise update of (count, mean, M2), which
    stays accurate where the textbook sum-of-squares formula cancels. A constant target scores 1.0 when
    predicted exactly, else 0.0 (scikit-learn's ``force_finite``)."""
    _state = ("n", "mean", "m2", "ss_res")

    def __init__(self, name="r2"):
        self.name = name
        self.reset()

    def reset(self):
        self.n, self.mean, self.m2, self.ss_res = 0, 0.0, 0.0, 0.0

    def update(self, output, target):
        out, tgt = _pair(output, target, self.name)
        if tgt.ndim == 1:
            out, tgt = out[:, None], tgt[:, None]
        elif tgt.ndim != 2:
            out, tgt = out.reshape(len(tgt), -1), tgt.reshape(len(tgt), -1)
        nb = tgt.shape[0]
        if nb == 0:
            return
        mb = tgt.mean(axis=0)
        m2b = ((tgt - mb) ** 2).sum(axis=0)
        n = self.n + nb
        delta = mb - self.mean
        self.mean = self.mean + delta * nb / n
        self.m2 = self.m2 + m2b + delta ** 2 * self.n * nb / n
        self.ss_res = self.ss_res + ((tgt - out) ** 2).sum(axis=0)
        self.n = n

    def compute(self):
        if self.n < 2:
            return float("nan")
        ss_tot, ss_res = np.atleast_1d(self.m2), np.atleast_1d(self.ss_res)
        ok = ss_tot != 0
        scores = np.where(ok, 1 - ss_res / np.where(ok, ss_tot, 1), np.where(ss_res == 0, 1.0, 0.0))
        return float(scores.mean())


# --------------------------------------------------------------------------------------------------- by name
_BY_NAME = {
    "accuracy": Accuracy, "acc": Accuracy,
    "confusion_matrix": ConfusionMatrix,
    "mse": MSE, "mean_squared_error": MSE, "mae": MAE, "mean_absolute_error": MAE, "r2": R2,
}
for _cls in (Precision, Recall, F1):
    for _avg in ("macro", "micro", "weighted", None, "binary"):
        _suffix = {"macro": "", None: "_per_class"}.get(_avg, f"_{_avg}")
        _BY_NAME[_cls.kind + _suffix] = (lambda c, a: lambda: c(average=a))(_cls, _avg)
    _BY_NAME[_cls.kind + "_macro"] = (lambda c: lambda: c(average="macro"))(_cls)

METRIC_NAMES = tuple(sorted(_BY_NAME)) + ("top_k", "top<k> (e.g. top5)")


def get_metric(spec):
    """A ``Metric`` from a name ("accuracy", "top5", "f1_micro", ...) or a ``Metric`` object (returned as is)."""
    if isinstance(spec, Metric):
        return spec
    if isinstance(spec, str):
        key = spec.strip().lower()
        if key in _BY_NAME:
            return _BY_NAME[key]()
        m = re.fullmatch(r"top_?(\d+)(?:_accuracy)?|top_k(?:_accuracy)?", key)
        if m:
            return TopKAccuracy(int(m.group(1)) if m.group(1) else 5)
        close = difflib.get_close_matches(key, list(_BY_NAME) + ["top5"], n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown metric {spec!r}{hint} Known: {', '.join(METRIC_NAMES)}, or pass a "
                         f"chainrule.train.metrics.Metric object")
    if all(hasattr(spec, a) for a in ("update", "compute", "reset", "name")):
        return spec                       # duck-typed metric
    raise TypeError(f"a metric must be a name (e.g. 'accuracy') or a Metric object, got "
                    f"{type(spec).__name__}")
