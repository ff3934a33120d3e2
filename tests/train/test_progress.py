"""ProgressBar: a live bar with steps/s and ETA on a terminal (tqdm, or the built-in fallback); plain lines
without carriage returns elsewhere."""
import io
import sys

import chainrule as cr
from chainrule import nn
from chainrule.train import ProgressBar, Trainer
from train_helpers import blobs, mlp


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


def _run(bar, epochs=2):
    x, y = blobs(n=32)
    model = mlp()
    Trainer(model, cr.optim.SGD(model.parameters(), lr=0.1), nn.CrossEntropyLoss(), metrics=["accuracy"],
            callbacks=[bar]).fit((x, y), epochs=epochs, batch_size=4)


def test_live_bar_on_a_terminal_with_tqdm():
    import pytest
    pytest.importorskip("tqdm")
    out = FakeTTY()
    _run(ProgressBar(stream=out, refresh=0))
    text = out.getvalue()
    assert "\r" in text and "epoch 1/2" in text and "epoch 2/2" in text
    assert "8/8" in text and "step/s" in text and "loss" in text and "accuracy" in text
    assert "<" in text                                 # tqdm's elapsed<remaining


def test_live_bar_builtin_fallback(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)     # as if the progress extra were not installed
    out = FakeTTY()
    _run(ProgressBar(stream=out, refresh=0))
    text = out.getvalue()
    assert "\r" in text and "steps/s" in text and "8/8" in text and "accuracy" in text
    assert text.count("\n") == 2                       # one finished line per epoch


def test_plain_lines_when_not_a_terminal():
    out = io.StringIO()
    _run(ProgressBar(stream=out), epochs=3)
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue() and len(lines) == 3
    assert lines[2].startswith("epoch 3/3  loss ") and "accuracy" in lines[2] and lines[2].endswith(" s)")


def test_a_user_progress_bar_replaces_the_default(capsys):
    out = io.StringIO()
    _run(ProgressBar(stream=out, live=False))
    assert capsys.readouterr().out == "" and len(out.getvalue().splitlines()) == 2


def test_other_ranks_print_nothing():
    out = io.StringIO()
    x, y = blobs(n=8)
    model = mlp()
    t = Trainer(model, cr.optim.SGD(model.parameters(), lr=0.1), nn.CrossEntropyLoss(),
                callbacks=[ProgressBar(stream=out, live=True)])
    t.is_global_zero = False
    t.fit((x, y), epochs=1)
    assert out.getvalue() == ""


def test_history_plot_writes_a_png(tmp_path):
    import pytest
    pytest.importorskip("matplotlib")
    x, y = blobs(n=32)
    model = mlp()
    h = Trainer(model, cr.optim.SGD(model.parameters(), lr=0.1), nn.CrossEntropyLoss(), metrics=["accuracy"],
                verbose=0).fit((x, y), val=(x, y), epochs=3)
    fig = h.plot(tmp_path / "curves.png")
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["loss", "accuracy"]              # lr constant: not drawn
    assert [line.get_label() for line in fig.axes[0].get_lines()] == ["train", "validation"]


def test_history_plot_missing_extra_is_one_clear_line(monkeypatch):
    import pytest
    from chainrule.train import History
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    h = History()
    h.append(0, {"loss": 1.0})
    with pytest.raises(ImportError, match=r'pip install "chainrule\[plot\]"'):
        h.plot()
