"""Recurrent layers (Elman RNN, LSTM, GRU): one fused node per layer and direction for the whole sequence.

The recurrences, with PyTorch's gate layout (the gates are stacked in the rows of W_ih / W_hh):

    RNN   h' = act(W_ih x + b_ih + W_hh h + b_hh)                      act = tanh or relu
    LSTM  [i, f, g, o] = [σ, σ, tanh, σ](W_ih x + b_ih + W_hh h + b_hh)
          c' = f c + i g,   h' = o tanh(c')
    GRU   [r, z] = σ(W_i[rz] x + b_i[rz] + W_h[rz] h + b_h[rz])
          n = tanh(W_in x + b_in + r (W_hn h + b_hn)),   h' = (1 - z) n + z h

How it is made fast (NumPy, a Python loop over time steps only):

* the input projection of ALL time steps, x W_ihᵀ + b, is computed before the loop in one (batched) GEMM;
* each step is one GEMM W_hh h for all gates at once plus a handful of in-place ufunc calls. LSTM and GRU
  keep their states transposed, (H, B), so that each gate is a contiguous block of rows of the step's
  (G*H, B) gate array (NumPy's ufuncs are several times slower on the column slices of a (B, G*H) array);
* sigmoid(z) = 1 / (1 + exp(-z)) with the rows of the sigmoid gates pre-negated in the weights and biases (an
  exact scaling), so the sigmoid gates of a step are three in-place calls over one contiguous block
  (exp, +1, reciprocal: cheaper than NumPy's tanh, which then runs on the tanh gate only);
* the whole sequence is a single graph node (``RNNSequence``): its backward is backpropagation through
  time on raw arrays - per step one GEMM W_hhᵀ da and a few ufuncs, with the factors that do not depend on
  the incoming gradient (gate derivatives times their partners) computed for all steps at once - and the
  weight and bias gradients are single GEMMs over the whole sequence afterwards.

Several outputs from one node: an LSTM node returns (T+1, B, H) - the T hidden states, then c_T - that the
caller slices (views). h_n is the last step's hidden state: out[T-1], or out[0] in the reverse direction.

Backward, written once (the contract of ``Op``): ``RNNSequence.backward`` applies ``RNNSequenceGrad``,
whose forward is the raw BPTT kernel (it reads the activations the forward node kept) and whose backward
gives the second order by differentiating a recomputed graph of primitive Tensor ops (``_reference``).
"""
import numpy as np

from .. import creation
from ..autograd.engine import grad
from ..autograd.function import Op
from ..autograd.grad_mode import STATE, enable_grad
from ..errors import ShapeError
from ..tensor import Tensor, _make
from .dropout import dropout as _dropout
from .linear import linear
from .shape import cat, stack
from .unary import relu, sigmoid, tanh

__all__ = ["rnn", "rnn_layer", "lstm_cell", "gru_cell", "rnn_tanh_cell", "rnn_relu_cell", "GATES"]

GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


# ----------------------------------------------------------------------------------------------- helpers
def _steps(T, reverse):
    return range(T - 1, -1, -1) if reverse else range(T)


def _project(x, w, b):
    """x (T, B, I) -> x Wᵀ + b for every time step in one GEMM: (T, B, G)."""
    T, B, _ = x.shape
    out = x.reshape(T * B, -1) @ w.T
    if b is not None:
        out += b
    return out.reshape(T, B, -1)


def _add_bias(b_ih, b_hh):
    if b_ih is None:
        return b_hh
    return b_ih if b_hh is None else b_ih + b_hh


def _project_t(x, w, b):
    """x (T, B, I) -> W x_tᵀ + b for every time step at once, transposed: (T, G, B). One batched GEMM over
    contiguous x_tᵀ with the bias folded in as an extra input row of ones (cheaper than a broadcast add)."""
    T, B, I = x.shape
    k = I if b is None else I + 1
    xa = np.empty((T, k, B), x.dtype)
    xa[:, :I] = x.transpose(0, 2, 1)
    if b is None:
        return np.matmul(w, xa)
    xa[:, I] = 1
    wa = np.empty((w.shape[0], k), w.dtype)
    wa[:, :I] = w
    wa[:, I] = b
    return np.matmul(wa, xa)


