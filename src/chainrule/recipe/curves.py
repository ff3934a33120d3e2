"""``curves.png``: loss and each metric against the epoch, training and validation side by side.

Needs matplotlib (the ``plot`` extra); ``plot_history`` returns None and says so in one line when it is
missing. The loss axis is logarithmic when the loss spans more than a decade, so a late plateau stays
readable. Points are marked, so a one-epoch run still shows its values.
"""
import math
import os

__all__ = ["plot_history", "MISSING"]

MISSING = 'curves.png skipped: matplotlib is not installed (pip install "chainrule[plot]")'


def _panels(history):
    """[(title, train_key, val_key)] for the loss and every metric that has a per-epoch value."""
    keys = [k for k in history if not k.startswith("val_") and k not in ("lr", "epoch", "time")]
    keys.sort(key=lambda k: (k != "loss", k))
    panels = []
    for k in keys:
        values = [v for v in history[k] if isinstance(v, (int, float))]
        if values:
            panels.append((k, k, f"val_{k}" if f"val_{k}" in history else None))
    if "lr" in history and len(set(history["lr"])) > 1:
        panels.append(("learning rate", "lr", None))
    return panels


def _spans_decades(values):
    finite = [v for v in values if v is not None and math.isfinite(v) and v > 0]
    return len(finite) > 1 and max(finite) / min(finite) > 10


def plot_history(history, path, title=None, val_label="validation"):
    """Draw ``history`` (a dict of per-epoch lists, as ``History.history``) to ``path``; returns the path,
    or None when matplotlib is missing."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import MaxNLocator
    except ImportError:
        return None
    panels = _panels(history)
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.6), squeeze=False)
    for ax, (name, train_key, val_key) in zip(axes[0], panels):
        percent = "accuracy" in name or name.startswith("top")        # fractions shown as percentages
        scale = 100.0 if percent else 1.0
        train = [v * scale for v in history[train_key]]
        epochs = list(range(1, len(train) + 1))
        ax.plot(epochs, train, "o-", label="train" if train_key != "lr" else "lr", color="tab:blue")
        values, final = list(train), [f"train {train[-1]:.4g}"]
        if val_key:
            val = [v * scale for v in history[val_key]]
            ax.plot(list(range(1, len(val) + 1)), val, "s--", label=val_label, color="tab:orange")
            values += val
            final.append(f"{val_label} {val[-1]:.4g}")
        title_text = name + (" (%)" if percent else "")
        if (name == "loss" or name.endswith("loss") or name == "learning rate") and _spans_decades(values):
            ax.set_yscale("log")
            title_text += ", log scale"
        ax.set_title(title_text + ("\nlast: " + ", ".join(final) if train_key != "lr" else ""), fontsize=10)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, alpha=0.3)
        if val_key:
            ax.legend()
        if len(epochs) == 1:
            ax.set_xlim(0.5, 1.5)
            ax.set_xticks([1])
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    tmp = path + ".tmp.png"
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, path)
    return path
