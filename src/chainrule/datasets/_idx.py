"""IDX files (the MNIST format), read strictly: a bad file is an error, never garbage data.

Layout: 2 zero bytes, a type code, the number of dimensions ``d``; then ``d`` big-endian uint32 sizes; then
the values, big-endian, row-major. ``read_idx`` checks the magic, the type code, and that the data is exactly
``prod(sizes) * itemsize`` bytes (a truncated or padded file is rejected). A gzip-compressed file (detected
by its first bytes, whatever its name) is decompressed first (zlib checks its CRC-32 and length); a truncated
or corrupted gzip stream is reported as such.
"""
import gzip
import math
import os
import zlib

import numpy as np

__all__ = ["read_idx", "IDXError", "write_idx"]

# type code -> big-endian NumPy dtype
_TYPES = {0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
          0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
_CODES = {dt.newbyteorder("="): code for code, dt in _TYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"


class IDXError(ValueError):
    """An IDX file that is not what it claims to be (bad magic, truncated, trailing bytes, bad gzip)."""


def read_idx(path, data=None):
    """The array stored in an IDX file (``.gz`` or raw), in native byte order.

    ``data`` may give the file's bytes already read (``path`` then only names it in errors)."""
    path = os.fspath(path)
    if data is None:
        with open(path, "rb") as fh:
            data = fh.read()
    if data[:2] == _GZIP_MAGIC:
        data = _gunzip(data, path)
    return _parse(data, path)


def _gunzip(data, path):
    """Decompress a gzip file's bytes (zlib checks the CRC-32 and length trailer); truncated or corrupted
    streams are errors."""
    try:
        d = zlib.decompressobj(wbits=31)
        out = d.decompress(data)
        if not d.eof:
            raise IDXError(f"{path}: truncated gzip file: the compressed stream ends before its end marker "
                           f"({len(data)} bytes on disk). Fix: delete it and download it again")
        if d.unused_data:                       # several gzip members (legal, rare): let gzip join them
            out = gzip.decompress(data)
        return out
    except (EOFError, gzip.BadGzipFile, zlib.error) as e:
        raise IDXError(f"{path}: corrupted gzip data ({type(e).__name__}: {e}). Fix: delete the file and "
                       f"download it again") from None


def _parse(data, path):
    """The IDX payload in ``data`` (bytes) -> a NumPy array; the header must match the length exactly."""
    if len(data) < 4:
        raise IDXError(f"{path}: truncated IDX file: {len(data)} bytes, not even the 4-byte magic number. "
                       f"Fix: delete it and download it again")
    magic = data[:4]
    if magic[:2] == _GZIP_MAGIC:
        raise IDXError(f"{path}: the file is gzip-compressed twice (it starts with a gzip header after "
                       f"decompressing); decompress it once")
    if magic[0] != 0 or magic[1] != 0 or magic[2] not in _TYPES:
        raise IDXError(f"{path}: not an IDX file: bad magic number {magic.hex()} (expected 00 00 <type code "
                       f"in {sorted(hex(c) for c in _TYPES)}> <ndim>). Fix: check that this is the right "
                       f"file (e.g. not an HTML error page saved by a failed download)")
    dtype, ndim = _TYPES[magic[2]], magic[3]
    if ndim == 0:
        raise IDXError(f"{path}: IDX header declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise IDXError(f"{path}: truncated IDX file: the header declares {ndim} dimensions ({header} header "
                       f"bytes) but the file has {len(data)} bytes. Fix: delete it and download it again")
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    expected = math.prod(dims) * dtype.itemsize
    got = len(data) - header
    shape = "x".join(map(str, dims))
    if got < expected:
        raise IDXError(f"{path}: truncated IDX file: the header promises {shape} {dtype.name} values "
                       f"({expected} bytes) but only {got} bytes follow. Fix: delete it and download it again")
    if got > expected:
        raise IDXError(f"{path}: {got - expected} unexpected bytes after the {shape} {dtype.name} values the "
                       f"header declares ({expected} bytes); the header and the data disagree. Fix: delete "
                       f"the file and download it again")
    arr = np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)
    return arr.astype(dtype.newbyteorder("="))       # a writable native-order copy


def write_idx(path, array, compress=None):
    """Write ``array`` as an IDX file (gzip-compressed when ``compress`` or the name ends in ``.gz``)."""
    arr = np.asarray(array)
    key = arr.dtype.newbyteorder("=") if arr.dtype.byteorder not in ("=", "|") else arr.dtype
    code = _CODES.get(np.dtype(key))
    if code is None:
        raise TypeError(f"write_idx: IDX stores uint8, int8, int16, int32, float32 or float64, not {arr.dtype}")
    if arr.ndim == 0 or arr.ndim > 255:
        raise ValueError(f"write_idx: IDX needs 1 to 255 dimensions, got {arr.ndim}")
    payload = (bytes([0, 0, code, arr.ndim]) + np.asarray(arr.shape, dtype=">u4").tobytes()
               + np.ascontiguousarray(arr, dtype=_TYPES[code]).tobytes())
    path = os.fspath(path)
    if compress is None:
        compress = path.endswith(".gz")
    if compress:
        payload = gzip.compress(payload, mtime=0)
    with open(path, "wb") as fh:
        fh.write(payload)
    return path