def _transposed(g, dtype):
    """(T, B, H) -> a contiguous (T, H, B) copy."""
    out = np.empty((g.shape[0], g.shape[2], g.shape[1]), dtype)
    out[...] = g.transpose(0, 2, 1)
    return out


def _prev_outer_t(dA2, Y, h0, reverse):
    """Σ_t dA[t] h_prev(t): the W_hh gradient, as one GEMM. dA2: the pre-activation gradients as (G, T*B),
    columns ordered (t, b); Y (T, B, H) the outputs; h_prev(t) is the previous step's output, h0 (or 0)
    for the first step."""
    T, B, H = Y.shape
    n = (T - 1) * B
    if reverse:
        a, y, first = dA2[:, :n], Y[1:], dA2[:, n:]
    else:
        a, y, first = dA2[:, B:], Y[:-1], dA2[:, :B]
    out = a @ y.reshape(n, H)
    if h0 is not None:
        out += first @ h0
    return out


def _times_prev(out, V, v0, reverse):
    """out[t] *= V_prev(t) in place, V_prev(t) being V at the previous step, v0 (or 0 if None) at the first."""
    T = out.shape[0]
    if reverse:
        out[:-1] *= V[1:]
        first = T - 1
    else:
        out[1:] *= V[:-1]
        first = 0
    if v0 is None:
        out[first] = 0
    else:
        out[first] *= v0


def _minus_prev(out, V, v0, W, reverse):
    """out[t] = V_prev(t) - W[t], V_prev as in _times_prev."""
    T = out.shape[0]
    if reverse:
        np.subtract(V[1:], W[:-1], out=out[:-1])
        first = T - 1
    else:
        np.subtract(V[:-1], W[1:], out=out[1:])
        first = 0
    if v0 is None:
        np.negative(W[first], out=out[first])
    else:
        np.subtract(v0, W[first], out=out[first])


def _weight_grads(dX2, dH2, x, Y, h0, w_ih, reverse, nx, nwih, nwhh, nb):
    """From the pre-activation gradients as (G, T*B) - input side dX2, recurrent side dH2 - the gradients
    of x, W_ih, W_hh and the (input-side) bias: one GEMM each over the whole sequence (the bias gradient,
    Σ over (t, b), rides along with W_ih's as a column of ones)."""
    T, B, I = x.shape
    dx = (dX2.T @ w_ih).reshape(T, B, I) if nx else None
    dwih = db = None
    if nwih:
        x2 = x.reshape(T * B, I)
        if nb:
            xa = np.empty((T * B, I + 1), x.dtype)
            xa[:, :I] = x2
            xa[:, I] = 1
            dwa = dX2 @ xa
            dwih, db = np.ascontiguousarray(dwa[:, :I]), dwa[:, I].copy()
        else:
            dwih = dX2 @ x2
    elif nb:
        db = dX2 @ np.ones(T * B, dX2.dtype)
    dwhh = _prev_outer_t(dH2, Y, h0, reverse) if nwhh else None
    return dx, dwih, dwhh, db


# ----------------------------------------------------------------------------------------------- the node
class RNNSequence(Op):
    """One recurrent layer, one direction, the whole sequence:  (x, h0[, c0], W_ih, W_hh, b_ih, b_hh) -> Y.

    x (T, B, I); h0, c0 (B, H) or None (zeros); W_ih (G*H, I); W_hh (G*H, H); biases (G*H,) or None.
    Y is (T, B, H), or (T+1, B, H) for the LSTM (row T holds c_T). ``reverse`` runs from t = T-1 down to 0
    (Y stays in input time order)."""
    __slots__ = ("mode", "reverse", "acts", "cells", "tanh_c", "hn", "hidden")
    save_inputs = True
    save_output = True

    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, mode, reverse):
        ctx.mode, ctx.reverse = mode, reverse
        if mode == "LSTM":
            return _lstm_forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse)
        if mode == "GRU":
            return _gru_forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, reverse)
        return _rnn_forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, reverse, mode == "RNN_RELU")

    @staticmethod
    def backward(ctx, g):
        """One text for both carriers: the raw BPTT kernel is the forward of RNNSequenceGrad (one vector of
        all the needed input gradients), cut here into one gradient per input."""
        saved = ctx.saved_tensors
        flat = RNNSequenceGrad.apply(g, ctx.output, *saved, node=ctx)
        grads, k = [], 0
        for t, n in zip(saved, ctx.needs_input_grad):
            if n:
                shape = tuple(t.shape)
                size = int(np.prod(shape))
                grads.append(flat[k:k + size].reshape(shape))
                k += size
            else:
                grads.append(None)
        return tuple(grads)

    def name(self):
        return {"LSTM": "LstmSequenceBackward", "GRU": "GruSequenceBackward"}.get(
            getattr(self, "mode", None), "RnnSequenceBackward")


