"""The plan: a recorded graph as groups of slots of floats, ready to replay (`play.py` replays it).

`Plan.build` makes a `Plan` by passes over the graph's nodes, each a function with one job that
returns what it found; the plan and its parts are frozen records (`steps.py`), built whole:

1. `_check`: every extra output in the loss's graph;
2. `_take_pieces`: the repeated pieces (`pieces.py`), each shape's copies to be run by one
   generated forward loop and one backward loop (`kernels.py`); the nodes left over;
3. `_group`: the rest of the graph (the sums and the penalty around the kernels) grouped by
   depth and operation; each group runs as one `map` of the operation's float forward and rule;
4. `_slots`: a slot of floats for each leaf, each copy's top and each grouped node;
5. `_edges`: a share slot for each edge, contiguous per shape's copies and per group; which
   leaves each shape's copies share, and whose gradient no one reads (numbers passed in);
6. `_incoming`: where each node's shares come from, in the order backward() adds them;
7. `_sum_in_loops`: the shared leaves whose gradient a kernel sums in its locals;
8. `_expose`: slots of their own for extra outputs inside pieces;
9. `_batch`: each shape's copies as a `Batch`, with its kernel (generated once per shape);
10. `_groups`, `_forward_step`, `_backward_step`: each group as a `Group`, and its steps; runs of
    small groups (a chain of sums) then become straight-line code (`straight.py`);
11. `_leaf_edges`: the shares each leaf's gradient adds up.

`interpret.py` runs a plan's groups and batches node by node, the reference for the tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import count
from typing import NamedTuple

from ..core.value import Value
from .errors import Uncompiled
from .kernels import Kernel, batch_code
from .pieces import Piece, find_pieces
from .play import replay
from .steps import (
    BackwardGroup,
    BackwardNode,
    BackwardStep,
    Batch,
    ForwardGroup,
    ForwardNode,
    ForwardStep,
    Group,
    LeafEdge,
    StraightRun,
    SummedLeaf,
    gather,
    gather_some,
    incoming_gather,
    one_or_gather,
)  # fmt: skip
from .straight import straighten

# ---------------------------------------------------------------- the passes


def _check(outputs: list[Value], order: list[Value]) -> None:
    """Refuse an extra output outside the loss's graph (a graph with gradient hooks never gets here:
    `Compiled._record` refuses it before planning)."""
    if not outputs:
        return
    in_graph = set(order)
    for v in outputs:
        if v not in in_graph:
            raise ValueError(f"compile: the extra output {v!r} is not part of the loss's graph")


def _take_pieces(order: list[Value]) -> tuple[list[list[Piece]], dict[Value, Piece], list[Value]]:
    """The repeated pieces, each shape's copies together; each copy by its top; the nodes not inside a copy."""
    by_shape: dict[tuple, list[Piece]] = {}
    hidden: set[Value] = set()
    for piece in find_pieces(order):
        by_shape.setdefault(piece.signature, []).append(piece)
        hidden.update(piece.inner[:-1])
    copies = [ps for ps in by_shape.values() if len(ps) >= 2]
    for ps in by_shape.values():
        if len(ps) < 2:  # a shape seen once: its nodes stay in the plan
            hidden.difference_update(ps[0].inner)
    piece_of = {p.root: p for ps in copies for p in ps}
    return copies, piece_of, [n for n in order if n not in hidden]


