"""``CSVLogger``: one row per epoch (``epoch`` counted from 1, then every logged value) in a CSV file."""
import csv
import os

from ..callback import Callback

__all__ = ["CSVLogger"]


class CSVLogger(Callback):
    """Writes ``path`` (a new file at the start of a fresh ``fit``; appended to on a resume or with
    ``append=True``). Each row is written and the file closed at the end of its epoch, so a crash loses
    nothing already logged. The columns are fixed by the first row; a value missing later is left empty."""

    def __init__(self, path, separator=",", append=False):
        self.path = os.fspath(path)
        self.separator = separator
        self.append = append
        self._columns = None

    def on_fit_begin(self, trainer):
        self._active = trainer.is_global_zero
        if not self._active:
            return
        resuming = len(trainer.history) > 0
        self._columns = None
        if (self.append or resuming) and os.path.exists(self.path):
            with open(self.path, newline="") as f:
                header = next(csv.reader(f, delimiter=self.separator), None)
            self._columns = header or None
            if resuming:
                self._truncate_after(len(trainer.history))
        else:
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
            open(self.path, "w").close()

    def _truncate_after(self, epochs):
        """Keep the header and the first ``epochs`` rows (rows a resumed run will write again are dropped)."""
        with open(self.path, newline="") as f:
            rows = list(csv.reader(f, delimiter=self.separator))
        with open(self.path, "w", newline="") as f:
            csv.writer(f, delimiter=self.separator).writerows(rows[:1 + epochs])

    def on_epoch_end(self, trainer, epoch, logs):
        if not self._active:
            return
        row = {"epoch": epoch + 1, **logs}
        with open(self.path, "a", newline="") as f:
            w = csv.writer(f, delimiter=self.separator)
            if self._columns is None:
                self._columns = list(row)
                w.writerow(self._columns)
            w.writerow([_cell(row.get(c, "")) for c in self._columns])

    def state_dict(self):
        return {}


def _cell(v):
    return repr(v) if isinstance(v, float) else v
