"""An operation a user adds with `engine.operation` works everywhere a built-in one does.

Three operations written here as a learner would write them: softplus (its rule uses the
engine's sigmoid, so it also works on Values), a binary hypot, and a clipped identity whose
rule branches on its operand (so the kernels must call it, and the stepper shows `d out/d a`
unless a formula is given). Each goes through backward(), backward_steps(), explain, draw,
gradcheck, create_graph and engine.compile, and is checked against central finite differences.
"""

import io
import math

import pytest
from hypothesis import given
from strategies import examples, reals

import engine
from engine import Operation, Value, operation


@operation("softplus", lambda x: max(x, 0.0) + math.log1p(math.exp(-abs(x))))
def softplus(g, out, x):
    """log(1 + e**x).   d/dx = sigmoid(x)."""
    return (g * engine.sigmoid(x),)


@operation("hypot", math.hypot)
def hypot(g, out, a, b):
    """sqrt(a**2 + b**2).   d/da = a / out, d/db = b / out."""
    return g * a / out, g * b / out


@operation("clip1", lambda x: min(max(x, -1.0), 1.0))
def clip1(g, out, x):
    """x limited to [-1, 1].   d/dx = 1 inside, 0 outside."""
    return (g if -1.0 < x < 1.0 else 0.0,)


def numeric(f, xs, i, h=1e-6):
    up, down = list(xs), list(xs)
    up[i] += h
    down[i] -= h
    return (f(*up) - f(*down)) / (2 * h)


def test_an_operation_is_an_operation_object_with_its_parts():
    assert isinstance(softplus, Operation)
    assert softplus.name == "softplus" and softplus.arity == 1 and hypot.arity == 2
    assert softplus(0.0) == pytest.approx(math.log(2.0))  # a number gives a float
    y = softplus(Value(0.0))
    assert type(y) is Value and y.op == "softplus" and y.operation is softplus


@given(reals(-4, 4), reals(-4, 4))
@examples(30)
def test_backward_matches_finite_differences(x, z):
    def f(a, b):
        return softplus(hypot(a, b + 5.0) * a - clip1(b * 0.3))

    xs = [Value(x), Value(z)]
    out = f(*xs)
    out.backward()
    floats = lambda a, b: f(Value(a), Value(b)).data  # noqa: E731
    for i, v in enumerate(xs):
        assert v.grad == pytest.approx(numeric(floats, [x, z], i), rel=1e-5, abs=1e-6)


def test_the_stepper_and_explain_show_formulas_read_off_the_rules():
    a, b = Value(0.6, label="a"), Value(-0.8, label="b")
    h = hypot(a, b)
    h.label = "h"
    y = softplus(h)
    y.label = "y"
    steps = list(y.backward_steps())
    assert [s.formula for s in steps[0].shares] == ["sigmoid(h.data)"]
    assert [s.formula for s in steps[1].shares] == ["a.data / h.data", "b.data / h.data"]
    assert steps[0].shares[0].local == pytest.approx(1 / (1 + math.exp(-1.0)))
    text = engine.explain(y, file=io.StringIO())
    assert "softplus(h)" in text and "sigmoid(h.data)" in text


def test_a_rule_that_branches_has_no_formula_unless_given_one():
    a = Value(0.5, label="a")
    y = clip1(a)
    y.label = "y"
    (step,) = list(y.backward_steps())
    assert step.shares[0].formula == "dy/da" and step.shares[0].local == 1.0
    given_one = operation("clip1", clip1.forward, formula=["(-1 < {a}.data < 1)"])(clip1.rule)
    z = given_one(a)
    z.label = "z"
    (step,) = list(z.backward_steps())
    assert step.shares[0].formula == "(-1 < a.data < 1)"


def test_draw_shows_the_operation():
    y = softplus(Value(1.0, label="x"))
    assert 'label="softplus"' in engine.to_dot(y) or "softplus" in engine.to_dot(y)