class RNNSequenceGrad(Op):
    """The input gradients of one RNNSequence node for the output gradient g, as ONE flat vector:
        V = [dx, dh0, dc0, dW_ih, dW_hh, db_ih, db_hh] (those the node needs, raveled) = (∂Y/∂inputs)ᵀ g,
    computed by backpropagation through time on raw arrays from the activations the forward kept.
    Second order (its backward, for gv = ∂L/∂V): recompute Y with primitive ops (``_reference``, the same
    maths step by step), take V' = autograd.grad(Y, inputs, g, create_graph=True) of that graph, then
        ∂L/∂g, ∂L/∂inputs = autograd.grad(V', (g, inputs), gv)
    - exact, slow, and differentiable again under create_graph (third order and up)."""
    __slots__ = ("mode", "reverse", "needs")
    save_inputs = True

    @staticmethod
    def forward(ctx, gy, Y, x, h0, c0, w_ih, w_hh, b_ih, b_hh, node):
        ctx.mode, ctx.reverse, ctx.needs = node.mode, node.reverse, tuple(node.needs_input_grad)
        if node.mode == "LSTM":
            grads = _lstm_backward(node, gy, Y, x, h0, c0, w_ih, w_hh)
        elif node.mode == "GRU":
            grads = _gru_backward(node, gy, Y, x, h0, w_ih, w_hh)
        else:
            grads = _rnn_backward(node, gy, Y, x, h0, w_ih, w_hh)
        return np.concatenate([a.ravel() for a, n in zip(grads, ctx.needs) if n])

    @staticmethod
    def backward(ctx, gv):
        gy, _, *inputs = ctx.saved_tensors
        create = STATE.grad_enabled                       # create_graph: keep the result differentiable
        with enable_grad():
            g = _variable(gy)
            xs = [_variable(t) for t in inputs]
            y = _reference(ctx.mode, *xs, reverse=ctx.reverse)
            wanted = [v for v, n in zip(xs, ctx.needs) if n]
            first = grad(y, wanted, grad_outputs=g, create_graph=True, materialize_grads=True)
            flat = cat([f.reshape(-1) for f in first])
            targets = [g] + [v for v in xs if v is not None]
            second = iter(grad(flat, targets, grad_outputs=_variable(gv, False), create_graph=create,
                               allow_unused=True, materialize_grads=True))
        dg = next(second)
        dinputs = [next(second) if t is not None else None for t in inputs]
        out = (dg, None, *dinputs)
        if not create:                                    # first order: arrays in, arrays out
            out = tuple(o._data if o is not None else None for o in out)
        return out

    def name(self):
        return {"LSTM": "LstmSequenceGradBackward", "GRU": "GruSequenceGradBackward"}.get(
            getattr(self, "mode", None), "RnnSequenceGradBackward")


class _Alias(Op):
    """y = x (a fresh node: the point where the recomputed graph meets the saved input)."""

    @staticmethod
    def forward(ctx, x):
        return x

    @staticmethod
    def backward(ctx, g):
        return (g,)


def _variable(t, requires_grad=True):
    """A saved value as a Tensor of the recomputed graph: a Tensor that requires grad through a fresh node
    (under create_graph the recomputed graph then hangs off the outer one); an array (first order) or a
    constant as a new leaf. (The recomputation is a Tensor program whatever the carrier, hence the test.)"""
    if t is None:
        return None
    if isinstance(t, Tensor):
        return _Alias.apply(t) if t.requires_grad else _make(t._data, requires_grad)
    return _make(t, requires_grad)


