"""The bundled UCI digits: the file is intact, the split fixed and documented, arrays normalised."""
import os

import numpy as np

import chainrule as cr
from chainrule.datasets import Digits, md5sum

DATA = os.path.join(os.path.dirname(cr.datasets.__file__), "data")


def test_file_is_the_published_one_with_its_licence():
    assert md5sum(os.path.join(DATA, "digits.csv.gz")) == "9b335364a7bfd63947c7480a5bd51f2d"
    note = open(os.path.join(DATA, "README.md")).read()
    assert "CC BY 4.0" in note and "Alpaydin" in note and "Kaynak" in note


def test_split_sizes_classes_and_pixels():
    train, test = Digits(train=True), Digits(train=False)
    assert (len(train), len(test)) == (1438, 359)
    assert train.data.shape == (1438, 8, 8) and train.data.dtype == cr.uint8
    assert int(train.data.numpy().max()) == 16
    assert np.bincount(test.targets.numpy()).min() >= 33           # every class in the test split
    img, label = test[0]
    assert img.shape == (1, 8, 8) and 0 <= float(img.min()) and float(img.max()) <= 1 and isinstance(label, int)


def test_arrays_are_normalised_with_the_training_statistics():
    x, y = Digits(train=True).arrays()
    assert x.shape == (1438, 1, 8, 8) and x.dtype == cr.float32 and y.dtype == cr.int64
    assert abs(float(x.mean())) < 1e-3 and abs(float(x.std()) - 1) < 1e-3
    raw, _ = Digits(train=True).arrays(normalize=False)
    sk = np.loadtxt(os.path.join(DATA, "digits.csv.gz"), delimiter=",")[:1438]
    np.testing.assert_allclose(raw.numpy().reshape(1438, 64), sk[:, :64] / 16, rtol=1e-6)
    np.testing.assert_array_equal(y.numpy(), sk[:, 64])
