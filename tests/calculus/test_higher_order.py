"""Derivatives of derivatives: every operation's 2nd and 3rd derivatives, hessians, and `engine.grad`.

Each derivative is computed three ways (the functional `derivative`, nested `engine.grad`, and
repeated `backward(create_graph=True)`) and checked against a closed form written here with
`math`, and against central finite differences of the next lower analytic derivative.
"""

import math

import pytest
from hypothesis import assume, given, reject
from hypothesis import strategies as st
from strategies import KINKED, UNARY, away_from_zero, build_or_reject, examples, expressions, positives, reals

import engine
from engine import Value, derivative, grad, grad_fn, hessian, jacobian, value_and_grad
from engine.core.backward import graph_order

CLOSE = dict(rel=1e-9, abs=1e-9)
H = 1e-5  # step of the central differences of analytic derivatives
FD_CLOSE = dict(rel=1e-5, abs=1e-6)


def falling(n: float, k: int) -> float:
    """n (n-1) ... (n-k+1): the constant in the k-th derivative of x**n."""
    out = 1.0
    for i in range(k):
        out *= n - i
    return out


def power_derivatives(n: float) -> tuple:
    """x**n and its first three derivatives, as closed forms k! C(n, k) x**(n-k)."""

    def kth(k):
        return lambda x: 0.0 if falling(n, k) == 0.0 else falling(n, k) * x ** (n - k)

    return kth(1), kth(2), kth(3)


def tanh_derivatives(x: float) -> list[float]:
    """tanh and its first four derivatives, in t = tanh(x) and s = 1 - t**2."""
    t = math.tanh(x)
    s = 1.0 - t * t
    return [t, s, -2.0 * t * s, s * (6.0 * t * t - 2.0), 8.0 * t * s * (2.0 - 3.0 * t * t)]


def sigmoid_derivatives(x: float) -> list[float]:
    s = 1.0 / (1.0 + math.exp(-x))
    return [s, s * (1 - s), s * (1 - s) * (1 - 2 * s), s * (1 - s) * (1 - 6 * s + 6 * s * s)]


LN2 = math.log(2.0)
ZERO = lambda x: 0.0  # noqa: E731

