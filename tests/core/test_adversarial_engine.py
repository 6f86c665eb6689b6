"""The engine under attack: threads, backward passes that fail, NaN/inf/-0.0, huge ints, extreme losses.

Each test here reproduces a way the engine broke its own promises (or a neighbour of one).
"""

from __future__ import annotations

import math
import re
import sys
import threading
from functools import partial

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine
import nn
from engine import Value, no_grad
from engine.core.value import _mode

# ---------------------------------------------------------------- grad mode is per thread


def _run_threads(*targets):
    """Run each target in its own thread; re-raise the first failure in the caller."""
    errors = []

    def wrap(fn):
        def run():
            try:
                fn()
            except BaseException as e:  # noqa: BLE001 (handed to the main thread)
                errors.append(e)

        return run

    threads = [threading.Thread(target=wrap(fn)) for fn in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
        assert not t.is_alive(), "a thread hung"
    if errors:
        raise errors[0]


def _records() -> bool:
    a = Value(1.0)
    y = a * 2.0
    return not y.is_leaf() and y.parents[0] is a


def test_no_grad_in_one_thread_does_not_stop_another_thread_recording():
    inside, done = threading.Event(), threading.Event()
    seen = {}

    def a():
        with no_grad():
            inside.set()
            assert done.wait(10)
            seen["a_leaf"] = (Value(1.0) * 2.0).is_leaf()

    def b():
        assert inside.wait(10)
        w = Value(3.0)
        loss = w * w
        seen["b_enabled"] = engine.is_grad_enabled()
        loss.backward()
        seen["b_grad"] = w.grad
        done.set()

    _run_threads(a, b)
    assert seen == {"a_leaf": True, "b_enabled": True, "b_grad": 6.0}


def test_interleaved_no_grad_blocks_in_two_threads_restore_recording_everywhere():
    # A enters, B enters, A leaves, B leaves: the order that left recording off for good.
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def a():
        with no_grad():
            a_in.set()
            assert b_in.wait(10)
        seen["a_after"] = engine.is_grad_enabled() and _records()
        a_out.set()

    def b():
        assert a_in.wait(10)
        with no_grad():
            b_in.set()
            assert a_out.wait(10)
            seen["b_inside"] = engine.is_grad_enabled()
        seen["b_after"] = engine.is_grad_enabled() and _records()

    _run_threads(a, b)
    assert seen == {"a_after": True, "b_inside": False, "b_after": True}
    assert engine.is_grad_enabled() and _records()
    assert _mode[0] == 1  # the fast path is back


def test_enable_grad_in_one_thread_does_not_turn_recording_on_in_another():
    inside, done = threading.Event(), threading.Event()
    seen = {}

    def a():
        with no_grad():
            inside.set()
            assert done.wait(10)
            seen["a_leaf"] = (Value(1.0) + 1.0).is_leaf()
            seen["a_enabled"] = engine.is_grad_enabled()

    def b():
        assert inside.wait(10)
        with no_grad(), engine.enable_grad():
            seen["b_records"] = _records()
        done.set()

    _run_threads(a, b)
    assert seen == {"a_leaf": True, "a_enabled": False, "b_records": True}
    assert _mode[0] == 1


def test_a_new_thread_starts_with_recording_on_even_inside_no_grad():
    seen = {}
    with no_grad():
        _run_threads(lambda: seen.setdefault("records", _records()))
        assert (Value(1.0) * 2.0).is_leaf()
    assert seen == {"records": True}


def test_one_decorated_recursive_function_used_by_two_threads_at_once():
    barrier = threading.Barrier(2)

    @no_grad()
    def depth(n):
        assert not engine.is_grad_enabled()
        if n == 3:
            barrier.wait(10)  # both threads are three levels deep in the same object
        return 0 if n == 0 else 1 + depth(n - 1)

    results = []

    def call():
        results.append(depth(6))
        results.append(engine.is_grad_enabled() and _records())

    _run_threads(call, call)
    assert results == [6, True, 6, True]
    assert _mode[0] == 1


def test_one_no_grad_object_shared_by_two_threads_with_interleaved_blocks():
    switch = no_grad()
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def a():
        with engine.enable_grad():
            with switch:
                a_in.set()
                assert b_in.wait(10)
            seen["a_after"] = engine.is_grad_enabled()
            a_out.set()

    def b():
        assert a_in.wait(10)
        with no_grad():
            with switch:
                b_in.set()
                assert a_out.wait(10)
            seen["b_after"] = engine.is_grad_enabled()  # still inside b's own no_grad()

    _run_threads(a, b)
    assert seen == {"a_after": True, "b_after": False}
    assert engine.is_grad_enabled() and _mode[0] == 1


def test_interleaved_detect_anomaly_blocks_in_two_threads_switch_it_off_at_the_end():
    # Anomaly mode is process-wide, as in PyTorch, but interleaved blocks must not leave it on.
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def a():
        with engine.detect_anomaly():
            a_in.set()
            assert b_in.wait(10)
        a_out.set()

    def b():
        assert a_in.wait(10)
        with engine.detect_anomaly():
            b_in.set()
            assert a_out.wait(10)
            seen["b_inside"] = engine.is_anomaly_enabled()

    _run_threads(a, b)
    assert seen == {"b_inside": True}
    assert not engine.is_anomaly_enabled()
    assert (Value(1.0) * 2.0)._origin is None and _mode[0] == 1


def test_detect_anomaly_is_process_wide_and_no_grad_stays_per_thread_under_it():
    inside, done = threading.Event(), threading.Event()
    seen = {}

    def a():
        with engine.detect_anomaly(), no_grad():
            inside.set()
            assert done.wait(10)

    def b():
        assert inside.wait(10)
        y = Value(2.0) * 3.0
        seen["anomaly"] = engine.is_anomaly_enabled()
        seen["origin"] = y._origin is not None and "Value(2.0) * 3.0" in y._origin
        seen["records"] = not y.is_leaf()
        done.set()

    _run_threads(a, b)
    assert seen == {"anomaly": True, "origin": True, "records": True}
    assert not engine.is_anomaly_enabled() and _mode[0] == 1


def test_training_in_one_thread_while_another_toggles_no_grad_gives_every_step_its_gradient():
    stop = threading.Event()
    wrong = []

    def toggler():
        while not stop.is_set():
            with no_grad():
                Value(1.0) * 2.0

    def trainer():
        try:
            for _ in range(300):
                w = Value(0.5)
                loss = (w * 3.0 - 1.0) ** 2
                loss.backward()
                if w.grad != 2 * (0.5 * 3.0 - 1.0) * 3.0:
                    wrong.append(w.grad)
        finally:
            stop.set()

    _run_threads(toggler, trainer)
    assert wrong == []
    assert _mode[0] == 1


def test_backward_on_separate_graphs_in_threads_with_hooks_added_and_removed():
    # The hook counter decides the fast path: it must not lose counts to a race.
    barrier = threading.Barrier(2)
    grads = {}

    def worker(k):
        def run():
            barrier.wait(10)
            for _ in range(2000):
                x = Value(float(k + 1))
                with x.register_hook(lambda g: g * 2.0):
                    (x * x).backward()
                if x.grad != 4.0 * (k + 1):
                    grads.setdefault(k, x.grad)
            y = Value(1.0)
            y.register_hook(lambda g: g * 10.0)
            (y * 1.0).backward()
            grads.setdefault(f"hooked{k}", y.grad)

        return run

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible, to give a race its chance
    try:
        _run_threads(worker(0), worker(1))
    finally:
        sys.setswitchinterval(interval)
    assert grads == {"hooked0": 10.0, "hooked1": 10.0}


# ---------------------------------------------------------------- a backward pass that fails fails cleanly


def test_a_power_whose_derivative_overflows_gives_pytorchs_infinity_instead_of_raising():
    a, b = Value(1.0), Value(1e-120)
    loss = b**-2.0 + a * 3.0
    loss.backward()  # d/db = -2 * b**-3 = -2 * 1e360: -inf in PyTorch
    assert (a.grad, b.grad) == (3.0, -math.inf)

    x = Value(1e-155)
    (x**-1).backward()
    assert x.grad == -math.inf

    x = Value(-1e-120)
    (x**-2).backward()  # -2 * (-1e-120)**-3 = -2 * -inf
    assert x.grad == math.inf

    x, e = Value(5e-324), Value(0.0)
    (x**e).backward()  # an exponent of 0 gives a zero derivative in the base, as in PyTorch
    assert (x.grad, e.grad) == (0.0, math.log(5e-324))

    x, e = Value(1e-155), Value(-1.0)
    (x**e).backward()
    assert (x.grad, e.grad) == (-math.inf, 1e-155**-1.0 * math.log(1e-155))


def _graph_with_grads():
    a, b = Value(1.0, label="a"), Value(1e-120, label="b")
    mid = b**-2.0
    loss = mid + a * 3.0
    a.grad, b.grad, mid.grad, loss.grad = 0.25, -7.0, 11.0, 13.0
    nodes = engine.topological_order(loss)
    return loss, nodes, [n.grad for n in nodes]


def test_under_detect_anomaly_the_overflowing_derivative_is_named_and_no_grad_changes():
    with engine.detect_anomaly():
        loss, nodes, before = _graph_with_grads()
        with pytest.raises(FloatingPointError, match=r"backward of '\*\*-2' created at .*b\*\*-2\.0"):
            loss.backward()
    assert [n.grad for n in nodes] == before


def test_a_hook_that_raises_half_way_leaves_every_grad_as_it_was():
    loss, nodes, before = _graph_with_grads()
    a = next(n for n in nodes if n.label == "a")

    def boom(g):
        raise RuntimeError("hook refused")

    with a.register_hook(boom), pytest.raises(RuntimeError, match="hook refused"):
        loss.backward()
    assert [n.grad for n in nodes] == before


def test_a_hook_returning_a_string_is_named_and_leaves_every_grad_as_it_was():
    loss, nodes, before = _graph_with_grads()
    mid = loss.parents[0]
    with mid.register_hook(lambda g: "oops"), pytest.raises(TypeError, match=r"'\*\*-2'"):
        loss.backward()
    assert [n.grad for n in nodes] == before


def test_create_graph_through_an_overflowing_derivative_names_it_and_leaves_every_grad():
    x = Value(1e-155, label="x")
    y = x**-1
    x.grad, y.grad = 0.5, 2.0
    with pytest.raises(OverflowError, match=r"backward of '\*\*-1' 'y'|backward of '\*\*-1'"):
        y.backward(create_graph=True)
    assert (x.grad, y.grad) == (0.5, 2.0)


def test_engine_grad_gives_the_same_infinity_as_backward():
    b = Value(1e-120)
    assert engine.grad(b**-2.0, [b]) == (-math.inf,)


# ---------------------------------------------------------------- NaN, inf and -0.0 go where PyTorch sends them


def _power(v, n):
    return v**n


SPECIAL = [math.nan, math.inf, -math.inf, 0.0, -0.0, 1.0, -1.0, 2.5, 1e-300]

UNARY = {
    "neg": (lambda v: -v, lambda t: -t),
    "abs": (abs, lambda t: t.abs()),
    "relu": (lambda v: v.relu(), lambda t: t.relu()),
    "leaky_relu": (lambda v: v.leaky_relu(0.01), lambda t: __import__("torch").nn.functional.leaky_relu(t, 0.01)),
    "tanh": (lambda v: v.tanh(), lambda t: t.tanh()),
    "sigmoid": (lambda v: v.sigmoid(), lambda t: t.sigmoid()),
    "exp": (lambda v: v.exp(), lambda t: t.exp()),
    "log": (lambda v: v.log(), lambda t: t.log()),
    "sqrt": (lambda v: v.sqrt(), lambda t: t.sqrt()),
    "sin": (lambda v: v.sin(), lambda t: t.sin()),
    "cos": (lambda v: v.cos(), lambda t: t.cos()),
    **{f"**{n:g}": (partial(_power, n=n),) * 2 for n in (0.0, 1.0, 2.0, 3.0, 0.5, -1.0, -2.0, 2.5, -0.5)},
}
BINARY = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "**": lambda a, b: a**b,
}