# ----------------------------------------------------------------------------------------------- LSTM
# Inside the LSTM and GRU nodes the states are kept transposed, (H, B), so that a step's gates come out of
# ONE GEMM W_hh hᵀ as a (G*H, B) array whose gate blocks are contiguous (H, B) rows: every elementwise call
# then runs over contiguous memory (NumPy is several times slower on the (B, H) column slices of a (B, G*H)
# row layout). The LSTM gates are rolled to the order (o, i, f, g) internally, so that the three sigmoid
# gates [0, 3H) and the three gates that the cell gradient feeds [H, 4H) are contiguous blocks too.
def _roll_lstm(a, H):
    """PyTorch's gate order (i, f, g, o) -> (o, i, f, g), along axis 0."""
    return np.concatenate([a[3 * H:], a[:3 * H]])


def _lstm_forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse):
    T, B, _ = x.shape
    H = w_hh.shape[1]
    dt = x.dtype
    sign = np.ones((4 * H, 1), dt)
    sign[:3 * H] = -1                                    # o, i, f: sigmoid gates (exp(-z)); g: tanh
    bias = _add_bias(b_ih, b_hh)
    if bias is not None:
        bias = _roll_lstm(bias, H) * sign[:, 0]
    XP = _project_t(x, _roll_lstm(w_ih, H) * sign, bias)  # (T, 4H, B): the sigmoid rows hold -z
    whh = _roll_lstm(w_hh, H) * sign                      # (4H, H)
    A = XP                                                # pre-activations, overwritten by the activations
    C = np.empty((T, H, B), dt)                           # cell states
    TC = np.empty((T, H, B), dt)                          # tanh(c)
    HT = np.empty((T, H, B), dt)                          # hidden states
    tmp = np.empty((4 * H, B), dt)
    ig = np.empty((H, B), dt)
    h = np.ascontiguousarray(h0.T) if h0 is not None else None
    c = np.ascontiguousarray(c0.T) if c0 is not None else None
    with np.errstate(over="ignore"):                      # exp(-z) = inf for z < -88 (float32): σ = 0
        for t in _steps(T, reverse):
            h, c = _lstm_step(A[t], h, c, whh, tmp, ig, C[t], TC[t], HT[t], H)
    Y = np.empty((T + 1, B, H), dt)
    Y[:T] = HT.transpose(0, 2, 1)
    Y[T] = c.T
    ctx.acts, ctx.cells, ctx.tanh_c = A, C, TC
    return Y


def _lstm_step(a, h, c, whh, tmp, ig, ct, tc, ht, H):
    """One step in place: a (4H, B) holds the input projection [-z_o, -z_i, -z_f, z_g] of the step and
    becomes the activations [o, i, f, g]; writes c' to ct, tanh(c') to tc, h' to ht; returns (h', c')."""
    if h is not None:
        np.matmul(whh, h, out=tmp)
        a += tmp
    s = a[:3 * H]                                         # σ(z) = 1 / (1 + exp(-z))
    np.exp(s, out=s)
    s += 1
    np.reciprocal(s, out=s)
    o, i, f, g = a[:H], a[H:2 * H], a[2 * H:3 * H], a[3 * H:]
    np.tanh(g, out=g)
    if c is None:
        np.multiply(i, g, out=ct)
    else:
        np.multiply(f, c, out=ct)
        np.multiply(i, g, out=ig)
        ct += ig
    np.tanh(ct, out=tc)
    np.multiply(o, tc, out=ht)
    return ht, ct


