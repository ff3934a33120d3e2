"""Issue 10's table ("a lean engine"): every row, chainrule vs PyTorch vs a hand-written NumPy floor.

    PYTHONPATH=src python benchmarks/issue10.py                       # all rows, threads 1 and 2, 3 rounds
    PYTHONPATH=src python benchmarks/issue10.py --threads 1 --rounds 1 --cases lstm_nn op
    PYTHONPATH=src python benchmarks/issue10.py --check               # same loss in all three after 3 steps

Each (library, case, threads) measurement runs in its own fresh process (benchmarks/_harness.py), libraries
interleaved round by round, threads pinned through the BLAS/OpenMP variables and torch.set_num_threads. The
figure is the median over rounds of each process's best-of-3 mean step time. All three libraries start from
the same weights (NumPy arrays in PyTorch's layout, loaded into each) and see the same batches; the NumPy
floor (benchmarks/_numpy_floor.py) is forward + backward + optimiser update written by hand.

Rows (sizes as in the issue):
  mlp_sgd    MLP 784-200-10, SGD momentum 0.9, batch 64: time per epoch = mean step × 60000/64 (the step is
             timed over a cycle of real MNIST batches, not a whole epoch - extrapolated, see the header line)
  mlp_adam   MLP 784-256-128-10, Adam, batch 64: epoch, likewise extrapolated
  lenet5     LeNet-5, Adam, batch 64 (random 28x28 inputs): train step
  lstm_nn    nn.LSTM(32→128), seq 35, batch 32, MSE, SGD: train step
  lstm_comp  the same LSTM composed from Linear/sigmoid/tanh per time step: train step
  enc_nn     nn.TransformerEncoderLayer(128, 4, 512), dropout 0, seq 64, batch 32, MSE, SGD: train step
  enc_comp   the same layer composed from Linear/softmax/LayerNorm (explicit attention math): train step
  gpt        char-level GPT: 2 pre-norm blocks, d 128, 4 heads, block 64, batch 16, tril mask, exact GELU,
             AdamW (benchmarks/gpt.py's model): train step; no NumPy floor
  op         (a*b+c).sum() forward + backward, shape (100,): µs per recorded op (3 ops), and µs per op over
             the raw NumPy calls (the floor column)
  import     python -c "import X" wall time and peak RSS (median of 5 fresh interpreters per process; bytecode
             cached first, as for an installed package - see import_time.py)
"""
import gzip
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import _harness  # noqa: E402
from _harness import import_lib  # noqa: E402

LIBS = ("chainrule", "torch", "numpy")
EPOCH = 60000
# name: (description, iterations per timed block, target as a ratio to PyTorch or a budget)
CASES = {
    "mlp_sgd": ("MLP 784-200-10, SGD+momentum, batch 64, epoch", 60, 0.90),
    "mlp_adam": ("MLP 784-256-128-10, Adam, batch 64, epoch", 60, 0.90),
    "lenet5": ("LeNet-5, Adam, batch 64, train step", 8, 1.00),
    "lstm_nn": ("nn.LSTM(32→128), seq 35, batch 32, train step", 6, 1.00),
    "lstm_comp": ("LSTM composed from Linear/sigmoid/tanh per time step", 4, 0.80),
    "enc_nn": ("nn.TransformerEncoderLayer(128, 4, 512), seq 64, batch 32, dropout 0", 5, 1.00),
    "enc_comp": ("same encoder layer composed from Linear/softmax/LayerNorm", 5, 1.10),
    "gpt": ("char GPT: 2 pre-norm blocks, d 128, 4 heads, block 64, batch 16, tril, GELU, AdamW", 2, 1.00),
    "op": ("one recorded op fwd + bwd, (a*b+c).sum(), shape (100,)", 3000, 5.0),
    "import": ('python -c "import X" wall / peak RSS', 5, (110.0, 35.0)),
}
NO_FLOOR = {"gpt"}
NUMPY_IMPORT_MS = 78.0               # `import numpy` beside the issue's 110 ms target, on the issue's machine
BATCH = 64
N_BATCHES = 16                       # the epoch rows cycle through this many distinct batches
SEQ, LBATCH, LIN, HID = 35, 32, 32, 128
D, NHEAD, DFF, ESEQ, EBATCH = 128, 4, 512, 64, 32


# --- data and initial weights (NumPy, shared by the three libraries) ----------------------------------

def _mnist_dir():
    return os.environ.get("CHAINRULE_DATA") or "/work/shared/data/mnist"