def _refused(op: str, x: float, y: float | None = None) -> bool:
    """The inputs the engine refuses on purpose (README, 'Bad input fails loudly')."""
    if op == "log":
        return not x > 0.0 and not math.isnan(x)
    if op in ("sqrt", "**0.5", "**2.5", "**-0.5") and x < 0.0:
        return True
    if op in ("sin", "cos"):
        return math.isinf(x)
    if op.startswith("**") and op != "**":
        n = float(op[2:])
        return x == 0.0 and n < 0.0
    if op == "/":
        return y == 0.0
    if op == "**":
        return (x < 0.0 and not float(y).is_integer()) or (x == 0.0 and y < 0.0)
    return False


def _same(e: float, t: float, signed_zero: bool) -> bool:
    """Equal NaN-ness, infinities and zeros (with their sign if asked); other numbers to rounding."""
    if math.isnan(e) or math.isnan(t):
        return math.isnan(e) and math.isnan(t)
    if math.isinf(e) or math.isinf(t) or e == 0.0 or t == 0.0:
        return e == t and (not signed_zero or math.copysign(1.0, e) == math.copysign(1.0, t))
    return math.isclose(e, t, rel_tol=1e-14)  # two implementations may differ in the last bit


def _against_torch(op, f_engine, f_torch, args):
    torch = pytest.importorskip("torch")
    xs = [Value(a) for a in args]
    ts = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in args]
    if _refused(op, *args):
        with pytest.raises((ValueError, ZeroDivisionError), match=re.escape(op.split("*")[0] or op)):
            f_engine(*xs)
        return
    r = f_torch(*ts)
    r.backward()
    if math.isinf(r.item()) and all(math.isfinite(a) for a in args):
        with pytest.raises(OverflowError, match=re.escape(op)):  # too large for a float: refused (README)
            f_engine(*xs)
        return
    y = f_engine(*xs)
    assert _same(y.data, r.item(), signed_zero=True), (op, args, y.data, r.item())
    y.backward()
    # Gradients start at 0.0 and are sums, so -0.0 from PyTorch reads 0.0 here (README).
    for x, t in zip(xs, ts, strict=True):
        assert _same(x.grad, t.grad.item(), signed_zero=False), (op, args, x.grad, t.grad.item())


@pytest.mark.parametrize("x", SPECIAL, ids=repr)
@pytest.mark.parametrize("op", list(UNARY))
def test_every_unary_operation_matches_pytorch_float64_at_nan_inf_and_signed_zero(op, x):
    _against_torch(op, UNARY[op][0], UNARY[op][1], [x])


@pytest.mark.parametrize("y", SPECIAL, ids=repr)
@pytest.mark.parametrize("x", SPECIAL, ids=repr)
@pytest.mark.parametrize("op", list(BINARY))
def test_every_binary_operation_matches_pytorch_float64_at_nan_inf_and_signed_zero(op, x, y):
    _against_torch(op, BINARY[op], BINARY[op], [x, y])


def test_an_mlp_given_a_nan_input_returns_nan():
    import nn

    model = nn.MLP(2, [4, 4, 1], seed=0)
    assert math.isnan(model([math.nan, 0.5]).data)


# ---------------------------------------------------------------- clear errors

HUGE = 10**400
FORMS = {
    "+": [lambda a: a + HUGE, lambda a: HUGE + a],
    "-": [lambda a: a - HUGE, lambda a: HUGE - a],
    "*": [lambda a: a * HUGE, lambda a: HUGE * a],
    "/": [lambda a: a / HUGE, lambda a: HUGE / a],
    "**": [lambda a: a**HUGE, lambda a: HUGE**a],
}


@pytest.mark.parametrize("form", [0, 1], ids=["value-first", "reflected"])
@pytest.mark.parametrize("op", list(FORMS))
def test_a_huge_int_operand_is_refused_naming_the_operation(op, form):
    a = Value(2.0)
    with pytest.raises(OverflowError, match=rf"^{re.escape(op)}.*int .*too large for a float"):
        FORMS[op][form](a)


@pytest.mark.parametrize("name", ["relu", "tanh", "sigmoid", "exp", "log", "sqrt", "sin", "cos", "leaky_relu"])
def test_a_huge_int_given_to_an_engine_function_is_refused_naming_it(name):
    with pytest.raises(OverflowError, match=rf"^{name}"):
        getattr(engine, name)(HUGE)
    with pytest.raises(OverflowError, match="leaky_relu slope"):
        Value(1.0).leaky_relu(HUGE)


@pytest.mark.parametrize("label", [None, 3, b"a", ["a"]], ids=repr)
def test_a_label_that_is_not_a_string_is_refused_at_once(label):
    with pytest.raises(TypeError, match=r"Value: label must be a str, got"):
        Value(1.0, label=label)


def test_float_int_and_bool_of_a_value_are_those_of_its_data_as_for_a_pytorch_scalar():
    assert float(Value(2.5)) == 2.5 and type(float(Value(2.5))) is float
    assert int(Value(2.7)) == 2 and int(Value(-2.7)) == -2
    with pytest.raises(ValueError):
        int(Value(math.nan))
    with pytest.raises(OverflowError):
        int(Value(math.inf))
    assert [bool(Value(x)) for x in (0.0, -0.0, 1e-300, math.nan, -1.0)] == [False, False, True, True, True]
    # == stays identity and Values still hash by identity
    a, b = Value(0.0), Value(0.0)
    assert a != b and a == a and len({a, b}) == 2


def test_a_zero_value_in_the_graph_or_as_a_gradient_changes_nothing():
    # Code that tests a Value for truth would now see 0.0 as False: the engine must not do that.
    x = Value(0.0)
    y = x * x + x.relu() + abs(x)
    y.backward(create_graph=True)
    assert type(x.grad) is Value and x.grad.data == 0.0  # 2x + relu'(0) + |x|'(0), all 0 at 0
    (g,) = engine.grad(x * 0.0, [x], grad_outputs=Value(0.0), create_graph=True)
    assert g.data == 0.0
    text = engine.explain(Value(0.0, label="z") * 2.0)
    assert "z" in text


# ---------------------------------------------------------------- whether a gradient is used depends on the graph


@pytest.mark.parametrize("x0", [-0.5, 0.0, 0.5])
@pytest.mark.parametrize(
    "f", [lambda x: x.relu() ** 2, lambda x: abs(x) * x, lambda x: x.relu() * x], ids=["relu**2", "abs*x", "relu*x"]
)
def test_a_first_derivative_depends_on_x_through_its_graph_whatever_x_is(f, x0):
    x = Value(x0)
    (d,) = engine.grad(f(x), [x], create_graph=True)
    (dd,) = engine.grad(d, [x])  # no allow_unused error at any x
    h = 1e-6
    x1, x2 = Value(x0 + h), Value(x0 - h)
    fd = (engine.grad(f(x1), [x1])[0] - engine.grad(f(x2), [x2])[0]) / (2 * h)
    if x0 != 0.0:
        assert dd == pytest.approx(fd, abs=1e-6)


# ---------------------------------------------------------------- losses at extreme logits

try:
    import torch
except ImportError:  # the closed forms below stand in for PyTorch
    torch = None

EXTREME = st.floats(-1e300, 1e300, allow_nan=False, allow_infinity=False)


def _grads_of(loss_fn, xs):
    vs = [Value(x) for x in xs]
    loss = loss_fn(vs)
    loss.backward()
    return loss.data, [v.grad for v in vs]


def _cross_entropy_reference(z: list[float], k: int) -> tuple[float, list[float]]:
    if torch is not None:
        t = torch.tensor([z], dtype=torch.float64, requires_grad=True)
        loss = torch.nn.functional.cross_entropy(t, torch.tensor([k]))
        loss.backward()
        return loss.item(), t.grad[0].tolist()
    m = max(z)
    total = sum(math.exp(zj - m) for zj in z)
    softmax = [math.exp(zj - m) / total for zj in z]
    return m + math.log(total) - z[k], [p - (j == k) for j, p in enumerate(softmax)]


def _bce_reference(z: list[float], y: list[float]) -> tuple[float, list[float]]:
    if torch is not None:
        t = torch.tensor(z, dtype=torch.float64, requires_grad=True)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(t, torch.tensor(y, dtype=torch.float64))
        loss.backward()
        return loss.item(), t.grad.tolist()
    n = len(z)
    terms = [max(zi, 0.0) - zi * yi + math.log1p(math.exp(-abs(zi))) for zi, yi in zip(z, y, strict=True)]
    sig = [1 / (1 + math.exp(-zi)) if zi >= 0 else math.exp(zi) / (1 + math.exp(zi)) for zi in z]
    return sum(terms) / n, [(s - yi) / n for s, yi in zip(sig, y, strict=True)]


def _hinge_reference(s: list[float], y: list[int]) -> tuple[float, list[float]]:
    if torch is not None:
        t = torch.tensor(s, dtype=torch.float64, requires_grad=True)
        loss = torch.relu(1.0 - torch.tensor(y, dtype=torch.float64) * t).mean()
        loss.backward()
        return loss.item(), t.grad.tolist()
    n = len(s)
    return sum(max(0.0, 1.0 - yi * si) for si, yi in zip(s, y, strict=True)) / n, [
        (-yi / n if 1.0 - yi * si > 0.0 else 0.0) for si, yi in zip(s, y, strict=True)
    ]


