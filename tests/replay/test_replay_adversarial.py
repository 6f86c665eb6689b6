"""engine.compile under the patterns that used to return silently wrong numbers: now exact, or loud."""

import math
import struct
import sys
import threading
import warnings

import pytest

import engine
import engine.replay.pieces
import nn
from engine import CompileWarning, GraphChanged, Value


def bits(xs):
    """Exact bit patterns: -0.0 != 0.0, and NaN == NaN of the same payload."""
    return [struct.pack("<d", x) for x in xs]


def reference(fn, leaves, *args):
    """The object engine: loss and the leaves' gradients, from fresh gradients."""
    for v in leaves:
        v.grad = 0.0
    loss = fn(*args)
    loss.backward()
    return loss.data, [v.grad for v in leaves]


def replayed(step, leaves, *args):
    for v in leaves:
        v.grad = 0.0
    loss = step(*args)
    return loss, [v.grad for v in leaves]


# ---------------------------------------------------------------- 1. argument structure


def test_other_lengths_with_the_same_count_are_refused():
    step = engine.compile(lambda a, b: 2 * sum(a, Value(0.0)) + 3 * sum(b, Value(0.0)))
    assert step([1.0, 2.0], [3.0, 4.0, 5.0]) == 2 * 3.0 + 3 * 12.0
    with pytest.raises(ValueError, match="argument 0: recorded with 2 numbers, called with 3"):
        step([1.0, 2.0, 3.0], [4.0, 5.0])
    assert step([1.0, 2.0], [3.0, 4.0, 5.0]) == 42.0  # the recorded structure still works


def test_other_nesting_and_types_are_refused():
    def total(part):
        return sum(part, Value(0.0)) if isinstance(part, list) else part * 1.0

    step = engine.compile(lambda a, b: 2 * total(a) + 3 * total(b))
    assert step([1.0, 2.0], 3.0) == 15.0
    for other in ((1.0, [2.0, 3.0]), ((1.0, 2.0), 3.0), ([1.0, 2.0], [3.0])):
        with pytest.raises(ValueError, match="compile a new function"):
            step(*other)
    x = Value(2.0)
    assert step([1.0, x], 3.0) == 15.0 and x.grad == 2.0  # a Value where a number was: the same shape
    assert engine.compile(lambda a, b: 2 * total(a) + 3 * total(b))(1.0, [2.0, 3.0]) == 17.0


# ---------------------------------------------------------------- 2. aliased arguments


def test_aliased_arguments_get_every_share():
    step = engine.compile(lambda a, b: a * 2.0 + b * 3.0)
    a, b = Value(1.0), Value(1.0)
    step(a, b)
    a.grad = 0.0
    step(a, a)
    assert a.grad == 5.0
    c, d = Value(1.0), Value(1.0)
    step(c, d)  # and back: two Values again
    assert (c.grad, d.grad) == (2.0, 3.0)


def test_an_argument_that_is_also_read_from_outside():
    w = Value(0.5)
    step = engine.compile(lambda x: (w * x).tanh() + w)
    x = Value(0.25)
    for given in (x, w, x, w):
        expected = reference(lambda v: (w * v).tanh() + w, [w, x], given)
        assert bits(replayed(step, [w, x], given)[1]) == bits(expected[1])


# ---------------------------------------------------------------- 3. a fresh Value each call


def test_a_fresh_value_each_call_just_works():
    step = engine.compile(lambda x: x * x + 1.0)
    for k in range(4):
        x = Value(float(k + 1))
        assert step(x) == (k + 1.0) ** 2 + 1.0
        assert x.grad == 2.0 * (k + 1)


# ---------------------------------------------------------------- 4. a replaced layer still referenced


def test_a_replaced_layer_that_is_still_referenced_elsewhere():
    X, y = nn.make_moons(12, seed=0)
    model = nn.MLP(2, [4, 4, 1], seed=0)
    params = model.parameters()  # still holds the old layer's Values
    assert params
    fn = lambda: nn.hinge_loss([model(x) for x in X], y)  # noqa: E731
    step = engine.compile(fn)
    step()
    step()
    model.layers[1] = nn.Layer(4, 4, "relu", seed=5)
    new = model.parameters()
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        loss, grads = replayed(step, new)
    expected = reference(fn, new)
    assert bits([loss]) == bits([expected[0]]) and bits(grads) == bits(expected[1])
    assert any(issubclass(w.category, CompileWarning) and "model" in str(w.message) for w in seen)


# ---------------------------------------------------------------- 5. data read from a closure or global

BATCH = [[0.5, -1.0], [1.5, 2.0]]


def loss_on_global_batch(w):
    return sum(((w[0] * a + w[1] * b).tanh() for a, b in BATCH), Value(0.0))


def test_data_read_from_a_global_is_seen():
    global BATCH
    w = [Value(0.3), Value(-0.7)]
    step = engine.compile(lambda: loss_on_global_batch(w))
    step()
    BATCH = [[2.0, 1.0], [-0.5, 0.25], [1.0, 1.0]]
    try:
        with pytest.warns(CompileWarning, match="BATCH"):
            loss, grads = replayed(step, w)
        expected = reference(lambda: loss_on_global_batch(w), w)
        assert bits([loss]) == bits([expected[0]]) and bits(grads) == bits(expected[1])
    finally:
        BATCH = [[0.5, -1.0], [1.5, 2.0]]


def test_data_mutated_in_a_closure_list_is_seen():
    w = Value(0.3)
    batch = [0.5, 1.5, -2.0]
    fn = lambda: sum(((w * x).tanh() for x in batch), Value(0.0))  # noqa: E731
    step = engine.compile(fn)
    step()
    batch[1] = -0.0
    with pytest.warns(CompileWarning, match="batch"):
        loss, grads = replayed(step, [w])
    expected = reference(fn, [w])
    assert bits([loss]) == bits([expected[0]]) and bits(grads) == bits(expected[1])


# ---------------------------------------------------------------- 6. detach() and no_grad() inside


@pytest.mark.parametrize("how", ["detach", "no_grad"])
def test_stop_gradients_are_recomputed_every_call(how):
    w, x = Value(0.8), Value(1.3)

    def fn():
        pred = (w * x).tanh()
        if how == "detach":
            target = (w * x * 0.5).detach()
        else:
            with engine.no_grad():
                target = (w * x * 0.5).sigmoid()
        return (pred - target) ** 2

    step = engine.compile(fn)
    for k in range(4):
        loss, grads = replayed(step, [w, x])
        expected = reference(fn, [w, x])
        assert bits([loss]) == bits([expected[0]]) and bits(grads) == bits(expected[1]), k
        w.data -= 0.3 * expected[1][0] + 0.1


# ---------------------------------------------------------------- 7. branches on .data


