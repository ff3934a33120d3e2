"""Checkpoints: ``save(obj, path)`` / ``load(path)`` in the safetensors format - never pickle.

The file is an ordinary safetensors file, byte for byte as the spec describes::

    [8 bytes]  N, the header length, unsigned 64-bit little-endian
    [N bytes]  UTF-8 JSON: {"__metadata__": {str: str},
                            "<name>": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...}
               padded with spaces so that N is a multiple of 8 (the data then starts 8-byte aligned)
    [rest]     the tensors' raw little-endian bytes, concatenated; offsets are relative to the start of this
               region and the tensors cover it exactly (no gaps, no overlaps)

A flat ``{name: Tensor}`` state dict keeps its keys as tensor names, so other tools read the file (and
``safetensors.torch.save_file(torch_model.state_dict())`` loads into the matching chainrule model). Anything
else - nested dicts/lists/tuples, int keys of optimiser states, numbers, strings, bools, None - goes into
``__metadata__["chainrule"]`` as a JSON tree whose tensor leaves name entries of the header; ``load`` rebuilds
the same structure from it. Decoding that tree only ever builds containers, numbers and arrays, so loading an
untrusted file cannot run code.

Integrity: ``save`` stores two SHA-256 checksums in ``__metadata__``: ``chainrule.sha256.data`` over every byte
of the data region, and ``chainrule.sha256.header`` over the header's content (every tensor's name, dtype, shape
and offsets, all metadata - user metadata and the structure tree with its numbers, e.g. an ``lr`` - and the
data checksum), taken over the header re-serialised canonically (sorted keys, no whitespace). ``load`` verifies
both, so a flipped bit, a renamed key, a changed number or a swapped tensor reference is a ``CheckpointError``.
What is *not* protected: (1) files without the checksums - safetensors files of other writers and format-1
files of older chainrule versions - which get the structural checks only; (2) the JSON formatting of the
header (whitespace, key order), which carries no meaning; (3) deliberate forgery: a checksum without a
secret key detects corruption and edits by tools that do not know about it, not an attacker who recomputes
it (or strips it and declares format 1). Check a signature or the source for that. Whatever the file, loading
never runs code and never allocates more than the file's size plus bounded header work: the header is capped
at 100 MB (as the safetensors package does) and its JSON at ``MAX_JSON_VALUES`` values, before it is parsed.

Saving is atomic: the bytes go to a temporary file in the target's directory, which is flushed, fsync'ed and
then renamed over the target (``os.replace``); a crash mid-save leaves the previous checkpoint intact. The
temporary file is named ``.<target>.<host tag>-<pid>-<random>.tmp``; a process killed mid-save cannot remove it,
so each save removes such files in its directory whose writing process, on this host, no longer exists (POSIX;
files of live processes - e.g. another save in progress -, of other hosts, and any other file are left alone). Saving to a symbolic link
writes through it: the file the link points to is replaced, the link stays, as ``torch.save`` does.
"""
import collections
import hashlib
import io
import json
import os
import re
import secrets
import socket
import threading

import numpy as np

from .dtypes import _ALIASES, dtype as _crdtype
from .foreign_formats import refuse_pytorch_pickle, refuse_whole_module
from .tensor import Tensor, _make

__all__ = ["save", "load", "CheckpointError"]

FORMAT_VERSION = 2                  # 2: the checksums below are stored (and required); 1: older files, without
_TREE_KEY = "chainrule"
_DATA_SUM_KEY = "chainrule.sha256.data"
_HEADER_SUM_KEY = "chainrule.sha256.header"
_RESERVED = (_TREE_KEY, _DATA_SUM_KEY, _HEADER_SUM_KEY)
MAX_HEADER_BYTES = 100_000_000      # the safetensors package's limit
MAX_JSON_VALUES = 2_000_000         # per JSON document (header, structure tree): bounds the memory parsing takes
_MAX_DEPTH = 200                    # nesting of the structure tree (a state dict is a few levels deep)

