"""Gradients as return values instead of `.grad` fields.

`grad(outputs, inputs)` differentiates a graph you built; `derivative`, `grad_fn`,
`value_and_grad`, `hessian` and `jacobian` turn a plain Python function of numbers
into the function that computes its derivatives. All of them nest, so a derivative
of a derivative works to any order:

    >>> from engine import derivative
    >>> d2 = derivative(lambda x: x**4 - 2 * x**2, n=2)   # 12x^2 - 4
    >>> d2(2.0)
    44.0
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import nullcontext
from numbers import Real
from typing import Any

from ..core.backward import ChainRule
from ..core.graph import graph_order
from ..core.mode import enable_grad, is_anomaly_enabled
from ..core.value import Value, to_float

# ---------------------------------------------------------------- grad over a graph


def grad(
    outputs: Value | Sequence[Value],
    inputs: Value | Sequence[Value],
    grad_outputs: Any = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Any, ...]:
    """d(sum_k grad_outputs[k] * outputs[k]) / d inputs[i] for every i, as a tuple.

    Like `backward()`, but the gradients are returned and no node's `.grad` changes.
    `grad_outputs` defaults to 1.0 for each output. With `create_graph=True` every
    returned gradient is a `Value` with its own graph (differentiate it again);
    otherwise each is a float. An input the outputs do not depend on is an error
    naming it, unless `allow_unused=True`, which gives it the gradient 0.0 (the true
    derivative of something that does not depend on it). Hooks run as in `backward()`.
    """
    outputs = _values(outputs, "outputs")
    inputs = _values(inputs, "inputs")
    seeds = _seeds(grad_outputs, len(outputs), create_graph)
    order = graph_order(outputs)
    targets = set(inputs)
    needed = set()  # nodes with a path to some input: only their gradients matter
    for node in order:
        if node in targets:
            needed.add(node)
        else:
            for parent in node.parents:
                if parent in needed:
                    needed.add(node)
                    break
    grads: dict[Value, Any] = {}
    chain = ChainRule("grad", create_graph=create_graph, check=is_anomaly_enabled(), grads=grads, needed=needed)
    chain.begin(order, [(out, seed) for out, seed in zip(outputs, seeds, strict=True) if out in needed], reset=False)
    with enable_grad() if create_graph else nullcontext():
        chain.run(order)
    result: list[Any] = []
    for i, x in enumerate(inputs):
        if x in grads:
            g = grads[x]
        elif allow_unused:
            g = 0.0
        else:
            name = f" {x.label!r}" if x.label else ""
            raise ValueError(
                f"grad: the outputs do not depend on input {i}{name} (data={x.data!r}); "
                "pass allow_unused=True to get 0.0 for it"
            )
        if create_graph:
            result.append(g if type(g) is Value else Value(g))
        else:
            result.append(float(g.data if type(g) is Value else g))
    return tuple(result)


def _values(xs: Any, what: str) -> list[Value]:
    items = [xs] if type(xs) is Value else list(xs) if isinstance(xs, Sequence) else None
    if items is None:
        raise TypeError(f"grad: {what} must be a Value or a sequence of Values, got {type(xs).__name__}")
    for i, x in enumerate(items):
        if type(x) is not Value:
            raise TypeError(f"grad: {what}[{i}] must be a Value, got {type(x).__name__} {x!r}")
    return items


def _seeds(grad_outputs: Any, n: int, create_graph: bool) -> list[Any]:
    if grad_outputs is None:
        return [1.0] * n
    seeds = [grad_outputs] if type(grad_outputs) is Value or isinstance(grad_outputs, Real) else list(grad_outputs)
    if len(seeds) != n:
        raise ValueError(f"grad: {len(seeds)} grad_outputs for {n} outputs")
    checked = []
    for i, s in enumerate(seeds):
        if type(s) is Value:
            checked.append(s if create_graph else s.data)
        elif isinstance(s, Real):
            checked.append(to_float(s, f"grad: grad_outputs[{i}]"))
        else:
            raise TypeError(f"grad: grad_outputs[{i}] must be a number or a Value, got {type(s).__name__} {s!r}")
    return checked


# ---------------------------------------------------------------- derivatives of plain functions
# Called with numbers, these return floats. Called with Values (from an enclosing derivative),
# they return Values whose graph reaches those Values, so the enclosing one can differentiate them.


def value_and_grad(f: Callable[..., Any], argnums: int | tuple[int, ...] = 0) -> Callable[..., tuple[Any, Any]]:
    """The function args -> (f(args), df/d args[argnums]); a tuple of gradients if argnums is a tuple."""
    name = _name(f)

    def value_and_gradient(*args: Any) -> tuple[Any, Any]:
        which = _argnums(argnums, len(args), f"value_and_grad({name})")
        nested = _nested(args)
        with enable_grad():
            xs = list(args)
            for i in which:
                xs[i] = _variable(args[i], i, name)
            y = _scalar(f(*xs), name)
            grads = grad([y], [xs[i] for i in which], create_graph=nested, allow_unused=True)
        value = y if nested else y.data
        return value, (grads[0] if isinstance(argnums, int) else grads)

    value_and_gradient.__name__ = value_and_gradient.__qualname__ = f"value_and_grad({name})"
    return value_and_gradient


def grad_fn(f: Callable[..., Any], argnums: int | tuple[int, ...] = 0) -> Callable[..., Any]:
    """The gradient function args -> df/d args[argnums] of a function of several numbers."""
    both = value_and_grad(f, argnums)

    def gradient(*args: Any) -> Any:
        return both(*args)[1]

    gradient.__name__ = gradient.__qualname__ = f"grad_fn({_name(f)})"
    return gradient


def derivative(f: Callable[[Any], Any], n: int = 1) -> Callable[[Any], Any]:
    """The n-th derivative x -> d^n f / dx^n (x) of a function of one number."""
    if type(n) is not int or n < 0:
        raise ValueError(f"derivative: n must be a whole number >= 0, got {n!r}")
    name = _name(f)
    result = f
    for _ in range(n):
        result = grad_fn(result)

    def nth(x: Any) -> Any:
        if n == 0:  # f itself, called with a Value like every derivative calls it
            y = _scalar(f(x if type(x) is Value else _variable(x, 0, name)), name)
            return y if type(x) is Value else y.data
        return result(x)

    nth.__name__ = nth.__qualname__ = f"derivative({name}, n={n})"
    return nth


def jacobian(f: Callable[..., Sequence[Any]]) -> Callable[..., list[list[Any]]]:
    """The function args -> J with J[i][j] = d f(args)[i] / d args[j], for f returning a list."""
    name = _name(f)

    def jacobian_at(*args: Any) -> list[list[Any]]:
        nested = _nested(args)
        with enable_grad():
            xs = [_variable(a, i, name) for i, a in enumerate(args)]
            ys = f(*xs)
            if type(ys) is Value or not isinstance(ys, Sequence):
                raise TypeError(
                    f"jacobian: {name} must return a list of numbers, got {type(ys).__name__}; "
                    "for one number use grad_fn"
                )
            return [list(grad([_scalar(y, name)], xs, create_graph=nested, allow_unused=True)) for y in ys]

    jacobian_at.__name__ = jacobian_at.__qualname__ = f"jacobian({name})"
    return jacobian_at


def hessian(f: Callable[..., Any]) -> Callable[..., list[list[Any]]]:
    """The function args -> H with H[i][j] = d^2 f / d args[i] d args[j], for f of several numbers."""
    name = _name(f)

    def gradient(*xs: Any) -> list[Any]:
        return list(grad_fn(f, tuple(range(len(xs))))(*xs))

    gradient.__name__ = gradient.__qualname__ = f"grad_fn({name})"
    hessian_at = jacobian(gradient)
    hessian_at.__name__ = hessian_at.__qualname__ = f"hessian({name})"
    return hessian_at


def _name(f: Callable) -> str:
    return getattr(f, "__name__", None) or type(f).__name__


def _nested(args: Sequence[Any]) -> bool:
    """True when called with Values: an enclosing derivative needs our results as Values."""
    return any(type(a) is Value for a in args)


def _variable(a: Any, i: int, name: str) -> Value:
    """A fresh node for argument i, so that f's gradient goes to it and to nothing else.

    An enclosing derivative's Value `a` is not used itself: f may also use it through a
    closure, and that use must not count as a use of this argument. `a + 0.0` is a new node
    through which the enclosing derivative still reaches `a`.
    """
    if type(a) is Value:
        return a + 0.0
    if not isinstance(a, Real):
        raise TypeError(f"{name}: argument {i} must be a number, got {type(a).__name__} {a!r}")
    return Value(a)


def _scalar(y: Any, name: str) -> Value:
    """f's result as a Value (a number is a constant)."""
    if type(y) is Value:
        return y
    if isinstance(y, Real):
        return Value(y)
    raise TypeError(f"{name} must return one number or Value here, got {type(y).__name__} {y!r}")


def _argnums(argnums: Any, n: int, where: str) -> tuple[int, ...]:
    which = (argnums,) if isinstance(argnums, int) else argnums
    if not isinstance(which, tuple) or not all(type(i) is int for i in which):
        raise TypeError(f"{where}: argnums must be an int or a tuple of ints, got {argnums!r}")
    for i in which:
        if not 0 <= i < n:
            raise ValueError(f"{where}: argnums {i} is out of range for {n} arguments")
    return which
