"""engine.compile: a recorded graph, replayed on floats, gives backward()'s numbers to the last bit."""

import inspect
import math
import re
import struct
import traceback
import warnings
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from strategies import examples, expressions, reals

import engine
import engine.replay as replay
import engine.replay.pieces as pieces
import engine.replay.straight as straight
import nn
from engine import Value
from engine.replay.steps import ForwardGroup, StraightRun


def bits(xs):
    """Exact bit patterns, so -0.0 != 0.0 and NaN == NaN of the same payload."""
    return [struct.pack("<d", x) for x in xs]


def object_engine(fn, leaves, *args):
    """Loss and leaf gradients from a fresh graph and backward(), as the reference."""
    for v in leaves:
        v.grad = 0.0
    result = fn(*args)
    loss = result[0] if isinstance(result, tuple) else result
    loss.backward()
    grads = [v.grad for v in leaves]
    for v in leaves:
        v.grad = 0.0
    return loss.data, grads


def replayed(step, leaves, *args):
    for v in leaves:
        v.grad = 0.0
    out = step(*args)
    grads = [v.grad for v in leaves]
    for v in leaves:
        v.grad = 0.0
    return out[0] if isinstance(out, tuple) else out, grads


@pytest.fixture(params=["kernels", "groups only", "group steps"])
def mode(request, monkeypatch):
    """Run each test with repeated pieces compiled to kernels, with every node in the grouped plan (as
    straight-line code), and with every node in the grouped plan run by the group steps."""
    if request.param == "kernels":
        monkeypatch.setattr(pieces, "MIN_NODES", 2)
    else:
        monkeypatch.setattr(pieces, "MAX_NODES", 0)
    if request.param == "group steps":
        monkeypatch.setattr(straight, "MAX_NODES", 0)
    else:
        monkeypatch.setattr(straight, "MIN_RUN", 1)  # every run of small groups as straight code
    return request.param


# ---------------------------------------------------------------- random graphs


@examples(60)
@given(
    expression=expressions(max_inputs=3, max_steps=12),
    copies=st.integers(1, 4),
    points=st.lists(st.lists(reals(-2.0, 2.0), min_size=12, max_size=12), min_size=2, max_size=2),
)
def test_random_graphs_replay_exactly(expression, copies, points):
    """The same random DAG applied to several copies of its inputs (sharing the first), summed."""
    n = expression.n_inputs
    shared = Value(0.0, label="shared")
    rows = [[Value(0.0) for _ in range(n - 1)] for _ in range(copies)]
    leaves = [shared] + [v for row in rows for v in row]

    def fn():
        total = None
        for row in rows:
            out, _ = expression.build([shared, *row])
            total = out if total is None else total + out
        return total

    def set_point(point):
        for v, x in zip(leaves, point, strict=False):
            v.data = x

    for mode in ("kernels", "groups only", "group steps"):
        limits = (2, 5000) if mode == "kernels" else (8, 0)
        saved = pieces.MIN_NODES, pieces.MAX_NODES, straight.MAX_NODES, straight.MIN_RUN
        pieces.MIN_NODES, pieces.MAX_NODES = limits
        straight.MAX_NODES, straight.MIN_RUN = (0, saved[3]) if mode == "group steps" else (saved[2], 1)
        try:
            step = engine.compile(fn)
            for k, point in enumerate(points):
                set_point(point)
                try:
                    expected_loss, expected = object_engine(fn, leaves)
                except (ValueError, ArithmeticError):
                    assume(k > 0)  # a domain error at the second point ends the comparison there
                    break
                assume(math.isfinite(expected_loss))
                loss, grads = replayed(step, leaves)
                assert bits([loss]) == bits([expected_loss]), f"{mode}, point {k}\n{expression}"
                assert bits(grads) == bits(expected), f"{mode}, point {k}\n{expression}"
        finally:
            pieces.MIN_NODES, pieces.MAX_NODES, straight.MAX_NODES, straight.MIN_RUN = saved


# ---------------------------------------------------------------- networks and losses


def moons_loss(model, X, y):
    return nn.hinge_loss([model(x) for x in X], y) + nn.l2_penalty(model.parameters(), 1e-4)


