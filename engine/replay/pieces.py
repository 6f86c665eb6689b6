"""Repeated pieces of a recorded graph: the sub-graphs that one generated loop can run for all copies.

A network applied to 100 examples makes 100 copies of one sub-graph. Each copy reads only
leaves (the shared parameters, its own inputs and constants) and nothing outside it uses its
inner nodes: a *piece*. `find_pieces` finds them; `kernels.py` writes each shape's loops.
"""

from __future__ import annotations

from collections import Counter
from itertools import chain, repeat
from operator import attrgetter, is_not
from typing import Any

from ..core.graph import graph_order
from ..core.value import Value, _Extra

_parents = attrgetter("parents")
_rule = attrgetter("_how.rule")  # Value._rule without the property's call

MIN_NODES = 8  # smaller repeated pieces stay with the rest of the graph
MAX_NODES = 5000  # larger ones would cost more to compile than they save


class Piece:
    """One copy of a repeated sub-graph: its inner nodes (the top one last) and the leaves it reads.

    `refs[j]` says where inner node j's operands come from: inner node i (i >= 0) or leaf k
    (written ~k < 0), leaves numbered as first met. With the top's shape key it is the piece's
    signature: copies with equal signatures compute the same thing from their own leaves.
    """

    __slots__ = ("root", "inner", "leaves", "refs", "signature")

    def __init__(self, inner: list[Value], key: int) -> None:
        local = {n: j for j, n in enumerate(inner)}
        leaves: list[Value] = []
        number: dict[Value, int] = {}
        refs = []
        for node in inner:
            r = []
            for p in node.parents:
                j = local.get(p)
                if j is None:
                    if p._rule is not None:
                        raise LookupError("not a closed piece")  # an operand made outside the piece
                    j = number.get(p)
                    if j is None:
                        j = number[p] = ~len(leaves)
                        leaves.append(p)
                r.append(j)
            refs.append(tuple(r))
        self.root, self.inner, self.leaves, self.refs = inner[-1], inner, leaves, refs
        self.signature = (key, tuple(refs))

    @classmethod
    def copy_of(cls, model: Piece, shape: _Shape, inner: list[Value]) -> Piece | None:
        """`inner` as a copy of `model` (its inner nodes wired alike, over leaves of its own), else None.

        The same answer as comparing `Piece(inner, key)`'s signature with the model's, at C speed:
        the operands `inner` would have as a copy (its inner nodes, the leaves where the model
        first meets each leaf) compared by identity with the operands it has.
        """
        operands = list(chain.from_iterable(map(_parents, inner)))
        if len(inner) != len(model.inner) or len(operands) != len(shape.table):
            return None
        leaves = list(map(operands.__getitem__, shape.first_met))
        if any(map(is_not, map(_rule, leaves), repeat(None))) or len(set(leaves)) != len(leaves):
            return None  # an operand made outside the piece, or two of its leaves the same Value
        if list(map((inner + leaves).__getitem__, shape.table)) != operands:
            return None
        piece = cls.__new__(cls)
        piece.root, piece.inner, piece.leaves, piece.refs = inner[-1], inner, leaves, model.refs
        piece.signature = model.signature
        return piece

    def inside_uses(self) -> list[int]:
        """How many times the piece itself uses each of its inner nodes but the top."""
        counts = [0] * len(self.inner)
        for k in chain.from_iterable(self.refs):
            if k >= 0:
                counts[k] += 1
        return counts[:-1]

    def is_private(self, uses: Counter, inside: list[int] | None = None) -> bool:
        """True if nothing outside the piece uses its inner nodes (its top aside).

        `inside`: `inside_uses()`, when known (the same for every copy of a shape).
        """
        if inside is None:
            inside = self.inside_uses()
        return list(map(uses.__getitem__, self.inner[:-1])) == inside

    def edge_args(self) -> list[int]:
        """The leaf of each leaf operand, in the order backward() adds their shares."""
        return [~k for r in reversed(self.refs) for k in r if k < 0]


class _Shape:
    """A model piece's wiring as `Piece.copy_of` reads it: for each operand (all inner nodes' in
    a row) its index in inner + leaves, and where each leaf is first met; and its inside uses."""

    __slots__ = ("table", "first_met", "inside")

    def __init__(self, model: Piece) -> None:
        n = len(model.inner)
        flat = list(chain.from_iterable(model.refs))
        self.table = [k if k >= 0 else n + ~k for k in flat]
        first: dict[int, int] = {}
        for at, k in enumerate(flat):
            if k < 0:
                first.setdefault(~k, at)
        self.first_met = [first[k] for k in range(len(model.leaves))]
        self.inside = model.inside_uses()


def _sub_graph(root: Value, limit: int) -> list[Value]:
    """The inner nodes below `root` (leaves aside) in topological order, or more than `limit` of them."""
    return graph_order([root], stop=_is_leaf, limit=limit)


def _is_leaf(node: Value) -> bool:
    return node._rule is None


def find_pieces(order: list[Value]) -> list[Piece]:
    """Repeated private sub-graphs over leaves, in topological order of their roots.

    The first copy of each shape is found by a walk from its top. A private piece's inner nodes
    stand together in `order` (a depth-first order), so each further copy is read straight off
    the order and checked to have the same signature.
    """
    shape_ids: dict[tuple, int] = {}
    key: dict[Value, int] = {}
    shape_id = shape_ids.setdefault
    for node in order:  # a tree hash of each node: equal keys, equal unfolded shapes
        parents = node.parents
        n = len(parents)
        how: Any = node._how  # node.operation, read without the property's call
        if type(how) is _Extra:
            how = how.operation
        if n == 2:
            a, b = parents
            key[node] = shape_id((how, key[a], key[b]), len(shape_ids))
        elif n == 1:
            key[node] = shape_id((how, key[parents[0]]), len(shape_ids))
        elif n:  # three or more inputs: every one is part of the shape
            key[node] = shape_id((how, *[key[p] for p in parents]), len(shape_ids))
        else:
            key[node] = -1
    count = Counter(key.values())
    uses = Counter(chain.from_iterable(map(_parents, order)))

    inner_order = [n for n in order if n._how.rule is not None]  # n._rule, without the property's call
    pieces: list[Piece] = []
    models: dict[int, list[tuple[Piece, _Shape]]] = {}  # the first copy of each shape, by tree hash
    failed: dict[int, int] = {}
    i = len(inner_order) - 1
    while i >= 0:  # from the top of the graph down, so the largest pieces win
        node = inner_order[i]
        k = key[node]
        i -= 1
        if count[k] < 2 or failed.get(k, 0) >= 2:
            continue
        piece = None
        for first, shape in models.get(k, ()):  # a further copy of a shape already seen?
            candidate = Piece.copy_of(first, shape, inner_order[i + 2 - len(first.inner) : i + 2])
            if candidate is not None and candidate.is_private(uses, shape.inside):
                piece = candidate
                break
        if piece is None:  # a new shape (the same tree can share nodes differently)
            inner = _sub_graph(node, MAX_NODES)
            if not max(MIN_NODES, 2) <= len(inner) <= MAX_NODES:  # a kernel saves at least one value
                failed[k] = 2
                continue
            piece = Piece(inner, k)
            shape = _Shape(piece)
            if not piece.is_private(uses, shape.inside):
                failed[k] = failed.get(k, 0) + 1
                continue
            models.setdefault(k, []).append((piece, shape))
        pieces.append(piece)
        i -= len(piece.inner) - 1  # its inner nodes are taken
    pieces.reverse()
    return pieces
