"""PyTorch API surface that real programs use: grad_fn names, Tensor.new_*, module layout, samplers,
dropout2d on 2-D input, whole-model pickles, compile, safe_globals, tensorboard, DDP at world size 1."""
import io
import os
import warnings

import numpy as np
import pytest

import chainrule as cr
from oracle import needs_torch, torch


@needs_torch
def test_grad_fn_names_match_torch():
    exprs = ["x * 2", "x + 1", "x - 1", "x / 2", "x.mean()", "x.sum()", "x.exp()", "x.relu()", "x.tanh()",
             "x ** 2", "x.reshape(3, 2)", "F.linear(x, w, b)", "F.linear(x, w)", "x @ w.T", "x.t()",
             "x.sigmoid()", "x.topk(1)[0]", "x.sort()[0]", "x.tril()", "x.permute(1, 0)", "-x"]
    rng = np.random.default_rng(0)
    a, wa, ba = rng.standard_normal((2, 3)), rng.standard_normal((4, 3)), rng.standard_normal(4)
    for lib, F in ((cr, cr.nn.functional), (torch, torch.nn.functional)):
        env = dict(x=lib.tensor(a, requires_grad=True), w=lib.tensor(wa), b=lib.tensor(ba), F=F)
        names = [type(eval(e, env).grad_fn).__name__ if lib is torch else eval(e, env).grad_fn.name()
                 for e in exprs]
        if lib is cr:
            got = names
        else:
            want = names
    assert got == want


@needs_torch
def test_new_factories_match_torch():
    for lib in (cr, torch):
        t = lib.zeros(2, dtype=lib.float64)
        i = lib.tensor([1, 2])
        res = [t.new_zeros(2, 3), t.new_ones((1, 2)), t.new_full((2,), 3), t.new_tensor([1, 2]), i.new_tensor([1.7]),
               t.new_empty(4).shape, t.new_zeros(2, dtype=lib.int64)]
        if lib is cr:
            got = [(tuple(r.shape), str(r.dtype).split(".")[-1]) if hasattr(r, "dtype") else tuple(r) for r in res]
        else:
            want = [(tuple(r.shape), str(r.dtype).split(".")[-1]) if hasattr(r, "dtype") else tuple(r) for r in res]
    assert got == want
    assert cr.zeros(2).new_full((2,), 3).tolist() == [3.0, 3.0]


def test_random_sampler_with_replacement_is_lazy():
    """The "infinite loader" idiom: 1e10 samples are drawn as iterated, not allocated up front."""
    ds = cr.utils.data.TensorDataset(cr.arange(10))
    sampler = cr.utils.data.RandomSampler(ds, replacement=True, num_samples=int(1e10))
    loader = cr.utils.data.DataLoader(ds, batch_size=4, sampler=sampler)
    it = iter(loader)
    batches = [next(it)[0] for _ in range(3)]
    assert all(b.shape == (4,) and 0 <= b.min().item() and b.max().item() < 10 for b in batches)
    first = list(zip(range(5), iter(sampler)))
    assert len(first) == 5 and len(sampler) == int(1e10)


def test_random_sampler_small_epoch_still_whole():
    ds = cr.utils.data.TensorDataset(cr.arange(7))
    g = cr.Generator().manual_seed(0)
    idx = list(cr.utils.data.RandomSampler(ds, generator=g))
    assert sorted(idx) == list(range(7))
    batches = list(cr.utils.data.BatchSampler(cr.utils.data.RandomSampler(ds, num_samples=17), 5, False))
    assert [len(b) for b in batches] == [5, 5, 5, 2]


def test_dropout2d_on_2d_input_warns_and_drops_elements():
    x = cr.ones(50, 40)
    with pytest.warns(UserWarning, match="Received a 2-D input to dropout2d"):
        y = cr.nn.functional.dropout2d(x, 0.5)
    vals = y.numpy()
    assert set(np.unique(vals)) <= {0.0, 2.0}
    rows_mixed = ((vals == 0).any(1) & (vals == 2).any(1)).sum()
    assert rows_mixed > 40                                   # element-wise, not whole rows


def test_save_whole_model_says_save_state_dict(tmp_path):
    with pytest.raises(TypeError, match=r"cannot save a whole Module \(Linear\).*model.state_dict\(\)"):
        cr.save(cr.nn.Linear(2, 2), tmp_path / "m.pt")
    with pytest.raises(TypeError, match="whole optimizer"):
        cr.save(cr.optim.SGD([cr.zeros(1, requires_grad=True)], lr=1), tmp_path / "o.pt")


@needs_torch
@pytest.mark.parametrize("legacy", [False, True])
def test_loading_a_pytorch_pickle_says_so_and_never_unpickles(tmp_path, legacy, monkeypatch):
    path = tmp_path / "model.pt"
    torch.save({"w": torch.ones(2)}, path, _use_new_zipfile_serialization=not legacy)
    import pickle
    def boom(*a, **k):
        raise AssertionError("unpickled")
    monkeypatch.setattr(pickle, "load", boom)
    monkeypatch.setattr(pickle, "loads", boom)
    monkeypatch.setattr(pickle, "Unpickler", boom)
    with pytest.raises(cr.serialization.CheckpointError, match="pickle.*never unpickles.*safetensors"):
        cr.load(path)
    with open(path, "rb") as fh:                             # a file object too (and non-seekable bytes)
        with pytest.raises(cr.serialization.CheckpointError, match="pickle"):
            cr.load(io.BytesIO(fh.read()))


