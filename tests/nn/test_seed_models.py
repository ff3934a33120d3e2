"""The seed articles' models, written as their PyTorch listings are (nn.Module subclass, super(Net, self)
.__init__(), x.view(-1, 784), F.relu / torch.relu, F.sigmoid ...) with ``torch`` swapped for ``chainrule``:
each builds, has the same parameter names and count as torch's for the same code, gives the right output
shape, and - with torch's weights loaded - the same outputs, loss and gradients."""
import numpy as np
import pytest

import chainrule as cr
from oracle import needs_torch, torch


def _libs(lib):
    """(torch-like module, nn, nn.functional) for 'chainrule' or 'torch'."""
    if lib == "torch":
        import torch.nn as tnn
        import torch.nn.functional as tF
        return torch, tnn, tF
    return cr, cr.nn, cr.nn.functional


def two_layer_net(lib):        # 2-4-1 (ReLU), MSE
    torch_, nn, F = _libs(lib)

    class TwoLayerNet(nn.Module):
        def __init__(self, input_size, hidden_size, output_size):
            super(TwoLayerNet, self).__init__()
            self.linear1 = nn.Linear(input_size, hidden_size)
            self.linear2 = nn.Linear(hidden_size, output_size)
            self.relu = nn.ReLU()

        def forward(self, x):
            x = self.linear1(x)
            x = self.relu(x)
            x = self.linear2(x)
            return x

    return TwoLayerNet(2, 4, 1), nn.MSELoss()


def mnist_784_200_10(lib):     # 784-200-10 (ReLU), cross-entropy
    torch_, nn, F = _libs(lib)

    class Net(nn.Module):
        def __init__(self):
            super(Net, self).__init__()
            self.fc1 = nn.Linear(784, 200)
            self.fc2 = nn.Linear(200, 10)
            self.relu = nn.ReLU()

        def forward(self, x):
            x = self.fc1(x.view(-1, 784))
            x = self.relu(x)
            x = self.fc2(x)
            return x

    return Net(), nn.CrossEntropyLoss()


def mlp_1_10_1(lib):           # 1-10-1 regression (nn.functional.relu), MSE
    torch_, nn, F = _libs(lib)

    class MLP(nn.Module):
        def __init__(self):
            super(MLP, self).__init__()
            self.fc1 = nn.Linear(1, 10)
            self.fc2 = nn.Linear(10, 1)

        def forward(self, x):
            x = self.fc1(x)
            x = nn.functional.relu(x)
            x = self.fc2(x)
            return x

    return MLP(), nn.MSELoss()


def mnist_784_256_128_10(lib):   # 784-256-128-10 (F.relu), cross-entropy
    torch_, nn, F = _libs(lib)

    class Net(nn.Module):
        def __init__(self):
            super(Net, self).__init__()
            self.fc1 = nn.Linear(784, 256)
            self.fc2 = nn.Linear(256, 128)
            self.fc3 = nn.Linear(128, 10)

        def forward(self, x):
            x = x.view(-1, 784)
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            x = self.fc3(x)
            return x

    return Net(), nn.CrossEntropyLoss()


def binary_784_128_64_1(lib):    # 784-128-64-1 with a sigmoid output, BCE
    torch_, nn, F = _libs(lib)

    class Net(nn.Module):
        def __init__(self):
            super(Net, self).__init__()
            self.fc1 = nn.Linear(784, 128)
            self.fc2 = nn.Linear(128, 64)
            self.fc3 = nn.Linear(64, 1)

        def forward(self, x):
            x = x.view(-1, 784)
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            x = F.sigmoid(self.fc3(x))
            return x

    return Net(), nn.BCELoss()


