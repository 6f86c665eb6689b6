"""engine.compile sees by mechanism what fn reads: numbers read by Python, data behind modules,
classes and container subclasses; it verifies early calls; it takes `p.grad = None`; and it
summarises a new batch size in a short message."""

import collections
import struct
import types
import warnings

import pytest

import engine
from engine import CompileWarning, GraphChanged, Value


def bits(x):
    return struct.pack("<d", x)


def uncompiled(fn, params, *args):
    """The object engine's loss and parameter gradients (from zero), as the reference."""
    for p in params:
        p.grad = 0.0
    loss = fn(*[Value(a) if not isinstance(a, list) else [Value(x) for x in a] for a in args])
    loss.backward()
    grads = [p.grad for p in params]
    for p in params:
        p.grad = 0.0
    return loss.data, grads


def compiled(step, params, *args):
    for p in params:
        p.grad = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CompileWarning)
        loss = step(*args)
    grads = [p.grad for p in params]
    for p in params:
        p.grad = 0.0
    return loss, grads


def same(step, fn, params, *args):
    got = compiled(step, params, *args)
    want = uncompiled(fn, params, *args)
    assert bits(got[0]) == bits(want[0]), (got, want)
    assert list(map(bits, got[1])) == list(map(bits, want[1])), (got, want)


# ---------------------------------------------------------------- numbers read by Python


def test_a_loss_divided_by_its_own_float_is_one_on_every_call():
    w = Value(0.5)

    def fn(xs):
        mse = sum(((w * x - 1.0) ** 2 for x in xs), Value(0.0))
        return mse / float(mse)

    step = engine.compile(fn, check_every=0)
    for xs in ([1.0, 2.0, 3.0], [2.0, -1.0, 0.5], [4.0, 4.0, 1.0]):
        loss = compiled(step, [w], xs)[0]
        assert loss == 1.0
        same(step, fn, [w], xs)
        w.data -= 0.1


@pytest.mark.parametrize(
    "read",
    [
        lambda v: v > 0,
        lambda v: v >= 0.0,
        lambda v: 0 < v,
        lambda v: bool(v),
        lambda v: round(v.data) > 0,
        lambda v: int(v) > 0,
        lambda v: float(v) > 0,
        lambda v: v.data > 0,
        lambda v: getattr(v, "data") > 0,  # noqa: B009 (the route a code scan cannot see)
        lambda v: f"{v.data:+.1f}"[0] == "+",
    ],
)
def test_a_branch_on_an_outside_value_that_changes_is_followed(read):
    class Config:
        gate = Value(1.0)

    w = Value(0.5)

    def fn(xs):
        total = Value(0.0)
        for x in xs:
            total = total + ((w * x).tanh() if read(Config.gate) else (w * x) * 3.0)
        return total

    step = engine.compile(fn, check_every=0)
    for gate in (1.0, -1.0, 2.0, 0.0, -3.0):
        Config.gate.data = gate
        same(step, fn, [w], [1.0, 2.0, 3.0])


def test_a_branch_on_an_argument_that_changes_is_followed():
    w = Value(0.5)

    def fn(xs, flag):
        total = Value(0.0)
        for x in xs:
            total = total + ((w * x).tanh() if flag > 0 else (w * x).sigmoid())
        return total

    step = engine.compile(fn, check_every=0)
    for flag in (1.0, -1.0, 1.0, -2.0):
        same(step, fn, [w], [1.0, 2.0], flag)


def test_a_branch_on_an_intermediate_node_that_changes_is_followed():
    w = Value(0.5)

    def fn(xs):
        total = Value(0.0)
        for x in xs:
            h = w * x
            total = total + (h.tanh() if h.data > 0 else h * h)
        return total

    step = engine.compile(fn, check_every=0)
    for xs in ([1.0, 2.0], [-1.0, 2.0], [-1.0, -2.0], [3.0, 1.0]):
        same(step, fn, [w], xs)


def test_a_changed_read_warns_once_naming_the_users_line():
    w = Value(0.5)

    def fn(xs):
        total = Value(0.0)
        for x in xs:
            total = total + (w * x if w > 0 else w * x * 2.0)  # the line read
        return total

    step = engine.compile(fn, check_every=0)
    step([1.0, 2.0])
    w.data = -0.5
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        step([1.0, 2.0])
        step([1.0, 2.0])
    messages = [str(m.message) for m in seen if issubclass(m.category, CompileWarning)]
    assert len(messages) == 1, messages
    assert "test_replay_reads.py" in messages[0] and "w > 0" in messages[0], messages[0]


def test_the_tape_lists_operations_constants_and_reads():
    w = Value(0.5, label="w")

    def fn(xs):
        total = Value(0.0)
        for x in xs:
            total = total + (w * x) * 2.0
        return total / float(total)

    step = engine.compile(fn, check_every=0)
    step([1.0, 2.0])
    text = str(step.tape)
    assert "argument" in text and "'w'" in text and "2.0" in text
    assert "float(" in text and "test_replay_reads.py" in text


# ---------------------------------------------------------------- outside data wherever fn reaches it


def batches():
    return [[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0], [4.0, -2.0, 1.0]]


def loop_over(xs, w):
    total = Value(0.0)
    for x in xs:
        total = total + (w * x).tanh()
    return total


def test_a_batch_in_another_module():
    batchdata = types.ModuleType("batchdata")
    batchdata.X = batches()[0]
    w = Value(0.5)

    def fn():
        return loop_over(batchdata.X, w)

    step = engine.compile(fn, check_every=0)
    for X in batches():
        batchdata.X = X
        same(step, fn, [w])


class Config:
    X = batches()[0]
    margin = 1.0


class Slotted:
    __slots__ = ("X",)

    def __init__(self, X):
        self.X = X


def test_an_object_with_slots():
    box = Slotted(batches()[0])
    w = Value(0.5)

    def fn():
        return loop_over(box.X, w)

    step = engine.compile(fn, check_every=0)
    for X in batches():
        box.X = X
        same(step, fn, [w])


def test_class_attributes():
    w = Value(0.5)

    def fn():
        return loop_over(Config.X, w) + Config.margin

    step = engine.compile(fn, check_every=0)
    for X in batches():
        Config.X = X
        Config.margin += 1.0
        same(step, fn, [w])


class Batch(list):
    pass


@pytest.mark.parametrize(
    "make", [lambda: collections.defaultdict(list), collections.OrderedDict, lambda: {"k": Batch()}]
)
def test_container_subclasses(make):
    box = make()
    box["k"] = Batch(batches()[0])
    w = Value(0.5)

    def fn():
        return loop_over(box["k"], w)

    step = engine.compile(fn, check_every=0)
    for X in batches():
        box["k"][:] = X  # the same list subclass, other numbers
        same(step, fn, [w])


# ---------------------------------------------------------------- the safety net


def test_a_change_no_guard_sees_is_caught_on_the_second_call():
    feed = iter(batches())  # state inside an iterator: no guard can look into it
    w = Value(0.5)

    def fn():
        return loop_over(next(feed), w)

    step = engine.compile(fn)  # the default check_every
    step()  # the first batch
    with pytest.raises(GraphChanged):  # the second: verified, so seen
        step()


def test_verification_calls_double_their_gaps_up_to_check_every():
    w = Value(0.5)
    ran: list[int] = []
    note = ran.append  # a builtin method: not data that fn reads

    def fn(xs):
        note(step.calls)
        return loop_over(xs, w)

    step = engine.compile(fn, check_every=40)
    for _ in range(130):
        step([1.0, 2.0])
    assert ran == [1, 2, 3, 5, 9, 17, 33, 40, 80, 120]


# ---------------------------------------------------------------- p.grad = None


def test_a_gradient_set_to_none_starts_from_the_new_share():
    w, b = Value(0.5), Value(-0.25)

    def fn(xs):
        total = Value(0.0)
        for x in xs:
            total = total + (w * x + b).tanh()
        return total

    step = engine.compile(fn, check_every=0)
    step([1.0, 2.0])
    want = [w.grad, b.grad]
    w.grad = None
    b.grad = None
    assert step([1.0, 2.0]) == fn([Value(1.0), Value(2.0)]).data
    assert list(map(bits, [w.grad, b.grad])) == list(map(bits, want))


# ---------------------------------------------------------------- a new batch size


def test_a_new_batch_size_is_summarised():
    w = Value(0.5)

    def fn(points):
        terms = [(w * x - y) ** 2 for x, y in points]
        while len(terms) > 1:  # a tree of sums: a chain of 1000 would run uncompiled
            terms = [a + b for a, b in zip(terms[::2], terms[1::2], strict=False)] + terms[len(terms) // 2 * 2 :]
        return terms[0]

    step = engine.compile(fn)
    step([[float(i), 1.0] for i in range(1000)])
    with pytest.raises(ValueError) as error:
        step([[float(i), 1.0] for i in range(999)])
    message = str(error.value)
    assert "recorded with 1000 examples of 2 numbers, called with 999" in message
    assert len(message) < 400, len(message)


# ---------------------------------------------------------------- Value.data


def test_assigning_data_checks_the_number():
    v = Value(1.0)
    with pytest.raises(TypeError, match="Value.data"):
        v.data = "x"
    v.data = 3  # an int becomes a float, as Value(3) does
    assert v.data == 3.0 and type(v.data) is float
    assert v.data == 3.0 and repr(v) == "Value(data=3.0, grad=0.0)"


def test_reads_outside_a_recording_go_nowhere():
    v = Value(2.0)
    assert (float(v), int(v), bool(v), round(v), f"{v:.1f}", v > 1.0) == (2.0, 2, True, 2, "2.0", True)
    assert engine.core.value._watching == 0 and engine.core.value.recorders.tape is None


def test_the_snapshot_of_outside_data_asks_no_object_for_an_attribute_it_lacks():
    """Finding what fn can read must not run an object's __getattr__ (pytest.mark, say, makes a
    mark and warns when asked for `func`)."""
    asked: list[str] = []

    class Lazy:
        def __getattr__(self, name):
            asked.append(name)
            raise AttributeError(name)

    lazy = Lazy()
    w = Value(0.5)

    def fn():
        return w * 2.0 if lazy is not None else w

    step = engine.compile(fn)
    step()
    step()
    assert asked == []
