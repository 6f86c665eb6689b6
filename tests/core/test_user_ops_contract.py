"""A user's operation is as trustworthy as a built-in one, on every path, with any number of inputs.

Operations written as a user would write them, with 1, 2, 3 and 5 inputs, go through backward()
(its fast path and its general one), engine.grad, backward_steps, explain, to_dot(step=), the
HTML stepper page, engine.compile (inside repeated pieces, so kernels are generated for them)
and the draw command's .html output. The cases that went wrong before each have a test here:
brackets dropped from generated code, globals frozen into cached code, complex results, names
that shadowed the kernel's own, a spurious new recording, and a NaN reported as an overflow.
"""

import io
import math
import struct
import warnings

import pytest

import engine
from engine import CompileWarning, Value, operation
from engine.core.hooks import live_hooks
from engine.core.symbolic import outside_read
from engine.see.command import main as draw_main
from engine.see.stepper_page import stepper_html

# ---------------------------------------------------------------- operations of 1, 2, 3 and 5 inputs


@operation("softsign", lambda x: x / (1.0 + abs(x)))
def softsign(g, out, x):
    """x / (1 + |x|).   d/dx = 1 / (1 + |x|)**2."""
    d = 1.0 + abs(x)
    return (g / (d * d),)


@operation("squash", lambda a, b: a / (1.0 + b * b))
def squash(g, out, a, b):
    """a / (1 + b**2).   d/da = 1 / (1 + b**2), d/db = -2ab / (1 + b**2)**2."""
    d = 1.0 + b * b
    return g / d, -g * 2.0 * a * b / (d * d)


@operation("lerp", lambda a, b, t: a + (b - a) * t)
def lerp(g, out, a, b, t):
    """a + (b - a) * t.   d/da = 1 - t, d/db = t, d/dt = b - a."""
    return g * (1.0 - t), g * t, g * (b - a)


@operation("affine5", lambda w0, w1, c, x0, x1: w0 * x0 + w1 * x1 + c)
def affine5(g, out, w0, w1, c, x0, x1):
    """w0 x0 + w1 x1 + c.   d/dw0 = x0, d/dw1 = x1, d/dc = 1, d/dx0 = w0, d/dx1 = w1."""
    return g * x0, g * x1, g, g * w0, g * w1


OPS = {1: softsign, 2: squash, 3: lerp, 5: affine5}


def closed_form(arity, xs):
    """d op / d input, by hand."""
    if arity == 1:
        return [1.0 / (1.0 + abs(xs[0])) ** 2]
    if arity == 2:
        a, b = xs
        return [1.0 / (1.0 + b * b), -2.0 * a * b / (1.0 + b * b) ** 2]
    if arity == 3:
        a, b, t = xs
        return [1.0 - t, t, b - a]
    w0, w1, c, x0, x1 = xs
    return [x0, x1, 1.0, w0, w1]


POINTS = {1: [-0.7], 2: [0.4, -1.3], 3: [0.5, -2.0, 0.3], 5: [0.5, -0.25, 0.1, 1.5, -2.0]}


def graph(arity):
    """The op applied to labelled leaves, then one more node (so it is not the root)."""
    xs = [Value(v, label=f"x{i}") for i, v in enumerate(POINTS[arity])]
    y = OPS[arity](*xs)
    y.label = "y"
    z = y * 2.0
    z.label = "z"
    return xs, y, z


@pytest.mark.parametrize("arity", [1, 2, 3, 5])
def test_backward_fast_and_general_paths_give_the_closed_form(arity):
    want = [2.0 * d for d in closed_form(arity, POINTS[arity])]
    xs, y, z = graph(arity)
    hooks, live_hooks[0] = live_hooks[0], 0  # no hook in this graph, whatever other tests left: the fast path
    try:
        z.backward()
    finally:
        live_hooks[0] += hooks
    assert [x.grad for x in xs] == pytest.approx(want, rel=1e-14)
    xs2, _, z2 = graph(arity)
    with z2.register_hook(lambda g: g):  # a hook sends backward() through ChainRule
        z2.backward()
    assert [x.grad for x in xs2] == [x.grad for x in xs]
    xs3, _, z3 = graph(arity)
    assert list(engine.grad(z3, xs3)) == [x.grad for x in xs]
    assert engine.gradcheck(lambda *v: OPS[arity](*v) * 2.0, POINTS[arity])


@pytest.mark.parametrize("arity", [1, 2, 3, 5])
def test_the_stepper_explain_and_pictures_take_any_number_of_inputs(arity):
    xs, y, z = graph(arity)
    steps = list(z.backward_steps())
    assert len(steps) == 2
    op_step = steps[1]
    assert [s.name for s in op_step.shares] == [f"x{i}" for i in range(arity)]
    for s, want in zip(op_step.shares, closed_form(arity, POINTS[arity]), strict=True):
        assert s.local == pytest.approx(want, rel=1e-14)
        assert "{" not in s.formula and "/d" not in s.formula  # read off the rule, in the graph's names
    assert [x.grad for x in xs] == pytest.approx([2.0 * d for d in closed_form(arity, POINTS[arity])], rel=1e-14)
    text = engine.explain(z, file=io.StringIO())
    assert f"y = {OPS[arity].name}(" in text and op_step.shares[-1].formula in text
    for k in (0, 1, 2):
        assert OPS[arity].name in engine.to_dot(z, step=k)
    page = stepper_html(z)
    assert OPS[arity].name in page and "x0" in page


def test_formulas_of_three_inputs_are_written_in_the_inputs_names():
    _, y, z = graph(3)
    (_, step) = list(z.backward_steps())
    assert [s.formula for s in step.shares] == ["(1 - x2.data)", "x2.data", "(x1.data - x0.data)"]


def loss_over_copies(op, arity, w, rows):
    """A sum over examples of a small network that uses op: every example is a repeated piece."""
    total = Value(0.0)
    for row in rows:
        hidden = [(w[k] * row[k % len(row)] + w[k + 1]).tanh() for k in range(arity)]
        y = op(*hidden)
        total = total + (y * w[0] + 0.25).tanh() * row[0]
    return total


def grads_and_loss(fn, w):
    for p in w:
        p.grad = 0.0
    out = fn()
    if isinstance(out, Value):
        out.backward()
        out = out.data
    return out, [p.grad for p in w]


def bits(x):
    return struct.pack("<d", x)


@pytest.mark.parametrize("arity", [1, 2, 3, 5])
def test_compile_runs_any_arity_inside_generated_kernels_to_the_bit(arity):
    op = OPS[arity]
    w = [Value(0.1 * (k + 1) * (-1) ** k) for k in range(arity + 1)]
    rows = [(0.3 * i - 2.0, math.sin(i)) for i in range(12)]
    expected = grads_and_loss(lambda: loss_over_copies(op, arity, w, rows), w)
    step = engine.compile(lambda: loss_over_copies(op, arity, w, rows))
    for _ in range(3):
        got = grads_and_loss(step, w)
        assert bits(got[0]) == bits(expected[0]) and list(map(bits, got[1])) == list(map(bits, expected[1]))
    assert step.plan is not None and step.plan.n_kernels >= 1 and step.plan.n_pieces >= 10