def test_gradcheck_and_create_graph_second_derivatives():
    f = lambda a, b: softplus(a * b) + hypot(a, b)  # noqa: E731
    assert engine.gradcheck(f, [0.7, -1.3])
    assert engine.gradgradcheck(f, [0.7, -1.3])
    # d2/dx2 softplus(x) = sigmoid(x) * (1 - sigmoid(x)), through create_graph=True
    d2 = engine.derivative(lambda x: softplus(x), n=2)(0.4)
    s = 1 / (1 + math.exp(-0.4))
    assert d2 == pytest.approx(s * (1 - s), rel=1e-12)


def test_a_wrong_user_rule_is_caught_by_gradcheck():
    wrong = operation("softplus2", softplus.forward)(lambda g, out, x: (g * 2.0 * engine.sigmoid(x),))
    assert engine.gradcheck(lambda a: wrong(a), [0.3], raise_exception=False) is False


def test_compile_runs_user_operations_to_the_last_bit():
    params = [Value(w) for w in (0.5, -0.25, 0.75, 0.1, -0.6)]
    xs = [(-1.5 + 0.1 * i, 0.3 * math.sin(i)) for i in range(40)]

    def loss():
        w0, w1, w2, w3, w4 = params
        total = Value(0.0)
        for x, t in xs:
            h = softplus(w0 * x + w1)
            r = hypot(h * w2, t * w3 + w4)
            total = total + clip1(r - h * 0.5) * clip1(r * x)
        return total

    expected = loss()
    expected.backward()
    want = [p.grad for p in params]
    for p in params:
        p.grad = 0.0
    step = engine.compile(loss)
    for _ in range(3):
        for p in params:
            p.grad = 0.0
        got = step()
        assert got == expected.data
        assert [p.grad for p in params] == want
    assert step.plan is not None and step.plan.n_kernels >= 1  # the user ops ran inside a generated loop
    assert softplus.code() == ("{g} * sigmoid({a})",) and clip1.code() is None  # read off, or called


def test_compiled_kernels_can_be_read_and_tracebacks_show_their_lines():
    import inspect
    import traceback

    w = [Value(v) for v in (0.5, 2.0, -0.3, 0.2)]
    xs = [0.1 * i for i in range(1, 30)]

    def loss():
        total = Value(0.0)
        for x in xs:
            h = (w[0] * x + w[1]).log() * w[2] + w[3] * x
            total = total + (h * h + w[0]).tanh() * x
        return total

    step = engine.compile(loss)
    step()
    code = step.code
    assert "def forward(" in code and "def backward(" in code and "# kernel 1: 29 copies" in code
    kernel = step.plan.batches[0]
    assert inspect.getsource(kernel.forward) in code and inspect.getsource(kernel.backward) in code
    compile(code, "<check>", "exec")  # what is shown is valid Python
    w[1].data = -5.0  # log of a negative number, now inside the generated loop
    with pytest.raises(ValueError, match="log") as caught:
        step()
    shown = "".join(traceback.format_exception(caught.value))
    assert "<chainrule kernel" in shown
    failing = [line for line in code.splitlines() if "= F" in line and "log" not in line]
    assert any(line.strip() in shown for line in failing)  # the kernel's own line is in the traceback


def test_operations_named_like_the_kernels_own_variables_still_replay_exactly():
    # `zip` and `g` are names the generated loops use; `twice` is a user op with such a helper
    zip_ = operation("zip", lambda x: 3.0 * x)(lambda g, out, x: (g * 3.0,))
    g_op = operation("g", lambda x: x * x)(lambda g, out, x: (g * 2.0 * x,))
    twice = operation("twice", lambda x: 2.0 * x * x)(lambda g, out, x: (g * g_op(x) / x * 2.0,))
    w = [Value(0.3), Value(-0.7)]

    def loss():
        total = Value(0.0)
        for i in range(30):
            h = zip_(w[0] * (i + 0.5) + w[1]) * w[1]
            total = total + twice(h * w[0] + 1.5) * g_op(h - w[0])
        return total

    expected = loss()
    expected.backward()
    want = [p.grad for p in w]
    for p in w:
        p.grad = 0.0
    step = engine.compile(loss)
    step()
    for p in w:
        p.grad = 0.0
    assert step() == expected.data and [p.grad for p in w] == want
    assert step.plan.n_kernels >= 1
    assert "zip(" in step.code and "F" in step.code  # its own zip, and the clashing operations called
