"""chainrule._parallel: split calls give BIT-IDENTICAL results to the single NumPy call."""
import numpy as np
import pytest

from chainrule import _parallel as P


@pytest.fixture(params=[2, 3])
def split(request, monkeypatch):
    """A pool of 2 or 3 threads with the size gate off, so even small test arrays are split."""
    for gate in ("MIN_ELEMENTS", "MIN_COPY", "MIN_BLOCKWISE"):
        monkeypatch.setattr(P, gate, 0)
    before = P.threads()
    P.set_threads(request.param)
    yield request.param
    P.set_threads(before)


def test_ufunc_split_equals_single_call_with_broadcasting(split):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((37, 5, 11)).astype(np.float32)
    b = rng.standard_normal((5, 1)).astype(np.float32)            # broadcasts: not cut by rows
    c = rng.standard_normal((1, 5, 11)).astype(np.float32)        # size-1 leading dim: not cut either
    for f, args in ((np.add, (a, b)), (np.multiply, (a, c)), (np.maximum, (a, 0.0)), (np.exp, (a,))):
        out = np.empty_like(a)
        assert P.ufunc(f, *args, out=out) is out
        np.testing.assert_array_equal(out, f(*args))
    out = np.empty_like(a)
    P.ufunc(np.add, a, b, out=out, where=a > 0)                   # kwargs pass through to each block
    ref = np.empty_like(a)
    np.copyto(ref, out)                                            # where=False keeps out's values
    np.add(a, b, out=ref, where=a > 0)
    np.testing.assert_array_equal(out, ref)


def test_copyto_of_strided_view(split):
    x = np.arange(2 * 3 * 40 * 7, dtype=np.float64).reshape(2, 3, 40, 7)
    src = x.transpose(2, 0, 3, 1)
    dst = np.empty(src.shape, dtype=np.float32)                   # with a cast
    P.copyto(dst, src)
    np.testing.assert_array_equal(dst, src.astype(np.float32))


@pytest.mark.parametrize("f", [np.sum, np.max, np.mean])
def test_reduce_rows_is_bit_identical(split, f):
    # float32 sums of many values: any change of summation order would show in the last bits
    x = np.random.default_rng(1).standard_normal((19, 3, 5000)).astype(np.float32) * 1e3
    for axis in (-1, (1, 2), 2):
        out = np.empty(f(x, axis=axis).shape, dtype=x.dtype)
        P.reduce_rows(f, x, axis, out=out)
        assert out.tobytes() == f(x, axis=axis).tobytes()


def test_reduce_over_axis_0_is_one_call(split):
    x = np.random.default_rng(2).standard_normal((64, 9)).astype(np.float32)
    out = np.empty(9, np.float32)
    P.reduce_rows(np.sum, x, 0, out=out)
    assert out.tobytes() == x.sum(0).tobytes()


def test_map_blocks_covers_every_row_once_and_raises(split):
    seen = np.zeros(101, dtype=int)

    def mark(a, b):
        seen[a:b] += 1
    P.map_blocks(mark, 101)
    assert (seen == 1).all()

    def boom(a, b):
        if a > 0:
            raise ValueError("block failed")
    with pytest.raises(ValueError, match="block failed"):
        P.map_blocks(boom, 10)


def test_one_thread_makes_no_pool(monkeypatch):
    for gate in ("MIN_ELEMENTS", "MIN_COPY", "MIN_BLOCKWISE"):
        monkeypatch.setattr(P, gate, 0)
    before = P.threads()
    P.set_threads(1)
    try:
        a = np.ones((8, 8))
        P.ufunc(np.add, a, a, out=a)
        assert P._pool is None and (a == 2).all()
    finally:
        P.set_threads(before)
    with pytest.raises(ValueError, match="positive"):
        P.set_threads(0)


def test_set_num_threads_sizes_the_pool():
    pytest.importorskip("threadpoolctl")
    import chainrule as cr
    before = P.threads()
    try:
        cr.set_num_threads(2)
        assert P.threads() == 2
        cr.set_num_threads(1)
        assert P.threads() == 1
    finally:
        cr.set_num_threads(before)


