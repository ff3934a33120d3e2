"""Devices as PyTorch names them; creating or moving a tensor to an absent device raises one clear error."""
import pytest

import chainrule as cr


def test_device_objects():
    d = cr.device("cuda:1")
    assert (d.type, d.index, str(d), repr(d)) == ("cuda", 1, "cuda:1", "device(type='cuda', index=1)")
    assert cr.device("cuda", 0) == cr.device("cuda:0") and cr.device("cpu") == "cpu"
    assert cr.device(cr.device("cpu")).type == "cpu" and cr.device("cpu").index is None
    assert {cr.device("cpu"): 1}[cr.device("cpu")] == 1
    with pytest.raises(RuntimeError, match="Expected one of cpu, cuda.*device type at start of device string: tpu"):
        cr.device("tpu")


def test_tensor_device_is_cpu_object():
    t = cr.ones(2)
    assert t.device == "cpu" and t.device == cr.device("cpu") and t.device.type == "cpu" and not t.is_cuda
    assert t.to(cr.device("cpu")) is t and t.to(device="cpu") is t


@pytest.mark.parametrize("dev", ["cuda", "cuda:0", "mps", cr.device("cuda")])
def test_creating_or_moving_to_an_absent_device_raises_the_same_error(dev):
    msg = "chainrule runs on the CPU.*is not available"
    for make in (lambda: cr.zeros(2, device=dev), lambda: cr.tensor([1.0], device=dev),
                 lambda: cr.randn(2, device=dev), lambda: cr.ones(2).to(dev), lambda: cr.arange(3, device=dev),
                 lambda: cr.nn.Linear(2, 2).to(dev)):
        with pytest.raises(RuntimeError, match=msg):
            make()
    with pytest.raises(RuntimeError, match="Expected one of"):
        cr.zeros(2, device="tpu")
    assert cr.zeros(2, device="cpu").device == "cpu"


def test_accelerator_queries_answer_as_pytorch_without_one():
    assert cr.cuda.is_available() is False and cr.cuda.device_count() == 0
    assert cr.accelerator.is_available() is False and cr.accelerator.current_accelerator() is None
    assert cr.mps.is_available() is False and cr.backends.mps.is_available() is False
    cr.backends.cudnn.benchmark = True
    cr.backends.cuda.matmul.allow_tf32 = True
    assert cr.backends.cudnn.benchmark is True
    cr.backends.cudnn.benchmark = False
    cr.set_float32_matmul_precision("high")
    assert cr.get_float32_matmul_precision() == "high"
    cr.set_float32_matmul_precision("highest")
    with pytest.raises(RuntimeError, match="invalid precision"):
        cr.set_float32_matmul_precision("fast")