# safetensors dtype code <-> little-endian NumPy dtype
_CODES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
          "U8": "u1", "BOOL": "?"}
_TO_CODE = {np.dtype(v).newbyteorder("="): k for k, v in _CODES.items()}
_BF16 = "BF16"   # read-only: upcast exactly to float32 (many published weights are bfloat16)


class CheckpointError(ValueError):
    """A file that is not a valid chainrule/safetensors checkpoint, or an object that cannot be saved."""


# ============================================================================================ save
def save(obj, f, *, metadata=None):
    """Write ``obj`` (a state dict: nested dicts/lists/tuples of Tensors, NumPy arrays, numbers, strings,
    bools and None) to ``f`` - a path (str or os.PathLike), written atomically (through a symbolic link: its
    target is replaced), or a binary file object. SHA-256 checksums of the data and of the header go into
    ``__metadata__``; ``load`` verifies them.

    ``metadata``: optional extra ``{str: str}`` stored in the header's ``__metadata__`` (other tools show it).
    """
    refuse_whole_module(obj)                  # a whole model would need pickle: say to save state_dict()
    if hasattr(f, "write"):
        if _is_text_stream(f):
            raise TypeError(f"save: {_stream_name(f)} is a text-mode file; a checkpoint is binary. Fix: pass a path, "
                            f"or a file opened with open(path, 'wb') (io.BytesIO for memory)")
        header, arrays = _plan(obj, metadata)
        _write(f, header, arrays)
        return
    if isinstance(f, int) and not isinstance(f, bool):
        raise TypeError(f"save: got the integer {f}; expected a path or a binary file object. Fix: for a file "
                        f"descriptor, pass os.fdopen({f}, 'wb')")
    path = os.fspath(f)
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if os.path.isdir(path):
        raise IsADirectoryError(f"save: {path!r} is a directory; give the checkpoint's file name")
    header, arrays = _plan(obj, metadata)
    if os.path.islink(path):              # write through the link (as torch.save): replace its target, keep it
        path = os.path.realpath(path)
    directory = os.path.dirname(os.path.abspath(path))
    _remove_stale_temps(directory)
    tmp, fd = _open_temp(directory, os.path.basename(path))
    try:
        with os.fdopen(fd, "wb") as fh:
            _write(fh, header, arrays)
            fh.flush()
            os.fsync(fh.fileno())         # the bytes are on disk before the rename makes them the checkpoint
        try:                              # overwriting keeps the old file's permissions, as an in-place write
            os.chmod(tmp, os.stat(path).st_mode & 0o7777)
        except FileNotFoundError:
            pass
        os.replace(tmp, path)             # atomic: readers see the old file or the new one, never a mix
    except BaseException:                 # also KeyboardInterrupt: never leave a half-written temp file
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    finally:
        with _ACTIVE_LOCK:
            _ACTIVE_TEMPS.discard(tmp)
    _fsync_dir(directory)                 # make the rename itself durable


# Temp files of this process being written right now (another thread may be saving into the same directory).
_ACTIVE_TEMPS = set()
_ACTIVE_LOCK = threading.Lock()
# A process id means something only on its own machine (a shared or network directory may hold other
# machines' temp files): names carry a tag of the host name, and only this host's files are ever removed.
_HOST_TAG = hashlib.sha256(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:8]
_TEMP_NAME = re.compile(r"\..+\.([0-9a-f]{8})-(\d+)-[0-9a-f]{12}\.tmp\Z", re.DOTALL)