def _lstm_backward(ctx, gy, Y, x, h0, c0, w_ih, w_hh):
    """BPTT. With dh the gradient reaching h_t and dc the one reaching c_t:
        dc += dh o (1 - tanh²c);   da_o = dh tanh(c) σ'_o;  da_i = dc g σ'_i;  da_f = dc c_prev σ'_f;
        da_g = dc i (1 - g²);      dc_prev = dc f;          dh_prev = W_hhᵀ da
    The factors that do not depend on the gradient (σ' times partner) are computed for all steps at once."""
    nx, nh0, nc0, nwih, nwhh, nbih, nbhh = ctx.needs_input_grad
    A, C, TC, reverse = ctx.acts, ctx.cells, ctx.tanh_c, ctx.reverse
    T, G, B = A.shape
    H = G // 4
    dt = A.dtype
    o, i, f, g = A[:, :H], A[:, H:2 * H], A[:, 2 * H:3 * H], A[:, 3 * H:]
    M = np.subtract(1, A)                                 # σ' = s (1 - s) on the sigmoid rows
    M *= A
    np.multiply(g, g, out=M[:, 3 * H:])                   # tanh' = 1 - g²
    np.subtract(1, M[:, 3 * H:], out=M[:, 3 * H:])
    M[:, :H] *= TC                                        # ... times the partner of each gate
    M[:, H:2 * H] *= g
    _times_prev(M[:, 2 * H:3 * H], C, c0.T if c0 is not None else None, reverse)
    M[:, 3 * H:] *= i
    Q = TC * TC                                           # dh -> dc:  o (1 - tanh²c)
    np.subtract(1, Q, out=Q)
    Q *= o
    gT = _transposed(gy[:T], dt)                          # (T, H, B)
    dc = np.ascontiguousarray(gy[T].T, dtype=dt)
    whhT = np.ascontiguousarray(w_hh.T)                   # (H, 4H), PyTorch's gate order
    # dA: the pre-activation gradients in PyTorch's gate order (i, f, g, o), laid out (4H, T, B) so that the
    # weight gradients below are single GEMMs over (4H, T*B) without a transposing copy
    dA = np.empty((G, T, B), dt)
    dA4 = dA.reshape(4, H, T, B)
    dh = np.empty((H, B), dt)
    tmp = np.empty((H, B), dt)
    steps = list(_steps(T, reverse))[::-1]
    last = len(steps) - 1
    for k, t in enumerate(steps):
        if k:
            dh += gT[t]                                   # dh holds W_hhᵀ da of the step after
            dht = dh
        else:
            dht = gT[t]
        np.multiply(dht, Q[t], out=tmp)
        dc += tmp
        np.multiply(dht, M[t, :H], out=dA4[3, :, t])                          # o
        np.multiply(dc, M[t, H:].reshape(3, H, B), out=dA4[:3, :, t])         # i, f, g
        dc *= f[t]
        if k < last or nh0:
            np.matmul(whhT, dA[:, t], out=dh)
    dA2 = dA.reshape(G, T * B)
    dx, dwih, dwhh, db = _weight_grads(dA2, dA2, x, Y[:T], h0, w_ih, reverse, nx, nwih, nwhh, nbih or nbhh)
    return (dx, (np.ascontiguousarray(dh.T) if nh0 else None), (np.ascontiguousarray(dc.T) if nc0 else None),
            dwih, dwhh, db, (db.copy() if nbhh else None))


# ----------------------------------------------------------------------------------------------- GRU
def _gru_forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, reverse):
    T, B, _ = x.shape
    H = w_hh.shape[1]
    dt = x.dtype
    sign = np.ones((3 * H, 1), dt)
    sign[:2 * H] = -1                                     # r, z: sigmoid gates (exp(-z)); n: tanh
    # b_hh's r and z rows add to the input projection; b_hn stays inside r (W_hn h + b_hn)
    bias = None
    if b_ih is not None or b_hh is not None:
        bias = np.zeros(3 * H, dt) if b_ih is None else b_ih.copy()
        if b_hh is not None:
            bias[:2 * H] += b_hh[:2 * H]
        bias *= sign[:, 0]
    b_hn = b_hh[2 * H:, None] if b_hh is not None else None
    XP = _project_t(x, w_ih * sign, bias)                 # (T, 3H, B): the sigmoid rows hold -z
    whh = w_hh * sign                                     # (3H, H)
    RZ = np.empty((T, 2 * H, B), dt)                      # r, z per step
    N = np.empty((T, H, B), dt)                           # n
    HN = np.empty((T, H, B), dt)                          # W_hn h + b_hn
    HT = np.empty((T, H, B), dt)                          # hidden states
    tmp = np.empty((3 * H, B), dt)
    h = np.ascontiguousarray(h0.T) if h0 is not None else None
    with np.errstate(over="ignore"):                      # exp(-z) = inf for z < -88 (float32): σ = 0
        for t in _steps(T, reverse):
            rz, hn = RZ[t], HN[t]
            if h is not None:
                np.matmul(whh, h, out=tmp)
                np.add(tmp[:2 * H], XP[t, :2 * H], out=rz)
                if b_hn is not None:
                    np.add(tmp[2 * H:], b_hn, out=hn)
                else:
                    hn[...] = tmp[2 * H:]
            else:
                rz[...] = XP[t, :2 * H]
                hn[...] = b_hn if b_hn is not None else 0
            np.exp(rz, out=rz)                                # σ(z) = 1 / (1 + exp(-z))
            rz += 1
            np.reciprocal(rz, out=rz)
            r, z = rz[:H], rz[H:]
            n = N[t]
            np.multiply(r, hn, out=n)
            n += XP[t, 2 * H:]
            np.tanh(n, out=n)
            y = HT[t]
            if h is None:                                     # h' = n - z n
                np.multiply(z, n, out=y)
                np.subtract(n, y, out=y)
            else:                                             # h' = n + z (h - n)
                np.subtract(h, n, out=y)
                y *= z
                y += n
            h = y
    ctx.acts, ctx.cells, ctx.hn, ctx.hidden = RZ, N, HN, HT
    return np.ascontiguousarray(HT.transpose(0, 2, 1))