def _group(nodes: list[Value], piece_of: dict[Value, Piece]) -> tuple[list[Value], dict[tuple, list[Value]], list]:
    """The leaves, and the other nodes in groups keyed by (depth, operation, arity), the keys in order.

    Leaves stand at depth 0 and each copy's top at depth 1 (its piece reads only leaves).
    """
    depth: dict[Value, int] = {}
    groups: dict[tuple, list[Value]] = {}
    leaves = []
    for node in nodes:
        if node._rule is None:
            depth[node] = 0
            leaves.append(node)
        elif node in piece_of:
            depth[node] = 1
        else:
            d = 1 + max(depth[p] for p in node.parents)
            depth[node] = d
            groups.setdefault((d, node.operation, len(node.parents)), []).append(node)
    keys = sorted(groups, key=lambda k: k[0])  # stable: first appearance within a depth
    grouped = sum(map(len, groups.values()))
    if len(keys) > 1000 and 4 * len(keys) > grouped:
        raise Uncompiled(
            f"its {grouped:,} nodes outside repeated pieces fall into {len(keys):,} groups by depth and "
            "operation (a long chain?), and so few nodes per group replay no faster than backward()",
            always=True,
        )
    return leaves, groups, keys


def _slots(leaves: list[Value], copies: list[list[Piece]], groups: dict[tuple, list[Value]], keys: list) -> dict:
    """The slot of each value: the leaves first, then each batch's copies, then each group's nodes."""
    slot = {leaf: i for i, leaf in enumerate(leaves)}
    for ps in copies:
        for p in ps:
            slot[p.root] = len(slot)
    for key in keys:
        for node in groups[key]:
            slot[node] = len(slot)
    return slot


class _Copies(NamedTuple):
    """One shape's copies while the plan is built: their share slots, and the roles of their leaves."""

    pieces: list[Piece]
    first_edge: int
    n_edges: int  # share slots per copy
    shared: tuple[int, ...]  # leaves (by number) the same Value in every copy
    dropped: tuple[int, ...]  # leaves whose gradient no one reads (numbers passed in) in every copy

    @property
    def last_edge(self) -> int:
        return self.first_edge + len(self.pieces) * self.n_edges


class _Summed(NamedTuple):
    """A batch's shared leaves whose gradient its loop sums: by number in the piece, and as SummedLeaf."""

    numbers: tuple[int, ...]
    leaves: tuple[SummedLeaf, ...]


class _Exposed(NamedTuple):
    """A batch's inner nodes that are extra outputs, and the first of each one's slots."""

    nodes: tuple[int, ...]
    starts: tuple[int, ...]


def _copies(pieces: list[Piece], first_edge: int, unread: frozenset[Value]) -> _Copies:
    by_leaf = list(zip(*[p.leaves for p in pieces], strict=True))  # leaf k of every copy (== is `is` for Values)
    shared = tuple(k for k, leaves in enumerate(by_leaf) if leaves.count(leaves[0]) == len(leaves))
    dropped = tuple(k for k, leaves in enumerate(by_leaf) if all(leaf in unread for leaf in leaves))
    return _Copies(pieces, first_edge, len(pieces[0].edge_args()), shared, dropped)


def _edges(
    copies: list[list[Piece]], groups: dict, keys: list, unread: frozenset[Value]
) -> tuple[list[_Copies], dict[Value, int], int]:
    """Each shape's copies with their share slots, the first share slot of each copy and grouped
    node, and the number of share slots.

    One share slot per edge, contiguous per batch and group; slot 0 holds the seed. unread: leaves
    whose gradient no one reads.
    """
    edge_base: dict[Value, int] = {}
    n_edges = 1
    batches = []
    for ps in copies:
        batches.append(_copies(ps, n_edges, unread))
        for p in ps:
            edge_base[p.root] = n_edges
            n_edges += batches[-1].n_edges
    for key in keys:
        for node in groups[key]:
            edge_base[node] = n_edges
            n_edges += key[2]
    return batches, edge_base, n_edges


