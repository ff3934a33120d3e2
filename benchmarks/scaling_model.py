"""The cost model of docs/scaling.md: predicted data-parallel efficiency from a measured compute time.

    python benchmarks/scaling_model.py        # the tables of docs/scaling.md

One step on N ranks (weak scaling: per-rank batch b fixed, no overlap of communication with compute):

    T_step(N) = T_compute + T_allreduce(N),   T_compute = b * t_sample   (measured on one rank)
    ring:                T_allreduce = 2 (N-1)/N * S / B  +  2 (N-1) * alpha * k
    recursive halving /
    doubling (Rabenseifner): T_allreduce = 2 (N-1)/N * S / B  +  2 log2(N) * alpha * k
    efficiency(N) = T_compute / T_step(N)

S gradient bytes, B link bandwidth (bytes/s), alpha per-message latency, k buckets (one Allreduce each).
"""
import math

# measured by benchmarks/distributed.py (CPU time per step of one rank, batch 64; bytes of the bucket)
MODELS = {"MNIST MLP": (636_056, 1.30e-3), "LeNet-5": (246_864, 11.25e-3)}
NETWORKS = {"25 Gb/s Ethernet (alpha 20 us)": (25e9 / 8, 20e-6), "100 Gb/s InfiniBand (alpha 3 us)": (100e9 / 8, 3e-6)}
RANKS = (8, 64, 512)


def allreduce_time(n, size, bandwidth, alpha, buckets=1, algorithm="ring"):
    bw = 2 * (n - 1) / n * size / bandwidth
    steps = 2 * (n - 1) if algorithm == "ring" else 2 * math.log2(n)
    return bw + steps * alpha * buckets


def _table(title, rows):
    print(f"\n{title}")
    print(f"{'model':10} {'network':34}" + "".join(f"{'N=' + str(n) + ' ' + a:>14}" for n in RANKS for a in ("ring", "RD")))
    for model, net, cells in rows:
        print(f"{model:10} {net:34}" + "".join(f"{c:>14}" for c in cells))


def main():
    weak, buckets, overlap, strong = [], [], [], []
    for model, (size, compute) in MODELS.items():
        per_sample = compute / 64
        for net, (bandwidth, alpha) in NETWORKS.items():
            w, b, o, st = [], [], [], []
            for n in RANKS:
                for algo in ("ring", "rd"):
                    t = allreduce_time(n, size, bandwidth, alpha, algorithm=algo)
                    w.append(f"{100 * compute / (compute + t):.0f}% {1e3 * t:.2f}")
                    tk = allreduce_time(n, size, bandwidth, alpha, PARAM_TENSORS[model], algo)
                    b.append(f"{100 * compute / (compute + tk):.0f}% {1e3 * tk:.2f}")
                    hidden = max(0.0, t - BACKWARD_SHARE * compute)     # what backward cannot hide
                    o.append(f"{100 * compute / (compute + hidden):.0f}%")
                    c = GLOBAL_BATCH / n * per_sample
                    st.append(f"{100 * c / (c + t):.0f}%")
            weak.append((model, net, w))
            buckets.append((model, net, b))
            overlap.append((model, net, o))
            strong.append((model, net, st))
    _table("1. weak scaling (batch 64 per rank), one bucket: efficiency, Allreduce ms per step", weak)
    _table("2. no bucketing: one Allreduce per parameter tensor (MLP 4, LeNet-5 10): efficiency, ms", buckets)
    _table(f"3. one bucket with ideal overlap (Allreduce hidden behind the backward, {BACKWARD_SHARE:.0%} of "
           f"compute): efficiency", overlap)
    _table(f"4. strong scaling (global batch {GLOBAL_BATCH} split over N ranks), one bucket: efficiency", strong)
    print("\nRD = recursive halving/doubling (Rabenseifner), what MPI libraries pick for these sizes")


PARAM_TENSORS = {"MNIST MLP": 4, "LeNet-5": 10}
BACKWARD_SHARE = 2 / 3          # backward is about twice the forward's work
GLOBAL_BATCH = 4096


if __name__ == "__main__":
    main()