def mnist_batches(n):
    """The first n·64 training images of real MNIST (normalised float32, flattened) and labels, as batches;
    synthetic data of the same shape when the files are missing. Returns (batches, source)."""
    import numpy as np
    d, m = _mnist_dir(), n * BATCH
    imgs, labs = os.path.join(d, "train-images-idx3-ubyte.gz"), os.path.join(d, "train-labels-idx1-ubyte.gz")
    if os.path.exists(imgs) and os.path.exists(labs):
        with gzip.open(imgs) as f:
            x = np.frombuffer(f.read(16 + m * 784)[16:], np.uint8).reshape(m, 784)
        with gzip.open(labs) as f:
            y = np.frombuffer(f.read(8 + m)[8:], np.uint8).astype(np.int64)
        x = ((x.astype(np.float32) / 255 - 0.1307) / 0.3081).astype(np.float32)
        source = f"real MNIST ({d})"
    else:
        rng = np.random.default_rng(1)
        x, y = rng.standard_normal((m, 784)).astype(np.float32), rng.integers(0, 10, m)
        source = "synthetic MNIST-shaped data (MNIST files not found)"
    return [(x[i * BATCH:(i + 1) * BATCH], y[i * BATCH:(i + 1) * BATCH]) for i in range(n)], source


def _shapes(case):
    """Parameter names and shapes in PyTorch's layout (the state_dict of the nn model)."""
    if case in ("mlp_sgd", "mlp_adam"):
        sizes = [784, 200, 10] if case == "mlp_sgd" else [784, 256, 128, 10]
        out = {}
        for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
            out[f"{2 * i}.weight"], out[f"{2 * i}.bias"] = (b, a), (b,)
        return out
    if case == "lenet5":
        return {"0.weight": (6, 1, 5, 5), "0.bias": (6,), "3.weight": (16, 6, 5, 5), "3.bias": (16,),
                "7.weight": (120, 400), "7.bias": (120,), "9.weight": (84, 120), "9.bias": (84,),
                "11.weight": (10, 84), "11.bias": (10,)}
    if case.startswith("lstm"):
        return {"weight_ih_l0": (4 * HID, LIN), "weight_hh_l0": (4 * HID, HID), "bias_ih_l0": (4 * HID,),
                "bias_hh_l0": (4 * HID,)}
    return {"self_attn.in_proj_weight": (3 * D, D), "self_attn.in_proj_bias": (3 * D,),
            "self_attn.out_proj.weight": (D, D), "self_attn.out_proj.bias": (D,),
            "linear1.weight": (DFF, D), "linear1.bias": (DFF,), "linear2.weight": (D, DFF), "linear2.bias": (D,),
            "norm1.weight": (D,), "norm1.bias": (D,), "norm2.weight": (D,), "norm2.bias": (D,)}


def init_weights(case):
    """Uniform(±1/√fan_in) weights, small uniform biases, LayerNorm at (1, 0); float32, seed 0."""
    import numpy as np
    rng = np.random.default_rng(0)
    out = {}
    for name, shape in _shapes(case).items():
        if name.startswith("norm"):
            out[name] = (np.ones if name.endswith("weight") else np.zeros)(shape, np.float32)
        elif len(shape) > 1:
            bound = 1.0 / np.sqrt(np.prod(shape[1:]))
            out[name] = rng.uniform(-bound, bound, shape).astype(np.float32)
        else:
            out[name] = rng.uniform(-0.05, 0.05, shape).astype(np.float32)
    return out


def _batches(case):
    import numpy as np
    if case in ("mlp_sgd", "mlp_adam"):
        return mnist_batches(N_BATCHES)[0]
    rng = np.random.default_rng(2)
    if case == "lenet5":
        return [(rng.standard_normal((BATCH, 1, 28, 28)).astype(np.float32), rng.integers(0, 10, BATCH))]
    if case.startswith("lstm"):
        return [(rng.standard_normal((SEQ, LBATCH, LIN)).astype(np.float32),
                 rng.standard_normal((SEQ, LBATCH, HID)).astype(np.float32))]
    return [(rng.standard_normal((EBATCH, ESEQ, D)).astype(np.float32),
             rng.standard_normal((EBATCH, ESEQ, D)).astype(np.float32))]


# --- the step in each library -------------------------------------------------------------------------

def _cycle(batches):
    state = {"i": 0}

    def next_batch():
        b = batches[state["i"] % len(batches)]
        state["i"] += 1
        return b
    return next_batch


