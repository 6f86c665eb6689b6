"""A differential fuzzer for the code read off a rule: random rules, the generated code against the rule itself.

Each example is a derivative rule a user could write, of 1, 2 or 3 inputs: a local variable used
more than once (as softsign's `d` in `g / (d * d)`), nested sums, products, quotients and powers,
unary minus and plus, abs(), constants (ints, -0.0, tiny and huge floats) and calls of the
engine's functions. The rule is made an operation, its code is read off by running it on
symbols, and the code is run the way a compiled kernel runs it (`engine.replay.kernels.rule_function`).
On random inputs, including -0.0, subnormals, infinities and NaN, the code must give the rule's
numbers to the bit (NaN equals NaN), complex results included, or raise the same error.

A short run is part of the suite. A long hunt, by hand:

    CHAINRULE_FUZZ=long python -m pytest -q tests/core/test_symbolic_fuzz.py
"""

import math
import os
import struct
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine
from engine import operation
from engine.replay.kernels import rule_function

LONG = os.environ.get("CHAINRULE_FUZZ") == "long"
STATS: Counter = Counter()
FUZZ = settings(
    max_examples=20000 if LONG else 600,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

FUNCTIONS = ["exp", "tanh", "sigmoid", "log", "sqrt", "sin", "cos", "relu"]
SPECIAL = [0.0, -0.0, 5e-324, -5e-324, 2.2250738585072014e-308, 1e-300, 1e308, -1e308, math.inf, -math.inf, math.nan]
CONSTANTS = st.one_of(
    st.integers(-1, 1),  # ints, kept small: a tower of int powers would take forever
    st.sampled_from([0.5, 1.0, 2.0, -1.0, -0.0, 0.1, 1e300, 5e-324, 3.0000000000000004]),
    st.floats(allow_nan=False, allow_infinity=False),
)
INPUTS = st.one_of(st.sampled_from(SPECIAL), st.floats(-10, 10), st.floats())


def constant(x):
    return f"({x!r})"  # in brackets: -2.0 ** a would be -(2.0 ** a)


def term(draw, names, first=None):
    """One or two operations on names and constants, written without brackets, as a user would."""

    def operand():
        return draw(st.one_of(st.sampled_from(names), CONSTANTS.map(constant)))

    kind = draw(st.sampled_from(["binary", "two", "neg", "pos", "abs", "call", "square"]))
    x = first or operand()
    if kind == "binary":
        return f"{x} {draw(st.sampled_from(BINARY))} {operand()}"
    if kind == "two":  # Python's precedence decides: g / d * d, a - b ** c, -a ** b
        return f"{x} {draw(st.sampled_from(BINARY))} {operand()} {draw(st.sampled_from(BINARY))} {operand()}"
    if kind == "neg":
        return f"-{x}"
    if kind == "pos":
        return f"+{x}"
    if kind == "abs":
        return f"abs({x})"
    if kind == "call":
        return f"engine.{draw(st.sampled_from(FUNCTIONS))}({x})"
    return f"{x} * {x}"


BINARY = ["+", "-", "*", "/", "**"]


@st.composite
def rules(draw):
    """A rule of a few lines: each local variable one or two operations on earlier ones, used again later."""
    arity = draw(st.sampled_from([1, 2, 3]))
    inputs = ["a", "b", "c"][:arity]
    names = ["g", "out", *inputs]
    lines = []
    for i in range(draw(st.integers(0, 6))):  # each local is used by the next line, the last by a share
        lines.append(f"    t{i} = {term(draw, names, first=f't{i - 1}' if i else None)}\n")
        names.append(f"t{i}")
    shares = [term(draw, names, first=names[-1] if k == 0 and lines else None) for k in range(arity)]
    return arity, f"def rule(g, out, {', '.join(inputs)}):\n{''.join(lines)}    return ({', '.join(shares)},)\n"


def outcome(f, args):
    """What calling f gives: its results as bits (NaN as 'nan'), or the type of the error it raises."""
    try:
        result = f(*args)
    except Exception as e:  # any error: the generated code must raise the same
        return type(e).__name__
    return tuple(map(bits, result))


def bits(x):
    if isinstance(x, complex):
        return ("complex", bits(x.real), bits(x.imag))
    if isinstance(x, float) and math.isnan(x):
        return "nan"
    if isinstance(x, int) and not isinstance(x, bool):  # a constant share, added to a float gradient
        x = float(x)
    return struct.pack("<d", x) if isinstance(x, float) else (type(x).__name__, x)


@given(rules(), st.lists(INPUTS, min_size=5, max_size=5))
@FUZZ
def test_generated_code_gives_the_rules_numbers_to_the_bit(rule_source, numbers):
    arity, source = rule_source
    scope = {"engine": engine}
    exec(source, scope)  # noqa: S102 (a rule the test wrote)
    rule = scope["rule"]
    op = operation("fuzzed", lambda *xs: 0.0)(rule)
    code = rule_function(op)
    STATS["rules"] += 1
    if code is None:  # not read off (it divides by a zero constant, say): a kernel calls the rule
        return
    STATS["read off"] += 1
    args = numbers[: 2 + arity]
    assert outcome(code, args) == outcome(rule, args), f"{source}\ncode: {op.code()}\ninputs: {args!r}"


def test_the_brackets_of_the_cases_found_by_hand():
    cases = [
        ("def rule(g, out, a):\n    d = 1.0 + abs(a)\n    return (g / (d * d),)\n", 1),
        ("def rule(g, out, a):\n    return (g * (a * a),)\n", 1),
        ("def rule(g, out, a, b):\n    return (g - (a - b), (-a) ** b)\n", 2),
        ("def rule(g, out, a, b, c):\n    return (a ** (b ** c), (a ** b) ** c, -(a ** 2) * g)\n", 3),
    ]
    inputs = [1.0000000000000002, 0.3, -1.7, 2.5, 0.1]
    for source, arity in cases:
        scope = {"engine": engine}
        exec(source, scope)  # noqa: S102
        op = operation("case", lambda *xs: 0.0)(scope["rule"])
        code = rule_function(op)
        assert code is not None
        args = inputs[: 2 + arity]
        assert outcome(code, args) == outcome(scope["rule"], args), source


def test_most_random_rules_were_read_off():
    # after the fuzzer (pytest runs a module's tests in order): the code was compared, not skipped
    if STATS["rules"]:
        assert STATS["read off"] >= 0.7 * STATS["rules"], STATS
