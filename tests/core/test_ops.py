"""Each operation against its closed-form value and derivative, written here with `math`."""

import inspect
import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import away_from_zero, examples, positives, real_numbers, reals

import engine
from engine import Value

CLOSE = dict(rel=1e-9, abs=1e-12)


def sech2(x: float) -> float:
    """d/dx tanh(x) = 1 / cosh(x)**2, with no overflow for large |x|."""
    return 0.0 if abs(x) > 350 else 1.0 / math.cosh(x) ** 2


def sigmoid_slope(x: float) -> float:
    """d/dx 1/(1+e^-x) = e^-|x| / (1 + e^-|x|)**2 (symmetric in x)."""
    e = math.exp(-abs(x))
    return e / (1.0 + e) ** 2


# name, operation on a Value, value in floats, derivative in floats, domain
UNARY_CASES = [
    ("-a", lambda a: -a, lambda x: -x, lambda x: -1.0, reals()),
    ("+a", lambda a: +a, lambda x: x, lambda x: 1.0, reals()),
    ("a + 3", lambda a: a + 3, lambda x: x + 3, lambda x: 1.0, reals()),
    ("3 + a", lambda a: 3 + a, lambda x: 3 + x, lambda x: 1.0, reals()),
    ("a - 3", lambda a: a - 3, lambda x: x - 3, lambda x: 1.0, reals()),
    ("3 - a", lambda a: 3 - a, lambda x: 3 - x, lambda x: -1.0, reals()),
    ("a * 3", lambda a: a * 3, lambda x: 3 * x, lambda x: 3.0, reals()),
    ("3 * a", lambda a: 3 * a, lambda x: 3 * x, lambda x: 3.0, reals()),
    ("a / 4", lambda a: a / 4, lambda x: x / 4, lambda x: 0.25, reals()),
    ("3 / a", lambda a: 3 / a, lambda x: 3 / x, lambda x: -3 / x**2, away_from_zero(1e-3, 1e3)),
    ("2 ** a", lambda a: 2**a, lambda x: 2.0**x, lambda x: 2.0**x * math.log(2.0), reals(-50, 50)),
    ("0.5 ** a", lambda a: 0.5**a, lambda x: 0.5**x, lambda x: 0.5**x * math.log(0.5), reals(-50, 50)),
    ("a ** 2", lambda a: a**2, lambda x: x * x, lambda x: 2 * x, reals(-1e3, 1e3)),
    ("a ** 3", lambda a: a**3, lambda x: x**3, lambda x: 3 * x * x, reals(-1e3, 1e3)),
    ("a ** -1", lambda a: a**-1, lambda x: 1 / x, lambda x: -1 / x**2, away_from_zero(1e-3, 1e3)),
    ("a ** -2", lambda a: a**-2, lambda x: x**-2, lambda x: -2 / x**3, away_from_zero(1e-2, 1e3)),
    ("a ** 0.5", lambda a: a**0.5, math.sqrt, lambda x: 0.5 / math.sqrt(x), positives(1e-6, 1e6)),
    ("a ** 2.5", lambda a: a**2.5, lambda x: x**2.5, lambda x: 2.5 * x**1.5, positives(0.0, 1e3)),
    ("a ** -0.5", lambda a: a**-0.5, lambda x: x**-0.5, lambda x: -0.5 * x**-1.5, positives(1e-3, 1e3)),
    ("a ** 0", lambda a: a**0, lambda x: 1.0, lambda x: 0.0, reals()),
    ("a ** 1", lambda a: a**1, lambda x: x, lambda x: 1.0, reals()),
    (
        "(-a) ** 3 (negative base, integer power)",
        lambda a: (-a) ** 3,
        lambda x: -(x**3),
        lambda x: -3 * x * x,
        reals(0.0, 100.0),
    ),
    ("abs", lambda a: abs(a), abs, lambda x: math.copysign(1.0, x), away_from_zero(1e-9, 1e6)),
    ("relu", lambda a: a.relu(), lambda x: max(x, 0.0), lambda x: float(x > 0), away_from_zero(1e-9, 1e6)),
    (
        "leaky_relu",
        lambda a: a.leaky_relu(),
        lambda x: x if x > 0 else 0.01 * x,
        lambda x: 1.0 if x > 0 else 0.01,
        away_from_zero(1e-9, 1e6),
    ),
    (
        "leaky_relu(0.2)",
        lambda a: a.leaky_relu(0.2),
        lambda x: x if x > 0 else 0.2 * x,
        lambda x: 1.0 if x > 0 else 0.2,
        away_from_zero(1e-9, 1e6),
    ),
    ("leaky_relu(slope=1)", lambda a: a.leaky_relu(slope=1), lambda x: x, lambda x: 1.0, reals()),
    ("tanh", lambda a: a.tanh(), math.tanh, sech2, reals(-30, 30)),
    ("sigmoid", lambda a: a.sigmoid(), lambda x: 1 / (1 + math.exp(-x)), sigmoid_slope, reals(-700, 700)),
    ("exp", lambda a: a.exp(), math.exp, math.exp, reals(-700, 700)),
    ("log", lambda a: a.log(), math.log, lambda x: 1 / x, positives(1e-300, 1e300)),
    ("sqrt", lambda a: a.sqrt(), math.sqrt, lambda x: 0.5 / math.sqrt(x), positives(1e-300, 1e300)),
    ("sin", lambda a: a.sin(), math.sin, math.cos, reals(-100, 100)),
    ("cos", lambda a: a.cos(), math.cos, lambda x: -math.sin(x), reals(-100, 100)),
    # the module-level functions, given a Value
    ("engine.relu", engine.relu, lambda x: max(x, 0.0), lambda x: float(x > 0), away_from_zero(1e-9, 1e6)),
    (
        "engine.leaky_relu",
        lambda a: engine.leaky_relu(a, 0.1),
        lambda x: x if x > 0 else 0.1 * x,
        lambda x: 1.0 if x > 0 else 0.1,
        away_from_zero(1e-9, 1e6),
    ),
    ("engine.tanh", engine.tanh, math.tanh, sech2, reals(-30, 30)),
    ("engine.sigmoid", engine.sigmoid, lambda x: 1 / (1 + math.exp(-x)), sigmoid_slope, reals(-30, 30)),
    ("engine.exp", engine.exp, math.exp, math.exp, reals(-50, 50)),
    ("engine.log", engine.log, math.log, lambda x: 1 / x, positives()),
    ("engine.sqrt", engine.sqrt, math.sqrt, lambda x: 0.5 / math.sqrt(x), positives()),
    ("engine.sin", engine.sin, math.sin, math.cos, reals()),
    ("engine.cos", engine.cos, math.cos, lambda x: -math.sin(x), reals()),
]