@pytest.mark.parametrize("header_len", [0x0280, 0x0580])
def test_a_safetensors_file_whose_header_length_looks_like_a_pickle_still_loads(tmp_path, header_len):
    """The 8-byte header length can begin with 0x80 0x02..0x05 (a pickle's PROTO opcode) or "PK": the
    pickle check must not refuse such a valid checkpoint (found by the serialization round-trip property)."""
    path = tmp_path / "x.safetensors"
    for pad in range(0, 2048):
        cr.save({"w": cr.ones(3)}, path, metadata={"pad": "x" * pad})
        raw = path.read_bytes()
        if int.from_bytes(raw[:8], "little") >= header_len and raw[0] == header_len & 0xFF:
            break
    assert raw[0] == header_len & 0xFF
    assert cr.load(path)["w"].tolist() == [1.0, 1.0, 1.0]


def test_safe_globals_and_compile_and_inference_mode():
    with cr.serialization.safe_globals([int]):
        assert int in cr.serialization.get_safe_globals()
    assert int not in cr.serialization.get_safe_globals()
    m = cr.nn.Linear(2, 2)
    assert cr.compile(m) is m and cr.compile(mode="max-autotune")(len) is len
    assert "no compiler" in cr.compile.__doc__
    with cr.inference_mode():
        assert not (m(cr.ones(1, 2))).requires_grad


def test_module_layout_people_import_from():
    from chainrule.nn.modules.rnn import LSTM
    from chainrule.nn.modules.activation import MultiheadAttention, ReLU
    from chainrule.nn.modules.loss import CrossEntropyLoss
    from chainrule.nn.modules.batchnorm import BatchNorm2d
    from chainrule.nn.modules.container import Sequential
    from chainrule.nn.modules.module import Module
    assert LSTM is cr.nn.LSTM and MultiheadAttention is cr.nn.MultiheadAttention and ReLU is cr.nn.ReLU
    assert CrossEntropyLoss is cr.nn.CrossEntropyLoss and BatchNorm2d is cr.nn.BatchNorm2d
    assert Sequential is cr.nn.Sequential and Module is cr.nn.Module
    assert cr.nn.modules.Linear is cr.nn.Linear


def test_ddp_at_world_size_1_trains_as_the_module():
    cr.manual_seed(0)
    m = cr.nn.Linear(3, 1)
    ddp = cr.nn.parallel.DistributedDataParallel(m)
    dp = cr.nn.parallel.DataParallel(m)
    x = cr.randn(4, 3)
    assert np.array_equal(ddp(x).detach().numpy(), m(x).detach().numpy())
    assert np.array_equal(dp(x).detach().numpy(), m(x).detach().numpy())
    assert sorted(ddp.state_dict()) == ["module.bias", "module.weight"]
    ddp(x).sum().backward()
    assert m.weight.grad is not None
    with pytest.raises(RuntimeError, match="not available"):
        cr.nn.parallel.DistributedDataParallel(m, device_ids=[0])


def test_summary_writer_writes_scalars_histograms_text(tmp_path):
    pytest.importorskip("tensorboardX")
    from chainrule.utils.tensorboard import SummaryWriter
    with SummaryWriter(str(tmp_path)) as w:
        w.add_scalar("loss", cr.tensor(0.5), 1)
        w.add_histogram("w", cr.randn(100), 1)
        w.add_text("note", "hello", 1)
    files = os.listdir(tmp_path)
    assert files and any(f.startswith("events.out.tfevents") for f in files)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    acc = EventAccumulator(str(tmp_path))
    acc.Reload()
    assert [e.value for e in acc.Scalars("loss")] == [0.5]
    assert "w" in acc.Tags()["histograms"]


def test_bfloat16_name():
    try:
        import ml_dtypes  # noqa: F401
    except ImportError:
        with pytest.raises(TypeError, match=r'pip install "chainrule\[bfloat16\]"'):
            cr.ones(2).to(cr.bfloat16)
        return
    x = cr.tensor([1.0, 1.00390625, 3.14159])
    y = x.to(cr.bfloat16)
    assert y.dtype == cr.bfloat16 and cr.promote_types(cr.bfloat16, cr.float16) == cr.float32
    assert y.float().tolist() == [1.0, 1.0, 3.140625]


def test_image_grid_and_png(tmp_path):
    pytest.importorskip("PIL")
    from chainrule.utils.image import make_grid, save_image
    imgs = cr.rand(5, 1, 4, 4)
    g = make_grid(imgs, nrow=3, padding=1)
    assert g.shape == (3, 2 * 5 + 1, 3 * 5 + 1)
    save_image(imgs, tmp_path / "g.png", nrow=3)
    from PIL import Image
    assert Image.open(tmp_path / "g.png").size == (3 * 6 + 2, 2 * 6 + 2)


@needs_torch
def test_finfo_iinfo_broadcast_shapes_match_torch():
    for d in ("float32", "float64", "float16"):
        f, ft = cr.finfo(getattr(cr, d)), torch.finfo(getattr(torch, d))
        assert (f.eps, f.max, f.min, f.tiny, f.bits) == (ft.eps, ft.max, ft.min, ft.tiny, ft.bits)
    for d in ("int64", "int32", "uint8", "int8"):
        i, it = cr.iinfo(getattr(cr, d)), torch.iinfo(getattr(torch, d))
        assert (i.min, i.max, i.bits) == (it.min, it.max, it.bits)
    assert cr.broadcast_shapes((2, 1), (3,)) == torch.broadcast_shapes((2, 1), (3,)) == (2, 3)
    assert cr.is_floating_point(cr.ones(1)) and not cr.is_floating_point(cr.ones(1, dtype=cr.int64))


def test_set_num_threads_changes_blas_threads():
    pytest.importorskip("threadpoolctl")
    before = cr.get_num_threads()
    try:
        cr.set_num_threads(1)
        assert cr.get_num_threads() == 1
    finally:
        cr.set_num_threads(before)
    with pytest.raises(ValueError, match="positive"):
        cr.set_num_threads(0)
