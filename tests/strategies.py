"""Hypothesis strategies shared by the tests: numbers, single operations and random expression DAGs.

Everything here runs on `engine.Value`s and, unchanged, on PyTorch tensors: the operations use only
Python operators and methods both have (plus `leaky_relu`, which dispatches), so one drawn expression
can be evaluated by the engine, by central finite differences and by PyTorch.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import reject, settings
from hypothesis import strategies as st

# ---------------------------------------------------------------- example counts

_SCALE = 20 if os.environ.get("HYPOTHESIS_PROFILE") == "thorough" else 1


def examples(n: int) -> settings:
    """settings(max_examples=n), twenty times more under HYPOTHESIS_PROFILE=thorough."""
    return settings(max_examples=n * _SCALE)


# ---------------------------------------------------------------- numbers


def reals(low: float = -5.0, high: float = 5.0) -> st.SearchStrategy[float]:
    """Finite floats in [low, high]."""
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


def away_from_zero(low: float = 0.1, high: float = 5.0) -> st.SearchStrategy[float]:
    """Floats with low <= |x| <= high, of either sign."""
    return st.one_of(reals(low, high), reals(-high, -low))


def positives(low: float = 1e-3, high: float = 50.0) -> st.SearchStrategy[float]:
    """Floats in [low, high] with low > 0."""
    return reals(low, high)


def real_numbers() -> st.SearchStrategy[Any]:
    """Anything `Value` must accept: ints, floats, bools and fractions."""
    return st.one_of(
        st.integers(-(10**6), 10**6),
        reals(-1e6, 1e6),
        st.booleans(),
        st.fractions(max_denominator=1000).filter(lambda q: abs(q) < 10**6),
    )


# ---------------------------------------------------------------- leaky_relu on either backend


def leaky_relu(x: Any, slope: float) -> Any:
    """x.leaky_relu(slope) for a Value; torch's functional form for a tensor."""
    if hasattr(x, "leaky_relu"):
        return x.leaky_relu(slope)
    import torch.nn.functional as functional

    return functional.leaky_relu(x, slope)


# ---------------------------------------------------------------- single operations


@dataclass(frozen=True)
class Operation:
    """One operation of the engine in a form every checker can run.

    `apply` takes `arity` operands (Values or tensors) and returns the result; `domain` draws a
    tuple of `arity` floats where the operation is defined and smooth (kinks are tested apart).
    """

    name: str
    arity: int
    apply: Callable[..., Any]
    domain: st.SearchStrategy[tuple[float, ...]]

    def __repr__(self) -> str:
        return self.name


def _one(s: st.SearchStrategy[float]) -> st.SearchStrategy[tuple[float, ...]]:
    return st.tuples(s)


def _two(s: st.SearchStrategy[float], t: st.SearchStrategy[float]) -> st.SearchStrategy[tuple[float, ...]]:
    return st.tuples(s, t)


# Every operation of the engine, each with a domain on which it is smooth.
OPERATIONS: list[Operation] = [
    Operation("a + b", 2, lambda a, b: a + b, _two(reals(), reals())),
    Operation("a - b", 2, lambda a, b: a - b, _two(reals(), reals())),
    Operation("a * b", 2, lambda a, b: a * b, _two(reals(), reals())),
    Operation("a / b", 2, lambda a, b: a / b, _two(reals(), away_from_zero())),
    Operation("a ** b", 2, lambda a, b: a**b, _two(positives(0.1, 5.0), reals(-3.0, 3.0))),
    Operation("a + 3", 1, lambda a: a + 3, _one(reals())),
    Operation("a - 3", 1, lambda a: a - 3, _one(reals())),
    Operation("a * 3", 1, lambda a: a * 3, _one(reals())),
    Operation("a / 4", 1, lambda a: a / 4, _one(reals())),
    Operation("3 + a", 1, lambda a: 3 + a, _one(reals())),
    Operation("3 - a", 1, lambda a: 3 - a, _one(reals())),
    Operation("3 * a", 1, lambda a: 3 * a, _one(reals())),
    Operation("3 / a", 1, lambda a: 3 / a, _one(away_from_zero())),
    Operation("2 ** a", 1, lambda a: 2**a, _one(reals())),
    Operation("-a", 1, lambda a: -a, _one(reals())),
    Operation("a ** 2", 1, lambda a: a**2, _one(reals())),
    Operation("a ** 3", 1, lambda a: a**3, _one(reals())),
    Operation("a ** -1", 1, lambda a: a**-1, _one(away_from_zero())),
    Operation("a ** -2", 1, lambda a: a**-2, _one(away_from_zero(0.2))),
    Operation("a ** 0.5", 1, lambda a: a**0.5, _one(positives())),
    Operation("a ** 2.5", 1, lambda a: a**2.5, _one(positives())),
    Operation("a ** 0", 1, lambda a: a**0, _one(reals())),
    Operation("a ** 1", 1, lambda a: a**1, _one(reals())),
    Operation("abs(a)", 1, lambda a: abs(a), _one(away_from_zero(0.01))),
    Operation("relu", 1, lambda a: a.relu(), _one(away_from_zero(0.01))),
    Operation("leaky_relu", 1, lambda a: leaky_relu(a, 0.01), _one(away_from_zero(0.01))),
    Operation("leaky_relu(0.3)", 1, lambda a: leaky_relu(a, 0.3), _one(away_from_zero(0.01))),
    Operation("tanh", 1, lambda a: a.tanh(), _one(reals())),
    Operation("sigmoid", 1, lambda a: a.sigmoid(), _one(reals(-20.0, 20.0))),
    Operation("exp", 1, lambda a: a.exp(), _one(reals(-20.0, 20.0))),
    Operation("log", 1, lambda a: a.log(), _one(positives())),
    Operation("sqrt", 1, lambda a: a.sqrt(), _one(positives())),
    Operation("sin", 1, lambda a: a.sin(), _one(reals())),
    Operation("cos", 1, lambda a: a.cos(), _one(reals())),
]

