"""ONNX export: the exported file, run by onnxruntime, gives chainrule's outputs (1e-5)."""
import io

import numpy as np
import pytest

import chainrule as cr

pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
nn = cr.nn


def _flat(o):
    return [t for x in o for t in _flat(x)] if isinstance(o, (tuple, list)) else [o]


def _roundtrip(model, xs, feeds=None, **kw):
    model.eval()
    buf = io.BytesIO()
    cr.onnx.export(model, xs if len(xs) > 1 else xs[0], buf, **kw)
    sess = ort.InferenceSession(buf.getvalue())
    run_inputs = feeds or xs
    got = sess.run(None, {i.name: x.numpy() for i, x in zip(sess.get_inputs(), run_inputs)})
    with cr.no_grad():
        want = _flat(model(*run_inputs))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w.numpy(), rtol=1e-5, atol=1e-5)
    return sess


MODELS = {
    "mlp": lambda: (nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3), nn.LogSoftmax(1)), [(5, 4)]),
    "cnn": lambda: (nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                                  nn.Conv2d(4, 4, 3, stride=1), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(4, 2),
                                  nn.Softmax(dim=1)), [(2, 1, 8, 8)]),
    "lstm": lambda: (nn.LSTM(3, 5, num_layers=2), [(6, 2, 3)]),
    "gru_bidirectional": lambda: (nn.GRU(3, 5, bidirectional=True, batch_first=True), [(2, 6, 3)]),
    "rnn": lambda: (nn.RNN(3, 5), [(6, 2, 3)]),
    "transformer_encoder": lambda: (nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0,
                                                                                     activation="gelu"), 2),
                                    [(5, 2, 8)]),
    "activations_norms": lambda: (nn.Sequential(nn.Linear(4, 6), nn.LayerNorm(6), nn.GELU(), nn.SiLU(), nn.Tanh(),
                                                nn.Sigmoid(), nn.ELU(), nn.LeakyReLU(0.1), nn.Hardtanh(),
                                                nn.Softplus(), nn.ReLU6()), [(3, 4)]),
    "stack_chunk": lambda: (_StackChunk(), [(3, 8)]),
}


class _StackChunk(nn.Module):
    """torch.stack (one Stack node) along a middle dim, of pieces made by chunk (views)."""
    def forward(self, x):
        a, b = x.chunk(2, 1)
        return cr.stack([a.tanh(), b * 2, a + b], dim=1)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_exported_model_runs_in_onnxruntime_with_chainrules_outputs(name):
    cr.manual_seed(0)
    model, shapes = MODELS[name]()
    _roundtrip(model, [cr.randn(*s) for s in shapes])


def test_embedding_model_with_integer_input():
    cr.manual_seed(0)
    model = nn.Sequential(nn.Embedding(10, 4), nn.LayerNorm(4), nn.Linear(4, 3))
    _roundtrip(model, [cr.randint(0, 10, (3, 5))])


def test_dynamic_batch_axis_and_names(tmp_path):
    cr.manual_seed(0)
    model = MODELS["cnn"]()[0]
    path = tmp_path / "cnn.onnx"
    model.eval()
    cr.onnx.export(model, cr.randn(2, 1, 8, 8), str(path), input_names=["image"], output_names=["probs"],
                   dynamic_axes={"image": {0: "batch"}, "probs": {0: "batch"}})
    sess = ort.InferenceSession(str(path))
    assert [i.name for i in sess.get_inputs()] == ["image"] and sess.get_inputs()[0].shape[0] == "batch"
    x = cr.randn(7, 1, 8, 8)
    (out,) = sess.run(None, {"image": x.numpy()})
    with cr.no_grad():
        np.testing.assert_allclose(out, model(x).numpy(), rtol=1e-5, atol=1e-5)


def test_unsupported_op_names_the_op():
    class Cumulative(nn.Module):
        def forward(self, x):
            return x.cumsum(0)
    with pytest.raises(cr.onnx.UnsupportedOperatorError, match="op 'Cumsum'.*no ONNX conversion"):
        cr.onnx.export(Cumulative(), cr.randn(3), io.BytesIO())


def test_training_mode_dropout_and_batch_stats_are_refused():
    model = nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3))
    model.train()
    with pytest.raises(cr.onnx.UnsupportedOperatorError, match="model.eval"):
        cr.onnx.export(model, cr.randn(4, 3), io.BytesIO())