def _numpy_step(case):
    import _numpy_floor as fl
    W = init_weights(case)
    next_batch = _cycle(_batches(case))
    model = {"mlp_sgd": lambda w, b: fl.mlp(w, b, 2), "mlp_adam": lambda w, b: fl.mlp(w, b, 3),
             "lenet5": fl.lenet5, "lstm_nn": fl.lstm, "lstm_comp": fl.lstm,
             "enc_nn": lambda w, b: fl.encoder_layer(w, b, NHEAD),
             "enc_comp": lambda w, b: fl.encoder_layer(w, b, NHEAD)}[case]
    opt = _make_opt(case, W, fl)

    def step():
        loss, grads = model(W, next_batch())
        opt.step(grads)
        return loss
    return step


def _make_opt(case, params, optim):
    """The same optimiser in every library (``optim`` is torch.optim, chainrule.optim or the floor's)."""
    if case == "mlp_sgd":
        return optim.SGD(params, lr=0.01, momentum=0.9)
    if case in ("mlp_adam", "lenet5"):
        return optim.Adam(params, lr=1e-3)
    # --check: at lr 0.01 the LSTM's loss moves by 1e-6, below float32's resolution of a loss near 1, so the
    # check would not see a wrong update; lr 1 makes the move visible (the timed runs use 0.01)
    lr = 1.0 if case.startswith("lstm") and os.environ.get("ISSUE10_CHECK") else 0.01
    return optim.SGD(params, lr=lr)