# name, operation, first, second and third derivative, domain (where the operation is smooth)
UNARY_CASES = [
    ("-a", lambda a: -a, lambda x: -1.0, ZERO, ZERO, reals()),
    ("a + 3", lambda a: a + 3, lambda x: 1.0, ZERO, ZERO, reals()),
    ("3 + a", lambda a: 3 + a, lambda x: 1.0, ZERO, ZERO, reals()),
    ("a - 3", lambda a: a - 3, lambda x: 1.0, ZERO, ZERO, reals()),
    ("3 - a", lambda a: 3 - a, lambda x: -1.0, ZERO, ZERO, reals()),
    ("a * 3", lambda a: a * 3, lambda x: 3.0, ZERO, ZERO, reals()),
    ("3 * a", lambda a: 3 * a, lambda x: 3.0, ZERO, ZERO, reals()),
    ("a / 4", lambda a: a / 4, lambda x: 0.25, ZERO, ZERO, reals()),
    ("3 / a", lambda a: 3 / a, lambda x: -3 / x**2, lambda x: 6 / x**3, lambda x: -18 / x**4, away_from_zero(0.2)),
    ("a * a", lambda a: a * a, lambda x: 2 * x, lambda x: 2.0, ZERO, reals()),
    ("a / a**2", lambda a: a / a**2, lambda x: -1 / x**2, lambda x: 2 / x**3, lambda x: -6 / x**4, away_from_zero(0.2)),
    ("2 ** a", lambda a: 2**a, lambda x: 2**x * LN2, lambda x: 2**x * LN2**2, lambda x: 2**x * LN2**3, reals()),
    ("a ** 2", lambda a: a**2, *power_derivatives(2), reals()),
    ("a ** 3", lambda a: a**3, *power_derivatives(3), reals()),
    ("a ** 4", lambda a: a**4, *power_derivatives(4), reals()),
    ("a ** -1", lambda a: a**-1, *power_derivatives(-1), away_from_zero(0.2)),
    ("a ** -2", lambda a: a**-2, *power_derivatives(-2), away_from_zero(0.3)),
    ("a ** 0.5", lambda a: a**0.5, *power_derivatives(0.5), positives(0.2, 5.0)),
    ("a ** 2.5", lambda a: a**2.5, *power_derivatives(2.5), positives(0.2, 5.0)),
    ("a ** -0.5", lambda a: a**-0.5, *power_derivatives(-0.5), positives(0.2, 5.0)),
    ("a ** 0", lambda a: a**0, ZERO, ZERO, ZERO, reals()),
    ("a ** 1", lambda a: a**1, lambda x: 1.0, ZERO, ZERO, reals()),
    ("(-a) ** 3", lambda a: (-a) ** 3, lambda x: -3 * x * x, lambda x: -6 * x, lambda x: -6.0, reals()),
    ("abs", lambda a: abs(a), lambda x: math.copysign(1.0, x), ZERO, ZERO, away_from_zero(0.01)),
    ("relu", lambda a: a.relu(), lambda x: float(x > 0), ZERO, ZERO, away_from_zero(0.01)),
    ("leaky_relu", lambda a: a.leaky_relu(), lambda x: 1.0 if x > 0 else 0.01, ZERO, ZERO, away_from_zero(0.01)),
    ("leaky_relu(0.3)", lambda a: a.leaky_relu(0.3), lambda x: 1.0 if x > 0 else 0.3, ZERO, ZERO, away_from_zero(0.01)),
    ("tanh", lambda a: a.tanh(), *[lambda x, k=k: tanh_derivatives(x)[k] for k in (1, 2, 3)], reals()),
    ("sigmoid", lambda a: a.sigmoid(), *[lambda x, k=k: sigmoid_derivatives(x)[k] for k in (1, 2, 3)], reals()),
    ("exp", lambda a: a.exp(), math.exp, math.exp, math.exp, reals()),
    ("log", lambda a: a.log(), lambda x: 1 / x, lambda x: -1 / x**2, lambda x: 2 / x**3, positives(0.2, 5.0)),
    ("sqrt", lambda a: a.sqrt(), *power_derivatives(0.5), positives(0.2, 5.0)),
    ("sin", lambda a: a.sin(), math.cos, lambda x: -math.sin(x), lambda x: -math.cos(x), reals()),
    ("cos", lambda a: a.cos(), lambda x: -math.sin(x), lambda x: -math.cos(x), math.sin, reals()),
    ("engine.tanh", engine.tanh, *[lambda x, k=k: tanh_derivatives(x)[k] for k in (1, 2, 3)], reals()),
    (
        "engine.exp(engine.sin)",
        lambda a: engine.exp(engine.sin(a)),
        lambda x: math.cos(x) * math.exp(math.sin(x)),
        lambda x: (math.cos(x) ** 2 - math.sin(x)) * math.exp(math.sin(x)),
        lambda x: (math.cos(x) ** 3 - 3 * math.sin(x) * math.cos(x) - math.cos(x)) * math.exp(math.sin(x)),
        reals(),
    ),
]
UNARY_IDS = [case[0] for case in UNARY_CASES]


def by_backward(op, x: float, n: int) -> float:
    """The n-th derivative by calling backward(create_graph=True) on each gradient in turn."""
    v = Value(x)
    y = op(v)
    for _ in range(n):
        if type(y) is not Value:  # a constant gradient: every further derivative is 0
            return 0.0
        v.grad = 0.0
        y.backward(create_graph=True)
        y = v.grad
    return y.data if type(y) is Value else y


