"""Run each named program (with its arguments) under the real PyTorch, one process, printing its output
between markers - one torch import for all of them (the test compares with `chainrule run`)."""
import contextlib
import io
import os
import runpy
import sys

import torch

here = os.path.dirname(os.path.abspath(__file__))
for spec in sys.argv[1:]:
    name, *args = spec.split()
    torch.set_default_dtype(torch.float32)          # a fresh process's default (a program may change it)
    buf = io.StringIO()
    sys.argv = [name, *args]
    with contextlib.redirect_stdout(buf):
        runpy.run_path(os.path.join(here, name), run_name="__main__")
    print(f"=== {spec}\n{buf.getvalue()}", flush=True)
