"""The seed articles' MNIST recipes on real data: accuracy and epoch time, chainrule vs PyTorch.

    python benchmarks/mnist_recipes.py                    # mlp (10 epochs) and lenet (3 epochs), 1 thread
    python benchmarks/mnist_recipes.py --recipes mlp --threads 2

Each library runs examples/mnist.py in its own fresh process with the same thread count, the same initial
weights and the same batch order (both from one NumPy seed), so accuracy differences come only from float
arithmetic and the epoch times are directly comparable.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "examples", "mnist.py")


def run(lib, recipe, threads, epochs=None):
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    cmd = [sys.executable, SCRIPT, recipe, "--lib", lib, "--json"]
    if epochs:
        cmd += ["--epochs", str(epochs)]
    if lib == "torch":   # torch reads its thread count from OMP_NUM_THREADS at import
        env["OMP_NUM_THREADS"] = str(threads)
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{lib}/{recipe} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--recipes", nargs="*", default=["mlp", "lenet"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--epochs", type=int)
    args = ap.parse_args()
    print(f"MNIST recipes, {args.threads} thread(s); epoch time = median over epochs of the training loop only")
    print(f"{'recipe':7} {'lib':10} {'accuracy %':>11} {'epoch s':>9} {'cr/torch':>9}")
    for recipe in args.recipes:
        results = {lib: run(lib, recipe, args.threads, args.epochs) for lib in ("chainrule", "torch")}
        med = {lib: statistics.median(r["epoch_times"]) for lib, r in results.items()}
        for lib, r in results.items():
            ratio = f"{med[lib] / med['torch']:9.2f}" if lib == "chainrule" else ""
            print(f"{recipe:7} {lib:10} {r['accuracy']:11.2f} {med[lib]:9.2f} {ratio}   "
                  f"(per-epoch accuracy {', '.join(f'{a:.2f}' for a in r['history'])})")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