LOSSES = {
    "hinge + l2": (lambda: nn.make_moons(24, noise=0.1, seed=1), moons_loss),
    "mse": (
        lambda: nn.make_moons(24, noise=0.1, seed=2),
        lambda model, X, y: nn.mse_loss([model(x) for x in X], y),
    ),
    "bce": (
        lambda: nn.make_circles(24, seed=3, labels="01"),
        lambda model, X, y: nn.bce_with_logits([model(x) for x in X], y),
    ),
}


@pytest.mark.parametrize("shape", [[1], [4, 1], [8, 8, 1], [5, 3, 2, 1]])
@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
@pytest.mark.parametrize("loss_name", sorted(LOSSES))
def test_networks_and_losses_train_identically(mode, shape, activation, loss_name):
    """Five SGD steps with and without compile: the same losses and parameters, bit for bit."""
    data, loss_of = LOSSES[loss_name]
    X, y = data()
    runs = []
    for compiled in (False, True):
        model = nn.MLP(2, shape, activation, seed=7)
        params = model.parameters()
        optimizer = nn.SGD(params, lr=0.3, momentum=0.5)
        fn = lambda: loss_of(model, X, y)  # noqa: B023 (each run uses its own model)
        step = engine.compile(fn) if compiled else None
        losses = []
        for _ in range(5):
            optimizer.zero_grad()
            if step is None:
                loss = fn()
                loss.backward()
                losses.append(loss.data)
            else:
                losses.append(step())
            optimizer.step()
        runs.append((bits(losses), bits([p.data for p in params])))
    assert runs[0] == runs[1]


def test_cross_entropy_over_three_classes(mode):
    X, y = nn.make_spirals(30, classes=3, seed=0)
    model = nn.MLP(2, [8, 3], "tanh", seed=2)
    params = model.parameters()

    def fn():
        return nn.cross_entropy([model(x) for x in X], y)

    step = engine.compile(fn)
    step()
    if mode == "kernels":  # the class index is a leaf of each example's piece: one shape for every class
        assert (step.plan.n_pieces, step.plan.n_kernels) == (90, 1)
    for _ in range(4):
        expected = object_engine(fn, params)
        assert bits([replayed(step, params)[0]]) == bits([expected[0]])
        assert bits(replayed(step, params)[1]) == bits(expected[1])
        for p in params:  # move the parameters: the next replay must see the new values
            p.data += 0.25 * math.sin(p.data * 7.0)


def test_kernels_are_found_for_a_network_applied_to_many_examples():
    X, y = nn.make_moons(40, seed=0)
    model = nn.MLP(2, [6, 6, 1], seed=0)
    step = engine.compile(lambda: moons_loss(model, X, y))
    step()
    assert step.plan.n_pieces == 40 and step.plan.n_kernels == 1
    assert "40 repeated pieces in 1 kernel(s)" in repr(step)


def test_extra_outputs_inside_pieces_are_returned():
    """Asking for the scores keeps them visible: the pieces stop at each score, and results stay exact."""
    X, y = nn.make_moons(20, seed=4)
    model = nn.MLP(2, [6, 1], seed=3)
    params = model.parameters()

    def fn():
        scores = [model(x) for x in X]
        return moons_loss_from(scores, y, params), scores

    step = engine.compile(fn)
    loss, scores = step()
    assert isinstance(scores, list) and len(scores) == 20 and all(type(s) is float for s in scores)
    for p in params:
        p.data *= 1.1
        p.grad = 0.0
    loss, scores = step()
    reference = [model(x).data for x in X]
    assert bits(scores) == bits(reference)
    assert step.plan.n_pieces == 20


def moons_loss_from(scores, y, params):
    return nn.hinge_loss(scores, y) + nn.l2_penalty(params, 1e-4)


def test_inputs_given_as_numbers_change_between_calls(mode):
    model = nn.MLP(2, [4, 1], seed=1)
    params = model.parameters()

    def fn(points):
        return nn.mse_loss([model(p) for p in points], [0.5, -0.5, 1.0])

    step = engine.compile(fn)
    first = [[0.1, 0.2], [0.3, -0.4], [1.0, 1.0]]
    second = [[-0.7, 0.2], [0.9, 0.4], [0.0, 2.0]]
    step(first)
    for p in params:
        p.grad = 0.0
    loss, grads = replayed(step, params, second)
    expected = object_engine(fn, params, second)
    assert bits([loss]) == bits([expected[0]]) and bits(grads) == bits(expected[1])


