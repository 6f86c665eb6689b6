"""The nodes outside repeated pieces, as one straight-line function forward and one backward.

Around the kernels, a plan's other nodes (the sum of the examples' losses, a penalty over the
parameters) fall into groups by depth and operation. A chain of sums makes a group of one node
per link, and a loop over groups then spends more on its own Python than on the arithmetic.
Written out line by line on the plan's slots, as the kernels are, each node costs its arithmetic:

    forward(V)      V[s] = <op's forward code on V[...]>, group by group; before a group whose
                    operation can absorb a NaN or an infinity, its operands are checked
    backward(V, S)  node by node in backward order: g = 0.0 + its incoming shares in arrival
                    order (as `play._incoming_gather` adds them), then S[edge] = <rule's share>

The same operations in the same order as the group steps, so the same numbers to the bit. A rest
larger than MAX_NODES keeps the group steps: compiling its code would cost more than it saves.
"""

from __future__ import annotations

import builtins
import linecache
from collections.abc import Callable
from itertools import count
from typing import Any

from ..core.value import Value
from .guards import Unsure
from .kernels import _Names, forward_lines, share_code

MAX_NODES = 4000  # a larger rest is replayed by the group steps
_ids = count(1)
_NOT_FINITE = "a NaN or an infinity appeared while replaying the recorded graph"


def straight_code(
    groups: dict[tuple, list[Value]], keys: list, slot: dict[Value, int], edge_base: dict[Value, int],
    incoming: dict[Value, list[int]],
) -> tuple[Callable[[list], None], Callable[[list, list], None], str] | None:  # fmt: skip
    """forward(V) and backward(V, S) for the grouped nodes, and their source; None for none or too many."""
    n_nodes = sum(map(len, groups.values()))
    if not n_nodes or n_nodes > MAX_NODES:
        return None
    names = _Names()
    names.namespace["U"] = Unsure
    forward = ["def forward(V):"]
    backward = ["def backward(V, S):"]
    for key in keys:
        operation, group = key[1], groups[key]
        operands = [[f"V[{slot[p]}]" for p in n.parents] for n in group]
        if not operation.propagates_non_finite:  # as the group steps check before the group
            terms = " + ".join(f"({x} - {x})" for xs in operands for x in xs)
            forward.append(f"    if {terms}:\n        raise U({_NOT_FINITE!r})")
        for n, xs in zip(group, operands, strict=True):
            forward += forward_lines(names, operation, f"V[{slot[n]}]", xs, "    ")
    for key in reversed(keys):
        operation = key[1]
        for n in groups[key]:
            ins = incoming.get(n, [])
            backward.append(f"    g = {' + '.join(['0.0', *[f'S[{i}]' for i in ins]])}")
            xs = [f"V[{slot[p]}]" for p in n.parents]
            lines: list[str] = []
            shares = share_code(names, operation, "g", f"V[{slot[n]}]", xs, "s", "    ", lines)
            backward += lines
            first = edge_base[n]
            backward += [f"    S[{first + i}] = {share}" for i, share in enumerate(shares)]
    source = "\n".join(forward + ["", *backward]) + "\n"
    where = f"<chainrule straight-line code {next(_ids)}: the {n_nodes} nodes outside repeated pieces>"
    linecache.cache[where] = (len(source), None, source.splitlines(True), where)
    namespace: dict[str, Any] = names.namespace
    exec(builtins.compile(source, where, "exec"), namespace)  # noqa: S102 (our own generated code)
    return namespace["forward"], namespace["backward"], source