def by_nested_grad(op, x: float, n: int) -> float:
    """The n-th derivative by calling engine.grad(create_graph=True) on each gradient in turn."""
    v = Value(x)
    y = op(v)
    for _ in range(n):
        (y,) = grad(y, v, create_graph=True, allow_unused=True)
    return y.data


@pytest.mark.parametrize("name, op, d1, d2, d3, domain", UNARY_CASES, ids=UNARY_IDS)
@pytest.mark.parametrize("n", [1, 2, 3])
def test_unary_derivatives_match_closed_forms(name, op, d1, d2, d3, domain, n):
    expected = (d1, d2, d3)[n - 1]

    @given(domain)
    @examples(15)
    def check(x):
        want = expected(x)
        assert derivative(op, n)(x) == pytest.approx(want, **CLOSE)
        assert by_nested_grad(op, x, n) == pytest.approx(want, **CLOSE)
        assert by_backward(op, x, n) == pytest.approx(want, **CLOSE)

    check()


@pytest.mark.parametrize("name, op, d1, d2, d3, domain", UNARY_CASES, ids=UNARY_IDS)
@pytest.mark.parametrize("n", [2, 3])
def test_unary_derivatives_match_differences_of_the_lower_one(name, op, d1, d2, d3, domain, n):
    lower, this = derivative(op, n - 1), derivative(op, n)

    @given(domain)
    @examples(10)
    def check(x):
        numerical = (lower(x + H) - lower(x - H)) / (2 * H)
        assert this(x) == pytest.approx(numerical, **FD_CLOSE)

    check()


# ---------------------------------------------------------------- two-input operations


def pow_third(a: float, b: float) -> dict:
    L = math.log(a)
    return {
        (0, 0, 0): b * (b - 1) * (b - 2) * a ** (b - 3),
        (0, 0, 1): a ** (b - 2) * ((2 * b - 1) + b * (b - 1) * L),
        (0, 1, 1): a ** (b - 1) * L * (2 + b * L),
        (1, 1, 1): a**b * L**3,
    }


# name, operation, hessian [[aa, ab], [ab, bb]], third derivatives {sorted index triple: value}, domain
BINARY_CASES = [
    ("a + b", lambda a, b: a + b, lambda a, b: [[0, 0], [0, 0]], lambda a, b: {}, st.tuples(reals(), reals())),
    ("a - b", lambda a, b: a - b, lambda a, b: [[0, 0], [0, 0]], lambda a, b: {}, st.tuples(reals(), reals())),
    ("a * b", lambda a, b: a * b, lambda a, b: [[0, 1], [1, 0]], lambda a, b: {}, st.tuples(reals(), reals())),
    (
        "a / b",
        lambda a, b: a / b,
        lambda a, b: [[0, -1 / b**2], [-1 / b**2, 2 * a / b**3]],
        lambda a, b: {(0, 1, 1): 2 / b**3, (1, 1, 1): -6 * a / b**4},
        st.tuples(reals(), away_from_zero(0.3)),
    ),
    (
        "a ** b",
        lambda a, b: a**b,
        lambda a, b: [
            [b * (b - 1) * a ** (b - 2), a ** (b - 1) * (1 + b * math.log(a))],
            [a ** (b - 1) * (1 + b * math.log(a)), a**b * math.log(a) ** 2],
        ],
        pow_third,
        st.tuples(positives(0.3, 4.0), reals(-3.0, 3.0)),
    ),
]
BINARY_IDS = [case[0] for case in BINARY_CASES]


def flat_hessian(op):
    h = hessian(op)
    return lambda a, b: [entry for row in h(a, b) for entry in row]