def _gru_backward(ctx, gy, Y, x, h0, w_ih, w_hh):
    """BPTT. With dh the gradient reaching h_t (h' = n + z (h - n)):
        da_n = dh (1-z)(1-n²);  da_z = dh (h_prev - n) z(1-z);  da_r = da_n (W_hn h + b_hn) r(1-r)
        dgh = [da_r, da_z, da_n r] (gradient of W_hh h + b_hh);  dh_prev = W_hhᵀ dgh + dh z
    The factors multiplying dh are computed for all steps at once."""
    nx, nh0, _, nwih, nwhh, nbih, nbhh = ctx.needs_input_grad
    RZ, N, HN, HT, reverse = ctx.acts, ctx.cells, ctx.hn, ctx.hidden, ctx.reverse
    T, H, B = N.shape
    G = 3 * H
    dt = N.dtype
    r, z = RZ[:, :H], RZ[:, H:]
    F = np.empty((T, G, B), dt)                           # dgh[t] = dh[t] * F[t]   (rows r, z, n)
    Fr, Fz, Fn = F[:, :H], F[:, H:2 * H], F[:, 2 * H:]
    a1 = N * N                                            # (1 - z)(1 - n²): da_n per unit dh
    np.subtract(1, a1, out=a1)
    omz = 1 - z
    a1 *= omz
    _minus_prev(Fz, HT, h0.T if h0 is not None else None, N, reverse)    # h_prev - n
    omz *= z
    Fz *= omz
    np.subtract(1, r, out=Fr)
    Fr *= r
    Fr *= HN
    Fr *= a1
    np.multiply(a1, r, out=Fn)
    gT = _transposed(gy, dt)
    whhT = np.ascontiguousarray(w_hh.T)                   # (H, 3H)
    dGH = np.empty((G, T, B), dt)                         # laid out (3H, T, B) for the weight GEMMs
    dGH3 = dGH.reshape(3, H, T, B)
    DH = np.empty((H, T, B), dt)                          # dh per step
    dh = np.empty((H, B), dt)
    tmp = np.empty((H, B), dt)
    steps = list(_steps(T, reverse))[::-1]
    last = len(steps) - 1
    for k, t in enumerate(steps):
        dht = DH[:, t]
        if k:
            np.add(gT[t], dh, out=dht)
        else:
            dht[...] = gT[t]
        np.multiply(dht, F[t].reshape(3, H, B), out=dGH3[:, :, t])
        if k < last or nh0:
            np.matmul(whhT, dGH[:, t], out=dh)
            np.multiply(dht, z[t], out=tmp)
            dh += tmp
    dGH2 = dGH.reshape(G, T * B)
    dXP2 = np.empty((G, T, B), dt)                        # the input side: rows r, z as dgh, row n is da_n
    dXP2[:2 * H] = dGH[:2 * H]
    np.multiply(DH, a1.transpose(1, 0, 2), out=dXP2[2 * H:])
    dXP2 = dXP2.reshape(G, T * B)
    dx, dwih, dwhh, dbih = _weight_grads(dXP2, dGH2, x, Y, h0, w_ih, reverse, nx, nwih, nwhh, nbih)
    dbhh = dGH2 @ np.ones(T * B, dt) if nbhh else None
    return dx, (np.ascontiguousarray(dh.T) if nh0 else None), None, dwih, dwhh, dbih, dbhh


