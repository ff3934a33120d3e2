"""Devices, as PyTorch names them. chainrule computes on the CPU (NumPy), so ``cpu`` is the only device
a tensor can live on; the others can be *named* (``device('cuda')`` is an object, as in PyTorch on a
CPU-only machine) but putting a tensor there - ``.to('cuda')``, ``zeros(3, device='cuda')`` - raises one
clear error. ``cuda`` / ``accelerator`` / ``mps`` answer as PyTorch does when no accelerator is present.
"""

__all__ = ["device", "check_device", "cuda", "accelerator", "mps"]

# the device types PyTorch's parser accepts (an unknown one is an error, as there)
_TYPES = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve", "fpga", "maia",
          "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia", "privateuseone")


class device:
    """``device('cuda:1')``, ``device('cuda', 1)``, ``device('cpu')``: a device type and an optional index.

    Compares equal to another device of the same type and index, and (unlike PyTorch) to the string
    that names it, so ``tensor.device == 'cpu'`` holds."""
    __slots__ = ("type", "index")

    def __init__(self, type, index=None):
        if isinstance(type, device):
            if index is not None:
                raise ValueError("device(device, index): give the index in the device itself")
            self.type, self.index = type.type, type.index
            return
        if isinstance(type, int) and not isinstance(type, bool) and index is None:
            raise RuntimeError(f"device({type}): a bare index names the current accelerator, and chainrule "
                               f"has none (it runs on the CPU). Fix: device('cpu')")
        if not isinstance(type, str):
            raise TypeError(f"device(): expected a string like 'cpu' or 'cuda:0', got {type!r}")
        name, _, idx = type.partition(":")
        if name not in _TYPES:
            raise RuntimeError(f"Expected one of {', '.join(_TYPES)} device type at start of device string: "
                               f"{type}")
        if idx:
            if index is not None:
                raise RuntimeError(f"device(): type {type!r} already has an index; do not pass index={index}")
            if not idx.isdigit():
                raise RuntimeError(f"Invalid device string: {type!r}")
            index = int(idx)
        if index is not None and (not isinstance(index, int) or index < 0):
            raise RuntimeError(f"Device index must not be negative, got {index!r}")
        self.type, self.index = name, index

    def __eq__(self, other):
        if isinstance(other, str):
            try:
                other = device(other)
            except (RuntimeError, TypeError):
                return False
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        return f"device(type='{self.type}')" if self.index is None else \
            f"device(type='{self.type}', index={self.index})"

    def __reduce__(self):
        return (device, (self.type, self.index))


CPU = device("cpu")


def check_device(dev, what="tensor"):
    """``dev`` (None, a string, an int or a device) must be the CPU: return None, else raise the one error."""
    if dev is None or dev is CPU:
        return None
    d = dev if isinstance(dev, device) else device(dev)
    if d.type != "cpu":
        raise RuntimeError(f"chainrule runs on the CPU (NumPy): device {str(d)!r} is not available for this "
                           f"{what}. Fix: use device='cpu' (or leave device out), e.g. "
                           f"device = 'cuda' if chainrule.cuda.is_available() else 'cpu'")
    return None


class _NoAccelerator:
    """What ``torch.cuda`` / ``torch.mps`` answer on a machine without that accelerator."""

    def __init__(self, name):
        self._name = name

    def is_available(self):
        return False

    def device_count(self):
        return 0

    def is_bf16_supported(self, including_emulation=True):
        return False

    def manual_seed(self, seed):
        """Seeding an absent accelerator does nothing (as PyTorch: it is queued for a lazy init)."""

    manual_seed_all = manual_seed

    def seed(self):
        pass

    seed_all = seed

    def synchronize(self, device=None):
        """Nothing runs asynchronously on the CPU: nothing to wait for."""

    def empty_cache(self):
        """No accelerator memory to release."""

    def current_device(self):
        raise RuntimeError(f"chainrule runs on the CPU (NumPy): there is no {self._name} device "
                           f"({self._name}.is_available() is False)")

    get_device_name = get_device_properties = set_device = current_device

    def memory_allocated(self, device=None):
        return 0

    max_memory_allocated = memory_reserved = max_memory_reserved = memory_allocated

    def reset_peak_memory_stats(self, device=None):
        pass

    def is_initialized(self):
        return False

    def get_rng_state(self, device="cuda"):
        self.current_device()

    set_rng_state = get_rng_state_all = set_rng_state_all = get_rng_state


cuda = _NoAccelerator("cuda")
mps = _NoAccelerator("mps")


class _Accelerator:
    """``torch.accelerator`` on a machine without one."""

    @staticmethod
    def is_available():
        return False

    @staticmethod
    def current_accelerator(check_available=False):
        return None

    @staticmethod
    def device_count():
        return 0

    @staticmethod
    def synchronize(device=None):
        pass


accelerator = _Accelerator()