@pytest.mark.parametrize("name, op, value, slope, domain", UNARY_CASES, ids=[c[0] for c in UNARY_CASES])
@examples(40)
@given(data=st.data())
def test_unary_value_and_derivative(name, op, value, slope, domain, data):
    x = data.draw(domain, label="x")
    a = Value(x)
    out = op(a)
    assert isinstance(out, Value)
    assert out.data == pytest.approx(value(x), **CLOSE)
    out.backward()
    assert type(a.grad) is float
    assert a.grad == pytest.approx(slope(x), **CLOSE)


# name, operation, value, (d/da, d/db), domain of (a, b)
BINARY_CASES = [
    ("a + b", lambda a, b: a + b, lambda x, y: x + y, lambda x, y: (1.0, 1.0), (reals(), reals())),
    ("a - b", lambda a, b: a - b, lambda x, y: x - y, lambda x, y: (1.0, -1.0), (reals(), reals())),
    ("a * b", lambda a, b: a * b, lambda x, y: x * y, lambda x, y: (y, x), (reals(), reals())),
    (
        "a / b",
        lambda a, b: a / b,
        lambda x, y: x / y,
        lambda x, y: (1 / y, -x / y**2),
        (reals(), away_from_zero(1e-3, 1e3)),
    ),
    (
        "a ** b",
        lambda a, b: a**b,
        lambda x, y: x**y,
        lambda x, y: (y * x ** (y - 1), x**y * math.log(x)),
        (positives(1e-3, 10.0), reals(-5.0, 5.0)),
    ),
]