def _open_temp(directory, base):
    """A new file next to the target, named with this host and process id (so a later save can tell whether
    its writer is still alive). Created with mode 0o666 so the umask applies as for a plain open()."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        name = f".{base[:200]}.{_HOST_TAG}-{os.getpid()}-{secrets.token_hex(6)}.tmp"     # within NAME_MAX
        tmp = os.path.join(directory, name)
        with _ACTIVE_LOCK:                # registered before it exists: a concurrent cleanup never sees it idle
            _ACTIVE_TEMPS.add(tmp)
        try:
            return tmp, os.open(tmp, flags, 0o666)
        except BaseException as e:
            with _ACTIVE_LOCK:
                _ACTIVE_TEMPS.discard(tmp)
            if not isinstance(e, FileExistsError):
                raise


def _remove_stale_temps(directory):
    """Delete the temp files that saves killed mid-write left in ``directory``: only names of our own
    pattern, and only when the process that wrote them is gone (or is this process, not writing it now)."""
    if os.name != "posix":                # os.kill(pid, 0) probes a process only on POSIX
        return
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return
    me = os.getpid()
    for entry in entries:
        m = _TEMP_NAME.match(entry.name)
        if m is None or m.group(1) != _HOST_TAG:
            continue
        pid = int(m.group(2))
        if pid == me:
            with _ACTIVE_LOCK:
                if entry.path in _ACTIVE_TEMPS:
                    continue
        elif _process_alive(pid):
            continue
        try:
            if entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
        except OSError:                   # another saver removed it first, or no permission: not our business
            pass


def _process_alive(pid):
    if pid <= 0:
        return True                       # not a real process id: leave the file alone
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True                       # exists but belongs to someone else (or cannot tell): keep
    return True


def _is_text_stream(f):
    if isinstance(f, io.TextIOBase):
        return True
    mode = getattr(f, "mode", None)
    return isinstance(mode, str) and "b" not in mode


def _stream_name(f):
    name = getattr(f, "name", None)
    if isinstance(name, int) and not isinstance(name, bool):
        return f"<file descriptor {name}>"
    return repr(name) if isinstance(name, (str, bytes)) else "<file object>"


def _fsync_dir(directory):
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:                       # e.g. Windows cannot open a directory; the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write(fh, header, arrays):
    fh.write(len(header).to_bytes(8, "little"))
    fh.write(header)
    for arr in arrays:
        _write_array(fh, arr)


def _write_array(fh, arr):
    if arr.size:
        fh.write(arr.reshape(-1).view(np.uint8))     # no copy: arr is C-contiguous and little-endian


def _plan(obj, metadata):
    """The header bytes and the arrays in file order."""
    enc = _Encoder()
    tree = enc.encode(obj, (), set())
    meta = {}
    if metadata is not None:
        if not isinstance(metadata, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                     for k, v in metadata.items()):
            raise TypeError("save: metadata must be a dict of str -> str (the safetensors __metadata__ rule)")
        reserved = [k for k in metadata if k in _RESERVED]
        if reserved:
            raise ValueError(f"save: metadata key {reserved[0]!r} is reserved for chainrule (its structure tree "
                             f"and checksums); reserved: {', '.join(_RESERVED)}")
        meta.update(metadata)
    meta[_TREE_KEY] = json.dumps({"version": FORMAT_VERSION, "tree": tree}, separators=(",", ":"),
                                 ensure_ascii=False, allow_nan=False)
    # File order: widest dtypes first (stable), as the safetensors library does - every tensor then starts
    # aligned to its item size, since the data region itself starts 8-byte aligned.
    order = sorted(range(len(enc.arrays)), key=lambda i: -enc.arrays[i][1].itemsize)
    offsets, pos = {}, 0
    for i in order:
        name, arr = enc.arrays[i]
        offsets[name] = (pos, pos + arr.nbytes)
        pos += arr.nbytes
    arrays = [enc.arrays[i][1] for i in order]
    data_sum = hashlib.sha256()
    for arr in arrays:
        if arr.size:
            data_sum.update(arr.reshape(-1).view(np.uint8))
    meta[_DATA_SUM_KEY] = data_sum.hexdigest()
    header = {"__metadata__": meta}
    for name, arr in enc.arrays:
        header[name] = {"dtype": _TO_CODE[arr.dtype.newbyteorder("=")], "shape": list(arr.shape),
                        "data_offsets": list(offsets[name])}
    meta[_HEADER_SUM_KEY] = _header_sum(header)
    hb = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    hb += b" " * (-len(hb) % 8)
    return hb, arrays


def _header_sum(header):
    """SHA-256 of the header's content without the header checksum itself: the JSON re-serialised with
    sorted keys and no whitespace, so it is the same for the writer and for any reader of the parsed header."""
    meta = {k: v for k, v in header["__metadata__"].items() if k != _HEADER_SUM_KEY}
    canonical = json.dumps({**header, "__metadata__": meta}, sort_keys=True, separators=(",", ":"),
                           ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class _Encoder:
    """Turns the object into a JSON tree; tensors/arrays become named entries of ``self.arrays``."""

    def __init__(self):
        self.arrays = []          # (name, little-endian C-contiguous array), in the order met
        self.names = set()
        self.by_id = {}           # id(tensor or array) -> name: the same object saved twice is stored once

    def encode(self, x, path, active):
        if isinstance(x, np.generic):     # first: np.float64 is also a Python float
            return {"@": "npscalar", "name": self._add(x, np.asarray(x), path)}
        if x is None or isinstance(x, (bool, str)):
            return x
        if isinstance(x, int):
            return int(x)
        if isinstance(x, float):
            if x != x or x in (float("inf"), float("-inf")):
                return {"@": "float", "v": repr(float(x))}      # 'nan', 'inf', '-inf': JSON has no such number
            return float(x)
        if isinstance(x, Tensor):
            from .nn.parameter import Parameter  # nn loads on first use, not with serialization
            node = {"@": "tensor", "name": self._add(x, x._data, path)}
            if x._requires_grad:
                node["requires_grad"] = True
            if isinstance(x, Parameter):
                node["parameter"] = True
            return node
        if isinstance(x, np.ndarray):
            return {"@": "ndarray", "name": self._add(x, x, path)}
        if isinstance(x, _crdtype):
            return {"@": "dtype", "v": x.name}
        if isinstance(x, (dict, list, tuple)):
            if id(x) in active:
                raise CheckpointError(f"save: the object contains a reference cycle at {_where(path)}")
            active.add(id(x))
            try:
                if isinstance(x, list):
                    return [self.encode(v, path + (str(i),), active) for i, v in enumerate(x)]
                if isinstance(x, tuple):
                    return {"@": "tuple", "items": [self.encode(v, path + (str(i),), active)
                                                    for i, v in enumerate(x)]}
                items = []
                for k, v in x.items():
                    ke = self._key(k, path)
                    items.append([ke, self.encode(v, path + (str(k),), active)])
                return {"@": "odict" if isinstance(x, collections.OrderedDict) else "dict", "items": items}
            finally:
                active.discard(id(x))
        raise TypeError(f"save: cannot store a {type(x).__module__}.{type(x).__qualname__} at {_where(path)}. "
                        f"chainrule checkpoints hold Tensors, NumPy arrays, numbers, strings, bools, None and "
                        f"dicts/lists/tuples of them (never pickle, so loading cannot run code). Fix: convert "
                        f"it to one of those (e.g. its state_dict()).")

    def _key(self, k, path):
        if k is None or isinstance(k, (bool, str, int, float, np.generic)):
            return self.encode(k, path, set())
        if isinstance(k, tuple):
            return {"@": "tuple", "items": [self._key(v, path) for v in k]}
        raise TypeError(f"save: dict key {k!r} ({type(k).__name__}) at {_where(path)} cannot be stored; keys "
                        f"must be str, int, float, bool, None, NumPy scalars or tuples of them")

    def _add(self, obj, arr, path):
        name = self.by_id.get(id(obj))
        if name is not None:
            return name
        if arr.dtype.newbyteorder("=") not in _TO_CODE:
            raise TypeError(f"save: array at {_where(path)} has dtype {arr.dtype}, which the checkpoint format "
                            f"does not store; supported: float16/32/64, int8/16/32/64, uint8, bool. Fix: convert "
                            f"it, e.g. .astype(np.float64)")
        name = base = ".".join(path) if path else "tensor"
        n = 1
        while name in self.names or name == "__metadata__":
            n += 1
            name = f"{base}#{n}"
        self.names.add(name)
        self.by_id[id(obj)] = name
        # explicit little-endian, C order (not ascontiguousarray: it turns 0-d arrays into 1-d)
        le = np.asarray(arr, dtype=arr.dtype.newbyteorder("<"), order="C")
        self.arrays.append((name, le))
        return name


def _where(path):
    return "the root" if not path else "key path " + ".".join(path)


# ============================================================================================ load
def load(f):
    """Read a checkpoint written by ``save`` (or any safetensors file) from a path or a binary file object
    (an unseekable stream such as a pipe is read whole first).

    Returns the saved structure; a safetensors file without chainrule's structure tree loads as
    ``{name: Tensor}``. A malformed, truncated or modified file raises ``CheckpointError`` naming the file
    and the problem: modifications are detected by the SHA-256 checksums ``save`` stores (see the module
    docstring for what they do and do not cover; files of other writers carry none). A text-mode file
    object is a ``TypeError``.
    """
    if hasattr(f, "read"):
        name = _stream_name(f)
        if _is_text_stream(f) or isinstance(f.read(0), str):
            raise TypeError(f"load: {name} is a text-mode file; a checkpoint is binary. Fix: pass a path, or a "
                            f"file opened with open(path, 'rb') (for a pipe: sys.stdin.buffer, or "
                            f"os.fdopen(fd, 'rb'))")
        return _load_stream(f, name)
    if isinstance(f, int) and not isinstance(f, bool):
        raise TypeError(f"load: got the integer {f}; expected a path or a binary file object. Fix: for a file "
                        f"descriptor, pass os.fdopen({f}, 'rb')")
    path = os.fspath(f)
    with open(path, "rb") as fh:
        return _load_stream(fh, repr(os.fsdecode(path) if isinstance(path, bytes) else path))


def _load_stream(fh, name):
    def fail(msg):
        raise CheckpointError(f"load: {name} is not a valid checkpoint: {msg}")

    size = _remaining(fh)
    if size is None:                      # not seekable (a pipe): buffer it
        fh = io.BytesIO(fh.read())
        size = _remaining(fh)
    refuse_pytorch_pickle(fh, name)       # a torch.save pickle: say how to convert it (never unpickle)
    if size < 8:
        fail(f"the file is {size} bytes long, too short for the 8-byte header length (truncated or empty file)")
    n = int.from_bytes(_read_exact(fh, 8, fail), "little")
    if n > size - 8:
        fail(f"the header length field says {n} bytes but only {size - 8} bytes follow it "
             f"(truncated file, or not a safetensors file)")
    if n > MAX_HEADER_BYTES:
        fail(f"the header length field says {n} bytes, over the {MAX_HEADER_BYTES}-byte limit (the safetensors "
             f"package's); a checkpoint's header describes its tensors, it is never this large")
    raw = _read_exact(fh, n, fail)
    _check_json_size(raw, "the header", fail)        # before decoding: a refused header costs only its bytes
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        fail(f"the header is not valid UTF-8 ({e})")
    header = _parse_json(text, "the header", fail, object_pairs_hook=_no_duplicates)
    if not isinstance(header, dict):
        fail(f"the header must be a JSON object, got {type(header).__name__}")
    meta = header.get("__metadata__", {})
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        fail(f"__metadata__ must be an object mapping strings to strings, got {_short(meta)}")
    checked = _HEADER_SUM_KEY in meta or _DATA_SUM_KEY in meta
    if checked:
        if _HEADER_SUM_KEY not in meta or _DATA_SUM_KEY not in meta:
            missing = _HEADER_SUM_KEY if _HEADER_SUM_KEY not in meta else _DATA_SUM_KEY
            fail(f"__metadata__ has one chainrule checksum but not {missing!r}: the header was modified")
        if _header_sum(header) != meta[_HEADER_SUM_KEY]:
            fail("the header's SHA-256 does not match the checksum stored in it: the header (tensor names, "
                 "shapes, metadata or the structure tree) was modified or corrupted after it was saved")
    header.pop("__metadata__", None)

    entries = []                          # (begin, end, name, np dtype, shape, code)
    for tname, info in header.items():
        if not isinstance(info, dict) or not {"dtype", "shape", "data_offsets"} <= info.keys():
            fail(f"entry {tname!r} must be an object with dtype, shape and data_offsets")
        code, shape, offs = info["dtype"], info["shape"], info["data_offsets"]
        if code == _BF16:
            npdt = np.dtype("<u2")
        elif isinstance(code, str) and code in _CODES:
            npdt = np.dtype(_CODES[code])
        else:
            fail(f"tensor {tname!r} has dtype {_short(code)}; supported: {', '.join(list(_CODES) + [_BF16])}")
        if not isinstance(shape, list) or not all(_is_int(s) and s >= 0 for s in shape):
            fail(f"tensor {tname!r} has shape {_short(shape)}; a shape is a list of non-negative integers")
        if (not isinstance(offs, list) or len(offs) != 2 or not all(_is_int(o) for o in offs)
                or not 0 <= offs[0] <= offs[1]):
            fail(f"tensor {tname!r} has data_offsets {_short(offs)}; they must be [begin, end] with "
                 f"0 <= begin <= end")
        numel = 1
        for s in shape:
            numel *= s
        if offs[1] - offs[0] != numel * npdt.itemsize:
            fail(f"tensor {tname!r}: dtype {code} and shape {_short(shape)} need {numel * npdt.itemsize} bytes "
                 f"but data_offsets {offs} span {offs[1] - offs[0]} bytes")
        entries.append((offs[0], offs[1], tname, npdt, tuple(shape), code))

    data_len = size - 8 - n
    pos = 0
    for begin, end, tname, *_ in sorted(entries, key=lambda e: (e[0], e[1])):
        if end > data_len:
            fail(f"tensor {tname!r} has data_offsets [{begin}, {end}], past the end of the {data_len}-byte data "
                 f"region (truncated file, or offsets out of range)")
        if begin != pos:
            fail(f"tensor {tname!r} starts at byte {begin} of the data but the previous tensors end at {pos}: "
                 + ("the tensors' bytes overlap" if begin < pos else "there is a gap between tensors"))
        pos = end
    if pos != data_len:
        fail(f"the tensors cover {pos} bytes but the data region is {data_len} bytes "
             + ("(truncated file)" if pos > data_len else "(trailing bytes not owned by any tensor)"))

    arrays = {}
    data_sum = hashlib.sha256()
    for begin, end, tname, npdt, shape, code in sorted(entries, key=lambda e: (e[0], e[1])):
        try:
            arr = np.empty(shape, npdt)
        except (ValueError, MemoryError) as e:
            fail(f"tensor {tname!r} has an impossible shape {list(shape)} ({e})")
        if arr.size:
            flat = arr.reshape(-1).view(np.uint8)
            _readinto_exact(fh, flat, fail)
            data_sum.update(flat)
        arrays[tname] = (arr, code)
    if checked and data_sum.hexdigest() != meta[_DATA_SUM_KEY]:
        fail("the data's SHA-256 does not match the checksum in the header: tensor bytes were modified or "
             "corrupted after the file was saved")
    for tname, (arr, code) in arrays.items():
        if code == "BOOL" and arr.size and arr.view(np.uint8).max() > 1:
            fail(f"tensor {tname!r} has BOOL bytes other than 0 and 1")
        if code == _BF16:                  # bfloat16 is the top half of a float32: exact upcast
            arr = (arr.astype(np.uint32) << 16).view(np.float32)
        elif not arr.dtype.isnative:       # big-endian host: to native byte order
            arr = arr.astype(arr.dtype.newbyteorder("="))
        arrays[tname] = arr

    if _TREE_KEY not in meta:              # a plain safetensors file (e.g. written by another tool)
        if checked:
            fail(f"__metadata__ has chainrule checksums but no {_TREE_KEY!r} structure tree: the header was "
                 f"modified")
        return {tname: _make(arrays[tname]) for tname in header}
    doc = _parse_json(meta[_TREE_KEY], f"__metadata__[{_TREE_KEY!r}]", fail)
    if not isinstance(doc, dict) or set(doc) != {"version", "tree"} or not _is_int(doc["version"]):
        fail(f"__metadata__[{_TREE_KEY!r}] must be an object with exactly an integer 'version' and a 'tree'")
    version = doc["version"]
    if version > FORMAT_VERSION:
        fail(f"it was written by a newer chainrule (format version {version}; this one reads up to "
             f"{FORMAT_VERSION}). Fix: upgrade chainrule")
    if version < 1:
        fail(f"unknown format version {version} (chainrule writes versions 1 to {FORMAT_VERSION})")
    if version >= 2 and not checked:
        fail(f"format version {version} files carry SHA-256 checksums in __metadata__, but this one has none: "
             f"they were removed, or the file was modified")
    try:
        return _Decoder(arrays).decode(doc["tree"])
    except RecursionError:
        fail("the structure tree is nested too deeply")
    except _TreeError as e:
        fail(f"bad structure tree: {e}")


def _parse_json(text, what, fail, **kwargs):
    """``json.loads`` with the document's size bounded first (see ``_check_json_size``)."""
    _check_json_size(text, what, fail)
    try:
        return json.loads(text, parse_constant=_bad_constant, **kwargs)
    except ValueError as e:               # JSONDecodeError, duplicate names, NaN in the header
        fail(f"{what} is not valid JSON ({e})")
    except RecursionError:
        fail(f"{what} is nested too deeply")