def softmax_784_128_64_10(lib):  # 784-128-64-10 with torch.relu / torch.softmax in forward, .to(device)
    torch_, nn, F = _libs(lib)

    class Net(nn.Module):
        def __init__(self):
            super(Net, self).__init__()
            self.fc1 = nn.Linear(784, 128)
            self.fc2 = nn.Linear(128, 64)
            self.fc3 = nn.Linear(64, 10)

        def forward(self, x):
            x = x.view(-1, 784)
            x = torch_.relu(self.fc1(x))
            x = torch_.relu(self.fc2(x))
            x = torch_.softmax(self.fc3(x), dim=1)
            return x

    device = "cpu"
    return Net().to(device), nn.CrossEntropyLoss().to(device)


def linear_model_1_1(lib):      # y = wx + b
    torch_, nn, F = _libs(lib)

    class LinearModel(nn.Module):
        def __init__(self):
            super(LinearModel, self).__init__()
            self.linear = nn.Linear(1, 1)

        def forward(self, x):
            return self.linear(x)

    return LinearModel(), nn.MSELoss()


# builder, input shape, expected output shape, target kind, parameter count (from the layer sizes)
MODELS = [
    (two_layer_net, (8, 2), (8, 1), "real", 2 * 4 + 4 + 4 * 1 + 1),
    (mnist_784_200_10, (16, 1, 28, 28), (16, 10), "class", 784 * 200 + 200 + 200 * 10 + 10),
    (mlp_1_10_1, (32, 1), (32, 1), "real", 10 + 10 + 10 + 1),
    (mnist_784_256_128_10, (16, 1, 28, 28), (16, 10), "class", 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10),
    (binary_784_128_64_1, (16, 784), (16, 1), "binary", 784 * 128 + 128 + 128 * 64 + 64 + 64 + 1),
    (softmax_784_128_64_10, (16, 28, 28), (16, 10), "class", 784 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10),
    (linear_model_1_1, (10, 1), (10, 1), "real", 2),
]
IDS = [m[0].__name__ for m in MODELS]


def _data(in_shape, out_shape, kind, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random(in_shape)                       # pixel-like values in [0, 1)
    if kind == "class":
        y = rng.integers(0, out_shape[1], out_shape[0])
    elif kind == "binary":
        y = rng.integers(0, 2, out_shape).astype(np.float64)
    else:
        y = rng.standard_normal(out_shape)
    return x, y


@pytest.mark.parametrize("build,in_shape,out_shape,kind,n_params", MODELS, ids=IDS)
def test_builds_with_parameter_count_and_output_shape(build, in_shape, out_shape, kind, n_params):
    model, criterion = build("chainrule")
    assert sum(p.numel() for p in model.parameters()) == n_params
    x, y = _data(in_shape, out_shape, kind)
    out = model(cr.tensor(x, dtype=cr.float32))
    assert tuple(out.shape) == out_shape and out.dtype == cr.float32
    loss = criterion(out, cr.tensor(y))
    loss.backward()
    assert all(p.grad is not None and p.grad.shape == p.shape for p in model.parameters())


@needs_torch
@pytest.mark.parametrize("build,in_shape,out_shape,kind,n_params", MODELS, ids=IDS)
def test_same_as_torch_for_the_same_code(build, in_shape, out_shape, kind, n_params):
    cm, c_loss = build("chainrule")
    tm, t_loss = build("torch")
    assert sum(p.numel() for p in cm.parameters()) == sum(p.numel() for p in tm.parameters()) == n_params
    assert [(n, tuple(p.shape)) for n, p in cm.named_parameters()] == \
           [(n, tuple(p.shape)) for n, p in tm.named_parameters()]
    assert repr(cm) == repr(tm)
    cm.double()
    cm.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    x, y = _data(in_shape, out_shape, kind, seed=1)
    oc, ot = cm(cr.tensor(x)), tm(torch.tensor(x))
    np.testing.assert_allclose(oc.detach().numpy(), ot.detach().numpy(), rtol=1e-10, atol=1e-12)
    lc, lt = c_loss(oc, cr.tensor(y)), t_loss(ot, torch.tensor(y))
    np.testing.assert_allclose(lc.item(), lt.item(), rtol=1e-10)
    lc.backward()
    lt.backward()
    for (n, p), q in zip(cm.named_parameters(), tm.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=n)
