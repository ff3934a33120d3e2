"""Random number generation: a global seeded generator (``manual_seed``) and ``Generator`` objects."""
import numpy as np

__all__ = ["Generator", "manual_seed", "seed", "initial_seed", "default_generator", "get_rng_state",
           "set_rng_state"]


class Generator:
    """A source of random numbers (NumPy's PCG64), seedable and checkpointable like ``torch.Generator``."""
    __slots__ = ("_np", "_seed")

    def __init__(self, device="cpu"):
        self._seed = int(np.random.SeedSequence().entropy % (2 ** 63))
        self._np = np.random.Generator(np.random.PCG64(self._seed))

    def manual_seed(self, seed):
        self._seed = int(seed)
        self._np = np.random.Generator(np.random.PCG64(self._seed))
        return self

    def seed(self):
        return self.manual_seed(int(np.random.SeedSequence().entropy % (2 ** 63)))._seed

    def initial_seed(self):
        return self._seed

    def get_state(self):
        """The generator's state as a plain dict (JSON-friendly; no pickle needed)."""
        return {"seed": self._seed, "bit_generator": self._np.bit_generator.state}

    def set_state(self, state):
        self._seed = state["seed"]
        self._np.bit_generator.state = state["bit_generator"]
        return self


_default = None     # made on first use: numpy.random costs a third of `import numpy` to load


def default_generator():
    global _default
    if _default is None:
        _default = Generator()
    return _default


def manual_seed(seed):
    """Seed the global generator: every random op after it is reproducible."""
    return default_generator().manual_seed(seed)


def seed():
    return default_generator().seed()


def initial_seed():
    return default_generator().initial_seed()


def get_rng_state():
    return default_generator().get_state()


def set_rng_state(state):
    default_generator().set_state(state)