def _framework_model(mod, case):
    """The model, and a map from the floor's weight names to its parameters."""
    nn, F = mod.nn, mod.nn.functional
    if case in ("mlp_sgd", "mlp_adam"):
        sizes = [784, 200, 10] if case == "mlp_sgd" else [784, 256, 128, 10]
        layers = []
        for a, b in zip(sizes, sizes[1:]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        model = nn.Sequential(*layers[:-1])
        return model, dict(model.named_parameters())
    if case == "lenet5":
        model = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
        return model, dict(model.named_parameters())
    if case == "lstm_nn":
        model = nn.LSTM(LIN, HID)
        return (lambda x: model(x)[0]), dict(model.named_parameters())
    if case == "enc_nn":
        model = nn.TransformerEncoderLayer(D, NHEAD, DFF, dropout=0.0, batch_first=True)
        return model, dict(model.named_parameters())

    if case == "lstm_comp":
        class ComposedLSTM(nn.Module):
            def __init__(self):
                super().__init__()
                self.lin_x, self.lin_h = nn.Linear(LIN, 4 * HID), nn.Linear(HID, 4 * HID)

            def forward(self, x):
                h = c = mod.zeros(x.shape[1], HID)
                outs = []
                for t in range(x.shape[0]):
                    i, f, g, o = (self.lin_x(x[t]) + self.lin_h(h)).chunk(4, 1)
                    c = mod.sigmoid(f) * c + mod.sigmoid(i) * mod.tanh(g)
                    h = mod.sigmoid(o) * mod.tanh(c)
                    outs.append(h)
                return mod.stack(outs)
        m = ComposedLSTM()
        return m, {"weight_ih_l0": m.lin_x.weight, "bias_ih_l0": m.lin_x.bias,
                   "weight_hh_l0": m.lin_h.weight, "bias_hh_l0": m.lin_h.bias}

    class ComposedEncoderLayer(nn.Module):
        def __init__(self):
            super().__init__()
            self.in_proj, self.out_proj = nn.Linear(D, 3 * D), nn.Linear(D, D)
            self.linear1, self.linear2 = nn.Linear(D, DFF), nn.Linear(DFF, D)
            self.norm1, self.norm2 = nn.LayerNorm(D), nn.LayerNorm(D)

        def forward(self, x):
            B, T, _ = x.shape
            q, k, v = (t.reshape(B, T, NHEAD, D // NHEAD).transpose(1, 2) for t in self.in_proj(x).chunk(3, -1))
            att = F.softmax((q @ k.transpose(-2, -1)) * (1.0 / (D // NHEAD) ** 0.5), dim=-1)
            a = (att @ v).transpose(1, 2).reshape(B, T, D)
            x = self.norm1(x + self.out_proj(a))
            return self.norm2(x + self.linear2(F.relu(self.linear1(x))))
    m = ComposedEncoderLayer()
    names = {"self_attn.in_proj_weight": m.in_proj.weight, "self_attn.in_proj_bias": m.in_proj.bias,
             "self_attn.out_proj.weight": m.out_proj.weight, "self_attn.out_proj.bias": m.out_proj.bias}
    for layer in ("linear1", "linear2", "norm1", "norm2"):
        names[f"{layer}.weight"], names[f"{layer}.bias"] = getattr(m, layer).weight, getattr(m, layer).bias
    return m, names


def _framework_step(lib, case):
    mod = import_lib(lib)
    F = mod.nn.functional
    model, named = _framework_model(mod, case)
    W = init_weights(case)
    assert set(named) == set(W), (sorted(named), sorted(W))
    with mod.no_grad():
        for name, p in named.items():
            p.copy_(mod.tensor(W[name]))
    params = list(named.values())
    batches = [(mod.tensor(x), mod.tensor(y)) for x, y in _batches(case)]
    next_batch = _cycle(batches)
    classify = case in ("mlp_sgd", "mlp_adam", "lenet5")
    opt = _make_opt(case, params, mod.optim)

    def step():
        x, y = next_batch()
        out = model(x)
        loss = F.cross_entropy(out, y) if classify else F.mse_loss(out, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss
    return step


def _op_step(lib):
    import numpy as np
    rng = np.random.default_rng(0)
    a, b, c = (rng.standard_normal(100).astype(np.float32) for _ in range(3))
    if lib == "numpy":
        def step():                      # the raw calls: forward, then the three ops' backward formulas
            s = (a * b + c).sum()
            g = np.ones_like(a)
            return s, g * b, g * a, g
        return step
    mod = import_lib(lib)
    a, b, c = (mod.tensor(v, requires_grad=True) for v in (a, b, c))

    def step():
        a.grad = b.grad = c.grad = None
        (a * b + c).sum().backward()
    return step


def make_step(lib, case):
    if case == "op":
        return _op_step(lib)
    if case == "gpt":
        import gpt
        return gpt.make_step(lib, "step2")
    return _numpy_step(case) if lib == "numpy" else _framework_step(lib, case)


def _import_worker(lib, n):
    """Median wall time and peak RSS of ``python -c "import lib"`` over n fresh interpreters."""
    walls, rss = [], []
    from import_time import ENV as env      # bytecode cached under a private prefix, as in an installed package
    subprocess.run([sys.executable, "-c", f"import {lib}"], env=env, check=True)     # warm-up: writes it
    for _ in range(n):
        t0 = time.perf_counter()
        p = subprocess.Popen([sys.executable, "-c", f"import {lib}"], env=env)
        _, status, usage = os.wait4(p.pid, 0)
        walls.append(time.perf_counter() - t0)
        p.returncode = os.waitstatus_to_exitcode(status)
        if p.returncode:
            raise RuntimeError(f"import {lib} failed")
        rss.append(usage.ru_maxrss / 1024)                     # kB on Linux
    w = statistics.median(walls) * 1e6
    print(json.dumps({"us": w, "cpu_us": w, "rss_mb": statistics.median(rss)}))


def _check_worker(lib, case):
    step = make_step(lib, case)
    print(json.dumps([float(step()) for _ in range(3)]))


# --- the driver --------------------------------------------------------------------------------------

def _fmt(case, us):
    """A library's figure in the row's unit."""
    if us != us:
        return "—"
    if case in ("mlp_sgd", "mlp_adam"):
        return f"{us * EPOCH / BATCH / 1e6:.2f} s"
    if case == "op":
        return f"{us / 3:.1f} µs"
    if case == "import":
        return f"{us / 1e3:.0f} ms"
    return f"{us / 1e3:.1f} ms"


def _row(case, med, rss):
    """The markdown row: figures, ratios to PyTorch, target, met/MISS (chainrule against the target)."""
    cr, th, npy = med["chainrule"], med["torch"], med["numpy"]
    cells = [CASES[case][0]]
    target = CASES[case][2]
    if case == "op":
        over = (cr - npy) / 3
        cells += [f"{cr / 3:.1f} µs/op, +{over:.1f} over NumPy", f"{th / 3:.1f} µs/op", f"{npy / 3:.1f} µs/op",
                  f"{cr / th:.2f}×", f"{npy / th:.2f}×", f"≤ {target:.0f} µs/op over NumPy",
                  "met" if over <= target else "MISS"]
    elif case == "import":
        cells += [f"{_fmt(case, med[lib])} / {rss[lib]:.0f} MB" for lib in LIBS]
        # the issue's 110 ms was set beside numpy's 78 ms on its machine: judged as that ratio to numpy here
        ratio = target[0] / NUMPY_IMPORT_MS
        cells += [f"{cr / th:.2f}×", f"{npy / th:.2f}×",
                  f"≤ {target[0]:.0f} ms = {ratio:.2f}× numpy (chainrule {cr / npy:.2f}×) / ≤ {target[1]:.0f} MB",
                  "met" if cr / npy <= ratio and rss["chainrule"] <= target[1] else "MISS"]
    else:
        cells += [_fmt(case, med[lib]) for lib in LIBS]
        cells += [f"{cr / th:.2f}×", "—" if npy != npy else f"{npy / th:.2f}×", f"≤ {target:.2f}×",
                  "met" if cr / th <= target else "MISS"]
    return "| " + " | ".join(cells) + " |"


def main():
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, nargs="*", default=[1, 2])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--cases", nargs="*", default=list(CASES), choices=list(CASES))
    ap.add_argument("--cpu", action="store_true", help="also print chainrule's CPU-time ratio to PyTorch")
    ap.add_argument("--check", action="store_true",
                    help="instead of timing: the loss after each of 3 steps in every library, compared")
    args = ap.parse_args()
    if args.check:
        return check(args.cases)
    t_start = time.perf_counter()
    print(f"Issue 10 benchmark: python {sys.version.split()[0]}, {os.cpu_count()} cpus, load average "
          f"{os.getloadavg()[0]:.1f}; median over {args.rounds} interleaved rounds of fresh processes. Epoch rows: "
          f"mean step over {N_BATCHES} batches of {mnist_batches(1)[1]} × {EPOCH}/{BATCH} steps (extrapolated).")
    for threads in args.threads:
        print(f"\n{threads} thread(s):\n")
        cpu_col = (" chainrule/torch CPU time |", "---|") if args.cpu else ("", "")
        print("| workload | chainrule | PyTorch | NumPy floor | chainrule/torch | floor/torch | target | |"
              + cpu_col[0])
        print("|---|---|---|---|---|---|---|---|" + cpu_col[1])
        for case in args.cases:
            libs = [lib for lib in LIBS if not (lib == "numpy" and case in NO_FLOOR)]
            res = {lib: [] for lib in LIBS}
            for _ in range(args.rounds):
                for lib in libs:
                    r = _harness.measure(__file__, lib, case, threads)
                    if r is not None:
                        res[lib].append(r)
            med = {lib: statistics.median(r["us"] for r in v) if v else float("nan") for lib, v in res.items()}
            rss = {lib: statistics.median(r.get("rss_mb", 0) for r in v) if v else float("nan")
                   for lib, v in res.items()}
            line = _row(case, med, rss)
            if args.cpu:
                cpu = {lib: statistics.median(r["cpu_us"] for r in res[lib]) if res[lib] else float("nan")
                       for lib in ("chainrule", "torch")}
                line += f" {cpu['chainrule'] / cpu['torch']:.2f}× |"
            print(line)
            sys.stdout.flush()
    print(f"\n(total {time.perf_counter() - t_start:.0f} s)")


def check(cases):
    """Same initial weights and batches: the three libraries' losses over 3 steps should agree (float32)."""
    ok = True
    for case in cases:
        if case in ("op", "import", "gpt"):
            continue
        losses = {lib: json.loads(subprocess.run(
            [sys.executable, __file__, "--check-worker", lib, case], capture_output=True, text=True,
            check=True, env=dict(os.environ, ISSUE10_CHECK="1")).stdout.strip().splitlines()[-1]) for lib in LIBS}
        ref = losses["torch"]
        worst = max(abs(v - r) / max(abs(r), 1e-6) for lib in LIBS for v, r in zip(losses[lib], ref))
        # the updates too: the loss's change over the 2 updates agrees to 1 % (it can be small next to the loss)
        change = {lib: v[-1] - v[0] for lib, v in losses.items()}
        worst_change = max(abs(change[lib] - change["torch"]) / max(abs(change["torch"]), 1e-6) for lib in LIBS)
        good = worst < 1e-3 and worst_change < 1e-2
        ok &= good
        print(f"{case:10} {'OK  ' if good else 'DIFF'} max rel diff: loss {worst:.1e}, loss change over 2 updates "
              f"{worst_change:.1e}  " + "  ".join(f"{lib}: {', '.join(f'{v:.7f}' for v in losses[lib])}"
                                                  for lib in LIBS))
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] in ("--worker", "--check-worker"):
        _, flag, lib, case = sys.argv
        if flag == "--check-worker":
            _check_worker(lib, case)
        elif case == "import":
            _import_worker(lib, CASES[case][1])
        else:
            _harness._time_worker(make_step, lib, case, CASES[case][1])
    else:
        sys.exit(main())
