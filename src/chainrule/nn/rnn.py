"""Recurrent layers, as ``torch.nn``: RNN (tanh / relu), LSTM, GRU, and their one-step cells.

Parameter names, shapes, gate layout and default init are PyTorch's, so state dicts move both ways:
``weight_ih_l{k}[_reverse]`` (G*H, in), ``weight_hh_l{k}[_reverse]`` (G*H, H), ``bias_ih_l{k}``,
``bias_hh_l{k}`` (G*H,) with G = 1 (RNN), 4 (LSTM: i, f, g, o) or 3 (GRU: r, z, n), all drawn from
U(-1/√H, 1/√H). The maths (one fused node per layer and direction) lives in ``chainrule.ops.rnn``.
"""
import math
import numbers
import warnings

from . import init
from .module import Module
from .parameter import Parameter
from .. import creation
from ..errors import ShapeError
from ..ops import rnn as _rnn
from ..tensor import Tensor
from ..device import check_device

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]


class RNNBase(Module):
    """Shared constructor, parameters and input checks of RNN, LSTM and GRU."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        check_device(device, f"nn.{type(self).__name__}")   # device="cuda" fails loudly, not ignored
        super().__init__()
        if mode not in _rnn.GATES:
            raise ValueError(f"Unrecognized RNN mode: {mode}")
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Number) or not 0 <= dropout <= 1:
            raise ValueError("dropout should be a number in range [0, 1] representing the probability of an "
                             "element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn(f"dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
                          f"expects num_layers greater than 1, but got dropout={dropout} and "
                          f"num_layers={num_layers}", stacklevel=2)
        for name, value in (("bias", bias), ("batch_first", batch_first)):
            if not isinstance(value, bool):
                raise TypeError(f"{name} should be of type bool, got: {type(value).__name__}")
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} should be of type int, got: {type(value).__name__}")
            if value <= 0:
                raise ValueError(f"{name} must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size:
            raise NotImplementedError("proj_size > 0 (LSTM with projections) is not supported by chainrule")
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        gate_size = _rnn.GATES[mode] * hidden_size
        num_directions = 2 if bidirectional else 1
        self._flat_weights_names = []
        self._all_weights = []
        for layer in range(num_layers):
            for direction in range(num_directions):
                layer_input = input_size if layer == 0 else hidden_size * num_directions
                suffix = "_reverse" if direction == 1 else ""
                names = [f"weight_ih_l{layer}{suffix}", f"weight_hh_l{layer}{suffix}"]
                shapes = [(gate_size, layer_input), (gate_size, hidden_size)]
                if bias:
                    names += [f"bias_ih_l{layer}{suffix}", f"bias_hh_l{layer}{suffix}"]
                    shapes += [(gate_size,), (gate_size,)]
                for name, shape in zip(names, shapes):
                    setattr(self, name, Parameter(creation.empty(*shape, dtype=dtype)))
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def flatten_parameters(self):
        """No-op (PyTorch packs the weights for cuDNN here)."""

    @property
    def all_weights(self):
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def _layer_weights(self):
        """One (W_ih, W_hh, b_ih, b_hh) per layer and direction, layer-major."""
        out = []
        for names in self._all_weights:
            ws = [getattr(self, n) for n in names]
            out.append(tuple(ws) if self.bias else (ws[0], ws[1], None, None))
        return out

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # ------------------------------------------------------------------ forward
    def _name(self):
        return type(self).__name__

    def _run(self, input, states):
        """Check input / initial states, run the stack. ``states``: None or a tuple of tensors (h0[, c0])."""
        name = self._name()
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: input must be a Tensor of shape (L, N, {self.input_size}) "
                            f"(batch_first: (N, L, {self.input_size})) or (L, {self.input_size}), got "
                            f"{type(input).__name__} (PackedSequence is not supported)")
        if input.ndim not in (2, 3):
            raise ShapeError(f"{name}: Expected input to be 2D or 3D, got {input.ndim}D instead (input of shape "
                             f"{tuple(input.shape)}; expected (L, N, H_in), (N, L, H_in) with batch_first, or "
                             f"(L, H_in) unbatched)")
        if input.shape[-1] != self.input_size:
            raise ShapeError(f"{name}: input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                             f"got {input.shape[-1]} (input of shape {tuple(input.shape)})")
        batched = input.ndim == 3
        w = self.weight_ih_l0
        if input._data.dtype != w._data.dtype:
            input = input._cast(w.dtype)
        x = input if batched else input.unsqueeze(0 if self.batch_first else 1)
        seq_len = x.shape[1] if self.batch_first else x.shape[0]
        batch = x.shape[0] if self.batch_first else x.shape[1]
        if seq_len == 0:
            raise ShapeError(f"{name}: Expected sequence length to be larger than 0 in RNN (input of shape "
                             f"{tuple(input.shape)})")
        D = 2 if self.bidirectional else 1
        expected = (self.num_layers * D, batch, self.hidden_size)
        checked = []
        if states is not None:
            for idx, s in enumerate(states):
                if not isinstance(s, Tensor):
                    raise TypeError(f"{name}: initial state hx must be a Tensor, got {type(s).__name__}")
                if batched and s.ndim != 3:
                    raise ShapeError(f"{name}: For batched 3-D input, hx should also be 3-D but got {s.ndim}-D "
                                     f"tensor (shape {tuple(s.shape)}; expected {expected})")
                if not batched:
                    if s.ndim != 2:
                        raise ShapeError(f"{name}: For unbatched 2-D input, hx should also be 2-D but got "
                                         f"{s.ndim}-D tensor (shape {tuple(s.shape)}; expected "
                                         f"{(expected[0], expected[2])})")
                    s = s.unsqueeze(1)
                if tuple(s.shape) != expected:
                    which = f"hidden[{idx}]" if len(states) > 1 else "hidden"
                    got = list(s.shape) if batched else [s.shape[0], s.shape[2]]
                    want = expected if batched else (expected[0], expected[2])
                    raise ShapeError(f"{name}: Expected {which} size {want}, got {got}")
                if s._data.dtype != w._data.dtype:
                    s = s._cast(w.dtype)
                checked.append(s)
        hx = checked[0] if checked else None
        cx = checked[1] if len(checked) > 1 else None
        out, h_n, c_n = _rnn.rnn(self.mode, x, hx, cx, self._layer_weights(), self.num_layers, self.dropout,
                                 self.training, self.bidirectional, self.batch_first)
        if not batched:
            out = out.squeeze(0 if self.batch_first else 1)
            h_n = h_n.squeeze(1)
            c_n = c_n.squeeze(1) if c_n is not None else None
        return out, h_n, c_n


class RNN(RNNBase):
    """Elman RNN: h_t = act(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh), act = tanh (default) or relu.

    ``RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True, batch_first=False,
    dropout=0.0, bidirectional=False)``; forward(input, hx=None) -> (output, h_n)."""

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:
            nonlinearity = args[3]
            args = args[:3] + args[4:]
        else:
            nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__(mode, *args, **kwargs)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        out, h_n, _ = self._run(input, None if hx is None else (hx,))
        return out, h_n


class LSTM(RNNBase):
    """Long short-term memory:  [i, f, g, o] = [σ, σ, tanh, σ](x W_ihᵀ + b_ih + h W_hhᵀ + b_hh),
    c' = f c + i g,  h' = o tanh(c').  forward(input, (h0, c0)=None) -> (output, (h_n, c_n))."""

    def __init__(self, *args, **kwargs):
        super().__init__("LSTM", *args, **kwargs)

    def forward(self, input, hx=None):
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError(f"LSTM: hx must be a tuple (h0, c0) of two Tensors, got {type(hx).__name__}")
        out, h_n, c_n = self._run(input, None if hx is None else tuple(hx))
        return out, (h_n, c_n)


class GRU(RNNBase):
    """Gated recurrent unit:  [r, z] = σ(x W_i[rz]ᵀ + b_i[rz] + h W_h[rz]ᵀ + b_h[rz]),
    n = tanh(x W_inᵀ + b_in + r (h W_hnᵀ + b_hn)),  h' = (1 - z) n + z h.  forward(input, hx=None) ->
    (output, h_n)."""

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)

    def forward(self, input, hx=None):
        out, h_n, _ = self._run(input, None if hx is None else (hx,))
        return out, h_n


