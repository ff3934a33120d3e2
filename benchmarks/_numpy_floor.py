"""The NumPy floor for benchmarks/issue10.py: forward, backward and optimiser update written by hand.

No framework, no graph: each model is a ``loss_and_grads(weights, batch) -> (loss, grads)`` function over a
dict of float32 arrays in PyTorch's parameter layout (``Linear.weight`` is (out, in)), so that the same
initial weights load into chainrule, PyTorch and this floor, and ``issue10.py --check`` can compare losses.
The optimisers follow PyTorch's formulas (SGD with momentum: buf = m*buf + g, p -= lr*buf; Adam with bias
correction), one tensor at a time, as a person would write them.
"""
import numpy as np


# --- building blocks: forward returns (out, cache), backward takes (dout, cache) -------------------------

def linear(x, w, b):
    return x @ w.T + b


def linear_backward(dy, x, w, need_dx=True):
    """dW = dyᵀ x, db = Σ dy, dx = dy W (rows flattened over the leading axes)."""
    dy2, x2 = dy.reshape(-1, dy.shape[-1]), x.reshape(-1, x.shape[-1])
    return (dy @ w if need_dx else None), dy2.T @ x2, dy2.sum(0)


def cross_entropy(logits, y):
    """Mean cross-entropy and its gradient: (softmax - onehot) / N."""
    n = logits.shape[0]
    z = logits - logits.max(1, keepdims=True)
    e = np.exp(z)
    s = e.sum(1, keepdims=True)
    loss = float((np.log(s[:, 0]) - z[np.arange(n), y]).mean())
    p = e / s
    p[np.arange(n), y] -= 1
    p /= n
    return loss, p


def mse(out, target):
    diff = out - target
    return float((diff * diff).mean()), diff * (2.0 / diff.size)


def layer_norm(x, g, b, eps=1e-5):
    mu = x.mean(-1, keepdims=True)
    xc = x - mu
    rstd = 1.0 / np.sqrt((xc * xc).mean(-1, keepdims=True) + eps)
    xhat = xc * rstd
    return xhat * g + b, (xhat, rstd, g)


def layer_norm_backward(dy, cache):
    """dx = rstd·(dx̂ - mean(dx̂) - x̂·mean(dx̂·x̂)), dx̂ = dy·g."""
    xhat, rstd, g = cache
    d = dy.shape[-1]
    dxhat = dy * g
    dx = rstd * (dxhat - dxhat.mean(-1, keepdims=True) - xhat * (dxhat * xhat).mean(-1, keepdims=True))
    return dx, (dy * xhat).reshape(-1, d).sum(0), dy.reshape(-1, d).sum(0)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# --- models --------------------------------------------------------------------------------------------

def mlp(weights, batch, n_layers):
    """Linear layers with ReLU between, named as nn.Sequential's state_dict (0, 2, 4, ...); cross-entropy."""
    x, y = batch
    acts, h = [x], x
    for i in range(n_layers):
        h = linear(h, weights[f"{2 * i}.weight"], weights[f"{2 * i}.bias"])
        if i < n_layers - 1:
            h = np.maximum(h, 0)
            acts.append(h)
    loss, d = cross_entropy(h, y)
    grads = {}
    for i in reversed(range(n_layers)):
        w = f"{2 * i}.weight"
        dx, grads[w], grads[f"{2 * i}.bias"] = linear_backward(d, acts[i], weights[w], i > 0)
        if i > 0:
            d = dx * (acts[i] > 0)
    return loss, grads


def conv2d(x, w, b, pad):
    """im2col: windows (N, C, Ho, Wo, k, k) → (N·Ho·Wo, C·k·k) @ Wᵀ."""
    if pad:
        x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    o, c, k, _ = w.shape
    win = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))
    n, _, ho, wo = win.shape[:4]
    cols = win.transpose(0, 2, 3, 1, 4, 5).reshape(n * ho * wo, c * k * k)
    out = (cols @ w.reshape(o, -1).T + b).reshape(n, ho, wo, o).transpose(0, 3, 1, 2)
    return out, (cols, x.shape, pad)


def conv2d_backward(dy, w, cache, need_dx=True):
    cols, xshape, pad = cache
    o, c, k, _ = w.shape
    n, _, ho, wo = dy.shape
    d2 = dy.transpose(0, 2, 3, 1).reshape(-1, o)
    dw, db = (d2.T @ cols).reshape(w.shape), d2.sum(0)
    if not need_dx:
        return None, dw, db
    dcols = (d2 @ w.reshape(o, -1)).reshape(n, ho, wo, c, k, k)
    dx = np.zeros(xshape, dy.dtype)
    for i in range(k):                       # col2im: add each kernel offset's slab back
        for j in range(k):
            dx[:, :, i:i + ho, j:j + wo] += dcols[:, :, :, :, i, j].transpose(0, 3, 1, 2)
    if pad:
        dx = dx[:, :, pad:-pad, pad:-pad]
    return dx, dw, db