def _incoming(loss: Value, nodes: list[Value], piece_of: dict, edge_base: dict) -> dict[Value, list[int]]:
    """The share slots each node's gradient adds up: consumers in reverse order, as backward() adds them."""
    incoming: dict[Value, list[int]] = {loss: [0]}
    args_of: dict[int, list[int]] = {}  # id(refs) -> edge_args(): copies of one shape share their refs
    for node in reversed(nodes):
        copy = piece_of.get(node)
        if copy is None:
            base = edge_base.get(node, 0)  # a leaf has no parents, so no edges
            for i, parent in enumerate(node.parents):
                incoming.setdefault(parent, []).append(base + i)
        else:
            args = args_of.get(id(copy.refs))
            if args is None:
                args = args_of[id(copy.refs)] = copy.edge_args()
            for leaf, edge in zip(map(copy.leaves.__getitem__, args), count(edge_base[node])):
                incoming.setdefault(leaf, []).append(edge)
    return incoming


def _sum_in_loops(batches: list[_Copies], incoming: dict[Value, list[int]], leaves: list[Value]) -> list[_Summed]:
    """For each batch, the shared leaves whose gradient its loop sums in a local (by number, and as SummedLeaf).

    A shared leaf's gradient is summed inside the loop when the loop's shares to it arrive in one
    run, and everything else it receives comes from outside any batch.
    """
    batch_edges_end = batches[-1].last_edge if batches else 1
    leaf_index = {leaf: i for i, leaf in enumerate(leaves)}
    summed_anywhere: set[Value] = set()
    found = []
    for b in batches:
        summed: list[int] = []
        summed_leaves: list[SummedLeaf] = []
        lo, hi = b.first_edge, b.last_edge
        for k in b.shared:
            leaf = b.pieces[0].leaves[k]
            if k in b.dropped:
                continue
            ks = incoming.get(leaf, [])
            if ks and lo <= min(ks) and max(ks) < hi:  # every share from this batch (the usual case, in C)
                mine, from_other_batches = list(range(len(ks))), False
            else:
                mine = [i for i, e in enumerate(ks) if lo <= e < hi]
                from_other_batches = any(e < batch_edges_end and not lo <= e < hi for e in ks)
            if not mine or leaf in summed_anywhere or from_other_batches or len(mine) != mine[-1] - mine[0] + 1:
                continue
            summed.append(k)
            summed_anywhere.add(leaf)
            before, after = ks[: mine[0]], ks[mine[-1] + 1 :]
            summed_leaves.append(SummedLeaf(leaf_index[leaf], tuple(ks), gather_some(before), gather_some(after)))
        found.append(_Summed(tuple(summed), tuple(summed_leaves)))
    return found


def _expose(batches: list[_Copies], outputs: list[Value], slot: dict) -> list[_Exposed]:
    """For each batch, its inner nodes that are extra outputs, and the first of the slots of their
    own (after all others) that its loop fills, a slot per copy."""
    keep = set(outputs)
    found = []
    for b in batches:
        # inner nodes (top aside) that some copy returns as an extra output, in order
        exposed = sorted({p.inner.index(v) for p in b.pieces for v in keep.intersection(p.inner[:-1])})
        starts = []
        for j in exposed:
            starts.append(len(slot))
            for p in b.pieces:
                slot[p.inner[j]] = len(slot)
        found.append(_Exposed(tuple(exposed), tuple(starts)))
    return found


