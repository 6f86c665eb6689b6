"""Optimizers: change each parameter's `.data` using its `.grad`, as PyTorch's SGD and AdamW do.

A learning rate is a number or a schedule: a function of the step index k (0 on the first
`step()`, 1 on the second, ...) returning a number, e.g. `linear_decay(1.0, 0.1, 100)`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from numbers import Real
from typing import Any, Union

from engine import Value

from .module import Module

LearningRate = Union[float, Callable[[int], float]]  # noqa: UP007 (a runtime alias that must work on 3.10)


def linear_decay(start: float, end: float, steps: int) -> Callable[[int], float]:
    """The schedule lr(k) = start + (end - start) * k / steps (start at k = 0, end at k = steps)."""
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"linear_decay: steps must be a positive int, got {steps!r}")
    change = end - start

    def lr(k: int) -> float:
        return start + change * k / steps

    return lr


def _check(x: float, low: float, high: float, name: str, who: str, high_open: bool = False) -> float:
    if isinstance(x, bool) or not isinstance(x, Real) or not (low <= x < high if high_open else low <= x <= high):
        bracket = ")" if high_open else "]"
        raise ValueError(f"{who}: {name} must be a number in [{low}, {high}{bracket}, got {x!r}")
    return float(x)


def _listed(params: Any, who: str) -> list[Any]:
    """The parameters as a list; what cannot be one is refused, saying what was passed and what to pass."""
    if isinstance(params, Module):
        raise TypeError(
            f"{who}: got the model {type(params).__name__} itself; pass its parameters: {who}(model.parameters(), ...)"
        )
    owner = getattr(params, "__self__", None)
    if callable(params) and isinstance(owner, Module):
        name = getattr(params, "__name__", "parameters")
        raise TypeError(
            f"{who}: got the method {type(owner).__name__}.{name} itself, not what it returns; "
            f"call it: {who}(m.{name}(), ...) with the parentheses"
        )
    if isinstance(params, (str, bytes, Value)) or not isinstance(params, Iterable):
        raise TypeError(
            f"{who}: expected the parameters as a list of Values, such as model.parameters(), "
            f"got {type(params).__name__} {params!r}"
        )
    return list(params)


class Optimizer:
    """Holds the parameters and the learning rate; `step()` updates, `zero_grad()` clears gradients."""

    def __init__(self, params: Iterable[Value], lr: LearningRate) -> None:
        who = type(self).__name__
        self.params = _listed(params, who)
        if not self.params:
            raise ValueError(f"{who}: got an empty list of parameters")
        seen = set()
        for i, p in enumerate(self.params):
            if not isinstance(p, Value):
                raise TypeError(f"{who}: parameter {i} is a {type(p).__name__}, not a Value")
            if id(p) in seen:
                raise ValueError(f"{who}: parameter {i} ({p.label or p!r}) is listed twice; it would be updated twice")
            seen.add(id(p))
        if not callable(lr):
            _check(lr, 0.0, math.inf, "lr", who, high_open=True)
        self.lr = lr
        self.steps = 0  # how many step() calls so far

    def current_lr(self) -> float:
        """The learning rate the next `step()` will use."""
        lr = self.lr(self.steps) if callable(self.lr) else self.lr
        return _check(lr, 0.0, math.inf, f"lr at step {self.steps}", type(self).__name__, high_open=True)

    def zero_grad(self, set_to_none: bool = False) -> None:
        """Set every parameter's gradient to 0, or to None ("no gradient yet": `step()` skips it).

        The default is 0.0, which keeps `.grad` a number to print and add to; PyTorch's default
        is None. Either way the next backward() gives the same gradients.
        """
        for p in self.params:
            p.grad = None if set_to_none else 0.0

    def step(self) -> None:
        """Update every parameter once from its `.grad`; one whose `.grad` is None is left alone, as in PyTorch.

        A schedule is asked for its rate once per step.
        """
        lr = self.current_lr()
        self._begin(lr)
        for i, p in enumerate(self.params):
            g = p.grad
            if g is None:
                continue
            self._update(i, p, float(g.data if type(g) is Value else g), lr)
        self.steps += 1

    def _begin(self, lr: float) -> None:
        """Work shared by every parameter of this step (nothing by default)."""

    def _update(self, i: int, p: Value, g: float, lr: float) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        lr = getattr(self.lr, "__name__", self.lr) if callable(self.lr) else self.lr
        return f"{type(self).__name__}({len(self.params)} parameters, lr={lr}, steps={self.steps})"


class SGD(Optimizer):
    """Stochastic gradient descent with momentum and L2 weight decay (as PyTorch's SGD).

    g = grad + weight_decay * p;  v = momentum * v + g (v = g on the first step);  p -= lr * v
    """

    def __init__(self, params: Iterable[Value], lr: LearningRate, momentum: float = 0.0, weight_decay: float = 0.0):
        super().__init__(params, lr)
        self.momentum = _check(momentum, 0.0, 1.0, "momentum", "SGD", high_open=True)
        self.weight_decay = _check(weight_decay, 0.0, math.inf, "weight_decay", "SGD")
        self.velocity: list[float | None] = [None] * len(self.params)

    def _update(self, i: int, p: Value, g: float, lr: float) -> None:
        if self.weight_decay:
            g += self.weight_decay * p.data
        if self.momentum:
            v = self.velocity[i]
            g = g if v is None else self.momentum * v + g
            self.velocity[i] = g
        p.data -= lr * g


class Adam(Optimizer):
    """Adam with decoupled weight decay (AdamW); t counts steps from 1.

    p -= lr * weight_decay * p;  m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g**2;
    p -= lr / (1 - b1**t) * m / (sqrt(v) / sqrt(1 - b2**t) + eps)

    t counts the steps that updated this parameter: one skipped (its `.grad` None) does not count,
    as in PyTorch.
    """

    def __init__(
        self,
        params: Iterable[Value],
        lr: LearningRate = 0.001,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"Adam: betas must be a pair (beta1, beta2), got {betas!r}")
        self.betas = (
            _check(betas[0], 0.0, 1.0, "beta1", "Adam", high_open=True),
            _check(betas[1], 0.0, 1.0, "beta2", "Adam", high_open=True),
        )
        if isinstance(eps, bool) or not isinstance(eps, Real) or not eps > 0.0:
            raise ValueError(f"Adam: eps must be a number > 0, got {eps!r}")
        self.eps: float = float(eps)
        self.weight_decay: float = _check(weight_decay, 0.0, math.inf, "weight_decay", "Adam")
        self.m: list[float] = [0.0] * len(self.params)
        self.v: list[float] = [0.0] * len(self.params)
        self.t: list[int] = [0] * len(self.params)  # steps that updated each parameter

    def _begin(self, lr: float) -> None:
        self._corrections: dict[int, tuple[float, float]] = {}  # t -> the step size and sqrt(1 - b2**t)
        self._lr = lr

    def _correction(self, t: int) -> tuple[float, float]:
        found = self._corrections.get(t)
        if found is None:
            b1, b2 = self.betas
            found = self._corrections[t] = (self._lr / (1.0 - b1**t), math.sqrt(1.0 - b2**t))
        return found

    def _update(self, i: int, p: Value, g: float, lr: float) -> None:
        b1, b2 = self.betas
        t = self.t[i] = self.t[i] + 1
        step_size, root_correction2 = self._correction(t)
        if self.weight_decay:
            p.data *= 1.0 - lr * self.weight_decay
        m = self.m[i] = b1 * self.m[i] + (1.0 - b1) * g
        v = self.v[i] = b2 * self.v[i] + (1.0 - b2) * g * g
        p.data -= step_size * (m / (math.sqrt(v) / root_correction2 + self.eps))


AdamW = Adam
