"""``torch.utils.tensorboard.SummaryWriter`` on the ``tensorboardX`` package (the ``tensorboard`` extra):
scalars, histograms, images, text and the rest of tensorboardX's writer, with chainrule Tensors accepted
wherever tensorboardX takes arrays."""

from ...tensor import Tensor

__all__ = ["SummaryWriter"]

try:
    import tensorboardX as _tbx
except ImportError:          # a clear message at use, not at import of chainrule.utils
    _tbx = None


def _np(x):
    """chainrule Tensors (and 0-d ones as Python numbers) -> what tensorboardX takes."""
    if isinstance(x, Tensor):
        arr = x.detach()._data
        return arr.item() if arr.ndim == 0 else arr
    if isinstance(x, dict):
        return {k: _np(v) for k, v in x.items()}
    return x


if _tbx is not None:
    class SummaryWriter(_tbx.SummaryWriter):
        """tensorboardX's SummaryWriter; Tensor arguments are converted to NumPy first."""

        def add_scalar(self, tag, scalar_value, *args, **kwargs):
            return super().add_scalar(tag, _np(scalar_value), *args, **kwargs)

        def add_scalars(self, main_tag, tag_scalar_dict, *args, **kwargs):
            return super().add_scalars(main_tag, _np(tag_scalar_dict), *args, **kwargs)

        def add_histogram(self, tag, values, *args, **kwargs):
            return super().add_histogram(tag, _np(values), *args, **kwargs)

        def add_image(self, tag, img_tensor, *args, **kwargs):
            return super().add_image(tag, _np(img_tensor), *args, **kwargs)

        def add_images(self, tag, img_tensor, *args, **kwargs):
            return super().add_images(tag, _np(img_tensor), *args, **kwargs)

        def add_embedding(self, mat, *args, **kwargs):
            return super().add_embedding(_np(mat), *args, **kwargs)

        def add_pr_curve(self, tag, labels, predictions, *args, **kwargs):
            return super().add_pr_curve(tag, _np(labels), _np(predictions), *args, **kwargs)

        def add_graph(self, model, input_to_model=None, *args, **kwargs):
            raise NotImplementedError("SummaryWriter.add_graph traces a PyTorch model with the PyTorch JIT; "
                                      "chainrule has no JIT, so the model graph cannot be written. Log scalars, "
                                      "histograms, images and text instead (or export with chainrule.onnx).")
else:
    class SummaryWriter:
        def __init__(self, *args, **kwargs):
            raise ImportError('SummaryWriter needs tensorboardX: pip install "chainrule[tensorboard]"')
