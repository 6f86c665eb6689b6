"""Build a Value graph from an expression typed on the command line, such as `tanh(x*w + b)`.

The text is parsed with `ast` and only a small grammar is accepted; nothing in it is ever run
by Python's `eval`:

    numbers                 2, 0.5, 1e-3 (all of them floats: no Python big integers)
    the inputs' names       each given a value, e.g. x=2 (every input must be used)
    + - * / **              and a unary minus or plus
    function calls          relu tanh exp log sqrt sin cos sigmoid abs (one argument each) and
                            leaky_relu(x) or leaky_relu(x, slope) with a number for slope

Anything else (attributes, subscripts, strings, lambdas, comparisons, keywords, other names...)
is refused with an ExpressionError naming it. The text's length, the number of its syntax nodes
and its nesting are bounded, and every number is a float, so `9**9**9**9` overflows at once
instead of keeping the process busy. A computation the engine refuses (`x/0`, `exp(1000)`,
`1e300*1e300`) is an ExpressionError that names the subexpression and the inputs' values.
"""

from __future__ import annotations

import ast
import keyword
import math
from collections.abc import Callable, Mapping
from typing import Any, cast

from ..core import ops
from ..core.ops import leaky_relu
from ..core.value import Value

MAX_CHARACTERS = 2_000
MAX_SYNTAX_NODES = 2_000
MAX_NESTING = 50  # brackets inside brackets

# The functions come from the operations themselves (engine.core.ops.FUNCTIONS), by their names.
UNARY_FUNCTIONS: dict[str, Callable[[Any], Any]] = {k: f for k, f in ops.FUNCTIONS.items() if k != "leaky_relu"}
FUNCTIONS = tuple(ops.FUNCTIONS)

BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
GRAMMAR = "numbers, the inputs' names, + - * / **, and calls of " + ", ".join(FUNCTIONS)

# What each refused kind of syntax is called in the error.
REFUSED_NAMES = {
    ast.Attribute: "attribute access",
    ast.Subscript: "subscript",
    ast.Lambda: "lambda",
    ast.ListComp: "comprehension",
    ast.SetComp: "comprehension",
    ast.DictComp: "comprehension",
    ast.GeneratorExp: "comprehension",
    ast.Compare: "comparison",
    ast.BoolOp: "boolean operator",
    ast.IfExp: "if-else expression",
    ast.NamedExpr: "assignment expression :=",
    ast.Tuple: "tuple",
    ast.List: "list",
    ast.Set: "set",
    ast.Dict: "dict",
    ast.JoinedStr: "string",
    ast.Starred: "starred argument",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.Slice: "slice",
}
REFUSED_OPERATORS = {
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.BitAnd: "&",
    ast.Invert: "~",
    ast.Not: "not",
}


class ExpressionError(ValueError):
    """The expression is outside the grammar, too large, or its value cannot be computed."""


def parse_inputs(assignments: list[str] | tuple[str, ...]) -> dict[str, float]:
    """{name: value} from `name=number` texts; every value a finite float, every name new."""
    inputs: dict[str, float] = {}
    for item in assignments:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise ExpressionError(f"expected an input as name=number, got {item!r}")
        if keyword.iskeyword(name) or name in FUNCTIONS:
            raise ExpressionError(f"{name!r} cannot name an input: it is a Python keyword or a function's name")
        if name in inputs:
            raise ExpressionError(f"the input {name!r} is given twice")
        try:
            value = float(text)
        except ValueError:
            raise ExpressionError(f"{item}: {text!r} is not a number; give the input as name=number") from None
        if not math.isfinite(value):
            raise ExpressionError(f"{item}: inputs must be finite numbers (this is {value!r})")
        inputs[name] = value
    return inputs


def parse(text: str) -> ast.expr:
    """The syntax tree of text, after checking its size and nesting (before and after parsing)."""
    if len(text) > MAX_CHARACTERS:
        raise ExpressionError(f"the expression is too long ({len(text)} characters; at most {MAX_CHARACTERS})")
    depth = deepest = 0
    for char in text:  # Python's own parser fails on deep nesting with RecursionError or MemoryError
        depth += (char in "([{") - (char in ")]}")
        deepest = max(deepest, depth)
    if deepest > MAX_NESTING:
        raise ExpressionError(f"the expression nests {deepest} brackets deep; at most {MAX_NESTING}")
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as error:
        raise ExpressionError(f"syntax error in the expression {text!r}: {error.msg}") from None
    except (RecursionError, MemoryError, ValueError):
        raise ExpressionError("the expression is too long or too deeply nested for Python's parser") from None
    count = sum(1 for _ in ast.walk(tree))
    if count > MAX_SYNTAX_NODES:
        raise ExpressionError(f"the expression is too long ({count} syntax nodes; at most {MAX_SYNTAX_NODES})")
    return tree


def build(text: str, inputs: Mapping[str, float]) -> Value:
    """The Value of the expression `text`, with each input a labelled leaf Value."""
    tree = parse(text)
    leaves = {name: Value(value, label=name) for name, value in inputs.items()}
    result = _Builder(text, leaves).evaluate(tree)
    used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    unused = [name for name in leaves if name not in used]
    if unused:
        raise ExpressionError(f"the input {unused[0]!r} is given but not used in the expression {_short(text)!r}")
    if type(result) is not Value:
        raise ExpressionError(f"the expression {text!r} uses no input; give it one, e.g. 'x * 2' x=1.5")
    return result


