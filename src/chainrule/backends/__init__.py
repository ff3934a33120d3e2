"""``torch.backends`` flags, settable as PyTorch's are on a CPU-only machine: they select accelerator
kernels, and chainrule has none, so setting them changes nothing (as in PyTorch without CUDA/MPS).

``set_float32_matmul_precision`` is kept here too: on the CPU PyTorch computes float32 matmuls in full
float32 at every setting, and so does chainrule (NumPy's float32 GEMM)."""

import contextlib

__all__ = ["cuda", "cudnn", "mps", "mkldnn", "openmp", "set_float32_matmul_precision",
           "get_float32_matmul_precision"]


class _Flags:
    """A namespace of settable flags plus ``is_available()`` / ``is_built()`` (False: no such backend)."""

    def __init__(self, **flags):
        self.__dict__.update(flags)

    @staticmethod
    def is_available():
        return False

    @staticmethod
    def is_built():
        return False


class _CudaMatmul:
    def __init__(self):
        self.allow_tf32 = False
        self.allow_fp16_reduced_precision_reduction = True
        self.allow_bf16_reduced_precision_reduction = True


class _CudaBackend(_Flags):
    def __init__(self):
        super().__init__(matmul=_CudaMatmul())

    def sdp_kernel(self, *args, **kwargs):
        """Choosing CUDA attention kernels: nothing to choose on the CPU (a context manager that does nothing)."""
        return contextlib.nullcontext()

    def enable_flash_sdp(self, enabled):
        pass

    enable_mem_efficient_sdp = enable_math_sdp = enable_cudnn_sdp = enable_flash_sdp

    def flash_sdp_enabled(self):
        return False

    def mem_efficient_sdp_enabled(self):
        return False

    def math_sdp_enabled(self):
        return True


cuda = _CudaBackend()
cudnn = _Flags(enabled=True, benchmark=False, deterministic=False, allow_tf32=True)
mps = _Flags()
mkldnn = _Flags(enabled=True)
openmp = _Flags()

_PRECISIONS = ("highest", "high", "medium")
_matmul_precision = "highest"


def set_float32_matmul_precision(precision):
    """Accepts PyTorch's 'highest' / 'high' / 'medium'. They let CUDA use TF32/bfloat16 internally; on the
    CPU every setting computes float32 matmuls in float32, so chainrule's results do not change."""
    global _matmul_precision
    if precision not in _PRECISIONS:
        raise RuntimeError(f"set_float32_matmul_precision: invalid precision {precision!r}; expected one of "
                           f"{', '.join(_PRECISIONS)}")
    _matmul_precision = precision


def get_float32_matmul_precision():
    return _matmul_precision
