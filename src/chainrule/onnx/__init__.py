"""chainrule.onnx: export a model to an ONNX file, as ``torch.onnx.export`` (needs the ``onnx`` extra)."""
from .export import OPSET, UnsupportedOperatorError, export

__all__ = ["export", "UnsupportedOperatorError", "OPSET"]
