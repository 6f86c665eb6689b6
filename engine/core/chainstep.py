"""One node's chain-rule step, on its own: `v.apply_chain_rule()` (micrograd's `v._backward()`).

For every input of `v`:

    input.grad += (d v / d input) * v.grad

with `v`'s own rule, the one backward() uses; a leaf has no step. Nothing is reset and
nothing is seeded: the step reads whatever `v.grad` holds, and calling it twice adds twice,
as micrograd's per-node closure does. Calling it on every node in the reverse of
`topological_order(root)`, after setting `root.grad = 1.0`, is backward() by hand.
"""

from __future__ import annotations

from contextlib import nullcontext

from . import changes
from .backward import ChainRule
from .mode import enable_grad, is_anomaly_enabled
from .value import Value


def apply_chain_rule(node: Value) -> None:
    """Add each input's share of node.grad to the input's .grad.   input.grad += d node/d input * node.grad."""
    if node._rule is None:
        return
    if changes.changed:  # an input changed since node read it: its share would be wrong
        changes.check(node.parents, "apply_chain_rule", forget=False)
    create_graph = type(node.grad) is Value  # gradients with a graph of their own: the shares get one too
    chain = ChainRule("apply_chain_rule", create_graph=create_graph, check=is_anomaly_enabled())
    with enable_grad() if create_graph else nullcontext():
        chain.step(node)  # the hooks, the rule and the checks of backward(), for this one node


Value.apply_chain_rule = apply_chain_rule
