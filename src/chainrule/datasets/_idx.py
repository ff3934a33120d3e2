"""IDX files (the MNIST format), read strictly: a bad file is an error, never garbage data.

Layout: 2 zero bytes, a type code, the number of dimensions ``d``; then ``d`` big-endian uint32 sizes; then
the values, big-endian, row-major. ``read_idx`` checks the magic, the type code, and that the data is exactly
``prod(sizes) * itemsize`` bytes (a truncated or padded file is rejected). A gzip-compressed file (detected
by its first bytes, whatever its name) is decompressed as a stream (zlib checks its CRC-32 and length): the
header is read and checked first, and decompression stops one byte past the size it declares, so a gzip bomb
costs at most what its header claims - and a header claiming more than deflate can expand the file to
(1032:1) is refused before any of the body is decompressed. Truncated or corrupted gzip streams are errors.
"""
import gzip
import io
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
_MAX_DIMS = 64 if np.lib.NumpyVersion(np.__version__) >= "2.0.0" else 32     # NumPy's limit on ndim
_DEFLATE_MAX_RATIO = 1032            # deflate never expands n compressed bytes to more than 1032 n (zlib FAQ)
_CHUNK = 1 << 20

class IDXError(ValueError):
    """An IDX file that is not what it claims to be (bad magic, truncated, trailing bytes, bad gzip)."""


def read_idx(path, data=None):
    """The array stored in an IDX file (``.gz`` or raw), in native byte order.

    ``data`` may give the file's bytes already read (``path`` then only names it in errors)."""
    path = os.fspath(path)
    if data is None:
        with open(path, "rb") as fh:
            if fh.read(2) != _GZIP_MAGIC:        # raw: the header is checked against the size before the body
                fh.seek(0)
                return _read(fh.read, os.fstat(fh.fileno()).st_size, path)
            fh.seek(0)
            data = fh.read()
    if data[:2] == _GZIP_MAGIC:
        stream = _GunzipStream(data, path)
        arr = _read(stream.read, None, path, compressed=len(data))
        if stream.read(1).size:
            raise IDXError(f"{path}: the gzip stream holds more bytes than the IDX header declares (decompression "
                           f"stopped there); the header and the data disagree, or the file is a gzip bomb. Fix: "
                           f"delete it and download it again")
        return arr
    return _read(io.BytesIO(data).read, len(data), path)


class _GunzipStream:
    """``read(n)``: the next (up to) n decompressed bytes of a gzip file, decompressing only as far as asked.
    Several members are joined, as gzip does; zlib checks each member's CRC-32 and length."""

    def __init__(self, data, path):
        self.path = path
        self.pending = memoryview(data)          # compressed input not yet consumed
        self.d = zlib.decompressobj(wbits=31)

    def read(self, n):
        out, got = np.empty(n, np.uint8), 0     # filled in place: no list of chunks joined at the end
        try:
            while got < n:
                if self.d.eof:
                    rest = self.d.unused_data
                    if not rest:
                        break                    # the end of the last member: fewer than n bytes exist
                    if rest[:2] != _GZIP_MAGIC:
                        raise IDXError(f"{self.path}: corrupted gzip data ({len(rest)} bytes of garbage after the "
                                       f"compressed stream). Fix: delete the file and download it again")
                    self.d, self.pending = zlib.decompressobj(wbits=31), memoryview(rest)
                before = len(self.pending)
                chunk = self.d.decompress(self.pending, min(n - got, _CHUNK))
                self.pending = memoryview(self.d.unconsumed_tail)
                if not chunk and not self.d.eof and len(self.pending) == before:
                    raise IDXError(f"{self.path}: truncated gzip file: the compressed stream ends before its end "
                                   f"marker. Fix: delete it and download it again")
                out[got:got + len(chunk)] = np.frombuffer(chunk, np.uint8)
                got += len(chunk)
        except zlib.error as e:
            raise IDXError(f"{self.path}: corrupted gzip data (zlib.error: {e}). Fix: delete the file and "
                           f"download it again") from None
        return out[:got]


def _read(read, size, path, compressed=None):
    """Parse an IDX payload from ``read(n)``. ``size``: the payload's length when known (raw files);
    ``compressed``: the gzip file's length otherwise (bounds what the header may claim)."""
    magic = bytes(read(4))
    if len(magic) < 4:
        raise IDXError(f"{path}: truncated IDX file: {len(magic)} bytes, not even the 4-byte magic number. "
                       f"Fix: delete it and download it again")
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
    if ndim > _MAX_DIMS:
        raise IDXError(f"{path}: IDX header declares {ndim} dimensions; at most {_MAX_DIMS} are supported (NumPy's "
                       f"limit; real IDX files have 1 to 4). The file is corrupted or not an IDX file")
    raw_dims = read(4 * ndim)
    header = 4 + 4 * ndim
    if len(raw_dims) < 4 * ndim:
        have = 4 + len(raw_dims) if size is None else size
        raise IDXError(f"{path}: truncated IDX file: the header declares {ndim} dimensions ({header} header "
                       f"bytes) but the file has {have} bytes. Fix: delete it and download it again")
    dims = tuple(int(d) for d in np.frombuffer(raw_dims, dtype=">u4"))
    expected = math.prod(dims) * dtype.itemsize
    shape = "x".join(map(str, dims))
    if size is not None:
        got = size - header
        if got < expected:
            raise IDXError(f"{path}: truncated IDX file: the header promises {shape} {dtype.name} values "
                           f"({expected} bytes) but only {got} bytes follow. Fix: delete it and download it again")
        if got > expected:
            raise IDXError(f"{path}: {got - expected} unexpected bytes after the {shape} {dtype.name} values the "
                           f"header declares ({expected} bytes); the header and the data disagree. Fix: delete "
                           f"the file and download it again")
    elif header + expected > _DEFLATE_MAX_RATIO * compressed + 1024:
        raise IDXError(f"{path}: the IDX header declares {shape} {dtype.name} values ({expected} bytes), more "
                       f"than a {compressed}-byte gzip file can hold (deflate expands at most "
                       f"{_DEFLATE_MAX_RATIO}:1): truncated or corrupted file. Fix: delete it and download it again")
    body = read(expected)
    if len(body) < expected:                    # only a compressed stream gets here
        raise IDXError(f"{path}: truncated IDX file: the header promises {shape} {dtype.name} values "
                       f"({expected} bytes) but the decompressed data ends after {len(body)} bytes. Fix: delete "
                       f"it and download it again")
    arr = np.frombuffer(body, dtype=dtype).reshape(dims)
    if dtype.isnative and arr.flags.writeable:       # bytes decompressed into our own buffer: no copy needed
        return arr
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
