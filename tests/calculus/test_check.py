"""gradcheck and gradgradcheck: they pass on the engine's rules and catch a deliberately wrong one."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import KINKED, OPERATIONS, UNARY, build_or_reject, examples, expressions, reals

import engine.core.ops
from engine import GradcheckError, Value, gradcheck, gradgradcheck

SMOOTH_OPS = tuple(op for op in UNARY if op not in KINKED) + ("add", "sub", "mul", "div", "pow")


@pytest.mark.parametrize("op", OPERATIONS, ids=repr)
def test_gradcheck_and_gradgradcheck_pass_on_every_operation(op):
    @given(op.domain)
    @examples(10)
    def check(point):
        assert gradcheck(op.apply, point) is True
        assert gradgradcheck(op.apply, point) is True

    check()


@given(expressions(max_inputs=3, max_steps=6, ops=SMOOTH_OPS), st.lists(reals(-1.5, 1.5), min_size=3, max_size=3))
@examples(30)
def test_gradcheck_passes_on_random_graphs(expression, point):
    f = lambda *xs: build_or_reject(expression, list(xs))[0]  # noqa: E731
    assert gradcheck(f, point[: expression.n_inputs])
    assert gradgradcheck(f, point[: expression.n_inputs])


def wrong_sin_rule(g, out, a):
    """A deliberate mistake: d/da sin(a) written as 2 cos(a)."""
    return (g * 2.0 * engine.core.ops.cos(a),)


def test_gradcheck_catches_a_wrong_derivative_and_names_the_input(monkeypatch):
    monkeypatch.setattr(engine.core.ops.sin, "rule", wrong_sin_rule)
    f = lambda a, b: a * 3 + b.sin()  # noqa: E731  (only input 1 goes through sin)
    with pytest.raises(GradcheckError) as caught:
        gradcheck(f, [0.5, 0.25])
    message = str(caught.value)
    slope = math.cos(0.25)
    assert "d f / d input 1 at 0.25" in message
    assert f"analytic {2 * slope!r}" in message
    assert "input 0" not in message  # the correct input is not blamed
    off = float(message.split("off by ")[1].split(" ")[0])
    assert off == pytest.approx(slope, rel=1e-3)  # by how much: 2 cos - cos
    assert gradcheck(f, [0.5, 0.25], raise_exception=False) is False


def test_gradcheck_uses_the_label_of_a_value_input(monkeypatch):
    monkeypatch.setattr(engine.core.ops.sin, "rule", wrong_sin_rule)
    with pytest.raises(GradcheckError, match="d f / d input 0 'angle'"):
        gradcheck(lambda a: a.sin(), [Value(1.0, label="angle")])


def test_gradgradcheck_catches_a_rule_right_only_to_first_order(monkeypatch):
    # Using out's float cuts the graph: first derivatives stay right, second ones go wrong.
    monkeypatch.setattr(engine.core.ops.tanh, "rule", lambda g, out, a: (g * (1.0 - engine.core.ops._data(out) ** 2),))
    f = lambda a, b: a.tanh() * b  # noqa: E731
    assert gradcheck(f, [0.7, 1.5])
    with pytest.raises(GradcheckError, match="d2 f / d input 0 d input 0") as caught:
        gradgradcheck(f, [0.7, 1.5])
    assert "d input 1 d input" not in str(caught.value)  # d/db of the b-gradient (tanh a) is 0 and right
    assert gradgradcheck(f, [0.7, 1.5], raise_exception=False) is False


def test_gradcheck_of_several_outputs_names_the_output():
    monkey = lambda a, b: [a * b, a + b]  # noqa: E731
    assert gradcheck(monkey, [1.0, 2.0])
    assert gradgradcheck(monkey, [1.0, 2.0], grad_outputs=[2.0, -1.0])


def test_gradcheck_names_the_output_of_a_wrong_multi_output_function(monkeypatch):
    monkeypatch.setattr(engine.core.ops.sin, "rule", wrong_sin_rule)
    with pytest.raises(GradcheckError, match=r"d f\[1\] / d input 0"):
        gradcheck(lambda a: [a * 2, a.sin()], [0.3])


def test_gradcheck_reports_a_function_undefined_next_to_the_point():
    with pytest.raises(GradcheckError, match="cannot be evaluated"):
        gradcheck(lambda a: a.log(), [0.0000001], eps=1e-6)


def test_gradcheck_does_not_pass_a_nan_gradient(monkeypatch):
    monkeypatch.setattr(engine.core.ops.sin, "rule", lambda g, out, a: (g * math.nan,))
    assert gradcheck(lambda a: a.sin(), [0.5], raise_exception=False) is False
    with pytest.raises(GradcheckError, match="analytic nan"):
        gradcheck(lambda a: a.sin(), [0.5])


def test_gradcheck_refuses_a_non_number_input():
    with pytest.raises(TypeError, match="input 0 must be a number"):
        gradcheck(lambda a: a, ["1"])