def test_leaf_gradients_accumulate_like_backward():
    a, b = Value(1.5), Value(-2.0)
    step = engine.compile(lambda: (a * b).tanh() + a)
    step()
    once = a.grad, b.grad
    step()
    assert (a.grad, b.grad) == (2 * once[0], 2 * once[1])


# ---------------------------------------------------------------- kinks and zeros


def test_an_overflow_that_relu_absorbs_raises_as_the_object_engine_does(mode):
    """relu(-inf) is 0.0: only the check of relu's operands sees that w * x * x overflowed."""
    w, x = Value(1.0), Value(1.0)

    def fn():
        if mode == "kernels":  # copies for kernels
            return sum(((w * x * x).relu() * 0.5 + w for _ in range(3)), Value(0.0))
        return (w * x * x).relu() * 0.5 + w  # a chain of small groups

    step = engine.compile(fn, check_every=0)  # no verification call: the replay alone must see it
    step()
    w.data, x.data = -1.0, 1e200
    with pytest.raises(OverflowError, match=r"\*"):
        fn()
    with pytest.raises(OverflowError, match=r"\*"):
        step()


@pytest.mark.parametrize("op", ["relu", "abs", "leaky_relu"])
def test_kinks_at_exactly_zero(mode, op):
    w = [Value(x) for x in (0.5, -0.25, 1.0, 2.0)]

    def fn():
        terms = []
        for k in range(6):
            z = w[0] * (k - 2.0) + w[1] * (2.0 * (k - 2.0))  # exactly 0 at k = 2
            kinked = abs(z) if op == "abs" else getattr(z, op)()
            terms.append(kinked * w[2] + w[3] * z)
        return nn.mse_loss(terms, [0.0] * 6)

    step = engine.compile(fn)
    expected = object_engine(fn, w)
    loss, grads = replayed(step, w)
    assert bits([loss]) == bits([expected[0]]) and bits(grads) == bits(expected[1])


def test_pieces_whose_relu_is_off_are_skipped_exactly():
    """A hinge term that is 0 passes no gradient: its piece is skipped, the sums do not change."""
    X, y = nn.make_moons(30, seed=2)
    model = nn.MLP(2, [5, 1], seed=5)
    params = model.parameters()
    for p in params:
        p.data *= 4.0  # large margins: most hinge terms are off
    fn = lambda: moons_loss(model, X, y)
    with engine.no_grad():
        off = sum(1 for x, label in zip(X, y, strict=True) if 1.0 - label * model(x).data <= 0.0)
    assert 0 < off < 30
    step = engine.compile(fn)
    step()
    expected = object_engine(fn, params)
    assert bits(replayed(step, params)[1]) == bits(expected[1])


# ---------------------------------------------------------------- what a recording cannot see


def test_a_changed_graph_is_detected_when_checked():
    x = Value(1.0)

    def fn():
        return x * 2.0 if x.data > 0 else (x * 2.0).tanh()

    step = engine.compile(fn, check_every=2)
    step()
    x.data = -1.0
    with pytest.warns(replay.CompileWarning, match=r"x.data > 0"):  # the read is guarded
        assert step() == math.tanh(-2.0)


