"""curves.png: one panel per quantity, log scale when the loss spans decades, a clear skip without matplotlib."""
import sys

import pytest

from chainrule.recipe.curves import _panels, _spans_decades, plot_history


def test_panels_pair_train_with_validation_and_show_a_changing_lr():
    h = {"loss": [1.0, 0.5], "val_loss": [1.1, 0.6], "accuracy": [0.5, 0.7], "val_accuracy": [0.4, 0.6],
         "lr": [0.1, 0.1]}
    assert _panels(h) == [("loss", "loss", "val_loss"), ("accuracy", "accuracy", "val_accuracy")]
    h["lr"] = [0.1, 0.01]
    assert _panels(h)[-1] == ("learning rate", "lr", None)
    assert _spans_decades([2.0, 0.1]) and not _spans_decades([2.0, 0.5]) and not _spans_decades([1.0])


def test_plot_writes_a_png_with_log_scale_for_a_loss_over_decades(tmp_path):
    plt = pytest.importorskip("matplotlib.pyplot")
    h = {"loss": [2.0, 0.2, 0.01], "val_loss": [1.5, 0.3, 0.2], "accuracy": [0.3, 0.9, 0.99]}
    seen = {}
    real_savefig = plt.Figure.savefig

    def spy(fig, path, **kw):
        seen["titles"] = [ax.get_title() for ax in fig.axes]
        seen["scales"] = [ax.get_yscale() for ax in fig.axes]
        return real_savefig(fig, path, **kw)
    plt.Figure.savefig = spy
    try:
        path = plot_history(h, str(tmp_path / "curves.png"), title="t", val_label="test set")
    finally:
        plt.Figure.savefig = real_savefig
    assert path and open(path, "rb").read(4) == b"\x89PNG"
    assert seen["scales"] == ["log", "linear"]
    assert seen["titles"][0].startswith("loss, log scale") and "test set 0.2" in seen["titles"][0]
    assert seen["titles"][1].startswith("accuracy (%)") and "train 99" in seen["titles"][1]
    assert not list(tmp_path.glob("*.tmp.png"))


def test_without_matplotlib_nothing_is_drawn(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)          # import matplotlib -> ImportError
    assert plot_history({"loss": [1.0]}, str(tmp_path / "c.png")) is None
    assert not (tmp_path / "c.png").exists()
