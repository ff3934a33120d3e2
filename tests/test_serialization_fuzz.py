"""Fuzzing cr.load: whatever the bytes, the result is a loaded object or a CheckpointError - never another
exception, never unbounded memory - and every single-bit change of a checksummed file is detected.

Bounded work: a fixed number of cases each (a few seconds in all); random cases come from fixed seeds and
hypothesis runs derandomized under CI (conftest's "ci" profile), so CI is deterministic. Memory: the peak of
traced allocations (tracemalloc sees NumPy and json) over each whole fuzz must stay under 200 MB - a
resource bound, not a timing (tests/fuzz.py). Each fuzz prints what it ran (``pytest -s`` shows it).
"""
import io
import json
import struct

import numpy as np
import pytest
from fuzz import Fuzz, mutate
from hypothesis import HealthCheck, given, settings, strategies as st

import chainrule as cr
from chainrule import serialization as ser

FUZZ_SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def checkpoint_bytes():
    """A small but representative checkpoint (every bit of it is flipped, so it is kept short): a parameter
    tensor, an optimiser-style state with an int key, a tuple and floats, a bool array, an int."""
    g = np.random.default_rng(0)
    obj = {"w": cr.from_numpy(g.standard_normal((3, 2)).astype(np.float32)),
           "opt": {0: {"avg": cr.ones(2)}, "group": {"lr": 1e-3, "betas": (0.9, 0.999)}},
           "mask": np.array([True, False]), "epoch": 3}
    buf = io.BytesIO()
    cr.save(obj, buf)
    return buf.getvalue()


def fuzz(label):
    return Fuzz(f"cr.load, {label}", lambda blob: cr.load(io.BytesIO(blob)), ser.CheckpointError)


def test_every_single_bit_flip_of_a_checksummed_file_is_detected():
    raw = checkpoint_bytes()
    with fuzz("every bit flip") as f:
        for i in range(len(raw)):
            for bit in range(8):
                mutated = bytearray(raw)
                mutated[i] ^= 1 << bit
                if f.run(bytes(mutated)):
                    pytest.fail(f"flipping bit {bit} of byte {i} (of {len(raw)}) went undetected")
    assert f.rejected == 8 * len(raw)                    # 100 %


def test_every_truncation_and_every_appended_byte_is_rejected():
    raw = checkpoint_bytes()
    with fuzz("every truncation + trailing bytes") as f:
        for n in range(len(raw)):
            assert not f.run(raw[:n]), n
        for extra in (b"\0", b" ", b"\0" * 8, raw[:64]):
            assert not f.run(raw + extra)
    assert f.loaded == 0


def test_random_byte_mutations_are_detected():
    """Several bytes replaced, inserted or deleted at random places (fixed seed)."""
    raw = checkpoint_bytes()
    rng = np.random.default_rng(7)
    with fuzz("random multi-byte mutations") as f:
        for _ in range(1500):
            blob = mutate(raw, rng)
            if blob != raw:                          # (an insert and a delete may cancel out)
                assert not f.run(blob)


def test_random_bytes_are_rejected():
    """Pure noise, and noise behind a plausible header length (so the JSON parser gets to see it)."""
    rng = np.random.default_rng(11)
    with fuzz("random bytes") as f:
        for _ in range(1000):
            blob = rng.integers(0, 256, int(rng.integers(0, 600)), dtype=np.uint8).tobytes()
            f.run(blob)
            n = int(rng.integers(0, len(blob) + 1))
            f.run(struct.pack("<Q", n) + blob)
            f.run(struct.pack("<Q", len(blob)) + b"{" + blob[1:])
    assert f.loaded == 0


# ------------------------------------------------------------------------------------ hypothesis: headers
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-2 ** 70, 2 ** 70),
                         st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8),
                         st.sampled_from(["F32", "I64", "BOOL", "BF16", "U8", "tensor", "dict", "nan", "a", "b"]))


def _json_containers(kids):
    return st.one_of(st.lists(kids, max_size=4), st.dictionaries(st.text(max_size=6), kids, max_size=4))


json_values = st.recursive(json_scalars, _json_containers, max_leaves=20)
TAGS = ["dict", "odict", "tuple", "float", "dtype", "tensor", "ndarray", "npscalar", "pickle", "", None, 1]
FIELDS = ["items", "v", "name", "requires_grad", "parameter", "x"]


def _tree_containers(kids):
    """Lists, and nodes with a (possibly wrong) tag and any subset of the fields, holding anything."""
    field = st.one_of(kids, st.lists(st.lists(kids, max_size=3), max_size=3),
                      st.sampled_from(["a", "b", "float32", "nan", "-inf"]))
    return st.one_of(st.lists(kids, max_size=4),
                     st.fixed_dictionaries({"@": st.sampled_from(TAGS)}, optional={k: field for k in FIELDS}))


tree_nodes = st.recursive(json_scalars, _tree_containers, max_leaves=25)
entries = st.fixed_dictionaries({}, optional={
    "dtype": st.one_of(st.sampled_from(["F32", "F64", "I8", "U8", "BOOL", "BF16", "F16", "C64"]), json_values),
    "shape": st.one_of(st.lists(st.integers(-2, 2 ** 40), max_size=4), json_values),
    "data_offsets": st.one_of(st.lists(st.integers(-4, 64), min_size=2, max_size=2), json_values),
    "extra": json_values})


@settings(max_examples=400, **FUZZ_SETTINGS)
@given(names=st.lists(st.sampled_from(["a", "b", "c", "__metadata__"]), max_size=4, unique=True),
       infos=st.lists(st.one_of(entries, json_values), min_size=4, max_size=4),
       meta=st.one_of(st.dictionaries(st.sampled_from(["chainrule", "k", "chainrule.sha256.data",
                                                       "chainrule.sha256.header"]),
                                      st.one_of(st.text(max_size=10), json_values), max_size=3), json_values),
       data=st.binary(max_size=64))
def test_hypothesis_headers_end_in_a_checkpoint_error_or_load(names, infos, meta, data):
    header = dict(zip(names, infos))
    if "__metadata__" in header:
        header["__metadata__"] = meta
    hb = json.dumps(header).encode()
    with fuzz("hypothesis header") as f:
        f.run(struct.pack("<Q", len(hb)) + hb + data)


TENSORS = {"a": cr.arange(4, dtype=cr.float32), "b": cr.tensor([1, 0], dtype=cr.bool), "c": cr.tensor(2.0)}


@settings(max_examples=400, **FUZZ_SETTINGS)
@given(tree=tree_nodes, version=st.sampled_from([1, 1, 1, 2, 0, -1, 3, "1", None, True]))
def test_hypothesis_structure_trees_end_in_a_checkpoint_error_or_load(tree, version):
    """A valid tensor table with a generated structure tree (no checksums, so every tree reaches the decoder
    in format 1; format 2 without checksums must be refused)."""
    buf = io.BytesIO()
    cr.save(TENSORS, buf)
    raw = buf.getvalue()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    header["__metadata__"] = {"chainrule": json.dumps({"version": version, "tree": tree})}
    hb = json.dumps(header).encode()
    with fuzz("hypothesis structure tree") as f:
        loaded = f.run(struct.pack("<Q", len(hb)) + hb + raw[8 + n:])
    assert not loaded or version == 1
