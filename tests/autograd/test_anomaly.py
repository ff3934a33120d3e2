"""detect_anomaly(): a NaN produced in backward names the forward op and the user's source line."""
import inspect
import os

import numpy as np
import pytest

import chainrule as cr
from oracle import needs_torch, torch

THIS_FILE = os.path.basename(__file__)

# 0 * inf on purpose; chainrule silences NumPy's RuntimeWarnings at import, pytest turns them back on
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def _next_line():
    """The line number of the caller's next line."""
    return inspect.currentframe().f_back.f_lineno + 1


def test_nan_from_sqrt_names_the_op_and_the_source_line():
    x = cr.tensor([0.0, 1.0], requires_grad=True)
    with cr.autograd.detect_anomaly():
        line = _next_line()
        y = x.sqrt() * 0                       # d/dx = 0 * 1/(2 sqrt 0) = 0 * inf = nan
        with pytest.raises(RuntimeError) as info:
            y.sum().backward()
    msg = str(info.value)
    assert "SqrtBackward" in msg and "nan" in msg
    assert THIS_FILE in msg
    assert f"line {line}" in msg
    assert "x.sqrt()" in msg                  # the source text of that line


def test_nan_from_log_at_zero_names_log():
    x = cr.tensor([0.0, 2.0], dtype=cr.float64, requires_grad=True)
    with cr.autograd.detect_anomaly():
        line = _next_line()
        y = (x.log() * 0).sum()               # 0 * 1/0 = nan
        with pytest.raises(RuntimeError, match=rf"LogBackward(.|\n)*{THIS_FILE}(.|\n)*line {line}"):
            y.backward()


def test_op_created_inside_a_helper_points_at_the_helper_line():
    def helper(t):
        return t.sqrt()

    x = cr.tensor([0.0], requires_grad=True)
    with cr.autograd.detect_anomaly():
        line = inspect.getsourcelines(helper)[1] + 1
        y = helper(x) * 0
        with pytest.raises(RuntimeError, match=rf"Sqrt(.|\n)*line {line}, in helper"):
            y.sum().backward()


def test_user_function_producing_nan_is_named():
    class BadLog(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.log()

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g / x

    x = cr.tensor([0.0, 1.0], requires_grad=True)
    with cr.autograd.detect_anomaly():
        line = _next_line()
        y = BadLog.apply(x) * 0
        with pytest.raises(RuntimeError, match=rf"BadLogBackward(.|\n)*{THIS_FILE}(.|\n)*line {line}"):
            y.sum().backward()


def test_outside_the_context_nan_flows_silently():
    x = cr.tensor([0.0, 1.0], requires_grad=True)
    y = x.sqrt() * 0
    y.sum().backward()
    assert np.isnan(x.grad.numpy()[0]) and x.grad.numpy()[1] == 0
    assert not cr.autograd.is_anomaly_enabled()


def test_graph_recorded_outside_but_backward_inside_still_raises():
    # no creation trace was recorded, but the NaN is still found and the op named
    x = cr.tensor([0.0], requires_grad=True)
    y = x.sqrt() * 0
    with cr.autograd.detect_anomaly():
        with pytest.raises(RuntimeError, match="SqrtBackward"):
            y.sum().backward()


def test_infinite_gradient_is_not_an_anomaly():
    # PyTorch only flags NaN: d sqrt(x)/dx at 0 is +inf, a legitimate value
    x = cr.tensor([0.0, 4.0], requires_grad=True)
    with cr.autograd.detect_anomaly():
        x.sqrt().sum().backward()
    assert np.isinf(x.grad.numpy()[0]) and x.grad.numpy()[1] == pytest.approx(0.25)


@needs_torch
@pytest.mark.filterwarnings("ignore::UserWarning")      # torch warns on entering anomaly mode and on errors
def test_agrees_with_torch_on_what_is_an_anomaly():
    for fn in (lambda t: t.sqrt().sum(), lambda t: (t.sqrt() * 0).sum(), lambda t: (t.log() * 0).sum(),
               lambda t: (t * t).sum()):
        raised = []
        for lib in (cr, torch):
            x = lib.tensor([0.0, 1.0], requires_grad=True)
            with lib.autograd.detect_anomaly(), np.errstate(all="ignore"):
                try:
                    fn(x).backward()
                    raised.append(False)
                except RuntimeError:
                    raised.append(True)
        assert raised[0] == raised[1]


def test_detect_anomaly_as_decorator_and_state():
    @cr.autograd.detect_anomaly()
    def run():
        assert cr.autograd.is_anomaly_enabled()
        x = cr.tensor([0.0], requires_grad=True)
        (x.sqrt() * 0).sum().backward()

    with pytest.raises(RuntimeError, match="SqrtBackward"):
        run()
    assert not cr.autograd.is_anomaly_enabled()


def test_set_detect_anomaly_plain_call_and_context():
    try:
        cr.autograd.set_detect_anomaly(True)
        assert cr.autograd.is_anomaly_enabled()
        cr.autograd.set_detect_anomaly(False)
        assert not cr.autograd.is_anomaly_enabled()
        with cr.autograd.set_detect_anomaly(True):
            assert cr.autograd.is_anomaly_enabled()
        assert not cr.autograd.is_anomaly_enabled()
    finally:
        cr.autograd.set_detect_anomaly(False)


def test_anomaly_mode_does_not_change_results():
    xv = np.array([0.3, 1.7])
    x1 = cr.tensor(xv, requires_grad=True)
    (x1.exp() * x1.sin()).sum().backward()
    x2 = cr.tensor(xv, requires_grad=True)
    with cr.autograd.detect_anomaly():
        (x2.exp() * x2.sin()).sum().backward()
    np.testing.assert_array_equal(x1.grad.numpy(), x2.grad.numpy())
