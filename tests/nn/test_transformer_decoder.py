"""nn.Transformer, TransformerDecoderLayer, TransformerDecoder: outputs and gradients equal PyTorch's
with the same weights (float64, dropout 0)."""
import numpy as np
import pytest

import chainrule as cr
from oracle import needs_torch, torch

pytestmark = needs_torch


def _copy_weights(src_t, dst_cr):
    sd = {k: cr.tensor(v.detach().numpy()) for k, v in src_t.state_dict().items()}
    dst_cr.load_state_dict(sd)


def _compare(m_cr, m_t, inputs, kwargs_cr=None, kwargs_t=None):
    xs = [cr.tensor(a, requires_grad=True) for a in inputs]
    xts = [torch.tensor(a, requires_grad=True) for a in inputs]
    out, out_t = m_cr(*xs, **(kwargs_cr or {})), m_t(*xts, **(kwargs_t or {}))
    np.testing.assert_allclose(out.detach().numpy(), out_t.detach().numpy(), rtol=1e-9, atol=1e-10)
    w = np.random.default_rng(5).standard_normal(out.shape)
    (out * cr.tensor(w)).sum().backward()
    (out_t * torch.tensor(w)).sum().backward()
    for x, xt in zip(xs, xts):
        np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-8, atol=1e-10)
    named_t = dict(m_t.named_parameters())
    for name, p in m_cr.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), named_t[name].grad.numpy(), rtol=1e-8, atol=1e-10,
                                   err_msg=name)


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_decoder_layer_matches_torch(norm_first, batch_first):
    kw = dict(d_model=8, nhead=2, dim_feedforward=16, dropout=0.0, norm_first=norm_first, batch_first=batch_first)
    torch.manual_seed(0)
    m_t = torch.nn.TransformerDecoderLayer(**kw).double()
    m_cr = cr.nn.TransformerDecoderLayer(**kw).double()
    _copy_weights(m_t, m_cr)
    rng = np.random.default_rng(0)
    tgt, mem = rng.standard_normal((5, 2, 8)), rng.standard_normal((7, 2, 8))
    if batch_first:
        tgt, mem = tgt.transpose(1, 0, 2).copy(), mem.transpose(1, 0, 2).copy()
    mask = cr.nn.Transformer.generate_square_subsequent_mask(5, dtype=cr.float64)
    mask_t = torch.nn.Transformer.generate_square_subsequent_mask(5, dtype=torch.float64)
    np.testing.assert_array_equal(mask.numpy(), mask_t.numpy())
    _compare(m_cr, m_t, [tgt, mem], dict(tgt_mask=mask), dict(tgt_mask=mask_t))


def test_transformer_encoder_decoder_matches_torch():
    kw = dict(d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=16, dropout=0.0)
    torch.manual_seed(1)
    m_t = torch.nn.Transformer(**kw).double()
    m_cr = cr.nn.Transformer(**kw).double()
    assert sorted(m_cr.state_dict()) == sorted(m_t.state_dict())
    _copy_weights(m_t, m_cr)
    rng = np.random.default_rng(1)
    src, tgt = rng.standard_normal((6, 3, 8)), rng.standard_normal((4, 3, 8))
    pad = np.zeros((3, 6), bool)
    pad[0, -2:] = True
    kc = dict(tgt_mask=cr.nn.Transformer.generate_square_subsequent_mask(4, dtype=cr.float64),
              src_key_padding_mask=cr.tensor(pad), memory_key_padding_mask=cr.tensor(pad))
    kt = dict(tgt_mask=torch.nn.Transformer.generate_square_subsequent_mask(4, dtype=torch.float64),
              src_key_padding_mask=torch.tensor(pad), memory_key_padding_mask=torch.tensor(pad))
    _compare(m_cr, m_t, [src, tgt], kc, kt)


def test_transformer_shape_errors():
    m = cr.nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=8)
    with pytest.raises(RuntimeError, match="batch number of src and tgt must be equal"):
        m(cr.randn(5, 2, 8), cr.randn(5, 3, 8))
    with pytest.raises(RuntimeError, match="d_model=8"):
        m(cr.randn(5, 2, 4), cr.randn(5, 2, 4))
