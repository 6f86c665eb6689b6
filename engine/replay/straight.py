"""Runs of small groups outside repeated pieces, as straight-line code forward and backward.

Around the kernels, a plan's other nodes (the sum of the examples' losses, a penalty over the
parameters) fall into groups by depth and operation. A chain of sums makes a group of one or two
nodes per link, and a group step then spends more on its own Python than on the arithmetic (a
group of many nodes runs as one `map`, which is cheap per node). Each run of consecutive groups of
at most SMALL nodes is written out line by line on the plan's slots, as the kernels are:

    forward(V)      V[s] = <op's forward code on V[...]>; before a group whose operation can
                    absorb a NaN or an infinity, its operands are checked, as the steps do
    backward(V, S)  node by node in backward order: g = 0.0 + its incoming shares in arrival
                    order (as `play._incoming_gather` adds them), then S[edge] = <rule's share>

The same operations in the same order as the group steps, so the same numbers to the bit. Code
costs time to compile (about 15 microseconds a line), so runs shorter than MIN_RUN nodes stay
steps, and at most MAX_NODES nodes are written out.
"""

from __future__ import annotations

import builtins
import linecache
from collections.abc import Callable
from itertools import count
from typing import Any

from ..core.value import Value
from .errors import Uncompiled
from .kernels import _Names, forward_lines, share_code
from .play import NOT_FINITE

MAX_NODES = 4000  # nodes written out at most; the rest stay group steps
MIN_RUN = 4  # runs of fewer nodes stay steps
SMALL = 4  # groups of more nodes stay steps (each a map)
_ids = count(1)


def straighten(
    keys: list, groups: dict[tuple, list[Value]], slot: dict[Value, int], edge_base: dict[Value, int],
    incoming: dict[Value, list[int]], forward_steps: list, backward_steps: list,
) -> tuple[list, list, list[str]]:  # fmt: skip
    """The steps with each run of small groups replaced by its straight-line code (a function).

    forward_steps are in the order of `keys`, backward_steps in reverse; returns both lists and
    the source of each run's code.
    """
    forward: list = []
    backward: list = []
    sources: list[str] = []
    budget = MAX_NODES
    i = 0
    while i < len(keys):
        j = i
        n_nodes = 0
        while j < len(keys) and len(groups[keys[j]]) <= SMALL:
            n_nodes += len(groups[keys[j]])
            j += 1
        if n_nodes >= MIN_RUN and n_nodes <= budget:
            f, b, source = _code(keys[i:j], groups, slot, edge_base, incoming)
            forward.append(f)
            backward.append(b)
            sources.append(source)
            budget -= n_nodes
        else:
            j = max(j, i + 1)
            forward += forward_steps[i:j]
            backward += backward_steps[len(keys) - j : len(keys) - i][::-1]
        i = j
    backward.reverse()
    return forward, backward, sources


def _code(
    keys: list, groups: dict[tuple, list[Value]], slot: dict[Value, int], edge_base: dict[Value, int],
    incoming: dict[Value, list[int]],
) -> tuple[Callable[[list], None], Callable[[list, list], None], str]:  # fmt: skip
    """forward(V) and backward(V, S) for the groups `keys` (in order), and their source."""
    names = _Names()
    names.namespace["U"] = Uncompiled
    forward = ["def forward(V):"]
    backward = ["def backward(V, S):"]
    for key in keys:
        operation, group = key[1], groups[key]
        operands = [[f"V[{slot[p]}]" for p in n.parents] for n in group]
        if not operation.propagates_non_finite:  # as the group steps check before the group
            terms = " + ".join(f"({x} - {x})" for xs in operands for x in xs)
            forward.append(f"    if {terms}:\n        raise U({NOT_FINITE!r})")
        for n, xs in zip(group, operands, strict=True):
            forward += forward_lines(names, operation, f"V[{slot[n]}]", xs, "    ")
    n_nodes = 0
    for key in reversed(keys):
        for n in groups[key]:
            n_nodes += 1
            ins = incoming.get(n, [])
            backward.append(f"    g = {' + '.join(['0.0', *[f'S[{i}]' for i in ins]])}")
            xs = [f"V[{slot[p]}]" for p in n.parents]
            lines: list[str] = []
            shares = share_code(names, key[1], "g", f"V[{slot[n]}]", xs, "s", "    ", lines)
            backward += lines
            first = edge_base[n]
            backward += [f"    S[{first + i}] = {share}" for i, share in enumerate(shares)]
    source = "\n".join(forward + ["", *backward]) + "\n"
    where = f"<chainrule straight-line code {next(_ids)}: {n_nodes} nodes in small groups outside repeated pieces>"
    linecache.cache[where] = (len(source), None, source.splitlines(True), where)
    namespace: dict[str, Any] = names.namespace
    exec(builtins.compile(source, where, "exec"), namespace)  # noqa: S102 (our own generated code)
    return namespace["forward"], namespace["backward"], source
