"""Pictures of a monitored run and of a range test (matplotlib, the ``plot`` extra)."""
import numpy as np

from .stats import GRAD_BINS

__all__ = ["gradient_flow", "histograms", "lr_curve", "require_matplotlib", "write_tensorboard"]


def require_matplotlib():
    """matplotlib.pyplot with a file-only backend, or a one-line error naming the extra."""
    try:
        import matplotlib
    except ImportError:
        raise ImportError('chainrule.insight plots need matplotlib: pip install "chainrule[plot]"') from None
    if "matplotlib.pyplot" not in __import__("sys").modules:
        matplotlib.use("Agg")               # files only; leave an interactive session's backend alone
    import matplotlib.pyplot as plt
    return plt


def _ordered_layers(monitor):
    order = []
    for rec in monitor.records:
        for n in rec.get("order", []) + list(rec["layers"]):
            if n not in order:
                order.append(n)
    return order


def gradient_flow(monitor, path, title=None):
    """Per-layer gradient norm (‖∂L/∂W‖) and output-gradient RMS (‖∂L/∂out‖/√n) over sampled steps."""
    plt = require_matplotlib()
    if not monitor.records:
        raise ValueError("plot_gradient_flow: no sampled step yet (call monitor.step() after backward)")
    layers = _ordered_layers(monitor)
    steps = [r["step"] for r in monitor.records]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharex=True)
    cmap = plt.get_cmap("viridis")
    for k, n in enumerate(layers):
        color = cmap(k / max(1, len(layers) - 1))
        for ax, key in zip(axes, ("grad_norm", "out_grad_rms")):
            ys = [r["layers"].get(n, {}).get(key, np.nan) for r in monitor.records]
            ax.plot(steps, ys, color=color, label=monitor._label(n)[6:], marker="." if len(steps) < 30 else None)
    axes[0].set_title("parameter gradient norm ‖∂L/∂W‖ per layer")
    axes[1].set_title("gradient w.r.t. layer output (RMS) - Glorot & Bengio")
    for ax in axes:
        ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.grid(True, which="both", alpha=0.3)
    axes[1].legend(fontsize=7, loc="best", title="first layer = darkest", title_fontsize=7)
    alarms = [a for a in monitor.alarms if a.kind in ("vanishing", "exploding", "nonfinite")]
    fig.suptitle((title or "gradient flow") + (f"  —  ALARM: {alarms[0].kind}" if alarms else "  —  no alarm"),
                 color="crimson" if alarms else "black")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def histograms(monitor, path, title=None):
    """One heat map per layer over time: log10|∂L/∂W| (top row) and activation values (bottom row)."""
    plt = require_matplotlib()
    recs = [r for r in monitor.records if any("hist" in v for v in r["layers"].values())]
    if not recs:
        raise ValueError("plot_histograms: no histogram recorded (create the monitor with histograms=True)")
    layers = [n for n in _ordered_layers(monitor) if "hist" in recs[-1]["layers"].get(n, {})]
    acts = list(recs[-1]["activations"])
    cols = max(len(layers), len(acts), 1)
    fig, axes = plt.subplots(2, cols, figsize=(2.6 * cols + 1, 6), squeeze=False)
    steps = [r["step"] for r in recs]
    for k in range(cols):
        ax = axes[0][k]
        if k < len(layers):
            n = layers[k]
            H = np.array([r["layers"][n].get("hist", np.zeros(len(GRAD_BINS) - 1)) for r in recs], float)
            H = H / np.maximum(H.sum(axis=1, keepdims=True), 1)
            ax.imshow(H.T, aspect="auto", origin="lower", cmap="magma",
                      extent=[steps[0], steps[-1] + 1, GRAD_BINS[0], GRAD_BINS[-1]])
            ax.set_title(monitor._label(n)[6:], fontsize=8)
            ax.set_xlabel("step", fontsize=7)
            if k == 0:
                ax.set_ylabel("log10 |∂L/∂W|")
        else:
            ax.axis("off")
        ax = axes[1][k]
        if k < len(acts):
            a = acts[k]
            bins = monitor._act_bins.get(a)
            H = np.array([r["activations"].get(a, {}).get("hist", np.zeros(len(bins) - 1)) for r in recs], float)
            H = H / np.maximum(H.sum(axis=1, keepdims=True), 1)
            ax.imshow(H.T, aspect="auto", origin="lower", cmap="viridis",
                      extent=[steps[0], steps[-1] + 1, bins[0], bins[-1]])
            ax.set_title(f"activation {a!r}", fontsize=8)
            ax.set_xlabel("step", fontsize=7)
            if k == 0:
                ax.set_ylabel("activation value")
        else:
            ax.axis("off")
    fig.suptitle(title or "gradient (top) and activation (bottom) histograms over time")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def lr_curve(result, path, title="learning-rate range test"):
    """Loss (raw and smoothed) against the learning rate (log scale), suggestions marked."""
    plt = require_matplotlib()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.plot(result.lrs, result.losses, color="0.75", lw=1, label="loss")
    ax.plot(result.lrs, result.smoothed, color="C0", lw=2, label="smoothed loss")
    for (rule, lr), c in zip(result.suggestions.items(), ("C3", "C2", "C1")):
        ax.axvline(lr, color=c, ls="--", label=f"{rule}: {lr:.2g}")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("loss")
    lo, hi = min(result.smoothed), max(result.smoothed[:max(3, len(result.smoothed) // 2)])
    ax.set_ylim(lo - 0.1 * (hi - lo + 1e-12), hi + 0.5 * (hi - lo + 1e-12))
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_tensorboard(monitor, log_dir):
    """The monitor's records as TensorBoard scalars (per-layer gradient norm, output-gradient RMS, update
    ratio) and histograms over time (log10|∂L/∂W| per layer, activation values), via tensorboardX."""
    try:
        from tensorboardX import SummaryWriter
    except ImportError:
        raise ImportError('GradientMonitor.write_tensorboard needs tensorboardX: pip install '
                          '"chainrule[tensorboard]"') from None
    writer = SummaryWriter(str(log_dir))
    try:
        for rec in monitor.records:
            step = rec["step"]
            writer.add_scalar("insight/total_grad_norm", rec["total_grad_norm"], step)
            for n, s in rec["layers"].items():
                for key in ("grad_norm", "out_grad_rms", "update_ratio"):
                    if key in s and np.isfinite(s[key]):
                        writer.add_scalar(f"insight/{key}/{n}", s[key], step)
                if "hist" in s:
                    _raw_histogram(writer, f"insight/log10_abs_grad/{n}", s["hist"], GRAD_BINS, step)
            for n, a in rec["activations"].items():
                if "hist" in a:
                    _raw_histogram(writer, f"insight/activation/{n}", a["hist"], monitor._act_bins[n], step)
    finally:
        writer.close()
    return log_dir


def _raw_histogram(writer, tag, counts, edges, step):
    counts = np.asarray(counts, dtype=np.float64)
    if counts.sum() == 0:
        return
    mids = (edges[:-1] + edges[1:]) / 2
    used = np.nonzero(counts)[0]
    writer.add_histogram_raw(tag, min=float(edges[used[0]]), max=float(edges[used[-1] + 1]),
                             num=int(counts.sum()), sum=float((counts * mids).sum()),
                             sum_squares=float((counts * mids ** 2).sum()),
                             bucket_limits=[float(e) for e in edges[1:]], bucket_counts=[float(c) for c in counts],
                             global_step=step)
