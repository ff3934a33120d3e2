"""read_idx against hostile files: gzip bombs, absurd headers, too many dimensions; MNIST's 28 x 28 check.

Memory is measured with tracemalloc (NumPy and zlib's outputs are traced): a resource bound, not a timing.
"""
import gzip
import struct
import tracemalloc
import zlib

import numpy as np
import pytest

from chainrule.datasets import MNIST, IDXError, read_idx


def idx_header(dims, code=0x08):
    return struct.pack(">BBBB", 0, 0, code, len(dims)) + struct.pack(f">{len(dims)}I", *dims)


def gzip_stream(parts):
    """gzip-compress an iterable of byte chunks without holding the uncompressed whole."""
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    return b"".join(c.compress(p) for p in parts) + c.flush()


def peak_bytes(fn):
    """Run ``fn`` and return the peak traced allocation (bytes) during it."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_gzip_bomb_stops_one_byte_past_the_declared_size(tmp_path):
    """A 3x4x5 header followed by 64 MiB of zeros (64 KiB compressed): before, all of it was decompressed
    (the issue's 1 MiB bomb took 2.1 GB) before the length check failed."""
    chunk = bytes(1 << 20)
    p = tmp_path / "bomb.idx.gz"
    p.write_bytes(gzip_stream([idx_header((3, 4, 5)), *[chunk] * 64]))
    assert p.stat().st_size < 200_000

    def load():
        with pytest.raises(IDXError, match=r"bomb.idx.gz: the gzip stream holds more bytes than the IDX header"):
            read_idx(p)
    assert peak_bytes(load) < 8e6


def test_header_claiming_more_than_deflate_can_hold_is_refused_before_decompressing(tmp_path):
    p = tmp_path / "liar.idx.gz"
    p.write_bytes(gzip.compress(idx_header((100000, 1000, 100)) + bytes(1000)))
    with pytest.raises(IDXError, match=r"liar.idx.gz: the IDX header declares 100000x1000x100 .* more than a "
                                       r"\d+-byte gzip file can hold"):
        read_idx(p)


@pytest.mark.parametrize("ndim", [65, 200, 255])
@pytest.mark.parametrize("gz", [False, True])
def test_too_many_dimensions_names_the_file(tmp_path, ndim, gz):
    blob = idx_header((1,) * ndim) + b"\x07"
    p = tmp_path / ("many.idx" + (".gz" if gz else ""))
    p.write_bytes(gzip.compress(blob) if gz else blob)
    with pytest.raises(IDXError, match=rf"many.idx(.gz)?: IDX header declares {ndim} dimensions; at most 64"):
        read_idx(p)


def test_64_dimensions_still_load(tmp_path):
    p = tmp_path / "d64.idx"
    p.write_bytes(idx_header((1,) * 63 + (2,)) + b"\x05\x06")
    assert read_idx(p).shape == (1,) * 63 + (2,)


def test_multi_member_gzip_is_joined_and_garbage_after_it_is_an_error(tmp_path):
    arr = np.arange(60, dtype=np.uint8).reshape(3, 4, 5)
    blob = idx_header(arr.shape) + arr.tobytes()
    p = tmp_path / "multi.gz"
    p.write_bytes(gzip.compress(blob[:17]) + gzip.compress(blob[17:]))
    np.testing.assert_array_equal(read_idx(p), arr)
    p.write_bytes(gzip.compress(blob) + b"\x00\x00junk")
    with pytest.raises(IDXError, match="garbage after the compressed stream"):
        read_idx(p)


@pytest.mark.parametrize("hw", [(784, 1), (1, 784), (0, 0), (32, 32)])
def test_raw_mnist_images_must_be_28x28(tmp_path, hw):
    n = 3
    images = np.zeros((n, *hw), np.uint8)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(idx_header(images.shape) + images.tobytes())
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(idx_header((n,)) + bytes(n))
    with pytest.raises(IDXError, match=rf"train-images-idx3-ubyte: MNIST images are 28 x 28, but this file "
                                       rf"declares {hw[0]} x {hw[1]} images"):
        MNIST(root=tmp_path)
