"""Helpers for the command tests: run ``python -m chainrule`` in a subprocess (the environment passed on, so
PYTHONPATH flows through), write tiny IDX datasets, serve files from a 127.0.0.1 HTTP server."""
import functools
import gzip
import http.server
import os
import subprocess
import sys
import threading

import numpy as np

from chainrule.datasets import write_idx

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def chainrule(*args, cwd=None, env=None, timeout=180):
    """``python -m chainrule ARGS`` -> CompletedProcess (text). stdout is a pipe, so not a terminal."""
    full_env = dict(os.environ)
    paths = [os.path.abspath(p) for p in full_env.get("PYTHONPATH", "").split(os.pathsep) if p]
    full_env["PYTHONPATH"] = os.pathsep.join(paths or [os.path.join(REPO, "src")])   # absolute: cwd may change
    full_env["CHAINRULE_MIRRORS"] = "http://127.0.0.1:9/"      # never the network: a closed local port
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "chainrule", *map(str, args)], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def run_main(*args):
    """``chainrule.cli.main(ARGS)`` in this process -> exit status (argparse's SystemExit caught)."""
    from chainrule.cli import main
    try:
        return main([str(a) for a in args])
    except SystemExit as e:
        return e.code


def tiny_mnist_arrays(n_train=200, n_test=50, seed=0):
    """28x28 uint8 images whose label is which of 10 horizontal bands is bright (learnable in one epoch)."""
    rng = np.random.default_rng(seed)

    def split(n):
        y = rng.integers(0, 10, n).astype(np.uint8)
        x = rng.integers(0, 40, (n, 28, 28)).astype(np.uint8)
        for i, label in enumerate(y):
            x[i, 2 + 2 * label: 4 + 2 * label, 4:24] = 250
        return x, y
    return split(n_train), split(n_test)


def write_tiny_mnist(folder, gz=False, **kw):
    """The four MNIST files (uncompressed unless ``gz``) in ``folder``; returns {file name: bytes}."""
    os.makedirs(folder, exist_ok=True)
    (xtr, ytr), (xte, yte) = tiny_mnist_arrays(**kw)
    out = {}
    for name, arr in zip(FILES, (xtr, ytr, xte, yte)):
        path = os.path.join(folder, name)
        write_idx(path, arr)
        if gz:
            with open(path, "rb") as f:
                raw = f.read()
            os.remove(path)
            data = gzip.compress(raw, mtime=0)
            with open(path + ".gz", "wb") as f:
                f.write(data)
            out[name + ".gz"] = data
    return out


class LocalServer:
    """An HTTP server on 127.0.0.1 (a free port) serving ``folder``; ``url`` is its base URL."""

    def __init__(self, folder):
        handler = functools.partial(_QuietHandler, directory=folder)
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass
