"""Gradients against central finite differences: every operation, then random expression DAGs.

The difference quotient is Richardson-extrapolated, (4 D(h/2) - D(h)) / 3 with
D(h) = (f(x + h) - f(x - h)) / 2h, which is accurate to O(h**4).
"""

from collections.abc import Callable, Sequence

import pytest
from hypothesis import assume, given, note, reject, settings
from hypothesis import strategies as st
from strategies import OPERATIONS, Expression, Operation, examples, expressions_with_inputs

from engine import Value, no_grad


def rounding_noise(scale: float, h: float) -> float:
    """How far rounding alone can move a difference quotient with step h of values as large as scale.

    f(x +- h) carries a few ulps of error per operation that made it (64 covers the deepest DAGs
    here), and the quotient divides their difference by 2h; the extrapolation weighs it by 5/3.
    """
    return 64 * 2.2e-16 * scale / h


def numeric_gradient(
    f: Callable[[list[float]], float], point: Sequence[float], step: float = 1e-3, halvings: int = 8
) -> list[tuple[float, float]]:
    """The gradient of f at point by Richardson-extrapolated central differences, with the last step.

    The step starts relative to |x| (so log and sqrt near 0 stay inside their domain) and is halved
    until two successive estimates agree; a coordinate where they never do (f oscillates faster than
    any step we try) makes hypothesis drop the example. Each coordinate comes with the step h its
    estimate was taken at, so that a check can allow for the rounding noise of that step.
    """
    gradient = []
    for i, x in enumerate(point):

        def quotient(h: float, i: int = i, x: float = x) -> float:
            up, down = list(point), list(point)
            up[i], down[i] = x + h, x - h
            return (f(up) - f(down)) / (2.0 * h)

        h = step * max(1e-3, abs(x))
        coarse = quotient(h)
        previous = None
        for _ in range(halvings):
            fine = quotient(h / 2.0)
            estimate = (4.0 * fine - coarse) / 3.0
            if previous is not None and abs(estimate - previous) <= 1e-8 * max(1.0, abs(estimate)):
                break
            previous, coarse, h = estimate, fine, h / 2.0
        else:
            reject()
        gradient.append((estimate, h / 2.0))
    return gradient


def assert_close(analytic: float, numeric: tuple[float, float], scale: float) -> None:
    """Agreement up to the finite difference's own error: truncation, and rounding at its step."""
    estimate, h = numeric
    tolerance = 1e-6 * max(1.0, abs(estimate), abs(analytic)) + 1e-9 * scale + rounding_noise(scale, h)
    assert abs(analytic - estimate) <= tolerance, f"backward gave {analytic!r}, finite differences {estimate!r}"


@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.name for op in OPERATIONS])
@examples(30)
@given(data=st.data())
def test_every_operation_matches_finite_differences(operation: Operation, data):
    point = list(data.draw(operation.domain, label="point"))
    inputs = [Value(x) for x in point]
    out = operation.apply(*inputs)
    out.backward()

    def f(xs: list[float]) -> float:
        with no_grad():
            return operation.apply(*[Value(x) for x in xs]).data

    numeric = numeric_gradient(f, point)
    for leaf, estimate in zip(inputs, numeric, strict=True):
        assert_close(leaf.grad, estimate, scale=max(1.0, abs(out.data)))


def evaluate(expression: Expression, point: Sequence[float]) -> tuple[float, tuple[bool, ...], float]:
    """Output, the side of 0 each kinked operand is on, and the largest |node| (no graph recorded)."""
    kinks: list[Value] = []
    with no_grad():
        out, nodes = expression.build([Value(x) for x in point], kinks)
    return out.data, tuple(k.data > 0.0 for k in kinks), max(abs(n.data) for n in nodes)


def check_against_finite_differences(expression: Expression, point: list[float]) -> None:
    note(str(expression))
    try:
        inputs = [Value(x) for x in point]
        out, nodes = expression.build(inputs)
        _, sides, largest = evaluate(expression, point)
    except OverflowError:
        reject()
    assume(largest < 1e6)
    out.backward()

    seen_sides = set()

    def f(xs: list[float]) -> float:
        try:
            value, sides_here, _ = evaluate(expression, xs)
        except OverflowError:
            reject()
        seen_sides.add(sides_here)
        return value

    numeric = numeric_gradient(f, point)
    # A finite difference across a kink (relu, abs, leaky_relu at 0) measures nothing: skip those points.
    assume(seen_sides == {sides})
    for leaf, estimate in zip(inputs, numeric, strict=True):
        assert_close(leaf.grad, estimate, scale=largest)


@examples(300)
@given(case=expressions_with_inputs())
def test_random_dags_match_finite_differences(case):
    check_against_finite_differences(*case)


@examples(100)
@given(case=expressions_with_inputs(max_inputs=2, max_steps=25))
def test_deeper_dags_match_finite_differences(case):
    check_against_finite_differences(*case)


def test_the_dag_strategy_does_reuse_nodes():
    """Guard the strategy itself: some drawn DAGs use one node as an operand more than once."""
    from hypothesis import find

    def reuses(case) -> bool:
        expression, _ = case
        operands = [i for _, ops in expression.steps for i in ops]
        return len(operands) != len(set(operands))

    find(expressions_with_inputs(), reuses, settings=settings(max_examples=200, database=None))