@pytest.mark.parametrize("name, op, value, slopes, domain", BINARY_CASES, ids=[c[0] for c in BINARY_CASES])
@examples(60)
@given(data=st.data())
def test_binary_value_and_derivatives(name, op, value, slopes, domain, data):
    x, y = data.draw(domain[0], label="a"), data.draw(domain[1], label="b")
    a, b = Value(x), Value(y)
    out = op(a, b)
    assert out.parents == (a, b)  # in argument order
    assert out.data == pytest.approx(value(x, y), **CLOSE)
    out.backward()
    da, db = slopes(x, y)
    assert a.grad == pytest.approx(da, **CLOSE)
    assert b.grad == pytest.approx(db, **CLOSE)


@pytest.mark.parametrize(
    "build, op",
    [
        (lambda a, b: a + b, "+"),
        (lambda a, b: a - b, "-"),
        (lambda a, b: a * b, "*"),
        (lambda a, b: a / b, "/"),
        (lambda a, b: a**b, "**"),
    ],
)
def test_binary_ops_record_parents_and_name(build, op):
    a, b = Value(2.0), Value(3.0)
    out = build(a, b)
    assert out.op == op
    assert out.parents == (a, b)
    assert not out.is_leaf() and a.is_leaf()


@pytest.mark.parametrize(
    "build, data, grad",
    [
        (lambda v: 2 + v, 2 + 3.0, 1.0),
        (lambda v: 2 - v, 2 - 3.0, -1.0),
        (lambda v: 2 * v, 2 * 3.0, 2.0),
        (lambda v: 2 / v, 2 / 3.0, -2 / 9.0),
        (lambda v: 2**v, 8.0, 8.0 * math.log(2.0)),
    ],
    ids=["2 + v", "2 - v", "2 * v", "2 / v", "2 ** v"],
)
def test_reflected_forms_keep_argument_order(build, data, grad):
    v = Value(3.0)
    out = build(v)
    left, right = out.parents
    assert right is v
    assert left.is_leaf() and left.data == 2.0
    assert out.data == pytest.approx(data)
    out.backward()
    assert v.grad == pytest.approx(grad)


def test_number_exponent_records_one_parent_and_names_the_power():
    v = Value(3.0)
    out = v**2
    assert out.op == "**2"
    assert out.parents == (v,)
    out.backward()
    assert v.grad == 6.0


@given(base=positives(0.1, 10.0), exponent=reals(-4.0, 4.0))
@examples(50)
def test_number_and_value_exponents_agree(base, exponent):
    a1, a2, b = Value(base), Value(base), Value(exponent)
    (a1**exponent).backward()
    (a2**b).backward()
    assert a1.grad == pytest.approx(a2.grad, **CLOSE)


def test_tanh_names_its_op():
    assert Value(0.5).tanh().op == "tanh"


@pytest.mark.parametrize(
    "name, build",
    [
        ("relu", lambda a: a.relu()),
        ("abs", lambda a: abs(a)),
        ("engine.relu", engine.relu),
    ],
)
@pytest.mark.parametrize("zero", [0.0, -0.0])
def test_kinks_have_zero_derivative_at_zero(name, build, zero):
    a = Value(zero)
    out = build(a)
    assert out.data == 0.0
    out.backward()
    assert a.grad == 0.0


def test_leaky_relu_at_zero_takes_the_slope_like_pytorch():
    # PyTorch's leaky_relu backward is `grad if x > 0 else grad * slope`, so at 0 it is the slope.
    a = Value(0.0)
    a.leaky_relu(0.2).backward()
    assert a.grad == 0.2


def test_sqrt_and_fractional_power_at_zero_have_infinite_slope_like_pytorch():
    a, b = Value(0.0), Value(0.0)
    a.sqrt().backward()
    (b**0.5).backward()
    assert a.grad == math.inf and b.grad == math.inf


def test_integer_powers_at_zero():
    a, b, c = Value(0.0), Value(0.0), Value(0.0)
    (a**2).backward()
    (b**3).backward()
    (c**0).backward()
    assert (a.grad, b.grad, c.grad) == (0.0, 0.0, 0.0)