@pytest.mark.parametrize("arity", [1, 2, 3, 5])
def test_the_draw_command_writes_a_stepper_page_for_any_arity(arity, tmp_path, monkeypatch):
    names = {1: "softsign", 2: "squash", 3: "lerp", 5: "affine5"}
    (tmp_path / f"user_graph_{arity}.py").write_text(
        f"from test_user_ops_contract import graph\ndef loss():\n    return graph({arity})[2]\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(str(__import__("pathlib").Path(__file__).parent))
    out = tmp_path / "steps.html"
    assert draw_main([f"user_graph_{arity}:loss", "-o", str(out)]) == 0
    assert names[arity] in out.read_text()


# ---------------------------------------------------------------- generated code is exact


def test_generated_code_keeps_every_bracket_the_rule_has():
    assert softsign.code() == ("{g} / ((1.0 + {f}({a})) * (1.0 + {f}({a})))".replace("{f}", "abs"),)
    keep = operation("keep", lambda x: x)(lambda g, out, x: (g * (x * x),))
    assert keep.code() == ("{g} * ({a} * {a})",)
    assert keep.formula() == ("{a}.data**2",)  # what a person reads is separate from the code


def test_a_compiled_quotient_by_a_product_gives_the_object_engines_numbers():
    inv_sq = operation("inv_sq", lambda x: 1.0 / (x * x))(lambda g, out, x: (-2.0 * g / (x * x * x),))
    w = [Value(0.8), Value(0.3)]
    rows = [(0.1 * i + 0.5,) for i in range(20)]

    def loss():
        total = Value(0.0)
        for (x,) in rows:
            h = (w[0] * x + w[1]).tanh() + 1.5
            total = total + (softsign(h * w[1]) + inv_sq(h)).tanh() * x
        return total

    expected = grads_and_loss(loss, w)
    step = engine.compile(loss)
    for _ in range(2):
        assert grads_and_loss(step, w) == expected
    assert step.plan.n_kernels >= 1


# ---------------------------------------------------------------- what a rule reads besides its operands

T = 2.0


@operation("scaled", lambda x: T * x)
def scaled(g, out, x):
    """T x, T a module-level number.   d/dx = T."""
    return (g * T,)


class Settings:
    slope = 2.0


SETTINGS = Settings()


@operation("sloped", lambda x: SETTINGS.slope * x)
def sloped(g, out, x):
    """slope x, slope an attribute.   d/dx = slope."""
    return (g * SETTINGS.slope,)


def make_closure_op():
    box = [2.0]

    @operation("boxed", lambda x: box[0] * x)
    def boxed(g, out, x):
        """box[0] x, box a closure.   d/dx = box[0]."""
        return (g * box[0],)

    def set_to(v):
        box[0] = v

    return boxed, set_to


BOXED, SET_BOX = make_closure_op()


def set_t(v):
    global T
    T = v


def set_slope(v):
    SETTINGS.slope = v


READERS = {"global": (scaled, set_t), "attribute": (sloped, set_slope), "closure": (BOXED, SET_BOX)}


@pytest.mark.parametrize("kind", sorted(READERS))
def test_what_a_rule_reads_is_read_again_on_every_path(kind):
    op, set_value = READERS[kind]
    set_value(2.0)
    w = [Value(0.4), Value(-0.3)]
    rows = [(0.2 * i - 1.0,) for i in range(15)]

    def loss(rows=rows):
        total = Value(0.0)
        for (x,) in rows:
            h = (w[0] * x + w[1]).tanh()
            total = total + (op(h * w[0] + 0.5) * w[1]).tanh() * x
        return total

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CompileWarning)  # a reading seen to change may be recorded again
            step = engine.compile(loss)
            assert grads_and_loss(step, w) == grads_and_loss(loss, w)
            assert step.plan.n_kernels >= 1
            set_value(3.0)
            assert grads_and_loss(step, w) == grads_and_loss(loss, w)  # the same recording
            short = rows[:12]
            assert grads_and_loss(lambda: step(), w) == grads_and_loss(lambda: loss(), w)
            fresh = engine.compile(lambda: loss(short))  # a brand-new compile
            set_value(-1.5)
            assert grads_and_loss(fresh, w) == grads_and_loss(lambda: loss(short), w)
            checking = engine.compile(loss, check_every=1)
            grads_and_loss(checking, w)
            set_value(0.75)
            assert grads_and_loss(checking, w) == grads_and_loss(loss, w)
    finally:
        set_value(2.0)


def test_what_counts_as_reading_something_besides_the_operands():
    box = [1.0]
    assert outside_read(lambda x, k=box: k[0] * x) is not None  # a default argument
    assert outside_read(lambda x: box[0] * x) == "box"  # a closure
    assert outside_read(lambda x: T * x) == "T"  # a global number
    assert outside_read(lambda x: SETTINGS.slope * x) == "SETTINGS.slope"  # an attribute
    assert outside_read(lambda x: math.pi * engine.exp(x) + abs(x) * squash(x, x)) is None  # code and constants
    helper = lambda x: x * T  # noqa: E731
    assert outside_read(lambda x: helper(x) + 1.0) == "T"  # through a function of yours


def test_pure_rules_are_still_read_into_code_and_readers_are_called():
    assert softsign.code() is not None and lerp.code() is not None
    assert scaled.code() is None and sloped.code() is None and BOXED.code() is None
    assert scaled.formula() == ("2",) or T != 2.0  # what is shown is read now, at the current T


# ---------------------------------------------------------------- the result checks of the built-ins, on every path


@operation("pow15", lambda x: x**1.5)
def pow15(g, out, x):
    """x ** 1.5.   d/dx = 1.5 x ** 0.5."""
    return (g * 1.5 * x**0.5,)


def test_a_complex_result_is_refused_by_the_function_and_the_method():
    with pytest.raises(ValueError, match=r"pow15: pow15\(-2.0\) has no real value"):
        pow15(Value(-2.0))
    with pytest.raises(ValueError, match=r"pow15: pow15\(-2.0\) has no real value"):
        pow15.method()(Value(1.0) * -2.0)
    with pytest.raises(ValueError, match="pow15"):
        pow15(-2.0)
    with pytest.raises(ValueError, match="no real value"):
        Value(-2.0) ** 1.5  # the built-in says the same kind of thing


def test_a_complex_result_is_refused_in_a_rule_under_create_graph():
    @operation("pow25", lambda x: 0.4 * abs(x) ** 2.5)
    def pow25(g, out, x):
        """0.4 |x| ** 2.5 (its rule, x ** 1.5, is meant for x >= 0)."""
        return (g * pow15(x),)

    for create_graph in (False, True):
        x = Value(-1.0)
        with pytest.raises(ValueError, match="pow15"):
            engine.grad(pow25(x), [x], create_graph=create_graph)
    x = Value(4.0)
    (d,) = engine.grad(pow25(x), [x], create_graph=True)
    assert d.data == 8.0 and engine.grad(d, [x])[0] == 3.0