def test_comparing_values_is_followed():
    a, b = Value(1.0), Value(2.0)
    step = engine.compile(lambda: max(a, b) * 3.0, check_every=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert step() == 6.0  # recording a comparison is no longer a warning: it is guarded
        assert step() == 6.0
    a.data = 5.0  # max now picks the other Value: the guard sees it, the call runs uncompiled
    with pytest.warns(replay.CompileWarning, match="read the number of a Value"):
        assert step() == 15.0
    assert (a.grad, b.grad) == (3.0, 6.0)


def test_a_different_number_of_inputs_is_refused():
    step = engine.compile(lambda xs: sum((Value(1.0) * x for x in xs), Value(0.0)))
    step([1.0, 2.0])
    with pytest.raises(ValueError, match="recorded with 2 numbers, called with 3"):
        step([1.0, 2.0, 3.0])


def test_a_replaced_parameter_is_detected():
    model = nn.MLP(2, [3, 1], seed=0)
    X, y = nn.make_moons(10, seed=0)
    step = engine.compile(lambda: moons_loss(model, X, y))
    step()
    step()
    model.layers[0].neurons[0].w[0] = Value(0.5)  # the old parameter is now held by the recording alone
    with pytest.warns(replay.CompileWarning, match="changed since the recording"):
        loss = step()
    assert loss == moons_loss(model, X, y).data


def test_bad_functions_and_hooks_are_refused():
    with pytest.raises(TypeError, match="expected a function"):
        engine.compile(3)
    with pytest.raises(ValueError, match="check_every"):
        engine.compile(lambda: Value(1.0), check_every=-1)
    with pytest.raises(TypeError, match="must return a Value"):
        engine.compile(lambda: 3.0)()
    a = Value(2.0)
    b = a * a
    b.register_hook(lambda g: g)
    with pytest.raises(ValueError, match="gradient hooks"):
        engine.compile(lambda: b + 1.0)()


def test_errors_during_replay_name_the_problem():
    a, b = Value(1.0), Value(2.0)
    step = engine.compile(lambda: a / b + (a * b).log())
    step(), step(), step()  # calls 2 and 3 are verifications: call 4 replays
    b.data = 0.0
    with pytest.raises(ZeroDivisionError, match="division by zero while replaying"):
        step()
    b.data = -1.0
    with pytest.raises(ValueError, match="log"):
        step()
    big = Value(1e200)
    step = engine.compile(lambda: big * big * 0.0 + big)
    big.data = 1.0
    step(), step(), step()
    big.data = 1e200
    with pytest.raises(OverflowError, match="replayed loss is nan"):
        step()


def test_hooks_added_after_recording_are_refused():
    a = Value(2.0)
    step = engine.compile(lambda: (a * a).tanh())
    step()
    handle = a.register_hook(lambda g: 2 * g)
    with pytest.raises(ValueError, match="gradient hook"):
        step()
    handle.remove()
    a.grad = 0.0
    step()
    assert a.grad == pytest.approx(4.0 * (1 - math.tanh(4.0) ** 2))


def test_no_grad_is_refused_and_anomaly_mode_runs_uncompiled():
    a = Value(0.0)
    step = engine.compile(lambda: (a * 3.0).sqrt() + a)
    with engine.no_grad(), pytest.raises(RuntimeError, match="inside no_grad"):
        step()
    a.data = 1.0
    step()
    a.data = 0.0  # sqrt'(0) is infinite: the replay would just return it, anomaly mode names the line
    with engine.detect_anomaly(), pytest.raises(FloatingPointError, match="sqrt"):
        step()


def test_a_long_chain_runs_uncompiled_and_says_why():
    a, b = Value(0.999), Value(0.001)

    def chain():
        v = Value(0.5)
        for i in range(3000):
            v = v * a if i % 2 == 0 else v + b
        return v

    step = engine.compile(chain)
    expected = object_engine(chain, [a, b])
    for _ in range(2):  # the recording call and a later one
        assert bits(
            list(
                replayed(
                    step,
                    [a, b],
                )
            )[1]
        ) == bits(expected[1])
    assert step.plan is None and "runs uncompiled" in repr(step) and "groups by depth" in repr(step)


def test_input_values_given_later_get_their_own_gradients():
    w = Value(0.7)
    step = engine.compile(lambda xs: nn.mse_loss([(w * x).tanh() for x in xs], [0.1, -0.2]))
    first = [Value(0.5), Value(-1.5)]
    step(first)
    recorded = [x.grad for x in first]
    second = [Value(0.25), Value(2.0)]
    second[0].grad = 10.0  # accumulates, as with backward()
    step(second)
    fresh = [Value(0.25), Value(2.0)]
    fresh[0].grad = 10.0
    nn.mse_loss([(w * x).tanh() for x in fresh], [0.1, -0.2]).backward()
    assert bits([x.grad for x in second]) == bits([x.grad for x in fresh])
    assert [x.grad for x in first] == recorded  # the recorded inputs are left as they were


# ---------------------------------------------------------------- the straight-line code around the kernels


def test_the_nodes_outside_pieces_are_shown_and_traced_as_straight_line_code():
    w = [Value(0.5), Value(2.0)]

    def fn():
        total = Value(0.0)
        for i in range(12):
            total = total + (w[0] * (i + 1.0)).tanh() * w[1]
        return (total + w[0]).log()  # outside every piece: a line of the straight code

    step = engine.compile(fn, check_every=0)
    step()
    runs = [f for f in step.plan.forward_steps + step.plan.backward_steps if type(f) is StraightRun]
    assert len(runs) == 2 and runs[0] is runs[1]  # the chain of sums: one run, forward and backward
    assert len(step.plan.straight) == 1
    code = step.code
    assert "# a run of small groups outside repeated pieces, line by line" in code
    assert inspect.getsource(runs[0].forward) in code and inspect.getsource(runs[0].backward) in code
    compile(code, "<check>", "exec")  # what is shown is valid Python
    w[1].data = -5.0  # log of a negative number, now inside the straight-line forward
    with pytest.raises(ValueError, match="log") as caught:
        step()
    assert "<chainrule straight-line code" in "".join(traceback.format_exception(caught.value))


def straight_line_limits_in_the_docs() -> tuple[int, int, int]:
    """(largest group, shortest run, most nodes) written out, as docs/compile.md states them."""
    text = " ".join((Path(__file__).resolve().parents[2] / "docs" / "compile.md").read_text().split())
    small = re.search(r"runs of groups of at most (\d+) nodes", text)
    shortest = re.search(r"add up to at least (\d+) nodes", text)
    most = re.search(r"up to ([\d,]+) nodes", text)
    assert small and shortest and most, "docs/compile.md no longer states the straight-line code's limits"
    return int(small[1]), int(shortest[1]), int(most[1].replace(",", ""))


def products_then_a_chain_of_sums(products: int, sums: int):
    """A compiled fn: `products` products side by side (one group), then one chain adding them and `sums` more."""
    x = [Value(float(i + 1)) for i in range(products)]
    y = [Value(float(i + 2)) for i in range(products)]
    more = [Value(0.5 * i) for i in range(sums)]

    def fn():
        a = [xi * yi for xi, yi in zip(x, y, strict=True)]
        total = a[0]
        for v in a[1:] + more:
            total = total + v
        return total

    step = engine.compile(fn)
    step()
    step()
    return step


def test_the_straight_line_limits_the_docs_give_are_what_the_plan_does():
    small, shortest, most = straight_line_limits_in_the_docs()
    # one product and shortest - 1 sums: `shortest` nodes in groups of one, written out; one node fewer stays steps
    steps = products_then_a_chain_of_sums(1, shortest - 1).plan.forward_steps
    written_out = [f for f in steps if type(f) is StraightRun]
    assert len(written_out) == 1
    assert not products_then_a_chain_of_sums(1, shortest - 2).plan.straight
    # a group of `small` products joins the run around it; one product more and the group stays a step
    assert len(products_then_a_chain_of_sums(small, shortest).plan.forward_steps) == 1
    steps = products_then_a_chain_of_sums(small + 1, shortest).plan.forward_steps
    assert [type(f) for f in steps] == [ForwardGroup, StraightRun]
    assert most == straight.MAX_NODES  # the budget: a run beyond it stays steps (see straighten)


# ---------------------------------------------------------------- a relu that is off skips the work below it


@pytest.mark.uninterpreted  # it counts the calls of a rule, which the interpreter makes too
def test_a_relu_that_is_off_skips_the_rules_below_it_and_keeps_every_bit():
    """Below a relu that is off every share is a zero, which changes no sum: the kernel skips that
    region (a called rule there is not called), and the numbers are the object engine's."""
    calls: list[float] = []

    def twice_rule(g, out, x):
        calls.append(g)
        if x > 1e300:  # a branch on a number: a rule the kernel cannot read, so it calls it
            return (g * 3.0,)
        return (g * 2.0,)

    twice = engine.operation("twice", lambda x: 2.0 * x, zero_safe=True)(twice_rule)
    w = [Value(0.5), Value(-0.5), Value(0.25)]
    xs = [-2.0, -1.0, -0.5, 0.5, 1.0, 2.0, 3.0, -3.0, 1.5, -1.5]

    def fn():
        return sum((twice(twice(w[0] * x + w[1])).relu() * w[2] + w[2] * x for x in xs), Value(0.0))

    expected = fn()
    expected.backward()
    want = [p.grad for p in w]
    step = engine.compile(fn, check_every=0)
    step()
    for p in w:
        p.grad = 0.0
    assert "if g" in step.code and "= R" in step.code  # the region below each relu, behind its gradient
    calls.clear()
    assert step() == expected.data
    assert bits([p.grad for p in w]) == bits(want)
    on = sum(0.5 * x - 0.5 > 0.0 for x in xs)
    assert 0 < on < len(xs) and len(calls) == 2 * on  # twice's rule runs only where the relu is on


def test_a_gradient_first_set_below_a_relu_that_is_off_is_a_zero_after_it(mode):
    """k feeds u (before the relu's region in the piece's order) and the sums below a relu: its
    first share comes from inside the region, which is skipped when the relu is off."""
    w = [Value(v) for v in (0.5, -0.25, 0.75, 1.5, -1.0, 0.3)]
    xs = [-2.0, -1.0, -0.5, 0.5, 1.0, 2.0, 3.0, -3.0]

    def fn():
        total = Value(0.0)
        for x in xs:
            k = w[0] * x
            u = k * w[5]
            r = ((k + w[1] + w[4]) * w[2]).relu()
            total = total + (u + r)
        return total

    expected = fn()
    expected.backward()
    want = [p.grad for p in w]
    step = engine.compile(fn, check_every=0)
    for p in w:
        p.grad = 0.0
    step()
    for p in w:
        p.grad = 0.0
    assert step() == expected.data
    assert bits([p.grad for p in w]) == bits(want)
    on = [(0.5 * x - 1.25) * 0.75 > 0.0 for x in xs]
    assert any(on) and not all(on)


# ---------------------------------------------------------------- a value read once, by the next expression


def kernel_forward_lines(step):
    code = step.code
    forward = code[code.index("def forward") : code.index("def backward")]
    return [line.strip() for line in forward.splitlines() if line.strip().startswith("n")]


def test_a_dot_product_is_one_expression_of_the_kernel():
    model = nn.MLP(2, [3, 1], seed=7)
    params = model.parameters()
    xs = [[0.5 * i - 2.0, 1.0 - 0.25 * i] for i in range(9)]

    def fn():
        return nn.mse_loss([model(x) for x in xs], [0.1 * i for i in range(9)])

    want = object_engine(fn, params)
    step = engine.compile(fn, check_every=0)
    loss, grads = replayed(step, params)
    assert bits([loss, *grads]) == bits([want[0], *want[1]])
    lines = kernel_forward_lines(step)
    # w0 * x0 + w1 * x1 + b: no line of its own for the products and the partial sum
    assert any(line.count(" + ") == 2 and line.count(" * ") == 2 and "(" not in line for line in lines)
    assert len(lines) < step.plan.n_nodes / len(xs)


def test_a_fused_expression_keeps_every_operations_own_operands():
    # floats do not associate: (a - b) - c and a - (b - c), (a / b) / c and a / (b / c) differ in
    # their bits here, so an expression parsed with a wrong grouping gives other numbers
    w = [Value(1e16), Value(3.0), Value(7.0), Value(0.1)]
    xs = [1.0 + i / 7.0 for i in range(6)]

    def per_example(x):
        a = w[0] - (x - w[1]) - w[2]
        b = (w[3] / (x / w[2])) / (w[1] * x - w[3] * w[3])
        c = w[2] - (w[1] - x * w[3]) + (x + w[0] - w[0])
        return (a - w[0]) * b + c / (x - w[3] / w[1])

    def fn():
        return sum((per_example(x) for x in xs), Value(0.0))

    want = object_engine(fn, w)
    step = engine.compile(fn, check_every=0)
    for _ in range(2):
        loss, grads = replayed(step, w)
        assert bits([loss, *grads]) == bits([want[0], *want[1]])
    assert step.plan.n_kernels == 1
    assert any("- (" in line for line in kernel_forward_lines(step))  # a right operand kept in parentheses


def test_a_long_dot_product_is_cut_into_lines_at_the_nesting_cap():
    from engine.replay import kernels

    n = 120  # five times the cap
    assert n >= 5 * kernels.MAX_NESTING
    w = [Value(0.01 * k - 0.3) for k in range(n)]
    rows = [[((3 * k + j) % 11) / 10.0 for k in range(n)] for j in range(4)]

    def fn():
        return sum((sum((wk * x for wk, x in zip(w, row, strict=True)), Value(0.0)).tanh() for row in rows), Value(0.0))

    want = object_engine(fn, w)
    step = engine.compile(fn, check_every=0)
    loss, grads = replayed(step, w)
    assert bits([loss, *grads]) == bits([want[0], *want[1]])
    lines = kernel_forward_lines(step)
    assert max(line.count(" + ") for line in lines) <= kernels.MAX_NESTING + 1
    assert sum(line.count(" + ") for line in lines) >= n - 1  # all of it fused, in a few lines