# ------------------------------------------------------------------------------------------------- cells
class RNNCellBase(Module):
    """Parameters weight_ih (G*H, in), weight_hh (G*H, H), bias_ih, bias_hh (G*H,), init U(-1/√H, 1/√H)."""

    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        check_device(device, f"nn.{type(self).__name__}")   # device="cuda" fails loudly, not ignored
        super().__init__()
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} should be of type int, got: {type(value).__name__}")
            if value <= 0:
                raise ValueError(f"{name} must be greater than zero")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.weight_ih = Parameter(creation.empty(num_chunks * hidden_size, input_size, dtype=dtype))
        self.weight_hh = Parameter(creation.empty(num_chunks * hidden_size, hidden_size, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(creation.empty(num_chunks * hidden_size, dtype=dtype))
            self.bias_hh = Parameter(creation.empty(num_chunks * hidden_size, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s


class RNNCell(RNNCellBase):
    """h' = act(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh); input (N, in) or (in,), hx (N, H) / (H,) or None."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None):
        check_device(device, f"nn.{type(self).__name__}")   # device="cuda" fails loudly, not ignored
        super().__init__(input_size, hidden_size, bias, num_chunks=1, dtype=dtype)
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}. Select from 'tanh' or 'relu'.")
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        fn = _rnn.rnn_tanh_cell if self.nonlinearity == "tanh" else _rnn.rnn_relu_cell
        return fn(input, hx, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)


class LSTMCell(RNNCellBase):
    """One LSTM step: forward(input, (h, c)=None) -> (h', c')."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        check_device(device, f"nn.{type(self).__name__}")   # device="cuda" fails loudly, not ignored
        super().__init__(input_size, hidden_size, bias, num_chunks=4, dtype=dtype)

    def forward(self, input, hx=None):
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError(f"LSTMCell: hx must be a tuple (h, c) of two Tensors, got {type(hx).__name__}")
        return _rnn.lstm_cell(input, hx, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)


class GRUCell(RNNCellBase):
    """One GRU step: forward(input, hx=None) -> h'."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        check_device(device, f"nn.{type(self).__name__}")   # device="cuda" fails loudly, not ignored
        super().__init__(input_size, hidden_size, bias, num_chunks=3, dtype=dtype)

    def forward(self, input, hx=None):
        return _rnn.gru_cell(input, hx, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