def test_value_exponent_at_zero_base_has_zero_exponent_slope():
    # d/db 0**b = 0**b * log(0): PyTorch takes it as 0 for b > 0, and so do we.
    a, b = Value(0.0), Value(2.0)
    (a**b).backward()
    assert a.grad == 0.0 and b.grad == 0.0
    a, b = Value(0.0), Value(0.0)  # 0 ** 0 = 1: PyTorch gives 0 for both slopes, not NaN
    (a**b).backward()
    assert a.grad == 0.0 and b.grad == 0.0


def test_value_exponent_with_negative_base_and_integer_exponent():
    a, b = Value(-2.0), Value(3.0)
    out = a**b
    assert out.data == -8.0
    out.backward()
    assert a.grad == 12.0  # 3 * (-2)**2
    assert math.isnan(b.grad)  # log of a negative base: no real slope in b (PyTorch gives NaN too)


@pytest.mark.parametrize("x", [-1000.0, -745.0, -50.0, 0.0, 50.0, 745.0, 1000.0])
def test_sigmoid_is_stable_for_large_inputs(x):
    a = Value(x)
    out = a.sigmoid()
    assert 0.0 <= out.data <= 1.0
    assert out.data == pytest.approx(1.0 / (1.0 + math.exp(-x)) if x > -700 else math.exp(x), rel=1e-12, abs=0)
    out.backward()
    # out * (1 - out) underflows to 0 once out rounds to 1.0 (as in PyTorch): an absolute error < 1e-15
    assert a.grad == pytest.approx(sigmoid_slope(x), rel=1e-9, abs=1e-15)
    assert a.grad >= 0.0


def test_sigmoid_keeps_relative_precision_in_the_far_negative_tail():
    assert Value(-700.0).sigmoid().data == pytest.approx(math.exp(-700.0), rel=1e-12)


@pytest.mark.parametrize(
    "name, on_float, expected",
    [
        ("relu", lambda: engine.relu(-2), 0.0),
        ("leaky_relu", lambda: engine.leaky_relu(-2, 0.5), -1.0),
        ("tanh", lambda: engine.tanh(0.5), math.tanh(0.5)),
        ("sigmoid", lambda: engine.sigmoid(0), 0.5),
        ("exp", lambda: engine.exp(1), math.e),
        ("log", lambda: engine.log(math.e), 1.0),
        ("sqrt", lambda: engine.sqrt(9), 3.0),
        ("sin", lambda: engine.sin(0.5), math.sin(0.5)),
        ("cos", lambda: engine.cos(0.5), math.cos(0.5)),
    ],
)
def test_module_functions_accept_plain_numbers(name, on_float, expected):
    result = on_float()
    assert type(result) is float
    assert result == pytest.approx(expected)


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "tanh", "sigmoid", "exp", "log", "sqrt", "sin", "cos"])
def test_module_functions_have_type_hints_and_the_derivative_in_their_docstring(name):
    function = getattr(engine, name)
    signature = inspect.signature(function)
    assert signature.return_annotation is not inspect.Signature.empty
    assert all(p.annotation is not inspect.Parameter.empty for p in signature.parameters.values())
    assert function.__doc__ and "d/da" in getattr(Value, name).__doc__


@pytest.mark.parametrize("method", ["relu", "leaky_relu", "tanh", "sigmoid", "exp", "log", "sqrt", "sin", "cos"])
def test_named_operations_record_their_name(method):
    a = Value(0.7)
    out = getattr(a, method)()
    assert out.op == method
    assert out.parents == (a,)


def test_unary_operators_record_one_parent():
    a = Value(-0.7)
    for out in (-a, abs(a)):
        assert out.op and out.parents == (a,)


@given(x=real_numbers())
def test_value_accepts_every_real_number_as_float(x):
    v = Value(x)
    assert type(v.data) is float and v.data == float(x)
    assert v.grad == 0.0 and type(v.grad) is float
    assert v.parents == () and v.op == "" and v.label == ""


def test_value_takes_a_label():
    assert Value(Fraction(1, 4), label="w").label == "w"


@given(x=reals(-100, 100), y=st.integers(-100, 100))
@examples(50)
def test_int_operands_mix_with_values(x, y):
    a = Value(x)
    assert (a + y).data == x + y
    assert (y - a).data == y - x
    assert (a * y).data == x * y
    assert type((y * a).data) is float
