"""The Python code that runs all copies of one repeated piece (`pieces.py`) in a loop.

`batch_code` writes, once per shape, a `Kernel`: a forward function and a backward function that
loop over all the copies, as a hand-written training step does: straight-line code on local
variables, the shared parameters' gradients summed in locals. Their calling convention is typed
beside them (`KernelForward`, `KernelBackward`):

    forward(SH, count, *columns) -> (OUT, SAVED, exposed, check)
    backward(G, OUT, SAVED, SH, ACC, S, B, *columns) -> the sums of the summed leaves

The backward loop skips work that adds only zeros, as a hand-written step skips a unit whose
relu is off: a copy whose gradient is 0.0, and the region below a relu-like rule's exact 0.0
(`if g<j>:`), whose shares would all be +-0.0 for finite numbers (every operation `zero_safe`).
Adding a +-0.0 changes no sum that starts from a gradient other than -0.0 (the replay refuses
those), so what is skipped is only the sign of zeros that no result shows. An add passes its
gradient on unchanged, so its operands' gradients are the same variable, not a copy of it.

Every line is the operation's own float arithmetic, in the order backward() applies it, so the
numbers are the same: each operation's code is read off its forward and its rule (see
`Operation.code` and `engine.core.symbolic`), and one whose rule cannot be read is called instead.
"""

from __future__ import annotations

import builtins
import linecache
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import count
from typing import Any, NamedTuple, Protocol

from ..core.symbolic import operand_fill
from ..core.value import OperationLike as Operation
from .pieces import Piece

_kernel_ids = count(1)
_NODE = re.compile(r"\bn(\d+)\b")  # an inner node's name in generated code
_GRADIENT = re.compile(r"g\d*")  # a gradient's variable: g (the copy's) or g<j>
MIN_SKIPPED = 2  # a region of fewer nodes below a relu is not worth its test
MAX_SKIP_DEPTH = 8  # regions nested deeper are not skipped on their own (Python limits indentation)
MAX_NESTING = 24  # operations nested in a fused forward expression (Python's parser allows 200 parentheses)


class KernelForward(Protocol):
    """forward(SH, count, *columns) -> (OUT, SAVED, exposed, check), copies in graph order.

    SH: the shared leaves' values; columns: one per other leaf, a value per copy (`count` copies).
    OUT: each copy's top; SAVED: each copy's tuple of the inner values backward reads; exposed: a
    list of values per exposed inner node; check: the sum of the inner operands of the rules that
    can absorb a NaN or an infinity (not `propagates_non_finite`), finite if they all are (or an
    overflow: a false alarm).
    """

    def __call__(
        self, SH: tuple[float, ...], count: int, /, *columns: Sequence[float]
    ) -> tuple[list[float], list[tuple[float, ...]], list[list[float]], float]: ...


class KernelBackward(Protocol):
    """backward(G, OUT, SAVED, SH, ACC, S, B, *columns) -> the sums of the summed leaves, in order.

    Walks the copies in backward() order: the caller gives G (each top's gradient), OUT, SAVED,
    B (each copy's first share slot) and the columns reversed. ACC: each summed leaf's sum so far;
    S: the share slots, where every other leaf's share goes, at the copy's B + its edge number.
    """

    def __call__(
        self, G: Sequence[float], OUT: Sequence[float], SAVED: Sequence[tuple[float, ...]], SH: tuple[float, ...],
        ACC: Sequence[float], S: list[float], B: Sequence[int], /, *columns: Sequence[float],
    ) -> list[float]: ...  # fmt: skip


@dataclass(frozen=True, slots=True)
class Kernel:
    """One shape's generated loops over all its copies, and their source (see `batch_code`)."""

    forward: KernelForward
    backward: KernelBackward
    source: str


