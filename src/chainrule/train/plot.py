"""Training curves: one panel per logged quantity (loss, accuracy, ...), train and validation together,
with matplotlib (the ``plot`` extra)."""
import math

__all__ = ["plot_history"]


def plot_history(history, path=None, keys=None, title=None):
    """A matplotlib ``Figure`` of ``history`` (a ``History`` or its ``.history`` dict); saved to ``path``
    (PNG, SVG, PDF, by extension) when given. ``keys``: the quantities to draw (default: every logged one;
    the learning rate only when it changed). The loss axis is logarithmic when the loss spans more than a
    decade."""
    try:
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator
    except ImportError:
        raise ImportError('plotting needs matplotlib: pip install "chainrule[plot]"') from None
    logs = getattr(history, "history", history)
    epochs = [e + 1 for e in getattr(history, "epoch", range(len(next(iter(logs.values()), []))))]
    if keys is None:
        keys = [k for k in logs if not k.startswith("val_")
                and not (k == "lr" and len(set(logs["lr"])) <= 1)]
        keys += [k[4:] for k in logs if k.startswith("val_") and k[4:] not in logs]
    if not keys or not epochs:
        raise ValueError("plot_history: nothing to plot (no epoch has ended yet)")
    cols = min(len(keys), 3)
    rows = math.ceil(len(keys) / cols)
    fig = Figure(figsize=(4.2 * cols, 3.2 * rows), layout="constrained")
    for i, key in enumerate(keys):
        ax = fig.add_subplot(rows, cols, i + 1)
        drawn = []
        for name, label, style in ((key, "train", "-o"), ("val_" + key, "validation", "-s")):
            if name in logs:
                ax.plot(epochs, logs[name], style, markersize=3, label=label)
                drawn.extend(v for v in logs[name] if v == v and v > 0)
        if key in ("loss", "lr") and drawn and max(drawn) / min(drawn) > 10:
            ax.set_yscale("log")
        ax.set_title("learning rate" if key == "lr" else key.replace("_", " "))
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if len(epochs) <= 12:       # few epochs: one tick each (the locator falls back to 0.9, 1.0, 1.1 ...
            ax.set_xticks(epochs)   # on a range shorter than one epoch)
            ax.set_xlim(epochs[0] - 0.5, epochs[-1] + 0.5)
        ax.grid(True, alpha=0.3)
        if key != "lr":
            ax.legend()
    if title:
        fig.suptitle(title)
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig
