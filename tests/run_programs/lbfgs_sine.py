"""Fit sin(x) with a small MLP and L-BFGS (strong-Wolfe line search), the PyTorch time-series example's way."""
import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim

torch.set_default_dtype(torch.float64)
rng = np.random.default_rng(0)
x = torch.from_numpy(np.linspace(-3, 3, 64).reshape(-1, 1))
y = torch.sin(x)
model = nn.Sequential(nn.Linear(1, 16), nn.Tanh(), nn.Linear(16, 1))
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.from_numpy(rng.uniform(-0.5, 0.5, tuple(p.shape))))
criterion = nn.MSELoss()
optimizer = optim.LBFGS(model.parameters(), lr=0.8, line_search_fn="strong_wolfe")
for i in range(5):
    def closure():
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        return loss
    loss = optimizer.step(closure)
    print(f"step {i} loss {loss.item():.6e}")
with torch.no_grad():
    final = criterion(model(x), y).item()
print(f"RESULT loss {final:.10e}")
