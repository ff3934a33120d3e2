"""The PyTorch examples' MNIST CNN (conv-conv-pool-dropout-fc, Adadelta + StepLR), on generated 28x28 images."""
import argparse

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import DataLoader, TensorDataset


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, 1)
        self.conv2 = nn.Conv2d(8, 16, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(2304, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = self.dropout2(F.relu(self.fc1(x)))
        return F.log_softmax(self.fc2(x), dim=1)


parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=2)
parser.add_argument("--lr", type=float, default=1.0)
args = parser.parse_args()
torch.manual_seed(1)
rng = np.random.default_rng(0)
labels = rng.integers(0, 10, 128)
protos = rng.standard_normal((10, 1, 28, 28)).astype(np.float32)
images = protos[labels] + 0.8 * rng.standard_normal((128, 1, 28, 28)).astype(np.float32)
ds = TensorDataset(torch.from_numpy(images), torch.from_numpy(labels))
train_loader = DataLoader(ds, batch_size=32, shuffle=False)
model = Net()
with torch.no_grad():
    for p in model.parameters():
        bound = 1 / np.sqrt(p[0].numel()) if p.dim() > 1 else 0.05        # PyTorch's default bound
        p.copy_(torch.from_numpy(rng.uniform(-bound, bound, tuple(p.shape)).astype(np.float32)))
optimizer = optim.Adadelta(model.parameters(), lr=args.lr)
scheduler = StepLR(optimizer, step_size=1, gamma=0.7)
for epoch in range(1, args.epochs + 1):
    model.train()
    for data, target in train_loader:
        optimizer.zero_grad()
        loss = F.nll_loss(model(data), target)
        loss.backward()
        optimizer.step()
    scheduler.step()
    model.eval()
    with torch.no_grad():
        out = model(torch.from_numpy(images))
        test_loss = F.nll_loss(out, torch.from_numpy(labels), reduction="sum").item() / len(labels)
        correct = out.argmax(dim=1).eq(torch.from_numpy(labels)).sum().item()
    print(f"epoch {epoch}: average loss {test_loss:.4f}, accuracy {correct}/{len(labels)}")
print(f"RESULT loss {test_loss:.6f}")
print(f"RESULT accuracy {correct / len(labels):.4f}")
