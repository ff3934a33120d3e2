"""Fuzzing read_idx: truncations, mutations and hypothesis-made headers, raw and gzip. Each case returns an
array of the shape its header declares or raises IDXError - never another exception - and the peak of traced
memory over each whole fuzz stays under 200 MB (a resource bound, not a timing), even for headers claiming
terabytes. IDX has no checksum: a flipped bit in the values of a raw file loads as other values (the gzip
layer's CRC-32 catches them in .gz files).

Bounded work (fixed case counts, seeded; hypothesis derandomized under CI). ``pytest -s`` shows what ran.
"""
import gzip
import struct

import numpy as np
from fuzz import Fuzz, mutate
from hypothesis import HealthCheck, given, settings, strategies as st

from chainrule.datasets import IDXError, read_idx


def read(blob):
    arr = read_idx("fuzz.idx", data=blob)
    assert arr.dtype.isnative
    return arr


class IdxFuzz(Fuzz):
    def __init__(self, label):
        super().__init__(f"read_idx, {label}", read, IDXError)

    def out(self, blob):
        """The array, or None for an IDXError - which must name the file."""
        if self.run(blob):
            return self.result
        assert "fuzz.idx" in str(self.last_error)
        return None


def sample_files():
    arr = np.random.default_rng(0).integers(0, 256, (6, 7, 5), dtype=np.uint8)
    raw = struct.pack(">BBBB", 0, 0, 0x08, 3) + struct.pack(">3I", *arr.shape) + arr.tobytes()
    return arr, raw, gzip.compress(raw, mtime=0)


def test_every_truncation_raw_and_gz_is_rejected():
    _, raw, gz = sample_files()
    with IdxFuzz("every truncation (raw and gz)") as f:
        for blob in (raw, gz):
            for n in range(len(blob)):
                assert f.out(blob[:n]) is None, n
            assert f.out(blob + b"\x00") is None
    assert f.loaded == 0


def test_every_bit_flip_raw_and_gz():
    """Raw: a flip in the header is an error (or turns uint8 into int8); a flip in the values loads one other
    value. Gzip: a flip never yields other values (CRC-32, length, deflate checks); it may load the same
    values when it hits a bit without meaning (FTEXT flag, mtime, OS byte) or an equivalent deflate code."""
    arr, raw, gz = sample_files()
    with IdxFuzz("every bit flip (raw and gz)") as f:
        for blob, is_gz in ((raw, False), (gz, True)):
            for i in range(len(blob)):
                for bit in range(8):
                    b = bytearray(blob)
                    b[i] ^= 1 << bit
                    out = f.out(bytes(b))
                    if out is None:
                        continue
                    assert out.shape == arr.shape, (is_gz, i, bit)
                    if is_gz:       # a header bit without meaning (FTEXT, mtime, OS) or an equivalent deflate
                        assert np.array_equal(out, arr), (i, bit)       # encoding: never other values (CRC-32)
                    elif i == 2:    # type code 0x08 <-> 0x09: the same bytes read as int8
                        assert out.dtype == np.int8 and np.array_equal(out.view(np.uint8), arr), bit
                    else:           # one value changed
                        assert i >= 16 and (out != arr).sum() == 1, (i, bit)


def test_random_mutations_raw_and_gz():
    _, raw, gz = sample_files()
    rng = np.random.default_rng(3)
    with IdxFuzz("random multi-byte mutations (raw and gz)") as f:
        for blob in (raw, gz):
            for _ in range(1000):
                f.out(mutate(blob, rng))


CODES = [0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E]


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.data_too_large])
@given(code=st.one_of(st.sampled_from(CODES), st.integers(0, 255)), ndim=st.integers(0, 255),
       dims=st.lists(st.one_of(st.integers(0, 8), st.integers(0, 2 ** 32 - 1)), max_size=70),
       body=st.binary(max_size=300), pad=st.integers(-3, 3), gz=st.booleans(), zeros=st.integers(0, 4))
def test_hypothesis_headers(code, ndim, dims, body, pad, gz, zeros):
    """Arbitrary type code, ndim (up to 255) and sizes (up to 2^32 - 1 each), any body; also bodies padded
    with up to 1 MiB of zeros (compressible: small bombs)."""
    dims = (dims + [1] * ndim)[:ndim]
    blob = bytes([0, 0, code, ndim]) + struct.pack(f">{ndim}I", *dims) + body
    if pad < 0:
        blob = blob[:pad]
    elif pad > 0:
        blob += bytes(pad)
    if gz:
        blob = gzip.compress(blob + bytes(zeros * (1 << 18)), mtime=0, compresslevel=1)
    with IdxFuzz("hypothesis headers") as f:
        out = f.out(blob)
    if out is not None:
        assert out.shape == tuple(dims)