@pytest.mark.parametrize("batch_last", [False, True])
def test_conv_and_pool_split_equal_one_thread(monkeypatch, batch_last):
    """The kernels that call the pool (im2col copies, conv bias add, max pooling) give the same bytes
    split across threads as on one."""
    import chainrule as cr
    import chainrule.nn.functional as F
    import chainrule.ops.conv as conv_ops
    monkeypatch.setattr(conv_ops, "batch_last", lambda geo: batch_last)
    rng = np.random.default_rng(6)
    x, w, b = (cr.tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True)
               for s in ((4, 3, 9, 8), (5, 3, 3, 3), (5,)))

    def run():
        for t in (x, w, b):
            t.grad = None
        y = F.max_pool2d(F.conv2d(x, w, b, padding=1), 2)
        (y ** 2).sum().backward()
        return [y.detach().numpy().tobytes()] + [t.grad.numpy().tobytes() for t in (x, w, b)]
    before = P.threads()
    try:
        P.set_threads(1)
        one = run()
        for gate in ("MIN_ELEMENTS", "MIN_COPY", "MIN_BLOCKWISE"):
            monkeypatch.setattr(P, gate, 0)
        P.set_threads(2)
        assert run() == one
    finally:
        P.set_threads(before)


def test_nested_split_runs_inline(split):
    """A block that itself splits a call (a kernel calling ufunc) must not wait on the busy pool."""
    out = np.zeros((split * 4, 8))

    def block(a, b):
        P.ufunc(np.add, out[a:b], 1.0, out=out[a:b])
    P.map_blocks(block, out.shape[0])
    assert (out == 1).all()


def test_blockwise_gelu_equals_one_thread(monkeypatch):
    """Exact GELU's float32 forward and backward kernels run as blocks on the pool: same bytes as one call
    (odd sizes, so blocks are uneven), and within float32 rounding of the float64 erf."""
    import math

    import chainrule as cr
    import chainrule.nn.functional as F
    rng = np.random.default_rng(3)
    x = cr.tensor((rng.standard_normal((7, 301)) * 3).astype(np.float32), requires_grad=True)
    g = cr.tensor(rng.standard_normal((7, 301)).astype(np.float32))

    def run():
        x.grad = None
        y = F.gelu(x)
        y.backward(g)
        return y.detach().numpy().tobytes(), x.grad.numpy().tobytes()
    before = P.threads()
    try:
        P.set_threads(1)
        one = run()
        monkeypatch.setattr(P, "MIN_BLOCKWISE", 0)
        for n in (2, 3):
            P.set_threads(n)
            assert run() == one
    finally:
        P.set_threads(before)
    xs = x.detach().numpy().astype(np.float64).ravel()
    ref = np.array([v * 0.5 * (1 + math.erf(v / math.sqrt(2))) for v in xs])
    got = np.frombuffer(one[0], np.float32).astype(np.float64)
    assert np.abs(got - ref).max() <= 2.5 * np.spacing(np.float32(np.abs(ref).max()))   # ~2 ulps at the top


def test_transcendental_split_is_bit_identical_and_quiet(split, monkeypatch):
    """exp/tanh split across the pool: same bytes as one call; sigmoid's overflowing e^-x stays silent in
    the pool's threads too (errstate is per thread)."""
    import warnings

    from chainrule.ops._util import sigmoid_array
    monkeypatch.setattr(P, "MIN_TRANSCENDENTAL", 0)
    rng = np.random.default_rng(5)
    x = (rng.standard_normal((13, 7, 5)) * 60).astype(np.float32)      # overflows e^-x somewhere
    for f in (np.exp, np.tanh):
        with np.errstate(over="ignore"):
            assert P.transcendental(f, x).tobytes() == f(x).tobytes()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = sigmoid_array(x)
    P.set_threads(1)
    assert got.tobytes() == sigmoid_array(x).tobytes()
    tail = (x < -89) & (x > -103)                                       # σ subnormal, not 0 (e^x)
    assert tail.any() and (got[tail] > 0).all()


def test_map_blocks_from_two_threads_at_once(split):
    """Two threads splitting calls at the same time: one gets the pool, the other runs inline (never a
    block lost, run twice or deadlocked), and the workers stay usable after a block raised."""
    import threading
    outs = [np.zeros((2, 97), np.int64) for _ in range(2)]

    def user(k):
        for i in range(200):
            def block(a, b):
                outs[k][i % 2, a:b] += 1
            P.map_blocks(block, 97)
    threads = [threading.Thread(target=user, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    for out in outs:
        assert (out == 100).all()

    def boom(a, b):
        if a > 0:
            raise KeyError("second block")
    with pytest.raises(KeyError):
        P.map_blocks(boom, 10)
    seen = np.zeros(10, np.int64)

    def mark(a, b):
        seen[a:b] += 1
    P.map_blocks(mark, 10)
    assert (seen == 1).all()