def batch_code(
    piece: Piece, shared: Sequence[int], summed: Sequence[int], exposed: Sequence[int], dropped: Sequence[int] = ()
) -> Kernel:
    """The `Kernel` of every copy shaped like `piece`: its forward and backward loops (see the Protocols).

    shared: the leaves (by argument number) that are the same Value in every copy; their values
    come in the tuple SH. The other leaves come as one column per argument, a value per copy.
    summed: shared leaves whose gradient the loop adds up in a local variable, from ACC; the
    shares for every other leaf go to the list S, at the copy's base + its edge number.
    exposed: inner nodes whose values the forward pass also returns (extra outputs of `fn`).
    dropped: leaves whose gradient no one reads (numbers passed in): no share is written to them.
    """
    names = Names()
    ops = [n.operation for n in piece.inner if n.operation is not None]  # inner nodes: never leaves
    body = _BackwardLines(names, ops, piece.refs, summed, dropped).write()
    # the values the backward loop reads (a rule's operands or output; an add's are not read)
    kept = sorted({int(j) for j in _NODE.findall("\n".join(body))} - {len(ops) - 1})
    shape = _Shape(piece.refs, len(piece.leaves), shared, kept)
    forward = _forward_source(names, ops, shape, exposed)
    backward = _backward_source(shape, summed, body, all(op.zero_safe for op in ops))
    source = "\n".join(forward + [""] + backward) + "\n"
    # A name of its own, and the lines in linecache: a traceback inside the kernel shows its
    # lines, and inspect.getsource() finds them.
    where = f"<chainrule kernel {next(_kernel_ids)}: a loop over copies of a {len(ops)}-node piece>"
    namespace = compile_code(source, where, names.namespace)
    return Kernel(namespace["forward"], namespace["backward"], source)


def compile_code(source: str, where: str, namespace: dict[str, Any]) -> dict[str, Any]:
    """Run generated `source` in `namespace` (returned), its lines in linecache under the name `where`."""
    linecache.cache[where] = (len(source), None, source.splitlines(True), where)
    exec(builtins.compile(source, where, "exec"), namespace)  # noqa: S102 (our own generated code)
    return namespace


class _Shape(NamedTuple):
    """The names a kernel's two loops share: the piece's wiring, its leaves, the inner values saved."""

    refs: list[tuple[int, ...]]
    n_leaves: int
    shared: Sequence[int]
    kept: list[int]  # the inner nodes (top aside) whose values backward reads

    @property
    def args(self) -> list[str]:
        return [f"a{k}" for k in range(self.n_leaves)]

    @property
    def varying(self) -> list[int]:
        return [k for k in range(self.n_leaves) if k not in set(self.shared)]

    @property
    def columns(self) -> list[str]:
        return [f"V{k}" for k in self.varying]

    @property
    def saved(self) -> str:
        return ", ".join(f"n{j}" for j in self.kept) + "," if self.kept else ""


def _unpack(names: list[str], source: str) -> list[str]:
    return [f"    {', '.join(names)}, = {source}"] if names else []


def _forward_source(names: Names, ops: list[Operation], shape: _Shape, exposed: Sequence[int]) -> list[str]:
    """The lines of `forward(SH, count, *columns)`."""
    args, columns, top = shape.args, shape.columns, f"n{len(ops) - 1}"
    checked = sorted({k for j, op in enumerate(ops) if not op.propagates_non_finite for k in shape.refs[j] if k >= 0})
    check = [f"        C = C + {' + '.join(f'n{k}' for k in checked)}"] if checked else []
    named = {*shape.kept, *checked, *exposed, len(ops) - 1}
    body = fused_forward(names, ops, shape.refs, args, named, "        ")
    loop_over = f"zip({', '.join(columns)})" if columns else "range(count)"
    loop_vars = ", ".join(args[k] for k in shape.varying) + "," if columns else "_"
    return [
        f"def forward(SH, count, {', '.join(columns)}):",
        *_unpack([args[k] for k in shape.shared], "SH"),
        "    OUT, SAVED = [], []",
        "    C = 0.0",
        *[f"    X{i} = []" for i in range(len(exposed))],
        f"    for {loop_vars} in {loop_over}:",
        *body,
        *check,
        f"        SAVED.append(({shape.saved}))",
        f"        OUT.append({top})",
        *[f"        X{i}.append(n{j})" for i, j in enumerate(exposed)],
        f"    return OUT, SAVED, [{', '.join(f'X{i}' for i in range(len(exposed)))}], C",
    ]