def _close(ours: tuple[float, list[float]], theirs: tuple[float, list[float]], inputs: list[float]) -> None:
    """Equal up to a few roundings at the scale of the inputs (two formulas round differently)."""
    assert math.isfinite(ours[0])
    scale = max(1.0, *map(abs, inputs))
    assert ours[0] == pytest.approx(theirs[0], rel=1e-12, abs=4e-16 * scale)
    assert ours[1] == pytest.approx(theirs[1], rel=1e-9, abs=1e-12)


def test_cross_entropy_at_logits_around_1e19_is_finite_and_pytorchs():
    z = [-7.07e18, -5.13e18, 6.88e18]
    ours = _grads_of(lambda vs: nn.cross_entropy(vs, 1), z)
    assert ours == (1.201e19, [0.0, -1.0, 1.0])
    _close(ours, _cross_entropy_reference(z, 1), z)


@pytest.mark.parametrize("big", [1e300, 1e308, 8.98e307])
def test_cross_entropy_at_the_edge_of_the_floats(big):
    # a + b, a - b and |a - b| overflow here; the halves do not
    ours = _grads_of(lambda vs: nn.cross_entropy(vs, 0), [big, -big * 0.5, 0.0])
    assert ours == (0.0, [0.0, 0.0, 0.0])
    ours = _grads_of(lambda vs: nn.cross_entropy(vs, 0), [big, big, 0.0])
    assert ours == (math.log(2.0), [-0.5, 0.5, 0.0])


@settings(max_examples=200, deadline=None)
@given(st.lists(EXTREME, min_size=1, max_size=5), st.data())
def test_cross_entropy_matches_pytorch_for_any_logits_up_to_1e300(z, data):
    k = data.draw(st.integers(0, len(z) - 1))
    _close(_grads_of(lambda vs: nn.cross_entropy(vs, k), z), _cross_entropy_reference(z, k), z)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(EXTREME, st.floats(0.0, 1.0)), min_size=1, max_size=5))
def test_bce_with_logits_matches_pytorch_for_any_logits_up_to_1e300(pairs):
    z, y = [p[0] for p in pairs], [p[1] for p in pairs]
    _close(_grads_of(lambda vs: nn.bce_with_logits(vs, y), z), _bce_reference(z, y), z)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(EXTREME, st.sampled_from([-1, 1])), min_size=1, max_size=5))
def test_hinge_loss_matches_pytorch_for_any_scores_up_to_1e300(pairs):
    s, y = [p[0] for p in pairs], [p[1] for p in pairs]
    _close(_grads_of(lambda vs: nn.hinge_loss(vs, y), s), _hinge_reference(s, y), s)


def test_the_cross_entropy_graph_is_the_same_whatever_the_logits():
    def shape(z):
        return [n.op for n in engine.topological_order(nn.cross_entropy([Value(x) for x in z], 1))]

    assert shape([-7.07e18, -5.13e18, 6.88e18]) == shape([0.1, 0.2, 0.3]) == shape([1e300, -1e300, 0.0])


def _huge_int_callers():
    x = Value(1.0)
    return {
        "grad: grad_outputs": lambda: engine.grad(x * 2, [x], grad_outputs=HUGE),
        "gradcheck: input 0": lambda: engine.gradcheck(lambda a: a * 2, [HUGE]),
        "backward grad": lambda: (x * 2).backward(HUGE),
        "hinge_loss: label 0": lambda: nn.hinge_loss([x], [HUGE]),
        "mse_loss: target 0": lambda: nn.mse_loss([x], [HUGE]),
        "bce_with_logits: target 0": lambda: nn.bce_with_logits([x], [HUGE]),
        "l2_penalty: alpha": lambda: nn.l2_penalty([x], HUGE),
        "cross_entropy: logit 0 of example 0": lambda: nn.cross_entropy([HUGE, 1.0], 0),
    }


@pytest.mark.parametrize("where", list(_huge_int_callers()))
def test_a_huge_int_anywhere_else_is_refused_naming_where_it_went(where):
    with pytest.raises(OverflowError, match=rf"^{re.escape(where)}.*too large for a float"):
        _huge_int_callers()[where]()
