"""chainrule at two git revisions, interleaved: did a change make a harness case slower?

    python benchmarks/compare_revisions.py BEFORE_REV benchmarks/op_overhead.py expr1 mlp64nn [--rounds 7] [--threads 2]

Runs the script's ``--worker chainrule CASE`` (see _harness.py) in a fresh process per measurement, with
``PYTHONPATH`` set to the ``src/`` of BEFORE_REV (exported with ``git archive``) or of this working tree,
alternating, one thread (``--threads N``: N, set as the harness does). Prints the median wall and CPU time per step of each and the after/before ratios.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def export_src(rev, dest):
    tar = subprocess.run(["git", "-C", ROOT, "archive", rev, "src"], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=__import__("io").BytesIO(tar)) as tf:
        tf.extractall(dest, filter="data")
    return os.path.join(dest, "src")


def measure(script, case, src, threads=1):
    n = str(threads)
    env = dict(os.environ, PYTHONPATH=src, OMP_NUM_THREADS=n, OPENBLAS_NUM_THREADS=n, MKL_NUM_THREADS=n,
               BENCH_THREADS=n)
    out = subprocess.run([sys.executable, script, "--worker", "chainrule", case], env=env, capture_output=True,
                         text=True, check=True)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    return r["us"], r["cpu_us"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("before", help="git revision to compare against (e.g. HEAD~1, main)")
    ap.add_argument("script", help="a harness benchmark, e.g. benchmarks/op_overhead.py")
    ap.add_argument("cases", nargs="+")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        srcs = {"before": export_src(args.before, tmp), "after": os.path.join(ROOT, "src")}
        times = {(c, k): [] for c in args.cases for k in srcs}
        for _ in range(args.rounds):
            for case in args.cases:
                for k, src in srcs.items():
                    times[(case, k)].append(measure(args.script, case, src, args.threads))
    print(f"{'case':12}{'before us':>12}{'after us':>12}{'after/before':>14}{'cpu ratio':>11}")
    for case in args.cases:
        b, a = times[(case, "before")], times[(case, "after")]
        wall = [statistics.median(x[0] for x in t) for t in (b, a)]
        cpu = [statistics.median(x[1] for x in t) for t in (b, a)]
        print(f"{case:12}{wall[0]:12.1f}{wall[1]:12.1f}{wall[1] / wall[0]:14.3f}{cpu[1] / cpu[0]:11.3f}")


if __name__ == "__main__":
    main()
