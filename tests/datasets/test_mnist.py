"""cr.datasets.MNIST / FashionMNIST: IDX parsing (valid, truncated, wrong magic, wrong md5; gz and raw), file
layouts and root resolution, downloads (never the network: file:// mirrors and a patched opener), transforms,
batched reads, and the real MNIST files when present ($CHAINRULE_DATA, else ../shared/data/mnist).

The IDX files here are written by the test itself with struct (not with chainrule's write_idx), so the parser
is checked against an independent encoder."""
import gzip
import hashlib
import os
import struct
import urllib.error

import numpy as np
import pytest

import chainrule as cr
from chainrule.datasets import MNIST, FashionMNIST, IDXError, read_idx, transforms as T
from chainrule.datasets import _download
from chainrule.utils.data import DataLoader, TensorDataset

from mnist_files import DIR as REAL, NAMES as REAL_NAMES, needs_mnist


def idx_bytes(arr, code=0x08, magic=None, dims=None):
    """An IDX file, encoded by hand: 0 0 <code> <ndim>, big-endian uint32 dims, big-endian data."""
    arr = np.asarray(arr)
    dims = arr.shape if dims is None else dims
    head = magic if magic is not None else struct.pack(">BBBB", 0, 0, code, len(dims))
    be = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}[code]
    return head + struct.pack(f">{len(dims)}I", *dims) + arr.astype(be).tobytes()


def md5(b):
    return hashlib.md5(b).hexdigest()


def small_split(n=12, seed=0, h=28, w=28):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, h, w), dtype=np.uint8), rng.integers(0, 10, n).astype(np.uint8)


def write_split(folder, prefix, images, labels, gz=True):
    os.makedirs(folder, exist_ok=True)
    out = {}
    for kind, arr in (("images-idx3", images), ("labels-idx1", labels)):
        data = idx_bytes(arr)
        name = f"{prefix}-{kind}-ubyte"
        if gz:
            data = gzip.compress(data, mtime=0)
            name += ".gz"
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)
        out[name] = md5(data)
    return out


@pytest.fixture
def fake_md5s(monkeypatch):
    """Let MNIST accept .gz files written here: replace the official md5s by the ones given."""
    def patch(cls, md5s):
        res = dict(cls.resources)
        res.update(md5s)
        monkeypatch.setattr(cls, "resources", list(res.items()))
    return patch


# ---------------------------------------------------------------------------------------------------- read_idx
@pytest.mark.parametrize("code,dtype", [(0x08, np.uint8), (0x09, np.int8), (0x0B, np.int16), (0x0C, np.int32),
                                        (0x0D, np.float32), (0x0E, np.float64)])
def test_read_idx_all_types_raw_and_gz(tmp_path, code, dtype):
    arr = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    if dtype == np.uint8:
        arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    raw = tmp_path / "a.idx"
    raw.write_bytes(idx_bytes(arr, code))
    gz = tmp_path / "a.idx.gz"
    gz.write_bytes(gzip.compress(idx_bytes(arr, code)))
    for p in (raw, gz):
        out = read_idx(p)
        assert out.dtype == dtype and out.dtype.isnative and out.shape == (2, 3, 4)
        np.testing.assert_array_equal(out, arr)
        out[0, 0, 0] = 1                                    # writable


def test_read_idx_rejects_bad_files(tmp_path):
    arr = np.arange(60, dtype=np.uint8).reshape(3, 4, 5)
    good = idx_bytes(arr)
    cases = {
        "truncated": (good[:-7], r"truncated IDX file.*3x4x5.*60 bytes.*53 bytes"),
        "extra": (good + b"\x00\x01", r"2 unexpected bytes"),
        "magic": (b"\x08\x03\x00\x00" + good[4:], r"bad magic number 08030000"),
        "typecode": (struct.pack(">BBBB", 0, 0, 0x07, 3) + good[4:], "bad magic number"),
        "html": (b"<html><body>404</body></html>", "not an IDX file"),
        "tiny": (b"\x00\x00", "truncated"),
        "dims": (struct.pack(">BBBB", 0, 0, 8, 3) + b"\x00\x00", "header declares 3 dimensions"),
        "huge_dims": (idx_bytes(arr, dims=(300000, 28, 28)), r"truncated.*300000x28x28"),
        "gz_truncated": (gzip.compress(good)[:-12], "truncated gzip"),
        "gz_corrupt": ((lambda z: z[:-8] + bytes([z[-8] ^ 0xFF]) + z[-7:])(gzip.compress(good)), "corrupted gzip"),
        "gz_garbage": (b"\x1f\x8b" + b"garbage" * 5, "gzip"),
    }
    for name, (blob, pattern) in cases.items():
        p = tmp_path / name
        p.write_bytes(blob)
        with pytest.raises(IDXError, match=pattern):
            read_idx(p)