def _check_json_size(doc, what, fail):
    """The number of ``,`` ``:`` ``[`` ``{`` in a JSON document (str or UTF-8 bytes) is at least its number of
    values minus one: counting them (fast, in C) bounds the memory that parsing it would take."""
    values = sum(doc.count(c if isinstance(doc, str) else c.encode()) for c in ",:[{")
    if values > MAX_JSON_VALUES:
        fail(f"{what} has about {values} JSON values, over the limit of {MAX_JSON_VALUES} (it would take "
             f"gigabytes to parse). A checkpoint stores numbers in tensors, not in huge JSON lists. Fix: if the "
             f"file is trusted, raise chainrule.serialization.MAX_JSON_VALUES")


def _short(x, limit=80):
    """repr of a (possibly huge, attacker-made) JSON value, cut for an error message."""
    r = repr(x)
    return r if len(r) <= limit else r[:limit] + "...(cut)"


def _remaining(fh):
    """Bytes from the current position to the end, or None for a stream that cannot seek."""
    try:
        if not fh.seekable():
            return None
        start = fh.tell()
        end = fh.seek(0, os.SEEK_END)
        fh.seek(start)
        return end - start
    except (AttributeError, OSError):
        return None


def _read_exact(fh, n, fail):
    b = fh.read(n)
    if len(b) != n:
        fail(f"unexpected end of file (wanted {n} bytes, got {len(b)})")
    return b


