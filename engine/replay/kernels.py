"""The Python code that runs all copies of one repeated piece (`pieces.py`) in a loop.

`batch_code` writes, once per shape, a forward function and a backward function that loop over
all the copies, as a hand-written training step does: straight-line code on local variables,
the shared parameters' gradients summed in locals.

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
from itertools import count
from typing import Any

from ..core.symbolic import operand_fill
from ..core.value import OperationLike as Operation
from .pieces import Piece

_kernel_ids = count(1)
_NODE = re.compile(r"\bn(\d+)\b")  # an inner node's name in generated code
_GRADIENT = re.compile(r"g\d*")  # a gradient's variable: g (the copy's) or g<j>
MIN_SKIPPED = 2  # a region of fewer nodes below a relu is not worth its test
MAX_SKIP_DEPTH = 8  # regions nested deeper are not skipped on their own (Python limits indentation)
MAX_NESTING = 24  # operations nested in a fused forward expression (Python's parser allows 200 parentheses)


def batch_code(
    piece: Piece, shared: list[int], summed: list[int], exposed: list[int], dropped: Sequence[int] = ()
) -> tuple[Callable, Callable, str]:
    """Generate `forward(SH, count, *columns)` and `backward(...)` for every copy shaped like `piece`, and their source.

    shared: the leaves (by argument number) that are the same Value in every copy; their values
    come in the tuple SH. The other leaves come as one column per argument, a value per copy.
    summed: shared leaves whose gradient the loop adds up in a local variable, from ACC; the
    shares for every other leaf go to the list S, at the copy's base + its edge number.
    exposed: inner nodes whose values the forward pass also returns (extra outputs of `fn`).
    dropped: leaves whose gradient no one reads (numbers passed in): no share is written to them.

    forward -> (outputs, saved values (the inner ones backward reads), exposed columns, check), copies in graph order;
    check is the sum of the inner operands of the rules that can absorb a NaN or an infinity
    (not `propagates_non_finite`): it is finite if they all are (or may overflow: a false alarm).
    backward(G, OUT, SAVED, SH, ACC, S, B, *columns) walks the copies in backward() order (the
    caller reverses the lists) and returns the sums of `summed`, in order.
    """
    names = _Names()
    n_args = len(piece.leaves)
    is_shared = set(shared)
    varying = [k for k in range(n_args) if k not in is_shared]
    args = [f"a{k}" for k in range(n_args)]
    nodes = [f"n{j}" for j in range(len(piece.inner))]
    ops = [n.operation for n in piece.inner if n.operation is not None]  # inner nodes: never leaves
    zero_safe = all(op.zero_safe for op in ops)

    def operand(k: int) -> str:
        return nodes[k] if k >= 0 else args[~k]

    def unpack(names_: list[str], source: str) -> list[str]:
        return [f"    {', '.join(names_)}, = {source}"] if names_ else []

    checked = sorted({k for j, op in enumerate(ops) if not op.propagates_non_finite for k in piece.refs[j] if k >= 0})
    check = [f"        C = C + {' + '.join(nodes[k] for k in checked)}"] if checked else []
    # backward: inner nodes in reverse; a node's gradient is the sum of its shares in arrival order
    sums = {k: f"w{k}" for k in summed}
    unread = set(dropped)
    grad_of: dict[int, str] = {len(ops) - 1: "g"}
    lines: list[str] = []
    n_edges = 0
    last_user = [0] * len(ops)
    n_users = [0] * len(ops)
    for j, refs in enumerate(piece.refs):
        for k in refs:
            if k >= 0:
                last_user[k] = j
                n_users[k] += 1
    gated: set[int] = set()  # nodes whose one share is a rule's exact 0.0 on one branch (a relu's)
    skipped_top = -1  # the top's operand, when a zero gradient there skips the whole copy
    blocks: list[tuple[int, list[str]]] = []  # skippable regions open: (lowest node, gradients first set inside)

    def emit(code: str) -> None:
        pad = "    " * len(blocks)
        lines.extend(pad + line for line in code.split("\n"))

    def close() -> None:  # a region ends: when skipped, what it would first set is a zero
        zeroed = blocks.pop()[1]
        if zeroed:
            emit("        else:\n" + "\n".join(f"            {z} = 0.0" for z in zeroed))

    for j in reversed(range(len(ops))):
        while blocks and blocks[-1][0] > j:
            close()
        if zero_safe and j in gated and j != skipped_top and len(blocks) < MAX_SKIP_DEPTH:
            lo = j
            while lo > 0 and last_user[lo - 1] <= j:  # the nodes whose gradient comes only through j
                lo -= 1
            if j - lo >= MIN_SKIPPED:
                emit(f"        if {grad_of[j]}:")  # 0.0 (or -0.0): every share below is a zero, which changes no sum
                blocks.append((lo, []))
        op, operands = ops[j], piece.refs[j]
        ops_ = [operand(k) for k in operands]
        called: list[str] = []
        shares = share_code(names, op, grad_of[j], nodes[j], ops_, f"s{j}_", "        ", called)
        for line in called:
            emit(line)
        for k, share in zip(operands, shares, strict=True):
            if k < 0 and ~k in unread:
                pass  # its edge number stays taken: the others' shares keep their places
            elif k < 0 and ~k in sums:
                emit(f"        {sums[~k]} = {sums[~k]} + {share}")
            elif k < 0:
                emit(f"        S[b + {n_edges}] = {share}")
            elif k in grad_of:  # a further share: the sum goes to k's own variable (an alias is left as it is)
                emit(f"        g{k} = {grad_of[k]} + {share}")
                grad_of[k] = f"g{k}"
            elif _GRADIENT.fullmatch(share) and all(k >= lo for lo, _ in blocks):
                grad_of[k] = share  # an add passes its gradient on as it is: k's is the same variable
            else:
                grad_of[k] = f"g{k}"
                emit(f"        g{k} = {share}")
                for lo, zeroed in blocks:
                    if k < lo:  # first set inside a region that may be skipped, used after it
                        zeroed.append(grad_of[k])
                if n_users[k] == 1 and share.startswith("(0.0 if "):
                    gated.add(k)
            n_edges += k < 0
        if zero_safe and j == len(ops) - 1 and len(operands) == 1 and operands[0] >= 0:
            # the top passed nothing on (a relu that is off, as in a hinge loss): all shares are zero
            emit(f"        if {grad_of[operands[0]]} == 0.0:\n            continue")
            skipped_top = operands[0]
    while blocks:
        close()

    # the values the backward loop reads (a rule's operands or output; an add's are not read)
    kept = sorted({int(j) for j in _NODE.findall("\n".join(lines))} - {len(ops) - 1})
    named = {*kept, *checked, *exposed, len(ops) - 1}
    body = fused_forward(names, ops, piece.refs, args, named, "        ")
    saved = ", ".join(nodes[j] for j in kept) + "," if kept else ""
    columns = [f"V{k}" for k in varying]
    loop_over = f"zip({', '.join(columns)})" if columns else "range(count)"
    loop_vars = ", ".join(args[k] for k in varying) + "," if columns else "_"
    forward = [
        f"def forward(SH, count, {', '.join(columns)}):",
        *unpack([args[k] for k in shared], "SH"),
        "    OUT, SAVED = [], []",
        "    C = 0.0",
        *[f"    X{i} = []" for i in range(len(exposed))],
        f"    for {loop_vars} in {loop_over}:",
        *body,
        *check,
        f"        SAVED.append(({saved}))",
        f"        OUT.append({nodes[-1]})",
        *[f"        X{i}.append({nodes[j]})" for i, j in enumerate(exposed)],
        f"    return OUT, SAVED, [{', '.join(f'X{i}' for i in range(len(exposed)))}], C",
    ]

    backward = [
        f"def backward(G, OUT, SAVED, SH, ACC, S, B, {', '.join(columns)}):",
        *unpack([args[k] for k in shared], "SH"),
        *unpack([sums[k] for k in summed], "ACC"),
        f"    for g, {nodes[-1]}, {f'({saved})' if kept else '_'}, b, {', '.join(args[k] for k in varying)} in "
        f"zip(G, OUT, SAVED, B, {', '.join(columns)}):",
        # every share would be +-0.0, which changes no sum: skip the copy
        *(["        if g == 0.0:\n            continue"] if zero_safe else []),
        *lines,
        f"    return [{', '.join(sums[k] for k in summed)}]",
    ]
    source = "\n".join(forward + [""] + backward) + "\n"
    # A name of its own, and the lines in linecache: a traceback inside the kernel shows its
    # lines, and inspect.getsource() finds them.
    where = f"<chainrule kernel {next(_kernel_ids)}: a loop over copies of a {len(ops)}-node piece>"
    linecache.cache[where] = (len(source), None, source.splitlines(True), where)
    exec(builtins.compile(source, where, "exec"), names.namespace)  # noqa: S102 (our own generated code)
    return names.namespace["forward"], names.namespace["backward"], source


def fused_forward(
    names: _Names, ops: list[Operation], refs: list[tuple[int, ...]], args: list[str], named: set[int], indent: str
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


def _operand_reads(names: _Names, read: tuple[str, dict], arity: int) -> list[int]:
    code = names.fill(read, operand_fill([f"@{i}@" for i in range(arity)]))
    return [code.count(f"@{i}@") for i in range(arity)]


def forward_lines(names: _Names, op: Operation, target: str, operands: list[str], indent: str) -> list[str]:
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
    names: _Names, op: Operation, g: str, out: str, operands: list[str], temp: str, indent: str, lines: list[str]
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


class _Names:
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
    names = _Names()
    read = names.rule(op)
    if read is None:
        return None
    inputs = [f"i{k}" for k in range(op.arity)]
    shares = [names.fill((c, read[1]), operand_fill(inputs), g="g", o="o") for c in read[0]]
    source = f"def share(g, o, {', '.join(inputs)}):\n    return ({', '.join(shares)},)\n"
    exec(builtins.compile(source, f"<chainrule rule of {op.name}>", "exec"), names.namespace)  # noqa: S102
    return names.namespace["share"]