@pytest.mark.parametrize("name, op, hess, third, domain", BINARY_CASES, ids=BINARY_IDS)
def test_binary_second_and_third_derivatives_match_closed_forms(name, op, hess, third, domain):
    @given(domain)
    @examples(15)
    def check(point):
        a, b = point
        assert hessian(op)(a, b) == [[pytest.approx(h, **CLOSE) for h in row] for row in hess(a, b)]
        t = jacobian(flat_hessian(op))(a, b)  # t[2i + j][k] = d3 / da_i da_j da_k
        closed = third(a, b)
        for i in range(2):
            for j in range(2):
                for k in range(2):
                    want = closed.get(tuple(sorted((i, j, k))), 0.0)
                    assert t[2 * i + j][k] == pytest.approx(want, **CLOSE), (i, j, k)

    check()


@pytest.mark.parametrize("name, op, hess, third, domain", BINARY_CASES, ids=BINARY_IDS)
def test_binary_second_and_third_derivatives_match_differences(name, op, hess, third, domain):
    gradient = grad_fn(op, (0, 1))
    second = flat_hessian(op)

    @given(domain)
    @examples(10)
    def check(point):
        h, t = hessian(op)(*point), jacobian(second)(*point)
        for k in range(2):
            up, down = list(point), list(point)
            up[k] += H
            down[k] -= H
            g_up, g_down = gradient(*up), gradient(*down)
            s_up, s_down = second(*up), second(*down)
            for i in range(2):
                assert h[i][k] == pytest.approx((g_up[i] - g_down[i]) / (2 * H), **FD_CLOSE)
            for m in range(4):
                assert t[m][k] == pytest.approx((s_up[m] - s_down[m]) / (2 * H), **FD_CLOSE)

    check()


# ---------------------------------------------------------------- hessians of small functions


def rosenbrock(x, y):
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def test_rosenbrock_hessian_at_its_minimum_is_the_hand_computed_matrix():
    # d2/dx2 = 2 - 400 (y - x^2) + 800 x^2 = 802, d2/dxdy = -400 x = -400, d2/dy2 = 200 at (1, 1)
    assert hessian(rosenbrock)(1.0, 1.0) == [[802.0, -400.0], [-400.0, 200.0]]
    assert grad_fn(rosenbrock, (0, 1))(1.0, 1.0) == (0.0, 0.0)


# name, function, hand-computed hessian
SMALL_FUNCTIONS = [
    ("x**2 * y", lambda x, y: x**2 * y, lambda x, y: [[2 * y, 2 * x], [2 * x, 0]]),
    ("rosenbrock", rosenbrock, lambda x, y: [[2 - 400 * (y - x * x) + 800 * x * x, -400 * x], [-400 * x, 200]]),
    (
        "exp(x*y)",
        lambda x, y: (x * y).exp(),
        lambda x, y: [
            [y * y * math.exp(x * y), (1 + x * y) * math.exp(x * y)],
            [(1 + x * y) * math.exp(x * y), x * x * math.exp(x * y)],
        ],
    ),
    (
        "sin(x) * cos(y)",
        lambda x, y: x.sin() * y.cos(),
        lambda x, y: [
            [-math.sin(x) * math.cos(y), -math.cos(x) * math.sin(y)],
            [-math.cos(x) * math.sin(y), -math.sin(x) * math.cos(y)],
        ],
    ),
    ("x*y*z", lambda x, y, z: x * y * z, lambda x, y, z: [[0, z, y], [z, 0, x], [y, x, 0]]),
    (
        "x*x + 3*y - z (affine in y, z)",
        lambda x, y, z: x * x + 3 * y - z,
        lambda x, y, z: [[2, 0, 0], [0, 0, 0], [0, 0, 0]],
    ),
]


@pytest.mark.parametrize("name, f, hand", SMALL_FUNCTIONS, ids=[c[0] for c in SMALL_FUNCTIONS])
def test_hessians_of_small_functions_match_hand_computed_matrices(name, f, hand):
    n = f.__code__.co_argcount

    @given(st.lists(reals(-2.0, 2.0), min_size=n, max_size=n))
    @examples(15)
    def check(point):
        got = hessian(f)(*point)
        assert got == [[pytest.approx(v, **CLOSE) for v in row] for row in hand(*point)]
        assert all(got[i][j] == pytest.approx(got[j][i], **CLOSE) for i in range(n) for j in range(n))

    check()