def _backward_source(shape: _Shape, summed: Sequence[int], body: list[str], zero_safe: bool) -> list[str]:
    """The lines of `backward(G, OUT, SAVED, SH, ACC, S, B, *columns)` around the loop's `body`."""
    args, columns, top = shape.args, shape.columns, f"n{len(shape.refs) - 1}"
    return [
        f"def backward(G, OUT, SAVED, SH, ACC, S, B, {', '.join(columns)}):",
        *_unpack([args[k] for k in shape.shared], "SH"),
        *_unpack([f"w{k}" for k in summed], "ACC"),
        f"    for g, {top}, {f'({shape.saved})' if shape.kept else '_'}, b, "
        f"{', '.join(args[k] for k in shape.varying)} in zip(G, OUT, SAVED, B, {', '.join(columns)}):",
        # every share would be +-0.0, which changes no sum: skip the copy
        *(["        if g == 0.0:\n            continue"] if zero_safe else []),
        *body,
        f"    return [{', '.join(f'w{k}' for k in summed)}]",
    ]


class _BackwardLines:
    """The body of a kernel's backward loop: the inner nodes in reverse, each rule's shares as
    backward() adds them, a node's gradient the sum of its shares in arrival order.

    Regions below a relu-like rule's exact 0.0 are skipped (`if g<j>:`; `blocks` holds those open:
    (lowest node, gradients first set inside)), and the whole copy when its top passed nothing on.
    """

    def __init__(
        self, names: Names, ops: list[Operation], refs: list[tuple[int, ...]], summed: Sequence[int],
        dropped: Sequence[int],
    ) -> None:  # fmt: skip
        self.names, self.ops, self.refs = names, ops, refs
        self.sums = {k: f"w{k}" for k in summed}
        self.unread = set(dropped)
        self.zero_safe = all(op.zero_safe for op in ops)
        self.grad_of: dict[int, str] = {len(ops) - 1: "g"}
        self.lines: list[str] = []
        self.blocks: list[tuple[int, list[str]]] = []
        self.gated: set[int] = set()  # nodes whose one share is a rule's exact 0.0 on one branch (a relu's)
        self.skipped_top = -1  # the top's operand, when a zero gradient there skips the whole copy
        self.n_edges = 0
        self.last_user, self.n_users = [0] * len(ops), [0] * len(ops)
        for j, r in enumerate(refs):
            for k in r:
                if k >= 0:
                    self.last_user[k] = j
                    self.n_users[k] += 1

    def write(self) -> list[str]:
        for j in reversed(range(len(self.ops))):
            while self.blocks and self.blocks[-1][0] > j:
                self._close()
            self._open(j)
            self._node(j)
        while self.blocks:
            self._close()
        return self.lines

    def _emit(self, code: str) -> None:
        pad = "    " * len(self.blocks)
        self.lines.extend(pad + line for line in code.split("\n"))

    def _close(self) -> None:
        """A region ends: when skipped, what it would first set is a zero."""
        zeroed = self.blocks.pop()[1]
        if zeroed:
            self._emit("        else:\n" + "\n".join(f"            {z} = 0.0" for z in zeroed))

    def _open(self, j: int) -> None:
        """A region below node j, when its gradient can be a relu's exact 0.0 and the region is worth a test."""
        if not (self.zero_safe and j in self.gated and j != self.skipped_top and len(self.blocks) < MAX_SKIP_DEPTH):
            return
        lo = j
        while lo > 0 and self.last_user[lo - 1] <= j:  # the nodes whose gradient comes only through j
            lo -= 1
        if j - lo >= MIN_SKIPPED:
            self._emit(f"        if {self.grad_of[j]}:")  # 0.0 (or -0.0): every share below is a zero
            self.blocks.append((lo, []))

    def _node(self, j: int) -> None:
        """Node j's rule: its shares, each to its operand."""
        operands = self.refs[j]
        called: list[str] = []
        texts = [f"n{k}" if k >= 0 else f"a{~k}" for k in operands]
        shares = share_code(self.names, self.ops[j], self.grad_of[j], f"n{j}", texts, f"s{j}_", "        ", called)
        for line in called:
            self._emit(line)
        for k, share in zip(operands, shares, strict=True):
            if k < 0:
                self._to_leaf(~k, share)
            else:
                self._to_node(k, share)
        if self.zero_safe and j == len(self.ops) - 1 and len(operands) == 1 and operands[0] >= 0:
            # the top passed nothing on (a relu that is off, as in a hinge loss): all shares are zero
            self._emit(f"        if {self.grad_of[operands[0]]} == 0.0:\n            continue")
            self.skipped_top = operands[0]

    def _to_leaf(self, k: int, share: str) -> None:
        if k in self.unread:
            pass  # its edge number stays taken: the others' shares keep their places
        elif k in self.sums:
            self._emit(f"        {self.sums[k]} = {self.sums[k]} + {share}")
        else:
            self._emit(f"        S[b + {self.n_edges}] = {share}")
        self.n_edges += 1

    def _to_node(self, k: int, share: str) -> None:
        grad_of = self.grad_of
        if k in grad_of:  # a further share: the sum goes to k's own variable (an alias is left as it is)
            self._emit(f"        g{k} = {grad_of[k]} + {share}")
            grad_of[k] = f"g{k}"
        elif _GRADIENT.fullmatch(share) and all(k >= lo for lo, _ in self.blocks):
            grad_of[k] = share  # an add passes its gradient on as it is: k's is the same variable
        else:
            grad_of[k] = f"g{k}"
            self._emit(f"        g{k} = {share}")
            for lo, zeroed in self.blocks:
                if k < lo:  # first set inside a region that may be skipped, used after it
                    zeroed.append(grad_of[k])
            if self.n_users[k] == 1 and share.startswith("(0.0 if "):
                self.gated.add(k)


