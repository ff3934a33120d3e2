"""cr.save / cr.load: safetensors layout, round trips, interop, corruption, atomicity, crash-resume."""
import collections
import io
import json
import math
import os
import pathlib
import pickle
import signal
import struct
import subprocess
import sys
import time

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import chainrule as cr
from chainrule import serialization as ser
from oracle import needs_torch, torch

try:
    import safetensors
    import safetensors.numpy as st_numpy
except ImportError:
    safetensors = st_numpy = None

needs_safetensors = pytest.mark.skipif(safetensors is None,
                                       reason="safetensors not installed (pip install chainrule[safetensors])")

DTYPES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"]
CODES = {"float16": "F16", "float32": "F32", "float64": "F64", "int8": "I8", "int16": "I16", "int32": "I32",
         "int64": "I64", "uint8": "U8", "bool": "BOOL"}
SHAPES = [(), (0,), (5,), (2, 0, 3), (3, 4), (2, 1, 3, 2)]


def sample(dtype, shape, seed=0):
    """Values exercising the dtype: extremes, and for floats nan/inf/-0.0 and subnormals."""
    rng = np.random.default_rng(seed)
    dt = np.dtype(dtype)
    n = int(np.prod(shape))
    if dt.kind == "b":
        flat = rng.integers(0, 2, n).astype(bool)
    elif dt.kind in "iu":
        info = np.iinfo(dt)
        flat = rng.integers(info.min, info.max, n, dtype=dt, endpoint=True)
        flat[:2] = [info.min, info.max][:min(2, n)]
    else:
        flat = rng.standard_normal(n).astype(dt) * dt.type(100)
        special = np.array([np.nan, np.inf, -np.inf, -0.0, np.finfo(dt).tiny / 2, np.finfo(dt).max], dt)
        flat[:min(n, special.size)] = special[:min(n, special.size)]
    return flat.reshape(shape)


def same_bits(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def assert_same(a, b, path="root"):
    """Deep equality with exact types (tuple vs list, int vs float, int vs str keys) and bitwise arrays."""
    assert type(a) is type(b), f"{path}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, cr.Tensor):
        assert same_bits(a._data, b._data), f"{path}: tensors differ"
        assert a.requires_grad == b.requires_grad, f"{path}: requires_grad differs"
    elif isinstance(a, np.ndarray):
        assert same_bits(a, b), f"{path}: arrays differ"
    elif isinstance(a, np.generic):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), f"{path}: numpy scalars differ"
    elif isinstance(a, dict):
        assert list(a.keys()) == list(b.keys()), f"{path}: keys {list(a)} != {list(b)}"
        for (ka, va), kb in zip(a.items(), b.keys()):
            assert type(ka) is type(kb), f"{path}: key {ka!r} type changed"
            assert_same(va, b[kb], f"{path}.{ka}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), f"{path}: lengths differ"
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{path}.{i}")
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b), f"{path}: {a!r} != {b!r}"
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"
        if isinstance(a, float):
            assert math.copysign(1, a) == math.copysign(1, b), f"{path}: sign of zero lost"


def roundtrip(obj, tmp_path, name="ckpt.safetensors"):
    p = tmp_path / name
    cr.save(obj, p)
    return cr.load(p)


def parse_file(path):
    """An independent reader of the safetensors layout, written from the spec."""
    raw = pathlib.Path(path).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header_bytes = raw[8:8 + n]
    header = json.loads(header_bytes.decode("utf-8"))
    return n, header_bytes, header, raw[8 + n:]


# ============================================================================ round trips
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_roundtrip_every_dtype_and_shape(tmp_path, dtype, shape):
    arr = sample(dtype, shape)
    sd = {"t": cr.from_numpy(arr.copy()), "a": arr.copy()}
    out = roundtrip(sd, tmp_path)
    assert isinstance(out["t"], cr.Tensor) and isinstance(out["a"], np.ndarray)
    assert out["t"].dtype == cr.dtypes.as_dtype(dtype) and tuple(out["t"].shape) == shape
    assert same_bits(out["t"]._data, arr) and same_bits(out["a"], arr)


@pytest.mark.parametrize("dtype", DTYPES)
def test_file_layout_is_spec_exact(tmp_path, dtype):
    """Header length u64 LE, padded with spaces to a multiple of 8, plain names, contiguous LE bytes."""
    w = sample(dtype, (3, 2), 1)
    b = sample(dtype, (4,), 2)
    e = sample(dtype, (0, 2), 3)
    sd = {"layer.weight": cr.from_numpy(w), "layer.bias": cr.from_numpy(b), "empty": cr.from_numpy(e),
          "scalar": cr.tensor(2.5, dtype=cr.float64)}
    cr.save(sd, tmp_path / "f.safetensors")
    n, hb, header, data = parse_file(tmp_path / "f.safetensors")
    assert n % 8 == 0 and hb.startswith(b"{") and hb == hb.rstrip(b" ") + b" " * (len(hb) - len(hb.rstrip(b" ")))
    meta = header.pop("__metadata__")
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items())
    assert set(header) == set(sd)                               # keys are the tensor names, nothing else
    spans = sorted(tuple(h["data_offsets"]) for h in header.values())
    assert spans[0][0] == 0 and spans[-1][1] == len(data)
    assert all(x[1] == y[0] for x, y in zip(spans, spans[1:]))  # contiguous, no gaps or overlaps
    for k, t in sd.items():
        h = header[k]
        a = t._data
        assert h["dtype"] == CODES[a.dtype.name] and h["shape"] == list(a.shape)
        begin, end = h["data_offsets"]
        assert data[begin:end] == a.astype(a.dtype.newbyteorder("<")).tobytes()
        # every tensor starts aligned to its item size (the data region starts 8-aligned)
        assert (8 + n + begin) % a.itemsize == 0