def _readinto_exact(fh, buf, fail):
    view, got = memoryview(buf), 0
    while got < len(view):
        k = fh.readinto(view[got:])
        if not k:
            fail("unexpected end of file while reading tensor data (the file changed while it was read?)")
        got += k


def _is_int(x):
    return isinstance(x, int) and not isinstance(x, bool)


def _no_duplicates(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise ValueError(f"duplicate key {k!r}")
        d[k] = v
    return d


def _bad_constant(c):
    raise ValueError(f"{c} is not valid JSON")


class _TreeError(Exception):
    pass


class _Decoder:
    """JSON tree -> containers, numbers, Tensors and arrays. Builds data only: no name is ever resolved to
    code, so a crafted file can at worst be rejected. Strict: a node with a missing, extra or mistyped field
    is a ``_TreeError`` (reported as ``CheckpointError``), never a Python error from deep inside."""

    # tag -> (required fields, optional boolean fields)
    _FIELDS = {"dict": ({"items"}, ()), "odict": ({"items"}, ()), "tuple": ({"items"}, ()), "float": ({"v"}, ()),
               "dtype": ({"v"}, ()), "ndarray": ({"name"}, ()), "npscalar": ({"name"}, ()),
               "tensor": ({"name"}, ("requires_grad", "parameter"))}

    def __init__(self, arrays):
        self.arrays = arrays
        self.made = {}            # name -> object: leaves saved once and referenced twice stay one object

    def decode(self, t, depth=0):
        if t is None or isinstance(t, (bool, str, int, float)):
            return t
        if depth >= _MAX_DEPTH:
            raise _TreeError(f"it is nested more than {_MAX_DEPTH} levels deep")
        depth += 1
        if isinstance(t, list):
            return [self.decode(v, depth) for v in t]
        if not isinstance(t, dict):
            raise _TreeError(f"unexpected node {_short(t)}")
        tag = t.get("@")
        if not isinstance(tag, str) or tag not in self._FIELDS:
            raise _TreeError(f"unknown node {_short(t)}")
        required, flags = self._FIELDS[tag]
        fields = set(t) - {"@"}
        if not required <= fields or not fields <= required | set(flags):
            raise _TreeError(f"a {tag!r} node has fields {sorted(fields)}, expected {sorted(required)}"
                             + (f" and optionally {list(flags)}" if flags else "") + f": {_short(t)}")
        for flag in flags:
            if flag in t and not isinstance(t[flag], bool):
                raise _TreeError(f"field {flag!r} of a {tag!r} node must be true or false: {_short(t)}")
        if tag == "dict" or tag == "odict":
            out = collections.OrderedDict() if tag == "odict" else {}
            for pair in self._items(t):
                if not isinstance(pair, list) or len(pair) != 2:
                    raise _TreeError(f"a dict item must be a [key, value] pair, got {_short(pair)}")
                k = self.decode(pair[0], depth)
                try:
                    hash(k)
                except TypeError:
                    raise _TreeError(f"dict key {_short(k)} is not hashable") from None
                out[k] = self.decode(pair[1], depth)
            return out
        if tag == "tuple":
            return tuple(self.decode(v, depth) for v in self._items(t))
        v = t.get("v")
        if tag == "float":
            if not isinstance(v, str) or v not in ("nan", "inf", "-inf"):
                raise _TreeError(f"bad float node {_short(t)}")
            return float(v)
        if tag == "dtype":
            if not isinstance(v, str) or v not in _ALIASES:
                raise _TreeError(f"unknown dtype {_short(v)}")
            return _ALIASES[v]
        name = t["name"]                  # tensor, ndarray, npscalar
        if not isinstance(name, str) or name not in self.arrays:
            raise _TreeError(f"it refers to tensor {_short(name)}, which the header does not have")
        key = (tag, name)
        if key not in self.made:
            self.made[key] = self._leaf(tag, t, self.arrays[name])
        return self.made[key]

    @staticmethod
    def _items(t):
        items = t["items"]
        if not isinstance(items, list):
            raise _TreeError(f"node {t['@']!r} needs a list of items, got {_short(items)}")
        return items

    @staticmethod
    def _leaf(tag, t, arr):
        if tag == "ndarray":
            return arr
        if tag == "npscalar":
            return arr[()] if arr.ndim == 0 else arr
        grad = t.get("requires_grad", False) and arr.dtype.kind == "f"
        if t.get("parameter", False):
            from .nn.parameter import Parameter  # nn loads on first use, not with serialization
            return Parameter(_make(arr), requires_grad=grad)
        return _make(arr, grad)


# torch.serialization's pickle allow-list API (recorded only: chainrule never unpickles)
from .foreign_formats import add_safe_globals, clear_safe_globals, get_safe_globals, safe_globals  # noqa: E402,F401