SMOOTH_OPS = tuple(op for op in UNARY if op not in KINKED) + ("add", "sub", "mul", "div", "pow")


@given(expressions(max_inputs=3, max_steps=6, ops=SMOOTH_OPS), st.lists(reals(-1.5, 1.5), min_size=3, max_size=3))
@examples(40)
def test_hessian_of_random_graphs_matches_differences_of_the_gradient(expression, point):
    point = point[: expression.n_inputs]
    f = lambda *xs: build_or_reject(expression, list(xs))[0]  # noqa: E731
    n = expression.n_inputs
    h = hessian(f)(*point)
    gradient = grad_fn(f, tuple(range(n)))
    for k in range(n):
        up, down = list(point), list(point)
        up[k] += H
        down[k] -= H
        g_up, g_down = gradient(*up), gradient(*down)
        for i in range(n):
            numerical = (g_up[i] - g_down[i]) / (2 * H)
            assert h[i][k] == pytest.approx(numerical, rel=1e-4, abs=1e-5), (str(expression), i, k)


@given(expressions(max_inputs=3, max_steps=6, ops=SMOOTH_OPS), st.lists(reals(-1.5, 1.5), min_size=3, max_size=3))
@examples(25)
def test_hessian_of_random_graphs_matches_pytorch(expression, point):
    torch = pytest.importorskip("torch")
    point = point[: expression.n_inputs]
    # PyTorch sets d(a**b)/da to 0 where b == 0 by masking, so its second derivatives through that
    # mask are not those of the function (its Hessian is not even symmetric there). Ours are,
    # which the finite-difference test above checks; here such points are left out.
    _, nodes = build_or_reject(expression, [Value(x) for x in point])
    assume(not any(op == "pow" and nodes[b].data == 0.0 for op, (_, b) in _binary_steps(expression)))
    f = lambda *xs: build_or_reject(expression, list(xs))[0]  # noqa: E731
    want = torch.autograd.functional.hessian(
        lambda *ts: f(*ts), tuple(torch.tensor(x, dtype=torch.float64) for x in point)
    )
    got = hessian(f)(*point)
    for i in range(len(point)):
        for j in range(len(point)):
            assert got[i][j] == pytest.approx(float(want[i][j]), rel=1e-9, abs=1e-9)


def _binary_steps(expression):
    return [(op, operands) for op, operands in expression.steps if len(operands) == 2]


# ---------------------------------------------------------------- any order


