"""float32 erf (the rational approximation used for speed) against PyTorch's float32 erf and the
float64 reference, over the whole range, the tails and special values."""
import numpy as np

import chainrule as cr
from chainrule.ops.unary import erf_array
from oracle import needs_torch, torch


def test_float32_erf_error_against_float64_reference():
    x = np.concatenate([np.linspace(-7, 7, 200001), [0.0, -0.0, 1e-30, -1e-30, 3.9999, 4.0, 4.0001]])
    x32 = x.astype(np.float32)
    got = cr.erf(cr.tensor(x32)).numpy()
    ref = erf_array(x32.astype(np.float64))
    assert got.dtype == np.float32
    assert np.abs(got - ref).max() < 1.2e-7                 # ~1.5 float32 ulps near ±1
    small = np.abs(x32) < 1e-3                               # erf(x) ≈ 2x/√π: full relative precision
    np.testing.assert_allclose(got[small], ref[small], rtol=2e-7, atol=1e-37)
    special = cr.erf(cr.tensor([np.nan, np.inf, -np.inf], dtype=cr.float32)).numpy()
    assert np.isnan(special[0]) and special[1] == 1 and special[2] == -1


@needs_torch
def test_float32_erf_and_gelu_match_torch():
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(10000) * 3).astype(np.float32)
    np.testing.assert_allclose(cr.erf(cr.tensor(x)).numpy(), torch.erf(torch.from_numpy(x)).numpy(), atol=1.5e-7)
    g = cr.nn.functional.gelu(cr.tensor(x)).numpy()
    gt = torch.nn.functional.gelu(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(g, gt, rtol=1e-5, atol=5e-7)