def test_big_endian_and_noncontiguous_inputs_are_stored_little_endian(tmp_path):
    be = np.arange(6, dtype=">f4").reshape(2, 3)
    t = cr.from_numpy(np.arange(12.0).reshape(3, 4)).t()       # a transposed view
    cr.save({"be": be, "t": t}, tmp_path / "f")
    _, _, header, data = parse_file(tmp_path / "f")
    b0, b1 = header["be"]["data_offsets"]
    assert data[b0:b1] == np.arange(6, dtype="<f4").tobytes()
    out = cr.load(tmp_path / "f")
    assert np.array_equal(out["be"], be) and out["be"].dtype.isnative
    assert np.array_equal(out["t"]._data, t._data) and out["t"].is_contiguous()


def optimizer_like_state():
    g = np.random.default_rng(0)
    return {
        "model": collections.OrderedDict([("fc.weight", cr.from_numpy(g.standard_normal((3, 2)))),
                                          ("fc.bias", cr.zeros(3))]),
        "optim": {
            "state": {0: {"step": cr.tensor(7.0), "exp_avg": cr.randn(3, 2), "exp_avg_sq": cr.rand(3, 2)},
                      1: {"momentum_buffer": None, "step": 3}},
            "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0,
                              "amsgrad": False, "foreach": None, "params": [0, 1], "name": "main",
                              "initial_lr": 1.0, "nan": float("nan"), "inf": float("-inf"), "negzero": -0.0}],
        },
        "rng": cr.get_rng_state(),                      # 128-bit integers
        "step": 12, "big": 2 ** 100, "epoch_losses": [0.5, 0.25], "flags": (True, None, "x"),
        "mixed_keys": {1: "int", "1": "str", 2.5: "float", (1, "a"): "tuple", None: "none",
                       np.int64(7): "np int", (np.float32(0.5), -0.0): "np tuple"},
        "np": {"scalar64": np.float64(0.1), "int32": np.int32(-4), "arr": np.arange(4, dtype=np.int16)},
        "dtype": cr.float16,
        "empty": {"list": [], "tuple": (), "dict": {}},
        "unicode": {"ключ λ": "значение ✓"},
    }


def test_nested_optimizer_style_state_roundtrips(tmp_path):
    obj = optimizer_like_state()
    out = roundtrip(obj, tmp_path)
    assert_same(obj, out)
    assert out["dtype"] is cr.float16
    assert isinstance(out["np"]["scalar64"], np.float64)


def test_rng_state_restores_the_random_stream(tmp_path):
    cr.manual_seed(5)
    cr.randn(3)
    cr.save({"rng": cr.get_rng_state()}, tmp_path / "r")
    expected = cr.randn(4)._data.copy()
    cr.manual_seed(99)
    cr.set_rng_state(cr.load(tmp_path / "r")["rng"])
    assert same_bits(cr.randn(4)._data, expected)


def test_shared_objects_are_stored_once_and_stay_shared(tmp_path):
    t = cr.randn(3)
    a = np.arange(3)
    out = roundtrip({"x": t, "y": [t, a], "z": a}, tmp_path)
    _, _, header, _ = parse_file(tmp_path / "ckpt.safetensors")
    assert len(header) - 1 == 2
    assert out["x"] is out["y"][0] and out["z"] is out["y"][1]


def test_parameters_and_requires_grad_are_kept(tmp_path):
    lin = cr.nn.Linear(3, 2)
    out = roundtrip({"kept": lin.state_dict(keep_vars=True), "plain": lin.state_dict(),
                     "leaf": cr.ones(2, requires_grad=True)}, tmp_path)
    assert isinstance(out["kept"]["weight"], cr.nn.Parameter) and out["kept"]["weight"].requires_grad
    assert not isinstance(out["plain"]["weight"], cr.nn.Parameter) and not out["plain"]["weight"].requires_grad
    assert out["leaf"].requires_grad and out["leaf"].is_leaf


def test_name_collisions_are_resolved(tmp_path):
    obj = {"a.b": cr.ones(1), "a": {"b": cr.zeros(1)}, "__metadata__": cr.full((1,), 2.0), 0: cr.ones(2),
           "0": cr.zeros(2)}
    out = roundtrip(obj, tmp_path)
    assert_same(obj, out)


def test_model_state_dict_loads_back_into_a_model(tmp_path):
    cr.manual_seed(0)
    m1 = cr.nn.Sequential(cr.nn.Linear(4, 5), cr.nn.ReLU(), cr.nn.Linear(5, 2))
    cr.save(m1.state_dict(), tmp_path / "m.safetensors")
    cr.manual_seed(1)
    m2 = cr.nn.Sequential(cr.nn.Linear(4, 5), cr.nn.ReLU(), cr.nn.Linear(5, 2))
    m2.load_state_dict(cr.load(tmp_path / "m.safetensors"))
    x = cr.randn(3, 4)
    assert same_bits(m1(x)._data, m2(x)._data)


leaves = st.one_of(
    st.none(), st.booleans(), st.integers(-2 ** 70, 2 ** 70), st.floats(allow_nan=True), st.text(max_size=5),
    hnp.arrays(st.sampled_from([np.float32, np.float64, np.int64, np.uint8, np.bool_]),
               hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3)),
    hnp.arrays(np.float32, hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=3)).map(cr.from_numpy),
)
keys = st.one_of(st.text(max_size=4), st.integers(-3, 3))
trees = st.recursive(leaves, lambda ch: st.one_of(st.lists(ch, max_size=3), st.tuples(ch, ch),
                                                  st.dictionaries(keys, ch, max_size=3)), max_leaves=10)


@given(trees)
def test_roundtrip_property(tree):
    buf = io.BytesIO()
    cr.save(tree, buf)
    buf.seek(0)
    assert_same(tree, cr.load(buf))


