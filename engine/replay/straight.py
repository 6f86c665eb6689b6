"""Runs of small groups outside repeated pieces, as straight-line code forward and backward.

Around the kernels, a plan's other nodes (the sum of the examples' losses, a penalty over the
parameters) fall into groups by depth and operation. A chain of sums makes a group of one or two
nodes per link, and a group step then spends more on its own Python than on the arithmetic (a
group of many nodes runs as one `map`, which is cheap per node). Each run of consecutive groups of
at most SMALL nodes is written out line by line on the plan's slots, as the kernels are:

    forward(V)      V[s] = <op's forward code on V[...]>; before a group whose operation can
                    absorb a NaN or an infinity, its operands are checked, as the steps do
    backward(V, S)  node by node in backward order: g = 0.0 + its incoming shares in arrival
                    order (as `steps.incoming_gather` adds them), then S[edge] = <rule's share>

The same operations in the same order as the group steps, so the same numbers to the bit. Code
costs time to compile (about 15 microseconds a line), so runs shorter than MIN_RUN nodes stay
steps, and at most MAX_NODES nodes are written out.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import count

from .errors import Uncompiled
from .kernels import Names, compile_code, forward_lines, share_code
from .play import NOT_FINITE
from .steps import BackwardStep, ForwardStep, Group, StraightRun

MAX_NODES = 4000  # nodes written out at most; the rest stay group steps
MIN_RUN = 4  # runs of fewer nodes stay steps
SMALL = 4  # groups of more nodes stay steps (each a map)
_ids = count(1)


def straighten(
    groups: Sequence[Group], forward_steps: Sequence[ForwardStep], backward_steps: Sequence[BackwardStep]
) -> tuple[list[ForwardStep], list[BackwardStep], list[StraightRun]]:
    """The steps with each run of small groups replaced by its straight-line code (a `StraightRun`).

    forward_steps are in the order of `groups`, backward_steps in reverse; returns both lists and
    the runs.
    """
    forward: list[ForwardStep] = []
    backward: list[BackwardStep] = []
    runs: list[StraightRun] = []
    budget = MAX_NODES
    n = len(groups)
    i = 0
    while i < n:
        j = i
        n_nodes = 0
        while j < n and groups[j].stop - groups[j].start <= SMALL:
            n_nodes += groups[j].stop - groups[j].start
            j += 1
        if n_nodes >= MIN_RUN and n_nodes <= budget:
            run = straight_run(groups[i:j])
            forward.append(run)
            backward.append(run)
            runs.append(run)
            budget -= n_nodes
        else:
            j = max(j, i + 1)
            forward += forward_steps[i:j]
            backward += backward_steps[n - j : n - i][::-1]
        i = j
    backward.reverse()
    return forward, backward, runs


def straight_run(groups: Sequence[Group]) -> StraightRun:
    """forward(V) and backward(V, S) for `groups` (in forward order), compiled, with their source."""
    names = Names()
    names.namespace["U"] = Uncompiled
    forward = _forward_lines(names, groups)
    backward = _backward_lines(names, groups)
    source = "\n".join(forward + ["", *backward]) + "\n"
    n_nodes = sum(g.stop - g.start for g in groups)
    where = f"<chainrule straight-line code {next(_ids)}: {n_nodes} nodes in small groups outside repeated pieces>"
    namespace = compile_code(source, where, names.namespace)
    return StraightRun(namespace["forward"], namespace["backward"], source, tuple(groups))


def _operands(group: Group, n: int) -> list[str]:
    return [f"V[{column[n]}]" for column in group.operands]


def _forward_lines(names: Names, groups: Sequence[Group]) -> list[str]:
    lines = ["def forward(V):"]
    for group in groups:
        operands = [_operands(group, n) for n in range(group.stop - group.start)]
        if not group.operation.propagates_non_finite:  # as the group steps check before the group
            terms = " + ".join(f"({x} - {x})" for xs in operands for x in xs)
            lines.append(f"    if {terms}:\n        raise U({NOT_FINITE!r})")
        for n, xs in enumerate(operands):
            lines += forward_lines(names, group.operation, f"V[{group.start + n}]", xs, "    ")
    return lines


def _backward_lines(names: Names, groups: Sequence[Group]) -> list[str]:
    lines = ["def backward(V, S):"]
    for group in reversed(groups):
        arity = len(group.operands)
        for n in range(group.stop - group.start):
            lines.append(f"    g = {' + '.join(['0.0', *[f'S[{i}]' for i in group.incoming[n]]])}")
            called: list[str] = []
            shares = share_code(
                names, group.operation, "g", f"V[{group.start + n}]", _operands(group, n), "s", "    ", called
            )
            lines += called
            first = group.first_edge + n * arity
            lines += [f"    S[{first + i}] = {share}" for i, share in enumerate(shares)]
    return lines
