"""One node's chain-rule step, on its own: `v.apply_chain_rule()` (micrograd's `v._backward()`).

For every input of `v`:

    input.grad += (d v / d input) * v.grad

with `v`'s own rule, the one backward() uses; a leaf has no step. Nothing is reset and
nothing is seeded: the step reads whatever `v.grad` holds, and calling it twice adds twice,
as micrograd's per-node closure does. Calling it on every node in the reverse of
`topological_order(root)`, after setting `root.grad = 1.0`, is backward() by hand.
"""

from __future__ import annotations

from . import debug
from .hooks import run_hooks
from .mode import enable_grad, is_anomaly_enabled
from .value import Value


def apply_chain_rule(node: Value) -> None:
    """Add each input's share of node.grad to the input's .grad.   input.grad += d node/d input * node.grad."""
    rule = node._rule
    if rule is None:
        return
    g = node.grad
    if node._hooks:  # as backward() does when it reaches the node: the hooks may replace its gradient
        g = run_hooks(node, g)
        node.grad = g
    parents = node.parents
    if type(g) is Value:  # gradients with a graph of their own (create_graph): the shares get one too
        with enable_grad():
            shares = rule(g, node, *parents)
    else:
        shares = rule(g, node.data, *[p.data for p in parents])
    check = is_anomaly_enabled()
    for i, (parent, share) in enumerate(zip(parents, shares, strict=True)):
        if check and debug.is_bad(share) and not debug.is_bad(g):
            raise FloatingPointError(
                f"chain-rule step of {debug.describe(node)} gave the gradient {getattr(share, 'data', share)!r} "
                f"to its input {i} (data={parent.data!r}, incoming gradient {getattr(g, 'data', g)!r})"
            )
        parent.grad = parent.grad + share