# ============================================================================ paths and file objects
def test_path_kinds_and_file_objects(tmp_path):
    obj = {"w": cr.arange(6).reshape(2, 3), "n": 3}
    cr.save(obj, str(tmp_path / "s"))
    cr.save(obj, tmp_path / "p")
    cr.save(obj, os.fsencode(tmp_path / "b"))
    assert (tmp_path / "s").read_bytes() == (tmp_path / "p").read_bytes() == (tmp_path / "b").read_bytes()
    with open(tmp_path / "f", "wb") as fh:
        cr.save(obj, fh)
    assert (tmp_path / "f").read_bytes() == (tmp_path / "s").read_bytes()
    for src in (str(tmp_path / "s"), tmp_path / "s", io.BytesIO((tmp_path / "s").read_bytes())):
        assert_same(obj, cr.load(src))
    with open(tmp_path / "s", "rb") as fh:
        assert_same(obj, cr.load(fh))
    long_name = tmp_path / ("n" * 250)                # the temp file's longer name must still be legal
    cr.save(obj, long_name)
    assert_same(obj, cr.load(long_name))

    class Stream(io.RawIOBase):                      # not seekable: a pipe or socket
        def __init__(self, data):
            self.inner = io.BytesIO(data)

        def readable(self):
            return True

        def readinto(self, b):
            return self.inner.readinto(b)
    assert_same(obj, cr.load(io.BufferedReader(Stream((tmp_path / "s").read_bytes()))))


def test_save_errors_are_clear(tmp_path):
    with pytest.raises(TypeError, match=r"key path opt\.fn.*never pickle"):
        cr.save({"opt": {"fn": lambda: 0}}, tmp_path / "x")
    with pytest.raises(TypeError, match=r"key path a.*uint16.*supported"):
        cr.save({"a": np.zeros(2, np.uint16)}, tmp_path / "x")
    cyc = []
    cyc.append(cyc)
    with pytest.raises(ser.CheckpointError, match="reference cycle"):
        cr.save({"c": cyc}, tmp_path / "x")
    with pytest.raises(TypeError, match="dict key"):
        cr.save({frozenset(): 1}, tmp_path / "x")
    with pytest.raises(IsADirectoryError, match="directory"):
        cr.save({}, tmp_path)
    with pytest.raises(ValueError, match="reserved"):
        cr.save({}, tmp_path / "x", metadata={"chainrule": "x"})
    assert os.listdir(tmp_path) == []                    # nothing written on a failed save


def test_user_metadata_is_in_the_header(tmp_path):
    cr.save({"w": cr.ones(1)}, tmp_path / "m", metadata={"format": "pt", "epoch": "3"})
    _, _, header, _ = parse_file(tmp_path / "m")
    assert header["__metadata__"]["format"] == "pt" and header["__metadata__"]["epoch"] == "3"
    assert_same({"w": cr.ones(1)}, cr.load(tmp_path / "m"))


# ============================================================================ interop
@needs_safetensors
@pytest.mark.parametrize("dtype", DTYPES)
def test_safetensors_reads_our_files(tmp_path, dtype):
    sd = {"a": cr.from_numpy(sample(dtype, (2, 3))), "b": cr.from_numpy(sample(dtype, ())),
          "c": cr.from_numpy(sample(dtype, (0, 4)))}
    cr.save(sd, tmp_path / "x.safetensors", metadata={"note": "hi"})
    got = st_numpy.load_file(str(tmp_path / "x.safetensors"))
    assert set(got) == set(sd)
    for k in sd:
        assert same_bits(got[k], sd[k]._data)
    from safetensors import safe_open
    with safe_open(str(tmp_path / "x.safetensors"), framework="numpy") as f:
        assert f.metadata()["note"] == "hi"


@needs_safetensors
@pytest.mark.parametrize("dtype", DTYPES)
def test_we_read_safetensors_files(tmp_path, dtype):
    arrays = {"z": sample(dtype, (3,)), "a.weight": sample(dtype, (2, 2, 2)), "s": sample(dtype, ()),
              "e": sample(dtype, (0,))}
    st_numpy.save_file(arrays, str(tmp_path / "y.safetensors"))
    out = cr.load(tmp_path / "y.safetensors")
    assert set(out) == set(arrays)
    for k, a in arrays.items():
        assert isinstance(out[k], cr.Tensor) and same_bits(out[k]._data, a)


@needs_safetensors
def test_nested_checkpoint_names_are_readable_by_safetensors(tmp_path):
    cr.save(optimizer_like_state(), tmp_path / "n.safetensors")
    got = st_numpy.load_file(str(tmp_path / "n.safetensors"))
    assert same_bits(got["optim.state.0.exp_avg"], cr.load(tmp_path / "n.safetensors")["optim"]["state"][0]
                     ["exp_avg"]._data)


def _torch_and_cr_models():
    tm = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.Linear(6, 3)).double()
    cm = cr.nn.Sequential(cr.nn.Linear(4, 6), cr.nn.Tanh(), cr.nn.Linear(6, 3)).to(cr.float64)
    return tm, cm


@needs_torch
@needs_safetensors
def test_torch_weights_via_safetensors_load_into_chainrule(tmp_path):
    import safetensors.torch
    torch.manual_seed(0)
    tm, cm = _torch_and_cr_models()
    safetensors.torch.save_file(tm.state_dict(), str(tmp_path / "t.safetensors"))
    cm.load_state_dict(cr.load(tmp_path / "t.safetensors"))
    x = np.random.default_rng(0).standard_normal((5, 4))
    np.testing.assert_allclose(cm(cr.from_numpy(x))._data, tm(torch.from_numpy(x)).detach().numpy(),
                               rtol=1e-12, atol=1e-12)
    for k, v in tm.state_dict().items():
        assert same_bits(cm.state_dict()[k]._data, v.numpy())