# ---------------------------------------------------------------- expression DAGs
# Operations for random graphs. Where an operation has a restricted domain, its operand is first
# mapped smoothly into it with engine operations (a * a + 0.5 > 0), so every drawn graph is defined.

_POSITIVE = 0.5

UNARY: dict[str, Callable[[Any], Any]] = {
    "neg": lambda a: -a,
    "abs": lambda a: abs(a),
    "relu": lambda a: a.relu(),
    "leaky_relu": lambda a: leaky_relu(a, 0.1),
    "tanh": lambda a: a.tanh(),
    "sigmoid": lambda a: a.sigmoid(),
    "exp": lambda a: a.exp(),
    "log": lambda a: (a * a + _POSITIVE).log(),
    "sqrt": lambda a: (a * a + _POSITIVE).sqrt(),
    "sin": lambda a: a.sin(),
    "cos": lambda a: a.cos(),
    "square": lambda a: a**2,
    "cube": lambda a: a**3,
    "pow 1.5": lambda a: (a * a + _POSITIVE) ** 1.5,
    "pow -0.5": lambda a: (a * a + _POSITIVE) ** -0.5,
    "radd": lambda a: 1.5 + a,
    "rsub": lambda a: 1.0 - a,
    "rmul": lambda a: 0.5 * a,
    "rdiv": lambda a: 1.0 / (a * a + _POSITIVE),
    "rpow": lambda a: 2.0**a,
}

BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (b * b + _POSITIVE),
    "pow": lambda a, b: (a * a + _POSITIVE) ** b,
}

# Operations with a kink at 0: a finite difference across it is meaningless.
KINKED = frozenset({"abs", "relu", "leaky_relu"})

ALL_DAG_OPS: tuple[str, ...] = tuple(UNARY) + tuple(BINARY)


@dataclass(frozen=True)
class Expression:
    """A random DAG: `n_inputs` leaves, then steps (op name, operand indices) over all earlier nodes.

    Node i < n_inputs is input i; node n_inputs + k is the result of step k. An operand index may
    repeat (within a step or across steps), so nodes are reused. The output is the sum of the
    sinks (nodes no step uses), so every node reaches it.
    """

    n_inputs: int
    steps: tuple[tuple[str, tuple[int, ...]], ...]

    def sinks(self) -> list[int]:
        used = {i for _, operands in self.steps for i in operands}
        return [i for i in range(self.n_inputs + len(self.steps)) if i not in used]

    def build(self, inputs: Sequence[Any], kinks: list[Any] | None = None) -> tuple[Any, list[Any]]:
        """Evaluate on `inputs` (Values or tensors); return (output, every node in index order).

        If `kinks` is a list, the operand of every kinked operation is appended to it.
        """
        if len(inputs) != self.n_inputs:
            raise ValueError(f"expected {self.n_inputs} inputs, got {len(inputs)}")
        nodes = list(inputs)
        for op, operands in self.steps:
            args = [nodes[i] for i in operands]
            if kinks is not None and op in KINKED:
                kinks.append(args[0])
            nodes.append(UNARY[op](*args) if op in UNARY else BINARY[op](*args))
        sinks = self.sinks()
        out = nodes[sinks[0]]
        for i in sinks[1:]:
            out = out + nodes[i]
        return out, nodes

    def __str__(self) -> str:
        lines = [f"x{i} = input" for i in range(self.n_inputs)]
        for k, (op, operands) in enumerate(self.steps):
            lines.append(f"x{self.n_inputs + k} = {op}({', '.join(f'x{i}' for i in operands)})")
        lines.append("out = " + " + ".join(f"x{i}" for i in self.sinks()))
        return "\n".join(lines)


def build_or_reject(expression: Expression, inputs: Sequence[Any]) -> tuple[Any, list[Any]]:
    """expression.build(inputs), with hypothesis dropping the example if a float overflows on the way.

    Random DAGs nest exp and 2**x freely; exp(exp(exp(1.5))) already exceeds a float, and the
    engine rightly refuses that with an OverflowError, which is not what these tests are about.
    """
    try:
        return expression.build(inputs)
    except OverflowError:
        reject()


@st.composite
def expressions(
    draw: st.DrawFn, max_inputs: int = 3, max_steps: int = 10, ops: Sequence[str] = ALL_DAG_OPS
) -> Expression:
    """A random expression DAG with 1..max_inputs inputs and 1..max_steps operations."""
    n_inputs = draw(st.integers(1, max_inputs))
    n_steps = draw(st.integers(1, max_steps))
    steps = []
    for k in range(n_steps):
        op = draw(st.sampled_from(ops))
        arity = 2 if op in BINARY else 1
        operands = tuple(draw(st.integers(0, n_inputs + k - 1)) for _ in range(arity))
        steps.append((op, operands))
    return Expression(n_inputs, tuple(steps))


@st.composite
def expressions_with_inputs(
    draw: st.DrawFn, max_inputs: int = 3, max_steps: int = 10, low: float = -2.0, high: float = 2.0
) -> tuple[Expression, list[float]]:
    """An expression DAG and a point (one float per input) to evaluate it at."""
    expression = draw(expressions(max_inputs, max_steps))
    point = draw(st.lists(reals(low, high), min_size=expression.n_inputs, max_size=expression.n_inputs))
    return expression, point
