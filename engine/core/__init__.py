"""The engine itself: Value, the operations, the walk, the backward pass, grad mode, hooks.

Floors, bottom up: mode, hooks, anomaly, symbolic and spelling import nothing of the engine;
changes (data changed after a graph read it) stands on mode and anomaly; value (the node) on
them; operation on value; ops, graph, backward, chainstep and copies on those. Importing this
package assembles Value: ops sets its operators, backward and chainstep its `backward()` and
`apply_chain_rule()`, copies its `__copy__`, `__deepcopy__` and `__reduce__`.
"""

from . import value, operation, ops, graph, backward, chainstep, copies  # noqa: F401,I001  (in this order)
