"""Copies of a node: `copy.copy(v)`, `copy.deepcopy(v)` and pickle, each a node with hooks of its own.

A copy has the same data, grad, parents, operation, label and origin, and the same hooks in a dict
of its own (counted, so backward() runs them): a hook added to the copy never runs on the original,
nor one added to the original on the copy, as PyTorch keeps them apart. A deep copy copies the
grad and the parents too (a model's parameters are leaves: no parents); the operation is shared.
"""

from __future__ import annotations

import copy
from typing import Any

from .hooks import add_hook
from .value import _LEAF, Value, _new


def rebuilt(
    data: float, grad: Any, parents: tuple, operation: Any, label: str, origin: str | None, hooks: dict | None
) -> Value:
    """A node made from the parts of another (a copy, or one read back by pickle), with hooks of its own."""
    v = _new(Value)
    v._data, v.grad, v.parents, v._how = data, grad, parents, _LEAF if operation is None else operation
    if label or origin is not None:
        v._set_extra(label=label, origin=origin)
    for fn in (hooks or {}).values():
        add_hook(v, fn)
    return v


def _copy(v: Value) -> Value:
    return rebuilt(v._data, v.grad, v.parents, v.operation, v.label, v._origin, v._hooks)


def _deepcopy(v: Value, memo: dict) -> Value:
    grad, parents = copy.deepcopy((v.grad, v.parents), memo)
    return rebuilt(v._data, grad, parents, v.operation, v.label, v._origin, v._hooks)


def _reduce(v: Value) -> tuple:
    return rebuilt, (v._data, v.grad, v.parents, v.operation, v.label, v._origin, v._hooks)


for name, method in (("__copy__", _copy), ("__deepcopy__", _deepcopy), ("__reduce__", _reduce)):
    setattr(Value, name, method)