def _batch(
    b: _Copies, summed: _Summed, exposed: _Exposed, slot: dict[Value, int], incoming: dict[Value, list[int]],
    kernels: dict[tuple, Kernel],
) -> Batch:  # fmt: skip
    """The typed batch of one shape's copies, its kernel generated (once per shape and roles of leaves)."""
    model, pieces = b.pieces[0], b.pieces
    key = (model.signature, b.shared, summed.numbers, exposed.nodes, b.dropped)
    if key not in kernels:
        kernels[key] = batch_code(model, b.shared, summed.numbers, exposed.nodes, b.dropped)
    leaf_slots = tuple(tuple(slot[leaf] for leaf in p.leaves) for p in pieces)
    varying = [k for k in range(len(model.leaves)) if k not in b.shared]
    shared_slots = tuple(leaf_slots[0][k] for k in b.shared)
    column_slots = tuple(tuple(s[k] for s in leaf_slots) for k in varying)
    tops_incoming = tuple(tuple(incoming[p.root]) for p in pieces)
    start = slot[model.root]
    return Batch(
        count=len(pieces), start=start, stop=start + len(pieces), first_edge=b.first_edge, n_edges=b.n_edges,
        refs=tuple(model.refs), operations=tuple(n.operation for n in model.inner if n.operation is not None),
        leaf_slots=leaf_slots, edge_args=tuple(model.edge_args()), incoming=tops_incoming,
        shared=b.shared, dropped=b.dropped, summed=summed.numbers, summed_leaves=summed.leaves,
        exposed=exposed.nodes, exposed_start=exposed.starts, kernel=kernels[key],
        get_shared=gather(shared_slots), get_columns=tuple(map(gather, column_slots)),
        bases=tuple(b.first_edge + i * b.n_edges for i in reversed(range(len(pieces)))),  # backward order
        gather_in=incoming_gather(tops_incoming),
    )  # fmt: skip


def _groups(
    groups: dict[tuple, list[Value]], keys: list, slot: dict, edge_base: dict, incoming: dict
) -> tuple[Group, ...]:
    """Each group, typed: its slots, operation, operands' slots, share slots and incoming shares."""
    return tuple(
        Group(
            start=slot[groups[key][0]],
            stop=slot[groups[key][-1]] + 1,
            operation=key[1],
            operands=tuple(tuple(slot[n.parents[i]] for n in groups[key]) for i in range(key[2])),
            first_edge=edge_base[groups[key][0]],
            incoming=tuple(tuple(incoming[n]) for n in groups[key]),
        )
        for key in keys
    )


def _forward_step(group: Group) -> ForwardGroup | ForwardNode:
    """A group's forward step; a group of one node (a chain of sums, say) reads its operands by index."""
    checked = not group.operation.propagates_non_finite
    forward = group.operation.forward
    if group.stop - group.start == 1:
        return ForwardNode(group.start, forward, tuple(c[0] for c in group.operands), checked)
    return ForwardGroup(group.start, group.stop, forward, tuple(map(gather, group.operands)), checked)


def _backward_step(group: Group) -> BackwardGroup | BackwardNode:
    """A group's backward step; a group of one node reads its operands and shares by index."""
    first, rule = group.first_edge, group.operation.rule
    last = first + (group.stop - group.start) * len(group.operands)
    if group.stop - group.start == 1:
        operands = tuple(c[0] for c in group.operands)
        return BackwardNode(group.start, rule, operands, one_or_gather(group.incoming[0]), first, last)
    getters = tuple(map(gather, group.operands))
    return BackwardGroup(group.start, group.stop, rule, getters, incoming_gather(group.incoming), first, last)


def _leaf_edges(
    leaves: list[Value], incoming: dict[Value, list[int]], summed: set[int], unread: frozenset[Value]
) -> tuple[LeafEdge, ...]:
    """Each leaf whose gradient someone reads, not summed in a loop: its shares."""
    return tuple(
        LeafEdge(i, tuple(incoming[leaf]), one_or_gather(incoming[leaf]))
        for i, leaf in enumerate(leaves)
        if leaf in incoming and i not in summed and leaf not in unread
    )


# ---------------------------------------------------------------- the plan