# ---------------------------------------------------------------------------------------------------- MNIST files
def test_mnist_from_gz_in_torchvision_layout(tmp_path, fake_md5s):
    images, labels = small_split(12)
    fake_md5s(MNIST, write_split(tmp_path / "MNIST" / "raw", "train", images, labels))
    ds = MNIST(root=tmp_path, train=True)
    assert len(ds) == 12
    assert ds.data.dtype == cr.uint8 and tuple(ds.data.shape) == (12, 28, 28)
    assert ds.targets.dtype == cr.int64
    np.testing.assert_array_equal(ds.data.numpy(), images)
    np.testing.assert_array_equal(ds.targets.numpy(), labels)
    img, label = ds[5]
    assert img.dtype == cr.float32 and tuple(img.shape) == (1, 28, 28)
    np.testing.assert_array_equal(img.numpy()[0], images[5].astype(np.float32) / np.float32(255))
    assert type(label) is int and label == labels[5]
    X, y = ds.arrays()
    assert X.dtype == cr.float32 and tuple(X.shape) == (12, 1, 28, 28) and y.dtype == cr.int64
    ref = (images.astype(np.float32) / np.float32(255) - np.float32(0.1307)) / np.float32(0.3081)
    np.testing.assert_array_equal(X.numpy()[:, 0], ref)
    X01, _ = ds.arrays(normalize=False)
    assert X01.numpy().min() >= 0 and X01.numpy().max() <= 1
    np.testing.assert_array_equal(X01.numpy()[:, 0], images / np.float32(255))


def test_mnist_raw_files_directly_in_root_and_test_split(tmp_path):
    images, labels = small_split(5, seed=1)
    write_split(tmp_path, "t10k", images, labels, gz=False)
    ds = MNIST(root=str(tmp_path), train=False)
    np.testing.assert_array_equal(ds.data.numpy(), images)
    assert "Split: Test" in repr(ds)
    with pytest.raises(FileNotFoundError):
        MNIST(root=tmp_path, train=True)                       # only the test split is there


def test_root_from_env_then_home_cache(tmp_path, monkeypatch):
    images, labels = small_split(3)
    write_split(tmp_path / "envroot", "t10k", images, labels, gz=False)
    monkeypatch.setenv("CHAINRULE_DATA", str(tmp_path / "envroot"))
    assert len(MNIST(train=False)) == 3
    monkeypatch.delenv("CHAINRULE_DATA")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    write_split(tmp_path / "home" / ".cache" / "chainrule" / "MNIST" / "raw", "t10k", images[:2], labels[:2],
                gz=False)
    ds = MNIST(train=False)
    assert len(ds) == 2 and ds.root == str(tmp_path / "home" / ".cache" / "chainrule")


def test_missing_files_error_lists_files_and_folder(tmp_path):
    with pytest.raises(FileNotFoundError) as e:
        MNIST(root=tmp_path, train=True)
    msg = str(e.value)
    assert "train-images-idx3-ubyte.gz" in msg and "train-labels-idx1-ubyte.gz" in msg
    assert "t10k" not in msg
    assert os.path.join(str(tmp_path), "MNIST", "raw") in msg and "f68b3c2dcbeaaa9fbdd348bbdeb94873" in msg
    assert "download=True" in msg


def test_wrong_md5_is_rejected(tmp_path):
    images, labels = small_split(4)
    write_split(tmp_path, "train", images, labels, gz=True)    # valid IDX, but not the official bytes
    with pytest.raises(IDXError, match=r"md5 mismatch.*f68b3c2dcbeaaa9fbdd348bbdeb94873"):
        MNIST(root=tmp_path)


def test_truncated_and_corrupted_files_are_rejected(tmp_path, fake_md5s):
    images, labels = small_split(6)
    # a truncated raw file: clear error, never garbage
    write_split(tmp_path / "a", "train", images, labels, gz=False)
    p = tmp_path / "a" / "train-images-idx3-ubyte"
    p.write_bytes(p.read_bytes()[:-100])
    with pytest.raises(IDXError, match="truncated IDX file"):
        MNIST(root=tmp_path / "a")
    # a truncated .gz whose md5 is (made) right: the gzip layer still catches it
    md5s = write_split(tmp_path / "b", "train", images, labels, gz=True)
    p = tmp_path / "b" / "train-images-idx3-ubyte.gz"
    cut = p.read_bytes()[:-20]
    p.write_bytes(cut)
    md5s["train-images-idx3-ubyte.gz"] = md5(cut)
    fake_md5s(MNIST, md5s)
    with pytest.raises(IDXError, match="truncated gzip"):
        MNIST(root=tmp_path / "b")


