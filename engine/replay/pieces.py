"""Repeated pieces of a recorded graph: the sub-graphs that one generated loop can run for all copies.

A network applied to 100 examples makes 100 copies of one sub-graph. Each copy reads only
leaves (the shared parameters, its own inputs and constants) and nothing outside it uses its
inner nodes: a *piece*. `find_pieces` finds them; `kernels.py` writes each shape's loops.
"""

from __future__ import annotations

from collections import Counter
from itertools import chain
from operator import attrgetter

from ..core.graph import graph_order
from ..core.value import Value

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

    def is_private(self, uses: Counter) -> bool:
        """True if nothing outside the piece uses its inner nodes (its root aside)."""
        inside = Counter(k for r in self.refs for k in r if k >= 0)
        inner = self.inner
        return all(uses[inner[j]] == inside[j] for j in range(len(inner) - 1))

    def edge_args(self) -> list[int]:
        """The leaf of each leaf operand, in the order backward() adds their shares."""
        return [~k for r in reversed(self.refs) for k in r if k < 0]


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
    for node in order:  # a tree hash of each node: equal keys, equal unfolded shapes
        parents = node.parents
        if len(parents) == 2:
            key[node] = shape_ids.setdefault((node.operation, key[parents[0]], key[parents[1]]), len(shape_ids))
        elif len(parents) == 1:
            key[node] = shape_ids.setdefault((node.operation, key[parents[0]]), len(shape_ids))
        elif parents:  # three or more inputs: every one is part of the shape
            key[node] = shape_ids.setdefault((node.operation, *[key[p] for p in parents]), len(shape_ids))
        else:
            key[node] = -1
    count = Counter(key.values())
    uses = Counter(chain.from_iterable(map(attrgetter("parents"), order)))

    inner_order = [n for n in order if n._rule is not None]
    pieces: list[Piece] = []
    models: dict[int, list[Piece]] = {}  # the first copy of each shape, by tree hash
    failed: dict[int, int] = {}
    i = len(inner_order) - 1
    while i >= 0:  # from the top of the graph down, so the largest pieces win
        node = inner_order[i]
        k = key[node]
        i -= 1
        if count[k] < 2 or failed.get(k, 0) >= 2:
            continue
        piece = None
        for first in models.get(k, ()):  # a further copy of a shape already seen?
            try:
                candidate = Piece(inner_order[i + 2 - len(first.inner) : i + 2], k)
            except LookupError:
                continue
            if candidate.signature == first.signature and candidate.is_private(uses):
                piece = candidate
                break
        if piece is None:  # a new shape (the same tree can share nodes differently)
            inner = _sub_graph(node, MAX_NODES)
            if not max(MIN_NODES, 2) <= len(inner) <= MAX_NODES:  # a kernel saves at least one value
                failed[k] = 2
                continue
            piece = Piece(inner, k)
            if not piece.is_private(uses):
                failed[k] = failed.get(k, 0) + 1
                continue
            models.setdefault(k, []).append(piece)
        pieces.append(piece)
        i -= len(piece.inner) - 1  # its inner nodes are taken
    pieces.reverse()
    return pieces
