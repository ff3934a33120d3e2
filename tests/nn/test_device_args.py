"""Layers take PyTorch's device= argument: the CPU works, an accelerator fails loudly (never ignored)."""
import pytest

import chainrule as cr
import chainrule.nn as nn

LAYERS = [lambda **kw: nn.Linear(3, 2, **kw), lambda **kw: nn.Bilinear(3, 3, 2, **kw),
          lambda **kw: nn.Conv1d(2, 2, 3, **kw), lambda **kw: nn.Conv2d(2, 2, 3, **kw),
          lambda **kw: nn.ConvTranspose2d(2, 2, 3, **kw), lambda **kw: nn.LayerNorm(4, **kw),
          lambda **kw: nn.RMSNorm(4, **kw), lambda **kw: nn.GroupNorm(2, 4, **kw),
          lambda **kw: nn.BatchNorm1d(4, **kw), lambda **kw: nn.Embedding(5, 3, **kw),
          lambda **kw: nn.LSTM(3, 4, **kw), lambda **kw: nn.GRUCell(3, 4, **kw), lambda **kw: nn.RNNCell(3, 4, **kw),
          lambda **kw: nn.LSTMCell(3, 4, **kw), lambda **kw: nn.MultiheadAttention(4, 2, **kw),
          lambda **kw: nn.TransformerEncoderLayer(4, 2, 8, **kw), lambda **kw: nn.TransformerDecoderLayer(4, 2, 8, **kw),
          lambda **kw: nn.Transformer(4, 2, 1, 1, 8, **kw)]


@pytest.mark.parametrize("make", LAYERS)
def test_cpu_device_builds_the_layer(make):
    assert isinstance(make(device="cpu"), nn.Module)
    assert isinstance(make(device=cr.device("cpu")), nn.Module)


@pytest.mark.parametrize("make", LAYERS)
def test_accelerator_device_is_refused_with_the_fix(make):
    with pytest.raises(RuntimeError, match=r"device 'cuda(:0)?' is not available for this nn\.\w+.*Fix"):
        make(device="cuda")


def test_causal_mask_refuses_an_accelerator():
    with pytest.raises(RuntimeError, match="generate_square_subsequent_mask"):
        nn.Transformer.generate_square_subsequent_mask(3, device="cuda")