def fused_forward(
    names: Names, ops: list[Operation], refs: list[tuple[int, ...]], args: list[str], named: set[int], indent: str
) -> list[str]:
    """A piece's forward lines, where a value read only once, by the next expression, is written into it.

    Node j is `n<j>` (its operands: inner node k >= 0, or leaf ~k as `args[~k]`). A node whose one
    user's code reads it once, not in `named` (saved for backward, checked, returned), is not given
    a line: its expression goes where its user reads it, in parentheses unless Python parses it
    the same without them, as `n3 = a2 + a0 * a1 + a3 * a4` for ((a2 + (a0 * a1)) + (a3 * a4)).
    Python evaluates each operation once, on the same operands, in the same order of each
    operation's operands: the same floats. Depth is capped (MAX_NESTING), and a called or
    unchecked forward gets names, as `forward_lines` writes them.
    """
    users = [0] * len(ops)
    for r in refs:
        for k in r:
            if k >= 0:
                users[k] += 1
    # each operation's code (None: called, or unchecked) and how many times it reads each operand
    # (a relu reads its one twice), once per operation
    codes: dict[Operation, tuple[tuple[str, dict], list[int]] | None] = {}
    for op in ops:
        if op not in codes:
            read = names.forward(op) if op.trusted else None
            codes[op] = None if read is None else (read, _operand_reads(names, read, op.arity))
    pending: dict[int, tuple[str, int, tuple[str, dict]]] = {}  # fused nodes not yet read: expression, depth, code
    lines: list[str] = []
    for j, op in enumerate(ops):
        code = codes[op]
        operands, depth = [], 0
        for i, k in enumerate(refs[j]):
            if k < 0:
                operands.append(args[~k])
            elif k in pending:
                text, d, inner = pending.pop(k)
                if code is None or code[1][i] != 1 or d >= MAX_NESTING:
                    lines.append(f"{indent}n{k} = {text}")
                    operands.append(f"n{k}")
                else:
                    operands.append(text if _binds_without_parentheses(inner, code[0], i) else f"({text})")
                    depth = max(depth, d + 1)
            else:
                operands.append(f"n{k}")
        if code is None:
            lines += forward_lines(names, op, f"n{j}", operands, indent)
            continue
        read = code[0]
        if users[j] == 1 and j not in named:
            pending[j] = (names.fill(read, operand_fill(operands)), depth, read)
        else:
            lines.append(f"{indent}n{j} = {names.fill(read, operand_fill(operands))}")
    lines += [f"{indent}n{k} = {text}" for k, (text, _, _) in pending.items()]  # none: each has its user
    return lines


_ADDITIVE = ("{a} + {b}", "{a} - {b}")
_MULTIPLICATIVE = ("{a} * {b}", "{a} / {b}")


def _binds_without_parentheses(inner: tuple[str, dict], outer: tuple[str, dict], i: int) -> bool:
    """Whether `inner`'s code, as operand i of `outer`'s, parses as it does in parentheses: a
    left-associative chain (a + b + c is (a + b) + c) or a tighter operator (a + b * c)."""
    if outer[0] in _ADDITIVE:
        return inner[0] in _MULTIPLICATIVE or (i == 0 and inner[0] in _ADDITIVE)
    return outer[0] in _MULTIPLICATIVE and i == 0 and inner[0] in _MULTIPLICATIVE