@needs_torch
@needs_safetensors
def test_chainrule_weights_load_into_torch(tmp_path):
    import safetensors.torch
    cr.manual_seed(0)
    tm, cm = _torch_and_cr_models()
    cr.save(cm.state_dict(), tmp_path / "c.safetensors")
    tm.load_state_dict(safetensors.torch.load_file(str(tmp_path / "c.safetensors")))
    x = np.random.default_rng(1).standard_normal((5, 4))
    np.testing.assert_allclose(tm(torch.from_numpy(x)).detach().numpy(), cm(cr.from_numpy(x))._data,
                               rtol=1e-12, atol=1e-12)


def test_bf16_files_load_as_exact_float32(tmp_path):
    vals = np.array([1.0, -2.5, 3.140625, np.inf], np.float32)       # exactly representable in bfloat16
    bf = (vals.view(np.uint32) >> 16).astype("<u2")
    header = {"w": {"dtype": "BF16", "shape": [4], "data_offsets": [0, 8]}}
    craft(tmp_path / "bf", header, bf.tobytes())
    out = cr.load(tmp_path / "bf")["w"]
    assert out.dtype == cr.float32 and same_bits(out._data, vals)


# ============================================================================ corruption
def craft(path, header, data, raw_header=None):
    hb = raw_header if raw_header is not None else json.dumps(header).encode()
    pathlib.Path(path).write_bytes(struct.pack("<Q", len(hb)) + hb + data)
    return path


GOOD = {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
        "b": {"dtype": "I64", "shape": [1], "data_offsets": [8, 16]}}
DATA = bytes(range(16))