# ----------------------------------------------------------------------------------------------- Elman RNN
def _rnn_forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, reverse, relu):
    T, B, _ = x.shape
    Y = _project(x, w_ih, _add_bias(b_ih, b_hh))         # pre-activations, overwritten by h_t
    whhT = np.ascontiguousarray(w_hh.T)
    tmp = np.empty((B, w_hh.shape[0]), x.dtype)
    h = h0
    for t in _steps(T, reverse):
        y = Y[t]
        if h is not None:
            np.matmul(h, whhT, out=tmp)
            y += tmp
        if relu:
            np.maximum(y, 0, out=y)
        else:
            np.tanh(y, out=y)
        h = y
    return Y


def _rnn_backward(ctx, gy, Y, x, h0, w_ih, w_hh):
    """BPTT:  da = (dh_out + dh_next) act'(a);  dh_prev = da W_hh;  act' = 1 - h² (tanh) or [h > 0] (relu)."""
    nx, nh0, _, nwih, nwhh, nbih, nbhh = ctx.needs_input_grad
    reverse = ctx.reverse
    T, B, H = Y.shape
    if ctx.mode == "RNN_RELU":
        D = (Y > 0).astype(Y.dtype)
    else:
        D = Y * Y
        np.subtract(1, D, out=D)
    dA = np.empty_like(Y)
    dh = np.empty((B, H), Y.dtype)
    steps = list(_steps(T, reverse))[::-1]
    last = len(steps) - 1
    for k, t in enumerate(steps):
        da = dA[t]
        if k:
            np.add(gy[t], dh, out=da)
            da *= D[t]
        else:
            np.multiply(gy[t], D[t], out=da)
        if k < last or nh0:
            np.matmul(da, w_hh, out=dh)
    dA2 = dA.reshape(T * B, H).T
    dx, dwih, dwhh, db = _weight_grads(dA2, dA2, x, Y, h0, w_ih, reverse, nx, nwih, nwhh, nbih or nbhh)
    return dx, (dh if nh0 else None), None, dwih, dwhh, db, (db.copy() if nbhh else None)


# ----------------------------------------------------------------------------------------------- reference
def _reference(mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse=False):
    """The same layer composed from primitive differentiable ops, one step at a time (RNNSequence's
    output layout). Used for create_graph backward; slow but obviously right."""
    T, B = x.shape[0], x.shape[1]
    H = w_hh.shape[1]
    xp = linear(x, w_ih, b_ih)
    h = h0 if h0 is not None else creation.zeros(B, H, dtype=x.dtype)
    c = c0 if c0 is not None else creation.zeros(B, H, dtype=x.dtype)
    outs = [None] * T
    for t in _steps(T, reverse):
        gx, gh = xp[t], linear(h, w_hh, b_hh)
        if mode == "LSTM":
            a = gx + gh
            i, f = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H])
            g, o = tanh(a[:, 2 * H:3 * H]), sigmoid(a[:, 3 * H:])
            c = f * c + i * g
            h = o * tanh(c)
        elif mode == "GRU":
            r = sigmoid(gx[:, :H] + gh[:, :H])
            z = sigmoid(gx[:, H:2 * H] + gh[:, H:2 * H])
            n = tanh(gx[:, 2 * H:] + r * gh[:, 2 * H:])
            h = (1 - z) * n + z * h
        else:
            a = gx + gh
            h = relu(a) if mode == "RNN_RELU" else tanh(a)
        outs[t] = h
    y = stack(outs)
    if mode == "LSTM":
        y = cat([y, c.unsqueeze(0)], 0)
    return y


# ----------------------------------------------------------------------------------------------- functional API
def rnn_layer(mode, x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, reverse=False):
    """One layer, one direction over the whole sequence x (T, B, I): returns (output (T, B, H), h_n (B, H),
    c_n (B, H) for the LSTM, else None). h0 / c0 None mean zeros."""
    T = x._data.shape[0]
    y = RNNSequence.apply(x, h0, c0, w_ih, w_hh, b_ih, b_hh, mode=mode, reverse=reverse)
    last = 0 if reverse else T - 1
    if mode == "LSTM":
        return y[:T], y[last], y[T]
    return y, y[last], None


