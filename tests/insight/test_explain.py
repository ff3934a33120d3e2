"""explain: the seed article's worked examples, number for number, against hand-derived values."""
import numpy as np
import pytest

import chainrule as cr
from chainrule.insight import explain
from chainrule.insight.worked import linear, two_layer, two_layer_values, xor


def test_seed_linear_regression_first_step():
    ex = linear()
    g1, g2 = ex.params["w1"]["grad"], ex.params["w2"]["grad"]
    x = np.arange(1.0, 11.0)
    assert g1 == -np.sum((2 * x - x) * x) == -385.0            # −Σ (y − ŷ) x with ŷ = x
    assert g2 == -np.sum(2 * x - x) == -55.0
    assert ex.params["w1"]["updated"] == pytest.approx(1 + 0.1 * 385)
    assert ex.params["w2"]["updated"] == pytest.approx(0 + 0.1 * 55)
    assert ex.params["w1"]["fd_ok"] and ex.params["w2"]["fd_ok"]
    values = {n: v for n, _, v in ex.forward}
    assert values["L"] == pytest.approx(0.5 * np.sum(x ** 2))
    assert values["w1"] == 1.0 and values["w2"] == 0.0         # shown at the seed's start values
    text = str(ex)
    assert "∂L/∂w1 = -385" in text and "∂L/∂w2 = -55" in text
    assert "w1 ← w1 − η ∂L/∂w1" in text


def test_seed_linear_regression_what_happens_next():
    ex = linear()
    lam = np.linalg.eigvalsh(np.array([[385.0, 55.0], [55.0, 10.0]]))[-1]   # [[Σx², Σx], [Σx, N]]
    assert ex.sharpness.lambda_max == pytest.approx(lam, rel=1e-9)
    assert ex.sharpness.lr_bound == pytest.approx(2 / lam, rel=1e-9)
    notes = "\n".join(ex.notes)
    assert "diverges" in notes and f"{2 / lam:.3g}" in notes
    assert "w1 = 2.0000, w2 = 0.0000" in notes                   # converged with the stable η


def test_seed_two_layer_against_hand_derivation():
    v = two_layer_values()
    X, T, Wh, bh, Wy, by = (v[k] for k in ("X", "T", "Wh", "bh", "Wy", "by"))
    n = X.shape[0]
    zh = X @ Wh.T + bh
    a = np.maximum(zh, 0)
    y = 1 / (1 + np.exp(-(a @ Wy.T + by)))
    delta_y = (y - T) / n * y * (1 - y)                        # ∂J/∂z_y: MSE then sigmoid's g'
    delta_h = (delta_y @ Wy) * (zh > 0)                        # ∂J/∂z_h = W_yᵀ δ_y ⊙ f'(z_h)
    ex = two_layer()
    np.testing.assert_allclose(ex.params["W_y"]["grad"], delta_y.T @ a, rtol=1e-12)
    np.testing.assert_allclose(ex.params["b_y"]["grad"], delta_y.sum(0), rtol=1e-12)
    np.testing.assert_allclose(ex.params["W_h"]["grad"], delta_h.T @ X, rtol=1e-12)
    np.testing.assert_allclose(ex.params["b_h"]["grad"], delta_h.sum(0), rtol=1e-12)
    assert all(p["fd_ok"] for p in ex.params.values())
    values = {name: val for name, _, val in ex.forward}
    assert values["L"] == pytest.approx(((y - T) ** 2).sum() / (2 * n))
    relu_local = [c for name, _, cs in ex.backward for c in cs if name == "relu1"][0]
    assert relu_local[1] == "elementwise"
    np.testing.assert_array_equal(relu_local[2], (zh > 0).astype(float))


def test_xor_gradients_check():
    ex = xor()
    assert set(ex.params) == {"W1", "b1", "W2", "b2"}
    assert all(p["fd_ok"] for p in ex.params.values())


def test_local_derivative_of_tanh_is_elementwise():
    w = cr.tensor([0.3, -1.2, 2.0], dtype=cr.float64, requires_grad=True)
    ex = explain(lambda: w.tanh().sum(), names={"w": w})
    (kind, local), = [(c[1], c[2]) for name, _, cs in ex.backward for c in cs if c[0] == "w"]
    assert kind == "elementwise"
    np.testing.assert_allclose(local, 1 - np.tanh([0.3, -1.2, 2.0]) ** 2)


def test_explain_a_loss_tensor_and_leaves_grad_untouched():
    w = cr.tensor([1.0, 2.0], dtype=cr.float64, requires_grad=True)
    loss = (w * w).sum()
    ex = explain(loss, names={"w": w})
    np.testing.assert_array_equal(ex.params["w"]["grad"], [2.0, 4.0])
    assert w.grad is None
    assert "fd" not in ex.params["w"] and "finite differences" in "\n".join(ex.notes)
    loss.backward()                              # the graph is still usable
    np.testing.assert_array_equal(w.grad.numpy(), [2.0, 4.0])
    md = ex._repr_markdown_()
    assert md.startswith("**Forward pass") and "`∂L/∂w = [2, 4]`" in md


def test_big_tensors_are_summarised():
    w = cr.ones(100, dtype=cr.float64, requires_grad=True)
    text = str(explain(lambda: (w * 3).sum(), names={"w": w}))
    assert "shape (100,), ‖·‖=" in text and "Jacobian not expanded" in text


def test_bad_input():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match="must be a scalar"):
        explain(w * 2)
    with pytest.raises(ValueError, match="has no graph"):
        explain(cr.tensor(1.0))
    with pytest.raises(TypeError, match="scalar loss Tensor or a function"):
        explain(3.0)