def test_reading_data_while_recording_is_followed():
    w, x = Value(0.5), Value(2.0)
    step = engine.compile(lambda: (w * x).relu() if (w * x).data > 0 else (w * x) * -1.0, check_every=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert step() == 1.0  # the read is guarded: nothing to warn about while it holds
        assert step() == 1.0
    w.data = -0.5
    with pytest.warns(CompileWarning, match="read the number of a Value"):
        assert step() == 1.0  # the other branch, as fn computes it now
    assert w.grad == 2.0 + 2.0 - 2.0  # relu: x twice, then -x


# ---------------------------------------------------------------- 8. check_every sees the wiring


class Hidden:
    """Data the recording cannot see: numbers in a C buffer (a memoryview), which no guard walks."""

    __slots__ = ("_cells",)

    def __init__(self) -> None:
        self._cells = memoryview(bytearray(16)).cast("d")
        self.swap, self.c = False, 1.0

    swap = property(lambda self: self._cells[0] != 0.0, lambda self, on: self._cells.__setitem__(0, float(on)))
    c = property(lambda self: self._cells[1], lambda self, c: self._cells.__setitem__(1, c))


def test_check_every_sees_rewiring():
    a, b, x = Value(2.0), Value(3.0), Value(5.0)
    hidden = Hidden()

    def fn():
        return x * b + a if hidden.swap else x * a + b

    step = engine.compile(fn, check_every=2)
    step()
    hidden.swap = True  # the same operations in the same order, wired differently
    with pytest.raises(GraphChanged):
        step()


def test_check_every_sees_a_changed_constant():
    a = Value(2.0)
    hidden = Hidden()
    step = engine.compile(lambda: a * hidden.c, check_every=2)
    step()
    hidden.c = 2.0
    with pytest.raises(GraphChanged, match="another loss"):
        step()


def test_check_every_has_a_default():
    assert engine.compile(lambda: Value(1.0)).check_every > 0


# ---------------------------------------------------------------- 9. overflow and non-finite numbers


def test_overflow_raises_as_the_object_engine_does():
    w, x = Value(1.0), Value(1.0)
    step = engine.compile(lambda: (w * x * x).tanh())
    step()
    x.data = 1e200
    with pytest.raises(OverflowError, match=r"\*"):
        step()


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_arguments_give_the_object_engines_numbers(bad):
    w = [Value(0.5), Value(-0.25)]

    def fn(xs):
        return nn.hinge_loss([(w[0] * a + w[1] * b).relu() * 0.0 + 2.0 for a, b in xs], [1.0, 1.0, 1.0])

    step = engine.compile(fn)
    good = [[1.0, 2.0], [0.5, 0.5], [2.0, 1.0]]
    step(good)
    data = [[1.0, bad], [0.5, 0.5], [2.0, 1.0]]
    loss, grads = replayed(step, w, data)
    expected = reference(fn, w, data)
    assert bits([loss]) == bits([expected[0]]) and bits(grads) == bits(expected[1])


@pytest.fixture
def small_pieces(monkeypatch):
    monkeypatch.setattr(engine.replay.pieces, "MIN_NODES", 2)


def test_skipped_copies_with_non_finite_operands(small_pieces):
    """Every hinge off: a NaN or inf input still makes NaN gradients (nan * 0 = nan), as backward() does."""
    w = Value(1.0)

    def fn(xs):
        return sum(((w * x * 0.0 + 2.0 - w).relu() for x in xs), Value(0.0)) * 0.0

    step = engine.compile(fn)
    step([1.0] * 12)
    for bad in (math.nan, math.inf):
        xs = [1.0] * 11 + [bad]
        loss, grads = replayed(step, [w], xs)
        expected = reference(fn, [w], xs)
        assert bits([loss]) == bits([expected[0]]) and bits(grads) == bits(expected[1])


def test_leaky_relu_slope_minus_zero():
    x = Value(-2.0)
    fn = lambda: x.leaky_relu(0.0) * 0.0 + x.leaky_relu(-0.0)  # noqa: E731 (-0.0 + 0.0 is 0.0, -0.0 + -0.0 is not)
    step = engine.compile(fn)
    expected = reference(fn, [x])
    assert bits([x.leaky_relu(-0.0).data]) == bits([0.0])
    loss, grads = replayed(step, [x])
    loss, grads = replayed(step, [x])
    assert bits([loss]) == bits([expected[0]]) and bits(grads) == bits(expected[1])


def test_minus_zero_gradients_are_kept(small_pieces):
    w = Value(-1.0)  # every relu off: each share is 0.0 * x = +0.0, and -0.0 + 0.0 is +0.0
    step = engine.compile(lambda xs: sum(((w * x).relu() for x in xs), Value(0.0)))
    step([1.0, 2.0])
    w.grad = -0.0
    step([1.0, 2.0])
    w2 = Value(-1.0)
    w2.grad = -0.0
    sum(((w2 * x).relu() for x in [1.0, 2.0]), Value(0.0)).backward()
    assert bits([w.grad]) == bits([w2.grad])


# ---------------------------------------------------------------- 10. threads


def test_concurrent_calls_equal_a_serial_order():
    X, y = nn.make_moons(60, seed=1)
    model = nn.MLP(2, [8, 8, 1], seed=2)
    params = model.parameters()
    step = engine.compile(lambda: nn.hinge_loss([model(x) for x in X], y))
    step()
    for p in params:
        p.grad = 0.0
    calls = 5
    barrier = threading.Barrier(4)

    def work():
        barrier.wait()
        for _ in range(calls):
            step()

    threads = [threading.Thread(target=work) for _ in range(4)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    got = [p.grad for p in params]
    for p in params:
        p.grad = 0.0
    for _ in range(4 * calls):
        step()
    assert bits(got) == bits([p.grad for p in params])


def test_an_argument_read_from_outside_inside_a_detached_target():
    w = Value(0.5)

    def fn(x):
        target = (w * x * 3.0).detach()
        return ((w * x).tanh() - target) ** 2 + w

    step = engine.compile(fn)
    x = Value(0.25)
    for given in (w, w, x, w):
        expected = reference(fn, [w, x], given)
        got = replayed(step, [w, x], given)
        assert bits([got[0]]) == bits([expected[0]]) and bits(got[1]) == bits(expected[1])
        w.data += 0.125


def test_a_graph_made_before_the_call_runs_uncompiled():
    w = Value(0.5)
    made_outside = (w * 3.0).tanh()  # its number is fixed now; a replay would compute it again

    def fn(x):
        return made_outside * x + w * x

    step = engine.compile(fn)
    with pytest.warns(CompileWarning, match="made before the call"):
        step(2.0)
    w.data = 1.5
    expected = reference(fn, [w], 2.0)
    assert bits(replayed(step, [w], 2.0)[1]) == bits(expected[1])
    assert "runs uncompiled" in repr(step)


def test_a_detached_value_detached_again():
    w = Value(0.5)

    def fn(x):
        once = w.detach()
        twice = once.detach()
        return twice + once * x + w * x

    step = engine.compile(fn)
    for k in range(3):
        expected = reference(fn, [w], 2.0)
        got = replayed(step, [w], 2.0)
        assert bits([got[0]]) == bits([expected[0]]) and bits(got[1]) == bits(expected[1]), k
        w.data += 1.0


def test_a_recording_in_one_thread_records_nothing_of_another_threads_graphs():
    """While a thread records (the fast flag says 'recording somewhere'), another thread's graphs,
    built with and without no_grad(), are its own: complete, and not on the tape."""
    w = Value(0.5)
    inside, release = threading.Event(), threading.Event()

    def fn():
        first = (w * 3.0).tanh()
        inside.set()
        assert release.wait(10)  # the other thread builds its graphs now
        return first + w

    step = engine.compile(fn)
    results: list = []
    recorder = threading.Thread(target=lambda: results.append(step()))
    recorder.start()
    assert inside.wait(10)
    a = Value(2.0)
    out = (a * a + 1.0).relu()  # made while the other thread records
    with engine.no_grad():
        frozen = a * 5.0
    release.set()
    recorder.join()
    out.backward()
    assert a.grad == 4.0 and out.parents and not frozen.parents
    assert all(n not in step.tape.nodes for n in (out, frozen))
    assert "%" in str(step.tape) and results == [math.tanh(1.5) + 0.5]


# ---------------------------------------------------------------- values fn computes and the loss does not use


def test_an_unused_value_raises_on_a_call_as_uncompiled():
    # fn computes sqrt(x) and drops it: the object engine raises on x = -1.0, so the call must
    # too, although nothing of the loss depends on it (it returned -0.5 instead)
    p = Value(0.0)

    def fn(x):
        x.sqrt()
        return p.tanh() + x * 0.5

    step = engine.compile(fn)
    x = Value(4.0)
    for _ in range(3):  # calls 2 and 3 are verification calls, which run fn: call 4 is a replay
        assert step(x) == fn(x).data
    x.data = -1.0
    with pytest.raises(ValueError, match=r"sqrt: sqrt\(-1.0\) is undefined"):
        fn(x)
    with pytest.raises(ValueError, match=r"sqrt: sqrt\(-1.0\) is undefined"):
        step(x)
    x.data = 9.0  # and a good call after it replays again
    assert step(x) == fn(x).data


def test_an_unused_value_made_under_no_grad_raises_as_uncompiled():
    p = Value(0.5)

    def fn(x):
        with engine.no_grad():
            Value(x).log()
        return p * x

    step = engine.compile(fn)
    for _ in range(3):
        step(2.0)
    with pytest.raises(ValueError, match="log"):
        step(-3.0)


def test_mini_batches_with_an_unused_per_example_value_train_exactly_or_raise(monkeypatch):
    # a learner computes each example's exp(1000 * score) to look at, and does not return it
    import engine.replay.uncompiled as way_out

    uncompiled = []
    fall_back = way_out.fall_back
    monkeypatch.setattr(way_out, "fall_back", lambda *a: uncompiled.append(1) or fall_back(*a))
    model = nn.MLP(2, [4, 1], seed=4)
    params = model.parameters()

    def fn(xb, yb):
        scores = [model(x) for x in xb]
        _shown = [(s * 1000.0).exp() for s in scores]
        return nn.mse_loss(scores, yb)

    step = engine.compile(fn)
    batches = [([[0.1 * i, -0.2 * i], [0.3, 0.1 * i]], [0.5, -0.5]) for i in range(1, 6)]
    for xb, yb in batches:
        got = replayed(step, params, xb, yb)
        want = reference(fn, params, xb, yb)
        assert bits([got[0], *got[1]]) == bits([want[0], *want[1]])
    assert step.plan is not None and not uncompiled  # replayed, none run uncompiled
    far = ([[50.0, 50.0], [-50.0, 50.0]], [0.5, -0.5])  # some 1000 * score overflows exp
    with pytest.raises(OverflowError, match="exp"):
        reference(fn, params, *far)
    with pytest.raises(OverflowError, match="exp"):
        replayed(step, params, *far)
    assert len(uncompiled) == 1
