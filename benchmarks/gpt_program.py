"""Whole-run wall time of a small char-level GPT training program (tests/run_programs/char_gpt.py:
2 layers, d_model 32, 40 AdamW steps, then 20 tokens of top-k sampling), run unchanged by PyTorch
(`python char_gpt.py`) and by chainrule standing in for it (`python -m chainrule.run char_gpt.py`) -
start-up and imports included, as a user meets them. Fresh processes, interleaved, median over rounds.

    python benchmarks/gpt_program.py --threads 1 2 --rounds 3
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _harness import _THREAD_VARS  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROGRAM = os.path.join(ROOT, "tests", "run_programs", "char_gpt.py")


def _time(cmd, threads):
    env = dict(os.environ)
    for var in _THREAD_VARS:
        env[var] = str(threads)
    env["PYTHONPATH"] = os.pathsep.join([os.path.join(ROOT, "src"), env.get("PYTHONPATH", "")])
    t0 = time.perf_counter()
    r0 = os.times()
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    r1 = os.times()
    return time.perf_counter() - t0, (r1.children_user - r0.children_user) + (r1.children_system - r0.children_system)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, nargs="*", default=[1, 2])
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    cmds = {"chainrule": [sys.executable, "-m", "chainrule.run", PROGRAM],
            "torch": [sys.executable, PROGRAM]}
    print(f"whole run of {os.path.relpath(PROGRAM, ROOT)}: median wall (and CPU) seconds over {args.rounds} "
          f"interleaved rounds, fresh processes")
    for threads in args.threads:
        res = {k: [] for k in cmds}
        for _ in range(args.rounds):
            for lib, cmd in cmds.items():
                res[lib].append(_time(cmd, threads))
        wall = {k: statistics.median(w for w, _ in v) for k, v in res.items()}
        cpu = {k: statistics.median(c for _, c in v) for k, v in res.items()}
        print(f"{threads} thread(s): chainrule {wall['chainrule']:.2f} s (cpu {cpu['chainrule']:.2f}), torch "
              f"{wall['torch']:.2f} s (cpu {cpu['torch']:.2f}), chainrule/torch wall "
              f"{wall['chainrule'] / wall['torch']:.2f}x, cpu {cpu['chainrule'] / cpu['torch']:.2f}x", flush=True)


if __name__ == "__main__":
    main()