def rnn(mode, input, hx, cx, weights, num_layers=1, dropout=0.0, training=False, bidirectional=False,
        batch_first=False):
    """A stack of recurrent layers, as torch's ``_VF.lstm/gru/rnn_tanh``: input (T, B, I) ((B, T, I) if
    batch_first), hx / cx (num_layers * D, B, H) or None, ``weights`` one (W_ih, W_hh, b_ih, b_hh) per layer
    and direction (layer-major). Returns (output, h_n, c_n); c_n is None except for the LSTM."""
    x = input.transpose(0, 1) if batch_first else input
    D = 2 if bidirectional else 1
    hs, cs = [], []
    for layer in range(num_layers):
        outs = []
        for d in range(D):
            k = layer * D + d
            h0 = hx[k] if hx is not None else None
            c0 = cx[k] if cx is not None else None
            y, hn, cn = rnn_layer(mode, x, h0, c0, *weights[k], reverse=(d == 1))
            outs.append(y)
            hs.append(hn)
            cs.append(cn)
        x = outs[0] if D == 1 else cat(outs, -1)
        if dropout and training and layer < num_layers - 1:      # between layers, never after the last
            x = _dropout(x, dropout, training=True)
    out = x.transpose(0, 1) if batch_first else x
    h_n = stack(hs)
    c_n = stack(cs) if mode == "LSTM" else None
    return out, h_n, c_n


def _cell(mode, name, input, hx, cx, w_ih, w_hh, b_ih, b_hh):
    """One step of a cell, through the sequence node with T = 1. input (B, I) or (I,)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
    H = w_hh.shape[1]
    I = w_ih.shape[1]
    if input.ndim not in (1, 2):
        raise ShapeError(f"{name}: Expected input to be 1D or 2D, got {input.ndim}D instead "
                         f"(input of shape {tuple(input.shape)})")
    if input.shape[-1] != I:
        raise ShapeError(f"{name}: input has inconsistent input_size: got {input.shape[-1]} expected {I} "
                         f"(input of shape {tuple(input.shape)}; expected (batch, {I}) or ({I},))")
    batched = input.ndim == 2
    B = input.shape[0] if batched else 1
    x = input if input._data.dtype == w_ih._data.dtype else input._cast(w_ih.dtype)
    x = x.reshape(1, B, I)
    states = []
    for idx, s in enumerate((hx, cx)):
        if s is None:
            states.append(None)
            continue
        if not isinstance(s, Tensor):
            raise TypeError(f"{name}: hidden state must be a Tensor, got {type(s).__name__}")
        want = (B, H) if batched else (H,)
        if tuple(s.shape) != want:
            if s.ndim not in (1, 2):
                raise ShapeError(f"{name}: Expected hx[{idx}] to be 1D or 2D, got {s.ndim}D instead")
            if s.shape[-1] != H:
                raise ShapeError(f"{name}: hidden{idx} has inconsistent hidden_size: got {s.shape[-1]}, "
                                 f"expected {H}")
            raise ShapeError(f"{name}: Input batch size {B if batched else 'unbatched'} doesn't match "
                             f"hidden{idx} of shape {tuple(s.shape)} (expected {want})")
        if s._data.dtype != w_ih._data.dtype:
            s = s._cast(w_ih.dtype)
        states.append(s.reshape(B, H))
    y, hn, cn = rnn_layer(mode, x, states[0], states[1], w_ih, w_hh, b_ih, b_hh)
    if not batched:
        hn = hn.reshape(H)
        cn = cn.reshape(H) if cn is not None else None
    return hn, cn


def lstm_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One LSTM step: returns (h', c'). ``hx`` is (h, c) or None (zeros)."""
    h, c = (None, None) if hx is None else hx
    return _cell("LSTM", "LSTMCell", input, h, c, w_ih, w_hh, b_ih, b_hh)


def gru_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    return _cell("GRU", "GRUCell", input, hx, None, w_ih, w_hh, b_ih, b_hh)[0]


def rnn_tanh_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    return _cell("RNN_TANH", "RNNCell", input, hx, None, w_ih, w_hh, b_ih, b_hh)[0]


def rnn_relu_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    return _cell("RNN_RELU", "RNNCell", input, hx, None, w_ih, w_hh, b_ih, b_hh)[0]