def maxpool2(x):
    n, c, h, w = x.shape
    r = x.reshape(n, c, h // 2, 2, w // 2, 2)
    out = r.max((3, 5))
    return out, (r == out[:, :, :, None, :, None])


def maxpool2_backward(dy, mask):
    return (mask * dy[:, :, :, None, :, None]).reshape(mask.shape[0], mask.shape[1], mask.shape[2] * 2, -1)


def lenet5(weights, batch):
    """conv(1→6,5,pad 2) relu pool, conv(6→16,5) relu pool, 400→120 relu, 120→84 relu, 84→10; names as
    nn.Sequential's state_dict (0, 3, 7, 9, 11)."""
    x, y = batch
    W = weights
    c1, k1 = conv2d(x, W["0.weight"], W["0.bias"], 2)
    r1 = np.maximum(c1, 0)
    p1, m1 = maxpool2(r1)
    c2, k2 = conv2d(p1, W["3.weight"], W["3.bias"], 0)
    r2 = np.maximum(c2, 0)
    p2, m2 = maxpool2(r2)
    f = p2.reshape(p2.shape[0], -1)
    h1 = np.maximum(linear(f, W["7.weight"], W["7.bias"]), 0)
    h2 = np.maximum(linear(h1, W["9.weight"], W["9.bias"]), 0)
    loss, d = cross_entropy(linear(h2, W["11.weight"], W["11.bias"]), y)
    g = {}
    d, g["11.weight"], g["11.bias"] = linear_backward(d, h2, W["11.weight"])
    d, g["9.weight"], g["9.bias"] = linear_backward(d * (h2 > 0), h1, W["9.weight"])
    d, g["7.weight"], g["7.bias"] = linear_backward(d * (h1 > 0), f, W["7.weight"])
    d = maxpool2_backward(d.reshape(p2.shape), m2) * (c2 > 0)
    d, g["3.weight"], g["3.bias"] = conv2d_backward(d, W["3.weight"], k2)
    d = maxpool2_backward(d, m1) * (c1 > 0)
    _, g["0.weight"], g["0.bias"] = conv2d_backward(d, W["0.weight"], k1, need_dx=False)
    return loss, g


def lstm(weights, batch):
    """One LSTM layer (PyTorch gate order i, f, g, o; h0 = c0 = 0), MSE on every output, BPTT."""
    x, target = batch
    w_ih, w_hh = weights["weight_ih_l0"], weights["weight_hh_l0"]
    T, B, _ = x.shape
    H = w_hh.shape[1]
    xw = (x.reshape(T * B, -1) @ w_ih.T + (weights["bias_ih_l0"] + weights["bias_hh_l0"])).reshape(T, B, 4 * H)
    hs = np.zeros((T + 1, B, H), x.dtype)              # hs[t] is h_{t-1}; hs[0] = h0
    cs = np.zeros((T + 1, B, H), x.dtype)
    acts = np.empty((T, B, 4 * H), x.dtype)            # i, f, g, o after their nonlinearities
    tcs = np.empty((T, B, H), x.dtype)
    for t in range(T):
        z = xw[t] + hs[t] @ w_hh.T
        a = acts[t]
        a[:, :2 * H] = sigmoid(z[:, :2 * H])
        a[:, 2 * H:3 * H] = np.tanh(z[:, 2 * H:3 * H])
        a[:, 3 * H:] = sigmoid(z[:, 3 * H:])
        i, f, g, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
        cs[t + 1] = f * cs[t] + i * g
        tcs[t] = np.tanh(cs[t + 1])
        hs[t + 1] = o * tcs[t]
    loss, dout = mse(hs[1:], target)
    dz = np.empty_like(acts)
    dh_next = np.zeros((B, H), x.dtype)
    dc_next = np.zeros((B, H), x.dtype)
    for t in reversed(range(T)):
        a = acts[t]
        i, f, g, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
        dh = dout[t] + dh_next
        dc = dh * o * (1 - tcs[t] * tcs[t]) + dc_next
        d = dz[t]
        d[:, :H] = dc * g * i * (1 - i)
        d[:, H:2 * H] = dc * cs[t] * f * (1 - f)
        d[:, 2 * H:3 * H] = dc * i * (1 - g * g)
        d[:, 3 * H:] = dh * tcs[t] * o * (1 - o)
        dc_next = dc * f
        dh_next = d @ w_hh
    dz2 = dz.reshape(T * B, 4 * H)
    db = dz2.sum(0)
    return loss, {"weight_ih_l0": dz2.T @ x.reshape(T * B, -1), "weight_hh_l0": dz2.T @ hs[:-1].reshape(T * B, H),
                  "bias_ih_l0": db, "bias_hh_l0": db.copy()}


def encoder_layer(weights, batch, nhead):
    """nn.TransformerEncoderLayer (post-norm, ReLU, dropout 0, batch_first), MSE to a target."""
    x, target = batch
    W = weights
    B, T, D = x.shape
    dh = D // nhead
    scale = 1.0 / np.sqrt(dh)
    qkv = linear(x, W["self_attn.in_proj_weight"], W["self_attn.in_proj_bias"])
    q, k, v = (qkv[..., i * D:(i + 1) * D].reshape(B, T, nhead, dh).transpose(0, 2, 1, 3) for i in range(3))
    s = (q @ k.transpose(0, 1, 3, 2)) * scale
    e = np.exp(s - s.max(-1, keepdims=True))
    p = e / e.sum(-1, keepdims=True)
    a = (p @ v).transpose(0, 2, 1, 3).reshape(B, T, D)
    sa = linear(a, W["self_attn.out_proj.weight"], W["self_attn.out_proj.bias"])
    x1, ln1 = layer_norm(x + sa, W["norm1.weight"], W["norm1.bias"])
    h_pre = linear(x1, W["linear1.weight"], W["linear1.bias"])
    h = np.maximum(h_pre, 0)
    out, ln2 = layer_norm(x1 + linear(h, W["linear2.weight"], W["linear2.bias"]), W["norm2.weight"], W["norm2.bias"])
    loss, d = mse(out, target)
    g = {}
    d, g["norm2.weight"], g["norm2.bias"] = layer_norm_backward(d, ln2)
    dh_, g["linear2.weight"], g["linear2.bias"] = linear_backward(d, h, W["linear2.weight"])
    dx1, g["linear1.weight"], g["linear1.bias"] = linear_backward(dh_ * (h_pre > 0), x1, W["linear1.weight"])
    d, g["norm1.weight"], g["norm1.bias"] = layer_norm_backward(d + dx1, ln1)
    da, g["self_attn.out_proj.weight"], g["self_attn.out_proj.bias"] = linear_backward(
        d, a, W["self_attn.out_proj.weight"])
    da = da.reshape(B, T, nhead, dh).transpose(0, 2, 1, 3)
    dp = da @ v.transpose(0, 1, 3, 2)
    dv = p.transpose(0, 1, 3, 2) @ da
    ds = p * (dp - (dp * p).sum(-1, keepdims=True)) * scale
    dq, dk = ds @ k, ds.transpose(0, 1, 3, 2) @ q
    dqkv = np.concatenate([t.transpose(0, 2, 1, 3).reshape(B, T, D) for t in (dq, dk, dv)], -1)
    _, g["self_attn.in_proj_weight"], g["self_attn.in_proj_bias"] = linear_backward(
        dqkv, x, W["self_attn.in_proj_weight"], need_dx=False)
    return loss, g


# --- optimisers (PyTorch's formulas, one tensor at a time) ---------------------------------------------

class SGD:
    def __init__(self, weights, lr, momentum=0.0):
        self.w, self.lr, self.m = weights, lr, momentum
        self.buf = {k: np.zeros_like(v) for k, v in weights.items()} if momentum else None

    def step(self, grads):
        for k, g in grads.items():
            if self.m:
                buf = self.buf[k]
                buf *= self.m
                buf += g
                g = buf
            self.w[k] -= self.lr * g


class Adam:
    def __init__(self, weights, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        self.w, self.lr, (self.b1, self.b2), self.eps, self.t = weights, lr, betas, eps, 0
        self.m = {k: np.zeros_like(v) for k, v in weights.items()}
        self.v = {k: np.zeros_like(v) for k, v in weights.items()}

    def step(self, grads):
        self.t += 1
        c1, c2 = 1 - self.b1 ** self.t, 1 - self.b2 ** self.t
        for k, g in grads.items():
            m, v = self.m[k], self.v[k]
            m *= self.b1
            m += (1 - self.b1) * g
            v *= self.b2
            v += (1 - self.b2) * g * g
            denom = np.sqrt(v) / np.sqrt(c2) + self.eps
            self.w[k] -= (self.lr / c1) * m / denom