@dataclass(frozen=True, slots=True, eq=False, repr=False)  # a plan is itself: compared and shown as one
class Plan:
    """The recorded graph as groups of slots of floats, ready to replay; `Plan.build` makes one.

    leaves: the plan's only references to the graph's Values (slots 0..len-1); groups (in forward
    order) and batches: the typed steps, which `interpret.py` runs as they are; forward_steps and
    backward_steps: what `play.py` runs, the groups' steps with runs of small groups as
    straight-line code (straight: the runs); leaf_edges: each leaf's shares.
    """

    leaves: tuple[Value, ...]
    batches: tuple[Batch, ...]
    groups: tuple[Group, ...]
    forward_steps: tuple[ForwardStep, ...]
    backward_steps: tuple[BackwardStep, ...]
    straight_runs: tuple[StraightRun, ...]
    leaf_edges: tuple[LeafEdge, ...]
    size: int  # slots of floats
    n_edges: int  # share slots
    loss_slot: int
    output_slots: tuple[int, ...]
    n_nodes: int
    n_pieces: int

    @property
    def straight(self) -> list[str]:
        """The source of each run of small groups written out as straight-line code."""
        return [run.source for run in self.straight_runs]

    @property
    def code(self) -> str:
        """The generated code: each kernel (a forward and a backward loop per shape of repeated piece),
        then each run of small groups as straight-line code; '' if there is none."""
        parts: list[str] = []
        seen: set[str] = set()
        for b in self.batches:
            if b.source not in seen:
                seen.add(b.source)
                parts.append(f"# kernel {len(seen)}: {b.count} copies\n{b.source}")
        parts += [f"# a run of small groups outside repeated pieces, line by line\n{s}" for s in self.straight]
        return "\n\n".join(parts)

    @property
    def n_kernels(self) -> int:
        return len(self.batches)

    @property
    def n_groups(self) -> int:
        return len(self.groups) + len(self.batches)

    def __repr__(self) -> str:
        copies = sum(b.count for b in self.batches)
        return (
            f"Plan({self.n_nodes} nodes: {copies} copies of repeated pieces in {self.n_kernels} kernel(s), "
            f"{len(self.groups)} groups ({len(self.straight_runs)} run(s) of straight-line code), "
            f"{len(self.leaves)} leaves)"
        )

    def run(
        self, leaves: Sequence[Value] | None = None, data: Sequence[float] | None = None
    ) -> tuple[float, list[float]]:
        """Forward and backward on `data` (default: the leaves' numbers), adding to `leaves`' gradients
        (default: the plan's leaves); the loss and the extra outputs. See `play.replay`."""
        return replay(self, leaves, data)

    @classmethod
    def build(
        cls, loss: Value, outputs: list[Value], order: list[Value], unread: frozenset[Value] = frozenset()
    ) -> Plan:
        """The plan of the graph `order` (loss last). unread: leaves whose gradient no one reads (the
        stand-ins of numbers passed in): the kernels write no share to them and no sum is made for them."""
        _check(outputs, order)
        copies, piece_of, nodes = _take_pieces(order)
        leaves, grouped, keys = _group(nodes, piece_of)
        slot = _slots(leaves, copies, grouped, keys)
        shapes, edge_base, n_edges = _edges(copies, grouped, keys, unread)
        incoming = _incoming(loss, nodes, piece_of, edge_base)
        summed = _sum_in_loops(shapes, incoming, leaves)
        exposed = _expose(shapes, outputs, slot)
        kernels: dict[tuple, Kernel] = {}
        batches = tuple(_batch(*parts, slot, incoming, kernels) for parts in zip(shapes, summed, exposed, strict=True))
        groups = _groups(grouped, keys, slot, edge_base, incoming)
        forward, backward, runs = straighten(
            groups, list(map(_forward_step, groups)), list(map(_backward_step, groups))[::-1]
        )
        in_loops = {s.leaf for b in batches for s in b.summed_leaves}
        return cls(
            leaves=tuple(leaves),
            batches=batches,
            groups=groups,
            forward_steps=tuple(forward),
            backward_steps=tuple(backward),
            straight_runs=tuple(runs),
            leaf_edges=_leaf_edges(leaves, incoming, in_loops, unread),
            size=len(slot),
            n_edges=n_edges,
            loss_slot=slot[loss],
            output_slots=tuple(slot[v] for v in outputs),
            n_nodes=len(order),
            n_pieces=len(piece_of),
        )
