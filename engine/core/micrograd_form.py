"""micrograd's way of making a Value, `Value(data, _children, _op, label)`: taken for a leaf, explained otherwise."""

from __future__ import annotations

from typing import Any


def micrograd_leaf(children: Any, rest: tuple, node: type) -> Any:
    """The label of micrograd's `Value(data, _children=(), _op='', label='')`, for a leaf (no children, no op);
    `node` is the Value class, whose instances micrograd's children are."""
    if not isinstance(children, (tuple, set, frozenset)) or any(type(c) is not node for c in children):
        return children  # not micrograd's form: the label setter says what is wrong with it
    if len(rest) > 2:
        raise TypeError(
            f"Value: takes (data, label), or micrograd's (data, _children, _op, label); got {len(rest) + 2}"
        )
    op, label = (*rest, "", "")[:2]
    if children or op:
        raise TypeError(
            "Value: micrograd's Value(data, _children, _op) makes an operation's result by hand, with a _backward "
            "set afterwards; here an operation is defined once, forward and derivative side by side, with "
            "engine.operation (see 'Coming from micrograd' in the README). For a leaf: Value(data, label='x')"
        )
    return label
