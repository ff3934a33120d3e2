"""The monitor's statistics on hand-computable values."""
import numpy as np
import pytest

from chainrule.insight import stats as S


def test_grad_stats_by_hand():
    g = np.array([3.0, -4.0, 0.0, 0.0])
    w = np.array([1.0, 2.0, 2.0, 0.0])
    w0 = np.array([1.0, 2.0, 0.0, 0.0])
    s = S.grad_stats(g, w, w0)
    assert s["grad_norm"] == pytest.approx(5.0)
    assert s["mean_abs"] == pytest.approx(7 / 4)
    assert s["max_abs"] == pytest.approx(4.0)
    assert s["zero_frac"] == pytest.approx(0.5)
    assert s["weight_norm"] == pytest.approx(3.0)
    assert s["init_dist"] == pytest.approx(2 / np.sqrt(5))


def test_update_ratio():
    assert S.update_ratio(np.array([3.0, 4.0]), np.array([3.0, 4.5])) == pytest.approx(0.1)
    assert np.isnan(S.update_ratio(np.zeros(3), np.ones(3)))


def test_activation_stats_dead_and_saturated():
    a = np.array([[0.0, 2.0, 0.0], [0.0, 1.0, 3.0]])            # unit 0 never positive
    assert S.active_units(a).tolist() == [False, True, True]
    s = S.activation_stats(a, relu_like=True)
    assert s["dead_batch"] == pytest.approx(1 / 3)
    assert s["mean"] == pytest.approx(1.0) and s["std"] == pytest.approx(a.std())
    conv = np.zeros((2, 3, 4, 4))
    conv[1, 2, 3, 3] = 1.0                                       # channel 2 active once
    assert S.active_units(conv).tolist() == [False, False, True]
    sig = np.array([0.005, 0.5, 0.995, 0.2])                     # 1 % of the range (0, 1) from either end
    assert S.saturated_fraction(sig, (0.0, 1.0)) == pytest.approx(0.5)
    tanh = np.array([-0.99, 0.0, 0.97, 0.985])                   # 1 % of (-1, 1) is 0.02
    assert S.saturated_fraction(tanh, (-1.0, 1.0)) == pytest.approx(0.5)


def test_output_grad_rms_and_histogram():
    assert S.output_grad_rms(np.array([[3.0, 4.0], [0.0, 0.0]])) == pytest.approx(2.5)
    h = S.log_abs_histogram(np.array([0.0, 1e-20, 1.0, 10.0]))
    assert h.sum() == 4 and h[0] == 2                           # zeros and tiny values in the first bin