def test_mismatched_or_wrong_kind_files_are_rejected(tmp_path):
    images, labels = small_split(6)
    write_split(tmp_path / "a", "train", images, labels[:5], gz=False)
    with pytest.raises(IDXError, match="6 images .* but 5 labels"):
        MNIST(root=tmp_path / "a")
    write_split(tmp_path / "b", "train", images, labels + 10, gz=False)
    with pytest.raises(IDXError, match="label 1[0-9] out of range 0..9"):
        MNIST(root=tmp_path / "b")
    write_split(tmp_path / "c", "train", labels, images, gz=False)   # swapped files
    with pytest.raises(IDXError, match="expected N x H x W uint8 images"):
        MNIST(root=tmp_path / "c")


def test_fashion_mnist_has_its_own_files_and_folder(tmp_path, fake_md5s):
    assert dict(FashionMNIST.resources)["train-images-idx3-ubyte.gz"] == "8d4fb7e6c68d591d4c3dfef9ec88bf0d"
    assert dict(FashionMNIST.resources)["t10k-labels-idx1-ubyte.gz"] == "bb300cfdad3c16e7a12a480ee83cd310"
    assert FashionMNIST.mirrors != MNIST.mirrors and FashionMNIST.classes[9] == "Ankle boot"
    images, labels = small_split(4)
    write_split(tmp_path / "MNIST" / "raw", "train", images, labels, gz=False)
    with pytest.raises(FileNotFoundError, match=r"(?s)FashionMNIST.*8d4fb7e6c68d591d4c3dfef9ec88bf0d"):
        FashionMNIST(root=tmp_path)                          # MNIST's folder is not Fashion-MNIST's
    fake_md5s(FashionMNIST, write_split(tmp_path / "FashionMNIST" / "raw", "train", images, labels))
    ds = FashionMNIST(root=tmp_path)
    X, _ = ds.arrays()
    ref = (images.astype(np.float32) / np.float32(255) - np.float32(0.2860)) / np.float32(0.3530)
    np.testing.assert_array_equal(X.numpy()[:, 0], ref)


# ---------------------------------------------------------------------------------------------- transforms, batches
def test_transforms_receive_the_raw_image(tmp_path):
    images, labels = small_split(5)
    write_split(tmp_path, "train", images, labels, gz=False)
    seen = []
    ds = MNIST(root=tmp_path, transform=lambda im: seen.append(im) or "img", target_transform=lambda t: t + 100)
    assert ds[2] == ("img", int(labels[2]) + 100)
    assert seen[0].dtype == np.uint8 and seen[0].shape == (28, 28)
    np.testing.assert_array_equal(seen[0], images[2])
    ds = MNIST(root=tmp_path, transform=T.Compose([T.ToTensor(), T.Normalize((0.1307,), (0.3081,))]))
    X, _ = ds.arrays()
    for i in range(5):
        np.testing.assert_allclose(ds[i][0].numpy(), X.numpy()[i], rtol=0, atol=1e-6)
    with pytest.raises(TypeError, match="apply ToTensor first"):
        T.Normalize((0.5,), (0.5,))(images[0])


def test_loader_over_mnist_reads_whole_batches(tmp_path, monkeypatch):
    images, labels = small_split(10)
    write_split(tmp_path, "train", images, labels, gz=False)
    ds = MNIST(root=tmp_path)
    expected = [ds[i] for i in range(10)]
    monkeypatch.setattr(MNIST, "__getitem__", lambda self, i: (_ for _ in ()).throw(AssertionError("per sample")))
    xb, yb = next(iter(DataLoader(ds, batch_size=10)))
    assert xb.dtype == cr.float32 and tuple(xb.shape) == (10, 1, 28, 28) and yb.dtype == cr.int64
    np.testing.assert_array_equal(xb.numpy(), np.stack([e[0].numpy() for e in expected]))
    assert yb.tolist() == [e[1] for e in expected]
    b = ds.__getitems__([3, 1])                               # still a sequence of (image, int) samples
    assert b[1][1] == expected[1][1] and type(b[1][1]) is int


# ---------------------------------------------------------------------------------------------------- download
def test_download_from_file_mirror(tmp_path, fake_md5s, monkeypatch, capsys):
    images, labels = small_split(7)
    mirror = tmp_path / "mirror"
    md5s = write_split(mirror, "train", images, labels)
    md5s.update(write_split(mirror, "t10k", images[:3], labels[:3]))
    fake_md5s(MNIST, md5s)
    monkeypatch.setattr(MNIST, "mirrors", [(tmp_path / "nowhere").as_uri() + "/", mirror.as_uri() + "/"])
    ds = MNIST(root=tmp_path / "data", download=True)
    raw = tmp_path / "data" / "MNIST" / "raw"
    assert sorted(os.listdir(raw)) == sorted(md5s)               # all four, no leftover temp files
    np.testing.assert_array_equal(ds.data.numpy(), images)
    assert "Downloading" in capsys.readouterr().err
    assert len(MNIST(root=tmp_path / "data", train=False)) == 3   # already there: no download needed