class _Builder:
    """Evaluates a checked syntax tree bottom-up, without recursion, on Values and floats."""

    def __init__(self, text: str, leaves: dict[str, Value]) -> None:
        self.text = text
        self.leaves = leaves

    def evaluate(self, tree: ast.expr) -> Value | float:
        done: dict[ast.AST, Value | float] = {}
        stack: list[tuple[ast.expr, bool]] = [(tree, False)]
        while stack:
            node, ready = stack.pop()
            if ready:
                done[node] = self.apply(node, [done.pop(child) for child in self.operands(node)])
                continue
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(self.operands(node)))
        return done[tree]

    def operands(self, node: ast.expr) -> list[ast.expr]:
        """The subexpressions node's value is computed from; refuses anything outside the grammar."""
        if isinstance(node, ast.BinOp):
            if type(node.op) not in BINARY:
                raise self.refuse(node, f"the operator {REFUSED_OPERATORS.get(type(node.op), '?')}")
            return [node.left, node.right]
        if isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, (ast.USub, ast.UAdd)):
                raise self.refuse(node, f"the operator {REFUSED_OPERATORS.get(type(node.op), '?')}")
            return [node.operand]
        if isinstance(node, ast.Call):
            return self.call_arguments(node)
        if isinstance(node, ast.Constant):
            value = node.value
            if type(value) not in (int, float):
                kind = "string" if isinstance(value, (str, bytes)) else repr(value)
                raise self.refuse(node, f"the constant {kind}" if kind != "string" else "a string")
            return []
        if isinstance(node, ast.Name):
            if node.id not in self.leaves:
                if node.id in FUNCTIONS:
                    raise self.refuse(node, f"the function {node.id} used without calling it")
                raise ExpressionError(
                    f"name {node.id!r} is not defined; give every input a value, e.g. {node.id}=1.5 "
                    f"(the grammar: {GRAMMAR})"
                )
            return []
        raise self.refuse(node, REFUSED_NAMES.get(type(node), type(node).__name__))

    def call_arguments(self, node: ast.Call) -> list[ast.expr]:
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name is None:
            what = REFUSED_NAMES.get(type(node.func), "a call of something that is not a function's name")
            raise self.refuse(node.func, what)
        if name not in FUNCTIONS:
            raise self.refuse(node, f"the function {name!r} (not one of the engine's)")
        if node.keywords:
            raise self.refuse(node, f"the keyword argument in {name}(...)")
        if any(isinstance(arg, ast.Starred) for arg in node.args):
            raise self.refuse(node, f"the starred argument in {name}(...)")
        if name == "leaky_relu":
            if len(node.args) not in (1, 2):
                raise self.wrong_arity(node, f"leaky_relu takes 1 or 2 arguments (x, slope), got {len(node.args)}")
            if len(node.args) == 2 and not self.is_number(node.args[1]):
                raise self.refuse(node, "leaky_relu's slope that is not a number")
        elif len(node.args) != 1:
            raise self.wrong_arity(node, f"{name} takes 1 argument, got {len(node.args)}")
        return list(node.args)

    def is_number(self, node: ast.expr) -> bool:
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            return self.is_number(node.operand)
        return isinstance(node, ast.Constant) and type(node.value) in (int, float)

    def refuse(self, node: ast.expr, what: str) -> ExpressionError:
        segment = _short(ast.get_source_segment(self.text.strip(), node) or "")
        return ExpressionError(f"refused {what} in {segment!r}; the expression may use only {GRAMMAR}")

    def wrong_arity(self, node: ast.expr, what: str) -> ExpressionError:
        segment = _short(ast.get_source_segment(self.text.strip(), node) or "")
        return ExpressionError(f"refused {segment!r}: {what}")

    def apply(self, node: ast.expr, args: list[Value | float]) -> Value | float:
        try:
            if isinstance(node, ast.Constant):
                return float(cast(float, node.value))  # operands() let only int and float through
            if isinstance(node, ast.Name):
                return self.leaves[node.id]
            if isinstance(node, ast.UnaryOp):
                (a,) = args
                return -a if isinstance(node.op, ast.USub) else a
            if isinstance(node, ast.BinOp):
                a, b = args
                if not isinstance(a, Value) and not isinstance(b, Value):
                    a = Value(a)  # two numbers: the engine's checked arithmetic, then the number again
                    return to_float(_BINARY_FUNCTIONS[type(node.op)](a, b))
                return _BINARY_FUNCTIONS[type(node.op)](a, b)
            name = node.func.id  # type: ignore[attr-defined]
            function = UNARY_FUNCTIONS.get(name, leaky_relu)
            first = args[0]
            if not isinstance(first, Value):
                return to_float(function(Value(first), *args[1:]))
            return function(*args)
        except (ArithmeticError, ValueError, TypeError) as error:
            raise ExpressionError(f"cannot compute {self.where(node)}: {error}") from None

    def where(self, node: ast.expr) -> str:
        segment = _short(ast.get_source_segment(self.text.strip(), node) or self.text)
        shown = ", ".join(f"{name}={leaf.data!r}" for name, leaf in self.leaves.items())
        return f"{segment!r}" + (f" at {shown}" if shown else "")


def _short(text: str) -> str:
    """text, or its two ends when it is long (an error stays one readable line)."""
    text = " ".join(text.split())
    return text if len(text) <= 60 else f"{text[:30]} ... {text[-20:]}"


def to_float(v: Value) -> float:
    return v.data


_BINARY_FUNCTIONS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a**b,
}