def test_a_compiled_step_refuses_a_complex_result_as_the_object_engine_does():
    w = [Value(1.0), Value(0.5)]
    rows = [(0.1 * i + 0.2,) for i in range(15)]

    def loss():
        total = Value(0.0)
        for (x,) in rows:
            h = (w[0] * x + w[1]) * 2.0 + 0.5
            total = total + (pow15(h * w[0] + w[1]) * 0.1).tanh() * x
        return total

    step = engine.compile(loss)
    assert grads_and_loss(step, w) == grads_and_loss(loss, w)
    assert step.plan.n_kernels >= 1
    w[1].data = -10.0
    before = [p.grad for p in w]
    with pytest.raises(ValueError, match="pow15.*no real value"):
        loss()
    with pytest.raises(ValueError, match="pow15.*no real value"):
        step()
    assert [p.grad for p in w] == before
    assert all(type(p.grad) is float and type(p.data) is float for p in w)

    shift = Value(1.0)

    def outside_pieces():  # the operation on the sum: the replay's per-operation map runs it
        return pow15(loss() * 0.01 + shift)

    w[1].data = 0.5
    step = engine.compile(outside_pieces)
    assert grads_and_loss(step, w) == grads_and_loss(outside_pieces, w)
    shift.data = -50.0
    before = [p.grad for p in w]
    with pytest.raises(ValueError, match="pow15.*no real value"):
        step()
    assert [p.grad for p in w] == before


@operation("nan_below", lambda x: math.nan if x < 0.0 else x)
def nan_below(g, out, x):
    """x, but NaN below 0."""
    return (g,)


@operation("huge", lambda x: x * 1e300)
def huge(g, out, x):
    """x * 1e300."""
    return (g * 1e300,)


def test_a_nan_from_finite_inputs_is_not_called_an_overflow():
    for apply, x in ((nan_below, Value(-1.0)), (nan_below.method(), Value(-1.0)), (nan_below, -1.0)):
        with pytest.raises(ValueError, match=r"nan_below\(-1.0\) has no real value") as caught:
            apply(x)
        assert "too large" not in str(caught.value)
    assert math.isnan(nan_below(Value(math.nan)).data)  # NaN in, NaN out, as for the built-ins
    with pytest.raises(OverflowError, match="too large for a float"):
        huge(Value(1e10))
    with pytest.raises(OverflowError, match="too large for a float"):
        Value(1e300) * 1e10  # the built-in's words for the same thing


# ---------------------------------------------------------------- names


@pytest.mark.parametrize("name", ["C", "_", "g", "zip", "range", "F0", "R0", "f0", "n0", "a0", "S", "b", "count"])
def test_an_operation_of_any_name_runs_in_a_kernel(name):
    op = operation(name, lambda x: x * 3.0 + 1.0)(lambda g, out, x: (g * 3.0,))
    # an operation whose forward and rule call it, so that the generated code calls it by some name
    user = operation("twice_" + name, lambda x: op(x) * 2.0 - 2.0 - 4.0 * x)(
        lambda g, out, x: (g * op(x) / op(x) * 2.0,)
    )
    w = [Value(0.3), Value(-0.7)]

    def loss():
        total = Value(0.0)
        for i in range(20):
            h = op((w[0] * (i + 0.5) + w[1]).tanh()) * w[1]
            total = total + (user(h * w[0] + 1.5) * op(h)).tanh()
            # copies that read only the shared parameters: the kernel's loop counts with `_`
            k = user(op((w[0] * w[1]).tanh() * w[0]) * w[1])
            total = total + (k * w[0] - w[1]).tanh()
        return total

    expected = grads_and_loss(loss, w)
    step = engine.compile(loss)
    assert grads_and_loss(step, w) == expected and grads_and_loss(step, w) == expected
    assert step.plan.n_kernels >= 1


# ---------------------------------------------------------------- no spurious recording


def test_the_readmes_softplus_compiles_once_without_a_warning():
    @engine.operation("softplus", lambda x: math.log1p(math.exp(x)))
    def softplus(g, out, x):
        """log(1 + e**x).   d/dx = sigmoid(x)."""
        return (g * engine.sigmoid(x),)

    w = [Value(0.5), Value(-0.2)]

    def loss(xs):
        total = Value(0.0)
        for x in xs:
            total = total + ((softplus(w[0] * x + w[1]) * w[0] + 0.5).tanh() * w[1] - 0.5).tanh() * x
        return total

    step = engine.compile(loss)
    xs = [0.1 * i for i in range(20)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(3):
            step(xs)
    assert step.plan.n_kernels >= 1
