"""Keep freed NumPy buffers in the process heap instead of handing them back to the OS every step.

glibc serves allocations above M_MMAP_THRESHOLD (128 KiB by default, adapting upwards only after frees)
with fresh mmap()s and returns them with munmap(): a training step that allocates the same few-MB
temporaries every iteration then pays thousands of page faults per step. Raising the mmap threshold and the
trim threshold lets those buffers be reused from the heap (measured: up to ~2x on conv/LSTM/attention steps,
see benchmarks/RESULTS.md).

Applied once at import, only on glibc, only if the user has not set MALLOC_* variables themselves; set
CHAINRULE_MALLOC_TUNING=0 to opt out.
"""
import ctypes
import os
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD = 32 * 1024 * 1024      # glibc's maximum (HEAP_MAX / 2 on 64-bit)
_TRIM_THRESHOLD = 256 * 1024 * 1024

applied = False


def tune():
    global applied
    if applied or os.environ.get("CHAINRULE_MALLOC_TUNING", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    if any(k.startswith("MALLOC_") for k in os.environ):
        return False                     # the user tuned malloc already: respect it
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):    # not glibc (musl, macOS...): nothing to do
        return False
    ok = mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD) == 1
    ok = mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD) == 1 and ok
    applied = ok
    return ok