def _operand_reads(names: Names, read: tuple[str, dict], arity: int) -> list[int]:
    code = names.fill(read, operand_fill([f"@{i}@" for i in range(arity)]))
    return [code.count(f"@{i}@") for i in range(arity)]


def forward_lines(names: Names, op: Operation, target: str, operands: list[str], indent: str) -> list[str]:
    """The lines that compute `target` = op(operands): the forward's own code when it can be read, else a call."""
    read = names.forward(op)
    if read is None:
        return [f"{indent}{target} = {names.bind(op.forward, 'F')}({', '.join(operands)})"]
    lines = [f"{indent}{target} = {names.fill(read, operand_fill(operands))}"]
    if not op.trusted:  # your forward's own arithmetic: a complex result is refused as op.forward does
        called = f"{names.bind(op.forward, 'F')}({', '.join(operands)})"
        lines.append(f"{indent}if {target}.__class__ is not float:\n{indent}    {target} = {called}")
    return lines


def share_code(
    names: Names, op: Operation, g: str, out: str, operands: list[str], temp: str, indent: str, lines: list[str]
) -> list[str]:
    """The code of each share op's rule passes to its operands (g: the gradient, out: the node's value).

    A rule whose code cannot be read is called: its line, unpacking into `temp0, temp1, ...`, goes to `lines`.
    """
    rule = names.rule(op)
    if rule is not None:
        fill = operand_fill(operands)
        return [names.fill((c, rule[1]), fill, g=g, o=out) for c in rule[0]]
    shares = [f"{temp}{i}" for i in range(len(operands))]
    lines.append(f"{indent}{', '.join(shares)}, = {names.bind(op.rule, 'R')}({g}, {out}, {', '.join(operands)})")
    return shares


class Names:
    """The names a kernel gives the functions it calls, and each operation's code, read once per kernel.

    Every function is bound to a name of the kernel's own making: `F<n>` for a forward,
    `R<n>` for a rule, `f<n>_<name>` for a function that read-off code calls. The generated
    code's other names (`a<k>`, `n<j>`, `g`, `C`, `zip`, ...) are fixed, so no operation's name
    can shadow one of them or each other, whatever it is.
    """

    def __init__(self) -> None:
        self.namespace: dict[str, Any] = {}
        self._bound: dict[int, str] = {}
        self._rules: dict[Operation, Any] = {}
        self._forwards: dict[Operation, Any] = {}

    def bind(self, function: Callable, prefix: str, name: str = "") -> str:
        """The kernel's name for `function`, binding it on first use."""
        key = id(function)
        if key not in self._bound:
            tail = "".join(c if c.isalnum() and c.isascii() or c == "_" else "_" for c in name)
            self._bound[key] = f"{prefix}{len(self._bound)}" + (f"_{tail}" if tail else "")
            self.namespace[self._bound[key]] = function
        return self._bound[key]

    def rule(self, op: Operation) -> tuple[tuple[str, ...], dict] | None:
        if op not in self._rules:
            self._rules[op] = op.kernel_rule()
        return self._rules[op]

    def forward(self, op: Operation) -> tuple[str, dict] | None:
        if op not in self._forwards:
            self._forwards[op] = op.kernel_forward()
        return self._forwards[op]

    def fill(self, read: tuple[str, dict], operands: dict[str, str], **more: str) -> str:
        """Code with its placeholders filled: operands, `g`, `o`, and the kernel's names of the functions."""
        code, env = read
        functions = {key: self.bind(f, "f", name) for key, (name, f) in env.items()}
        return code.format(**operands, **more, **functions)


def rule_function(op: Operation) -> Callable[..., tuple] | None:
    """The shares of op's rule as a kernel computes them, as a function rule(g, out, *inputs); None if called.

    What a kernel's backward loop runs for one node, on its own: for checking the generated code
    against the rule (tests/core/test_symbolic_fuzz.py).
    """
    names = Names()
    read = names.rule(op)
    if read is None:
        return None
    inputs = [f"i{k}" for k in range(op.arity)]
    shares = [names.fill((c, read[1]), operand_fill(inputs), g="g", o="o") for c in read[0]]
    source = f"def share(g, o, {', '.join(inputs)}):\n    return ({', '.join(shares)},)\n"
    return compile_code(source, f"<chainrule rule of {op.name}>", names.namespace)["share"]