CORRUPT = {
    "empty file": (lambda p: p.write_bytes(b""), "too short"),
    "five bytes": (lambda p: p.write_bytes(b"\x10\0\0\0\0"), "too short"),
    "header length beyond file": (lambda p: p.write_bytes(struct.pack("<Q", 10 ** 6) + b"{}"), "header length"),
    "huge header length": (lambda p: p.write_bytes(b"\xff" * 8 + b"{}"), "header length"),
    "bad json": (lambda p: craft(p, None, DATA, raw_header=b'{"a": {"dtype": '), "not valid JSON"),
    "not utf-8": (lambda p: craft(p, None, b"", raw_header=b'{"\xff": 1}'), "UTF-8"),
    "header is a list": (lambda p: craft(p, [], b""), "JSON object"),
    "NaN in header": (lambda p: craft(p, None, b"", raw_header=b'{"__metadata__": {}, "x": NaN}'),
                      "not valid JSON"),
    "duplicate name": (lambda p: craft(p, None, DATA, raw_header=(
        b'{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},'
        b' "a": {"dtype": "I64", "shape": [1], "data_offsets": [8, 16]}}')), "duplicate key 'a'"),
    "truncated data": (lambda p: craft(p, GOOD, DATA[:12]), "truncated"),
    "trailing bytes": (lambda p: craft(p, GOOD, DATA + b"xx"), "trailing"),
    "offset out of range": (lambda p: craft(p, {**GOOD, "b": {"dtype": "I64", "shape": [1],
                                                              "data_offsets": [16, 24]}}, DATA), "past the end"),
    "overlap": (lambda p: craft(p, {**GOOD, "b": {"dtype": "I64", "shape": [1], "data_offsets": [4, 12]}},
                                DATA[:12]), "overlap"),
    "gap": (lambda p: craft(p, {"a": GOOD["a"], "b": {"dtype": "F32", "shape": [1], "data_offsets": [12, 16]}},
                            DATA), "gap"),
    "begin after end": (lambda p: craft(p, {"a": {"dtype": "U8", "shape": [0], "data_offsets": [8, 0]}}, b""),
                        "begin <= end"),
    "negative offset": (lambda p: craft(p, {"a": {"dtype": "U8", "shape": [2], "data_offsets": [-2, 0]}}, b""),
                        "data_offsets"),
    "shape vs bytes": (lambda p: craft(p, {**GOOD, "a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}},
                                       DATA), "need 12 bytes"),
    "dtype vs bytes": (lambda p: craft(p, {**GOOD, "a": {"dtype": "F64", "shape": [2], "data_offsets": [0, 8]}},
                                       DATA), "need 16 bytes"),
    "unknown dtype": (lambda p: craft(p, {"a": {"dtype": "C64", "shape": [1], "data_offsets": [0, 8]}},
                                      DATA[:8]), "dtype 'C64'"),
    "negative shape": (lambda p: craft(p, {"a": {"dtype": "U8", "shape": [-1], "data_offsets": [0, 0]}}, b""),
                       "shape"),
    "impossible shape": (lambda p: craft(p, {"a": {"dtype": "U8", "shape": [0, 2 ** 62, 2 ** 62],
                                                   "data_offsets": [0, 0]}}, b""), "shape"),
    "missing field": (lambda p: craft(p, {"a": {"dtype": "U8", "shape": [1]}}, b"x"), "data_offsets"),
    "bad bool": (lambda p: craft(p, {"a": {"dtype": "BOOL", "shape": [2], "data_offsets": [0, 2]}}, b"\x01\x07"),
                 "BOOL"),
    "metadata not str->str": (lambda p: craft(p, {"__metadata__": {"k": 1}}, b""), "__metadata__"),
    "tree refers to missing tensor": (lambda p: craft(p, {"__metadata__": {"chainrule": json.dumps(
        {"version": 1, "tree": {"@": "tensor", "name": "nope"}})}}, b""), "'nope'"),
    "tree with unknown node": (lambda p: craft(p, {"__metadata__": {"chainrule": json.dumps(
        {"version": 1, "tree": {"@": "pickle", "data": "cos\nsystem\n"}})}}, b""), "unknown node"),
    "tree not json": (lambda p: craft(p, {"__metadata__": {"chainrule": "{oops"}}, b""), "not valid JSON"),
    "tree unhashable key": (lambda p: craft(p, {"__metadata__": {"chainrule": json.dumps(
        {"version": 1, "tree": {"@": "dict", "items": [[[1], 2]]}})}}, b""), "not hashable"),
    "tree from the future": (lambda p: craft(p, {"__metadata__": {"chainrule": json.dumps(
        {"version": 99, "tree": None})}}, b""), "newer chainrule"),
    "deeply nested tree": (lambda p: craft(p, {"__metadata__": {"chainrule": '{"version": 1, "tree": '
                                               + "[" * 100000 + "]" * 100000 + "}"}}, b""), "deeply"),
}


@pytest.mark.parametrize("case", list(CORRUPT))
def test_corrupt_files_fail_clearly(tmp_path, case):
    make, fragment = CORRUPT[case]
    p = tmp_path / "bad.safetensors"
    make(p)
    with pytest.raises(ser.CheckpointError) as e:
        cr.load(p)
    msg = str(e.value)
    assert str(p) in msg and fragment in msg, msg


def test_good_crafted_file_loads(tmp_path):
    """The corruption cases are mutations of this file, which is valid."""
    out = cr.load(craft(tmp_path / "ok", GOOD, DATA))
    assert same_bits(out["a"]._data, np.frombuffer(DATA[:8], "<f4"))
    assert same_bits(out["b"]._data, np.frombuffer(DATA[8:], "<i8"))


def test_every_truncation_of_a_real_checkpoint_fails_clearly(tmp_path):
    cr.save(optimizer_like_state(), tmp_path / "full")
    raw = (tmp_path / "full").read_bytes()
    cut = tmp_path / "cut"
    for n in sorted(set(range(0, len(raw), max(1, len(raw) // 60))) | {len(raw) - 1, 7, 8, 9}):
        cut.write_bytes(raw[:n])
        with pytest.raises(ser.CheckpointError, match="cut"):
            cr.load(cut)


def test_loading_never_unpickles(tmp_path, monkeypatch):
    def boom(*a, **k):
        raise AssertionError("pickle used")
    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, boom)
    obj = optimizer_like_state()
    assert_same(obj, roundtrip(obj, tmp_path))


# ============================================================================ atomicity
@pytest.mark.parametrize("exc", [OSError("No space left on device"), KeyboardInterrupt()],
                         ids=["disk-full", "ctrl-c"])
def test_failed_save_keeps_the_old_checkpoint(tmp_path, monkeypatch, exc):
    path = tmp_path / "model.safetensors"
    old = {"w": cr.arange(1000, dtype=cr.float32), "step": 1}
    cr.save(old, path)
    before = path.read_bytes()
    calls = []
    real = ser._write_array

    def failing(fh, arr):
        if calls:                                       # the second tensor: half of it, then fail
            fh.write(arr.reshape(-1).view(np.uint8)[:arr.nbytes // 2])
            raise exc
        calls.append(1)
        real(fh, arr)
    monkeypatch.setattr(ser, "_write_array", failing)
    with pytest.raises(type(exc)):
        cr.save({"w": cr.ones(1000), "v": cr.ones(1000), "step": 2}, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.safetensors"]     # no temp file left behind
    assert_same(old, cr.load(path))


def test_save_fsyncs_then_renames_then_fsyncs_the_directory(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append(("fsync", os.path.isdir(f"/proc/self/fd/{fd}") if os.path.exists("/proc/self/fd")
                       else None))
        real_fsync(fd)

    def replace(src, dst):
        events.append(("replace", os.path.dirname(src) == os.path.dirname(os.fspath(dst))))
        real_replace(src, dst)
    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    cr.save({"w": cr.ones(3)}, tmp_path / "c")
    assert [e[0] for e in events][:2] == ["fsync", "replace"]
    assert events[1] == ("replace", True)                         # temp file in the same directory
    if os.name == "posix":
        assert events[2][0] == "fsync"
        if events[0][1] is not None:
            assert events[0][1] is False and events[2][1] is True  # the file first, then the directory


@pytest.mark.skipif(os.name != "posix", reason="umask is POSIX")
def test_saved_file_permissions_follow_umask(tmp_path):
    old = os.umask(0o022)
    try:
        cr.save({}, tmp_path / "u")
    finally:
        os.umask(old)
    assert (tmp_path / "u").stat().st_mode & 0o777 == 0o644
    os.chmod(tmp_path / "u", 0o600)
    cr.save({"x": 1}, tmp_path / "u")                       # overwriting keeps the file's own permissions
    assert (tmp_path / "u").stat().st_mode & 0o777 == 0o600 and cr.load(tmp_path / "u") == {"x": 1}


def test_save_over_existing_file_replaces_it(tmp_path):
    p = tmp_path / "c"
    cr.save({"w": cr.zeros(2)}, p)
    cr.save({"w": cr.ones(5), "n": 1}, p)
    assert_same({"w": cr.ones(5), "n": 1}, cr.load(p))
    assert os.listdir(tmp_path) == ["c"]


# ============================================================================ crash and resume
STEPS, SAVE_FROM, SAVE_UNTIL = 40, 10, 30


def _make_training():
    """Seeded model + optimiser. Dropout and the data draw from the global generator, so resuming
    bit-identically needs the RNG state too."""
    cr.manual_seed(0)
    model = cr.nn.Sequential(cr.nn.Linear(6, 16), cr.nn.Tanh(), cr.nn.Dropout(0.25), cr.nn.Linear(16, 1))
    opt = cr.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3)
    return model, opt


def _train_step(model, opt):
    x = cr.randn(32, 6)
    y = (x * cr.arange(6, dtype=cr.float32)).sum(dim=1, keepdim=True).sin()
    opt.zero_grad()
    loss = ((model(x) - y) ** 2).mean()
    loss.backward()
    opt.step()


def _checkpoint(model, opt, step):
    return {"model": model.state_dict(), "optim": opt.state_dict(), "rng": cr.get_rng_state(), "step": step}


def _child(path):
    """Run in a subprocess: train, save every step from SAVE_FROM to SAVE_UNTIL, then wait to be killed."""
    model, opt = _make_training()
    for step in range(1, STEPS + 1):
        _train_step(model, opt)
        if SAVE_FROM <= step <= SAVE_UNTIL:
            cr.save(_checkpoint(model, opt, step), path)
            if step == SAVE_FROM:
                print("saved", flush=True)
        if step == SAVE_UNTIL:
            print("done", flush=True)
            time.sleep(600)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_save_kill_load_continue_is_bit_identical(tmp_path):
    path = tmp_path / "run.safetensors"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.dirname(__file__)] + sys.path))
    # the child never needs torch (which oracle imports): a None entry makes `import torch` fail fast
    code = f"import sys; sys.modules['torch'] = None; import test_serialization as t; t._child({str(path)!r})"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env, text=True)
    try:
        line = proc.stdout.readline()
        assert line.strip() == "saved", proc.stderr.read()
        time.sleep(0.02)                  # let it run on: the kill usually lands amid later saves
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL

    ckpt = cr.load(path)                  # the last completed save: never a torn file
    start = ckpt["step"]
    assert SAVE_FROM <= start <= SAVE_UNTIL
    leftovers = [n for n in os.listdir(tmp_path) if n != path.name]
    assert all(n.startswith("." + path.name) and n.endswith(".tmp") for n in leftovers), leftovers

    cr.manual_seed(12345)                 # a different state: everything must come from the checkpoint
    model, opt = _make_training()
    model.load_state_dict(ckpt["model"])
    opt.load_state_dict(ckpt["optim"])
    cr.set_rng_state(ckpt["rng"])
    for _ in range(start, STEPS):
        _train_step(model, opt)

    ref_model, ref_opt = _make_training()
    for _ in range(STEPS):
        _train_step(ref_model, ref_opt)
    resumed, ref = model.state_dict(), ref_model.state_dict()
    assert list(resumed) == list(ref)
    for k in ref:
        assert same_bits(resumed[k]._data, ref[k]._data), k
    # and the check can fail: without the RNG state the resumed run diverges
    model2, opt2 = _make_training()
    model2.load_state_dict(ckpt["model"])
    opt2.load_state_dict(ckpt["optim"])
    for _ in range(start, STEPS):
        _train_step(model2, opt2)
    assert not all(same_bits(model2.state_dict()[k]._data, ref[k]._data) for k in ref)


def test_adam_and_scheduler_state_roundtrip_resumes_bit_identically(tmp_path):
    """optimizer + lr_scheduler state dicts (int keys, tuples, 0-d 'step' tensors) through a checkpoint."""
    def setup():
        cr.manual_seed(3)
        model = cr.nn.Sequential(cr.nn.Linear(6, 8), cr.nn.ReLU(), cr.nn.Linear(8, 1))
        opt = cr.optim.Adam(model.parameters(), lr=0.01, betas=(0.8, 0.99), amsgrad=True)
        sched = cr.optim.lr_scheduler.StepLR(opt, step_size=4, gamma=0.5)
        return model, opt, sched

    def run(model, opt, sched, n):
        for _ in range(n):
            _train_step(model, opt)
            sched.step()

    model, opt, sched = setup()
    run(model, opt, sched, 7)
    state = {"model": model.state_dict(), "optim": opt.state_dict(), "sched": sched.state_dict(),
             "rng": cr.get_rng_state()}
    cr.save(state, tmp_path / "adam.safetensors")
    loaded = cr.load(tmp_path / "adam.safetensors")
    assert_same(state, loaded)
    run(model, opt, sched, 6)                                     # the uninterrupted run

    model2, opt2, sched2 = setup()
    model2.load_state_dict(loaded["model"])
    opt2.load_state_dict(loaded["optim"])
    sched2.load_state_dict(loaded["sched"])
    cr.set_rng_state(loaded["rng"])
    run(model2, opt2, sched2, 6)
    for k, v in model.state_dict().items():
        assert same_bits(model2.state_dict()[k]._data, v._data), k
    assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"] == 0.01 * 0.5 ** 3


# ============================================================================ trust: checksums, bounds, temp files
def _rewrite_header(path, edit):
    """Apply ``edit(header_dict)`` to a saved file's header, keeping its data and the stored checksums -
    what a tool unaware of them (or a careless hand edit) does."""
    _, _, header, data = parse_file(path)
    edit(header)
    hb = json.dumps(header).encode()
    pathlib.Path(path).write_bytes(struct.pack("<Q", len(hb)) + hb + data)


HEADER_EDITS = {
    "renamed key": lambda h: h.update({"model.fc.bias2": h.pop("model.fc.bias")}) or _rename_in_tree(
        h, "model.fc.bias", "model.fc.bias2"),
    "changed lr": lambda h: _edit_tree(h, lambda s: s.replace('"lr",0.001', '"lr",0.01')),
    "changed betas": lambda h: _edit_tree(h, lambda s: s.replace("0.999", "0.99")),
    "swapped tensor reference": lambda h: _edit_tree(h, lambda s: s.replace(
        '"name":"optim.state.0.exp_avg"', '"name":"TMP"').replace('"name":"optim.state.0.exp_avg_sq"',
        '"name":"optim.state.0.exp_avg"').replace('"name":"TMP"', '"name":"optim.state.0.exp_avg_sq"')),
    "user metadata": lambda h: h["__metadata__"].update({"epoch": "4"}),
}


def _edit_tree(header, fn):
    before = header["__metadata__"]["chainrule"]
    header["__metadata__"]["chainrule"] = fn(before)
    assert header["__metadata__"]["chainrule"] != before          # the edit really changed something


def _rename_in_tree(header, old, new):
    _edit_tree(header, lambda s: s.replace(f'"name":"{old}"', f'"name":"{new}"'))


@pytest.mark.parametrize("edit", list(HEADER_EDITS))
def test_edited_header_is_detected(tmp_path, edit):
    p = tmp_path / "c"
    cr.save(optimizer_like_state(), p, metadata={"epoch": "3"})
    cr.load(p)
    _rewrite_header(p, HEADER_EDITS[edit])
    with pytest.raises(ser.CheckpointError, match="header's SHA-256 does not match"):
        cr.load(p)


def test_flipped_data_bit_is_detected(tmp_path):
    p = tmp_path / "c"
    cr.save(optimizer_like_state(), p)
    raw = bytearray(p.read_bytes())
    raw[-5] ^= 0x10                                   # inside exp_avg_sq/rng data: still a valid float/int
    p.write_bytes(bytes(raw))
    with pytest.raises(ser.CheckpointError, match="data's SHA-256 does not match"):
        cr.load(p)


def test_stripped_checksums_are_detected_but_files_of_other_writers_load(tmp_path):
    p = tmp_path / "c"
    state = optimizer_like_state()
    cr.save(state, p)
    for key in ("chainrule.sha256.data", "chainrule.sha256.header"):
        q = tmp_path / key
        q.write_bytes(p.read_bytes())
        _rewrite_header(q, lambda h: h["__metadata__"].pop(key))
        with pytest.raises(ser.CheckpointError, match="checksum"):
            cr.load(q)
    _rewrite_header(p, lambda h: [h["__metadata__"].pop(k) for k in ("chainrule.sha256.data",
                                                                       "chainrule.sha256.header")])
    with pytest.raises(ser.CheckpointError, match="format version 2 files carry SHA-256"):
        cr.load(p)
    # a format-1 file (older chainrule: no checksums) and a plain safetensors file still load
    _rewrite_header(p, lambda h: h["__metadata__"].update(chainrule=h["__metadata__"]["chainrule"].replace(
        '"version":2', '"version":1')))
    assert_same(cr.load(p), state)
    plain = craft(tmp_path / "plain", GOOD, DATA)
    assert set(cr.load(plain)) == {"a", "b"}


@pytest.mark.parametrize("meta", [0, [], "", None, 1.5, True], ids=repr)
def test_metadata_that_is_not_an_object_is_rejected(tmp_path, meta):
    p = craft(tmp_path / "m", {"__metadata__": meta, **GOOD}, DATA)
    with pytest.raises(ser.CheckpointError, match="__metadata__ must be an object"):
        cr.load(p)


@pytest.mark.parametrize("version", [-1, 0, True, "2", None])
def test_bad_format_version_is_rejected(tmp_path, version):
    tree = json.dumps({"version": version, "tree": None})
    p = craft(tmp_path / "v", {"__metadata__": {"chainrule": tree}}, b"")
    with pytest.raises(ser.CheckpointError, match="version"):
        cr.load(p)


def test_huge_header_length_is_refused_before_reading(tmp_path):
    """A header just over the safetensors package's 100 MB limit, in a sparse file (no disk space used)."""
    p = tmp_path / "huge"
    n = ser.MAX_HEADER_BYTES + 8
    with open(p, "wb") as fh:
        fh.write(struct.pack("<Q", n) + b"{")
        fh.seek(8 + n)
        fh.write(b"}")
    with pytest.raises(ser.CheckpointError, match="over the 100000000-byte limit"):
        cr.load(p)


def test_header_of_empty_lists_fails_fast_in_bounded_memory(tmp_path):
    """The issue's 14 MiB file: a structure tree of lists of empty lists (before: 800 MB to parse)."""
    import tracemalloc
    tree = "[" + "[]," * 5_000_000 + "[]]"
    hb = json.dumps({"__metadata__": {"chainrule": '{"version":1,"tree":' + tree + "}"}}).encode()
    p = tmp_path / "lists"
    p.write_bytes(struct.pack("<Q", len(hb)) + hb)
    tracemalloc.start()
    try:
        with pytest.raises(ser.CheckpointError, match="JSON values, over the limit"):
            cr.load(p)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 200e6, f"peak {peak / 1e6:.0f} MB"
    # the same bound applies to the top-level header (the tensor table)
    hb = ('{"x": {"dtype": "F32", "shape": ' + tree + ', "data_offsets": [0, 0]}}').encode()
    p.write_bytes(struct.pack("<Q", len(hb)) + hb)
    with pytest.raises(ser.CheckpointError, match="the header has about"):
        cr.load(p)


MALFORMED_NODES = [
    {"@": "dtype", "v": [1]}, {"@": "dtype"}, {"@": "float", "v": [1]}, {"@": "float"},
    {"@": "tensor"}, {"@": "tensor", "name": ["x"]}, {"@": "dict"}, {"@": "dict", "items": 5},
    {"@": "dict", "items": [[{}, 1]]}, {"@": "tuple", "items": {"a": 1}}, {"@": ["dict"], "items": []},
    {"@": "tuple", "items": [], "extra": 1}, {"@": "tensor", "name": "a", "requires_grad": "yes"},
    {"@": {"x": 1}}, {"items": []}, {},
]


@pytest.mark.parametrize("node", MALFORMED_NODES, ids=json.dumps)
def test_every_malformed_tree_node_is_a_checkpoint_error(tmp_path, node):
    tree = json.dumps({"version": 1, "tree": {"@": "dict", "items": [["k", node]]}})
    p = craft(tmp_path / "n", {"__metadata__": {"chainrule": tree}, **GOOD}, DATA)
    with pytest.raises(ser.CheckpointError, match="bad structure tree"):
        cr.load(p)


def test_reserved_checksum_metadata_keys(tmp_path):
    for key in ("chainrule.sha256.data", "chainrule.sha256.header"):
        with pytest.raises(ValueError, match="reserved"):
            cr.save({}, tmp_path / "x", metadata={key: "0"})


_KILLED_SAVER = """
import os, sys, time
from chainrule import serialization as ser
real = ser._write_array
def slow(fh, arr):                  # write half the bytes, announce, then hang until killed
    fh.write(arr.reshape(-1).view('u1')[: arr.nbytes // 2]); fh.flush()
    print('writing', flush=True); time.sleep(600)
ser._write_array = slow
import chainrule as cr
cr.save({"w": cr.zeros(1000, 1000)}, sys.argv[1])
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL") or os.name != "posix", reason="needs POSIX and SIGKILL")
def test_temp_file_of_a_save_killed_mid_write_is_removed_by_the_next_save(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    cr.save({"old": cr.ones(2)}, path)
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_SAVER, str(path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=dict(os.environ), text=True)
    try:
        assert proc.stdout.readline().strip() == "writing", proc.stderr.read()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    stale = [n for n in os.listdir(tmp_path) if n != path.name]
    assert len(stale) == 1 and f".{proc.pid}-" in stale[0] and (tmp_path / stale[0]).stat().st_size > 1e6
    # files that are not ours, or whose writer is alive, must survive the cleanup
    keep = [".ckpt.safetensors.0a1b2c3d4e5f.tmp",                       # older chainrule naming (no pid)
            f".other.{os.getppid()}-0123456789ab.tmp",                  # a live process is writing it
            "notes.tmp", ".ckpt.safetensors.123-xyz.tmp"]
    for n in keep:
        (tmp_path / n).write_bytes(b"x")
    assert_same(cr.load(path), {"old": cr.ones(2)})                     # the kill left the old checkpoint
    cr.save({"new": cr.ones(3)}, path)
    assert sorted(os.listdir(tmp_path)) == sorted([path.name] + keep)
    assert_same(cr.load(path), {"new": cr.ones(3)})


def test_own_stale_temp_file_is_removed_but_not_one_being_written(tmp_path, monkeypatch):
    """Same process id (a killed process's id reused, or an earlier save of ours that died): removed unless
    another thread of ours is writing it right now."""
    stale = tmp_path / f".a.{os.getpid()}-aaaaaaaaaaaa.tmp"
    busy = tmp_path / f".b.{os.getpid()}-bbbbbbbbbbbb.tmp"
    stale.write_bytes(b"x")
    busy.write_bytes(b"x")
    monkeypatch.setattr(ser, "_ACTIVE_TEMPS", {str(busy)})
    cr.save({"x": 1}, tmp_path / "a")
    assert sorted(os.listdir(tmp_path)) == sorted(["a", busy.name])


def test_save_through_a_symlink_replaces_the_target_and_keeps_the_link(tmp_path):
    target_dir = tmp_path / "real"
    target_dir.mkdir()
    target = target_dir / "ckpt"
    cr.save({"v": 1}, target)
    link = tmp_path / "latest"
    link.symlink_to(os.path.relpath(target, tmp_path))
    cr.save({"v": 2}, link)
    assert link.is_symlink() and os.readlink(link) == os.path.relpath(target, tmp_path)
    assert cr.load(target) == {"v": 2} and cr.load(link) == {"v": 2}
    dangling = tmp_path / "dangling"
    dangling.symlink_to(target_dir / "new")
    cr.save({"v": 3}, dangling)
    assert dangling.is_symlink() and cr.load(target_dir / "new") == {"v": 3}
    (tmp_path / "dirlink").symlink_to(target_dir)
    with pytest.raises(IsADirectoryError):
        cr.save({"v": 4}, tmp_path / "dirlink")


def test_text_mode_files_and_descriptors_say_what_is_expected(tmp_path):
    p = tmp_path / "c"
    cr.save({"v": 1}, p)
    with open(p, "r", encoding="latin-1") as fh:
        with pytest.raises(TypeError, match=r"text-mode file; a checkpoint is binary.*open\(path, 'rb'\)"):
            cr.load(fh)
    with pytest.raises(TypeError, match="text-mode file"):
        cr.load(io.StringIO("abc"))
    with open(tmp_path / "t", "w") as fh:
        with pytest.raises(TypeError, match=r"text-mode file.*open\(path, 'wb'\)"):
            cr.save({"v": 1}, fh)
    with pytest.raises(TypeError, match="text-mode file"):
        cr.save({"v": 1}, io.StringIO())
    r, w = os.pipe()
    try:
        with pytest.raises(TypeError, match=r"integer .*os\.fdopen"):
            cr.load(r)
        with pytest.raises(TypeError, match=r"integer .*os\.fdopen"):
            cr.save({"v": 1}, w)
    finally:
        os.close(r)
        os.close(w)
    # a pipe: binary works; a text-mode pipe gets the message; a bad one names the descriptor
    r, w = os.pipe()
    os.write(w, p.read_bytes())
    os.close(w)
    with os.fdopen(r, "rb") as fh:
        assert cr.load(fh) == {"v": 1}
    r, w = os.pipe()
    os.write(w, p.read_bytes())
    os.close(w)
    with os.fdopen(r, "r", encoding="latin-1") as fh:
        with pytest.raises(TypeError, match=r"file descriptor \d+>? is a text-mode file"):
            cr.load(fh)
    r, w = os.pipe()
    os.write(w, b"abc")
    os.close(w)
    with os.fdopen(r, "rb") as fh:
        with pytest.raises(ser.CheckpointError, match=r"<file descriptor \d+> is not a valid checkpoint"):
            cr.load(fh)