def test_download_with_wrong_md5_leaves_nothing(tmp_path, monkeypatch):
    images, labels = small_split(3)
    mirror = tmp_path / "mirror"
    write_split(mirror, "train", images, labels)               # official md5s kept: these files don't match
    monkeypatch.setattr(MNIST, "mirrors", [mirror.as_uri() + "/"])
    with pytest.raises(RuntimeError, match=r"md5 mismatch") as e:
        MNIST(root=tmp_path / "data", download=True)
    assert "train-images-idx3-ubyte.gz" in str(e.value)
    raw = tmp_path / "data" / "MNIST" / "raw"
    assert os.listdir(raw) == []


def test_download_offline_says_what_to_put_where(tmp_path, monkeypatch):
    def offline(url, timeout=30):
        raise urllib.error.URLError("no network")
    monkeypatch.setattr(_download, "urlopen", offline)
    with pytest.warns(RuntimeWarning):                          # the test split's files: a warning only
        with pytest.raises(RuntimeError) as e:
            MNIST(root=tmp_path, download=True)
    msg = str(e.value)
    assert "no network" in msg and "ossci-datasets" in msg
    assert os.path.join(str(tmp_path), "MNIST", "raw") in msg
    assert "train-images-idx3-ubyte.gz" in msg and "train-labels-idx1-ubyte.gz" in msg


def test_download_short_read_is_an_error(tmp_path, monkeypatch):
    class Resp:
        headers = {"Content-Length": "1000"}

        def __init__(self):
            self.sent = False

        def read(self, n):
            if self.sent:
                return b""
            self.sent = True
            return b"x" * 10

        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False

    monkeypatch.setattr(_download, "urlopen", lambda url, timeout=30: Resp())
    with pytest.raises(_download.DownloadError, match="after 10 of 1000 bytes"):
        _download.download_file(["http://x/f"], tmp_path / "f", progress=False)
    assert os.listdir(tmp_path) == []


# ---------------------------------------------------------------------------------------------------- real MNIST
@needs_mnist
def test_real_mnist_md5s_shapes_histograms_and_fast_epoch():
    official = dict(MNIST.resources)
    if os.path.isfile(os.path.join(REAL, "md5sums")):         # the published list, where it was kept
        with open(os.path.join(REAL, "md5sums")) as f:
            published = dict(line.split()[::-1] for line in f if line.strip())
        assert all(published[n] == official[n] for n in REAL_NAMES)
    for n in REAL_NAMES:                                      # the files and chainrule's table agree
        with open(os.path.join(REAL, n), "rb") as fh:
            assert md5(fh.read()) == official[n]
    train, test = MNIST(root=REAL, train=True), MNIST(root=REAL, train=False)
    assert tuple(train.data.shape) == (60000, 28, 28) and tuple(test.data.shape) == (10000, 28, 28)
    # the published class counts of MNIST
    assert np.bincount(train.targets.numpy()).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265,
                                                           5851, 5949]
    assert np.bincount(test.targets.numpy()).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    # an independent decode of one file agrees
    with gzip.open(os.path.join(REAL, "t10k-images-idx3-ubyte.gz")) as f:
        raw = f.read()
    assert struct.unpack(">IIII", raw[:16]) == (2051, 10000, 28, 28)
    np.testing.assert_array_equal(test.data.numpy(), np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 28, 28))
    X, y = train.arrays()
    assert tuple(X.shape) == (60000, 1, 28, 28) and X.dtype == cr.float32 and y.dtype == cr.int64
    assert abs(float(train.data.numpy().mean()) / 255 - 0.1307) < 5e-4
    assert abs(float(X.numpy().mean())) < 2e-3 and abs(float(X.numpy().std()) - 1) < 2e-3
    # whole batches are read with one fancy index (no per-sample copies): count the calls instead of timing
    # them (timings do not belong in tests; the speed is in benchmarks/)
    calls = {"item": 0, "batch": 0}

    class Counting(TensorDataset):
        def __getitem__(self, i):
            calls["item"] += 1
            return super().__getitem__(i)

        def __getitems__(self, idx):
            calls["batch"] += 1
            return super().__getitems__(idx)

    loader = DataLoader(Counting(X, y), batch_size=64, shuffle=True, generator=cr.Generator().manual_seed(0))
    assert len(loader) == 938
    n, seen = 0, np.zeros(10, np.int64)
    for xb, yb in loader:
        n += len(yb)
        seen += np.bincount(yb.numpy(), minlength=10)
    assert n == 60000 and seen.tolist() == np.bincount(y.numpy()).tolist()
    assert calls == {"item": 0, "batch": 938}