@pytest.mark.parametrize("n", range(5))
@given(x=reals(-3.0, 3.0))
@examples(20)
def test_nth_derivative_of_tanh_matches_its_closed_form(n, x):
    assert derivative(engine.tanh, n)(x) == pytest.approx(tanh_derivatives(x)[n], rel=1e-9, abs=1e-12)
    assert derivative(lambda a: a.tanh(), n)(x) == pytest.approx(tanh_derivatives(x)[n], rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("n", range(8))
def test_nth_derivative_of_sin_cycles_with_period_four(n):
    x = 0.7
    assert derivative(engine.sin, n)(x) == pytest.approx(math.sin(x + n * math.pi / 2), rel=1e-12, abs=1e-12)


def test_derivative_of_a_derivative_equals_the_second_derivative():
    f = lambda x: x.exp() * x.sin()  # noqa: E731
    x = 0.3
    twice = derivative(derivative(f))(x)
    assert twice == pytest.approx(derivative(f, 2)(x), rel=1e-12)
    assert twice == pytest.approx(2 * math.exp(x) * math.cos(x), rel=1e-12)  # (e^x sin x)'' = 2 e^x cos x


def test_inner_derivative_does_not_confuse_its_variable_with_an_outer_one():
    # d/dx [ x * (d/dy (x * y) at y = x) ] = d/dx [x * x] = 2x; mixing up x and y would give 4x.
    f = lambda x: x * derivative(lambda y: x * y)(x)  # noqa: E731
    assert derivative(f)(2.0) == 4.0


def test_newton_method_on_a_quartic_reaches_one_in_six_steps():
    f = lambda x: x**4 - 2 * x**2  # noqa: E731
    slope, curvature = derivative(f), derivative(f, 2)
    x = 2.0
    for _ in range(6):
        x -= slope(x) / curvature(x)
    assert abs(x - 1.0) < 1e-9


def test_value_and_grad_and_grad_fn_with_argnums():
    f = lambda x, y, z: x * y + z**2  # noqa: E731
    assert value_and_grad(f)(2.0, 3.0, 4.0) == (22.0, 3.0)
    assert value_and_grad(f, (0, 2))(2.0, 3.0, 4.0) == (22.0, (3.0, 8.0))
    assert grad_fn(f, 1)(2.0, 3.0, 4.0) == 2.0
    assert grad_fn(f, (2, 0))(2.0, 3.0, 4.0) == (8.0, 3.0)
    with pytest.raises(ValueError, match="argnums 3 is out of range"):
        grad_fn(f, 3)(2.0, 3.0, 4.0)
    with pytest.raises(TypeError, match="argnums must be an int"):
        grad_fn(f, [0])(2.0, 3.0, 4.0)


def test_derivatives_of_constants_and_of_functions_ignoring_their_argument_are_zero():
    assert derivative(lambda x: 5.0)(1.0) == 0.0
    assert derivative(lambda x: Value(5.0) * 2, 3)(1.0) == 0.0
    assert grad_fn(lambda x, y: x * 3, (0, 1))(1.0, 2.0) == (3.0, 0.0)
    assert derivative(lambda x: x**3, 0)(2.0) == 8.0


def test_jacobian_rows_are_outputs_and_columns_are_inputs():
    f = lambda x, y: [x * y, x + y, x.sin(), 7.0]  # noqa: E731
    assert jacobian(f)(1.0, 2.0) == [[2.0, 1.0], [1.0, 1.0], [math.cos(1.0), 0.0], [0.0, 0.0]]
    with pytest.raises(TypeError, match="must return a list"):
        jacobian(lambda x: x * 2)(1.0)


def test_functional_forms_work_inside_no_grad_and_refuse_non_numbers():
    with engine.no_grad():
        assert derivative(lambda x: x**3, 2)(2.0) == 12.0
    with pytest.raises(TypeError, match="argument 0 must be a number"):
        derivative(lambda x: x)("2")
    with pytest.raises(ValueError, match="n must be a whole number"):
        derivative(lambda x: x, -1)


# ---------------------------------------------------------------- engine.grad over a graph


def every_node(*roots):
    return graph_order(list(roots))


@pytest.mark.parametrize("mode", ["fast path", "with a hook", "detect_anomaly", "create_graph"])
@given(expressions(max_inputs=3, max_steps=8), st.lists(reals(-2.0, 2.0), min_size=3, max_size=3))
@examples(30)
def test_gradients_stay_floats_unless_create_graph_and_agree_across_paths(mode, expression, point):
    point = point[: expression.n_inputs]
    try:
        plain_out, plain_nodes = expression.build([Value(x) for x in point])
    except OverflowError:
        reject()
    plain_out.backward()
    if not all(math.isfinite(n.grad) for n in plain_nodes):
        reject()  # anomaly mode would stop it, and nan != nan
    out, nodes = expression.build([Value(x) for x in point])
    if mode == "with a hook":
        handle = nodes[0].register_hook(lambda g: None)
    if mode == "detect_anomaly":
        with engine.detect_anomaly():
            out.backward()
    else:
        out.backward(create_graph=mode == "create_graph")
    if mode == "with a hook":
        handle.remove()
    for node, plain in zip(nodes, plain_nodes, strict=True):
        assert type(plain.grad) is float
        if mode == "create_graph":
            assert type(node.grad) in (Value, float)  # a float only where every share was a constant 0
            assert getattr(node.grad, "data", node.grad) == pytest.approx(plain.grad, rel=1e-12, abs=1e-12)
        else:
            assert type(node.grad) is float and node.grad == plain.grad
    assert type(out.grad) is (Value if mode == "create_graph" else float)


@pytest.mark.parametrize("create_graph", [False, True])
@given(expressions(max_inputs=3, max_steps=8), st.lists(reals(-2.0, 2.0), min_size=3, max_size=3))
@examples(30)
def test_grad_leaves_every_grad_untouched_and_agrees_with_backward(create_graph, expression, point):
    inputs = [Value(x) for x in point[: expression.n_inputs]]
    out, nodes = build_or_reject(expression, inputs)
    for k, node in enumerate(every_node(out)):
        node.grad = 1000.0 + k  # sentinels: grad must change none of them
    before = [node.grad for node in every_node(out)]
    got = grad(out, inputs, create_graph=create_graph, allow_unused=True)
    assert [node.grad for node in every_node(out)] == before
    for node in every_node(out):
        node.grad = 0.0
    out.backward()
    for g, x in zip(got, inputs, strict=True):
        assert type(g) is (Value if create_graph else float)
        assert getattr(g, "data", g) == pytest.approx(x.grad, rel=1e-12, abs=1e-12)


def test_grad_with_several_outputs_weights_and_an_intermediate_input():
    x, y = Value(2.0), Value(3.0)
    m = x * y
    u, v = m + x, m.sin()
    assert grad([u, v], [x, y]) == (y.data + 1 + math.cos(6) * 3, x.data + math.cos(6) * 2)
    assert grad([u, v], [x, m], grad_outputs=[2.0, -1.0]) == (2 * (3 + 1) - 3 * math.cos(6), 2 - math.cos(6))
    assert grad(u, u) == (1.0,)


def test_grad_names_an_unused_input_unless_allowed():
    x, y = Value(1.0), Value(2.0, label="y")
    z = x * 3
    with pytest.raises(ValueError, match="input 1 'y'"):
        grad(z, [x, y])
    assert grad(z, [x, y], allow_unused=True) == (3.0, 0.0)
    (zero,) = grad(z, [y], allow_unused=True, create_graph=True)
    assert type(zero) is Value and zero.data == 0.0


def test_grad_refuses_bad_arguments():
    x = Value(1.0)
    with pytest.raises(TypeError, match=r"inputs\[0\] must be a Value"):
        grad(x * 2, [1.0])
    with pytest.raises(ValueError, match="2 grad_outputs for 1 outputs"):
        grad(x * 2, x, grad_outputs=[1.0, 2.0])
    with pytest.raises(TypeError, match="outputs must be a Value"):
        grad(3.0, x)


def test_grad_with_create_graph_can_be_differentiated_against_the_seed():
    x, w = Value(3.0), Value(2.0)
    (g,) = grad(x**2, x, grad_outputs=w, create_graph=True)  # g = 2 x w
    assert g.data == 12.0
    assert grad(g, [x, w]) == (4.0, 6.0)


def test_create_graph_gives_a_zero_base_power_its_finite_and_infinite_slopes():
    # == on a Value is identity, so the rules of ** must compare data: these crashed or gave NaN.
    for op, want in [(lambda a: a**2.5, 0.0), (lambda a: a**0.5, math.inf), (lambda a: a ** Value(0.0), 0.0)]:
        x = Value(0.0)
        (g,) = grad(op(x), x, create_graph=True)
        assert g.data == want
    x, b = Value(0.0), Value(2.0)
    assert grad(x**b, [x, b], create_graph=True)[1].data == 0.0
