"""Shared by the fuzz tests: run many inputs through a loader, count the outcomes, bound the memory.

Each input must load or raise the loader's documented error (anything else propagates and fails the
test). The peak of traced allocations (tracemalloc sees NumPy, json and zlib buffers) over the whole fuzz
must stay under ``memory_bound``: a resource bound, not a timing. A summary line is printed (``pytest -s``).
"""
import time
import tracemalloc


class Fuzz:
    def __init__(self, label, load, error, memory_bound=200e6):
        self.label, self.load, self.error, self.memory_bound = label, load, error, memory_bound
        self.cases = self.loaded = self.rejected = 0

    def run(self, blob):
        """True when ``load(blob)`` returned (its result is then ``self.result``), False when it raised the
        documented error."""
        self.cases += 1
        self.result = None
        try:
            self.result = self.load(blob)
        except self.error as e:
            self.rejected += 1
            self.last_error = e
            return False
        self.loaded += 1
        return True

    def __enter__(self):
        tracemalloc.start()
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        seconds = time.perf_counter() - self.t0
        self.peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        if exc[0] is None:
            print(f"\n[fuzz] {self.label}: {self.cases} cases ({self.rejected} {self.error.__name__}, "
                  f"{self.loaded} loaded) in {seconds:.2f} s, peak traced memory {self.peak / 1e3:.0f} kB")
            assert self.peak < self.memory_bound, f"{self.label}: peak {self.peak / 1e6:.0f} MB"
        return False


def mutate(blob, rng, max_edits=5):
    """``blob`` with 1 to ``max_edits`` random edits: a byte replaced by another value, inserted or deleted."""
    b = bytearray(blob)
    for _ in range(rng.integers(1, max_edits + 1)):
        pos = int(rng.integers(0, len(b)))
        kind = rng.integers(0, 3)
        if kind == 0:
            new = int(rng.integers(0, 255))
            b[pos] = new if new < b[pos] else new + 1          # any value but the current one
        elif kind == 1:
            b.insert(pos, int(rng.integers(0, 256)))
        elif len(b) > 1:
            del b[pos]
    return bytes(b)
