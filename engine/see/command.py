"""The draw command line: `python -m engine` (or `chainrule-draw` once installed).

    python -m engine "tanh(x*w + b)" x=2 w=-3 b=6.88 --backward -o neuron.svg
    python -m engine my_graph:loss -o steps.html

An expression is parsed into a small grammar (engine/see/expression.py) and never run by
Python. The `module:function` form imports that module and calls the function, as `python -m`
would run it: only name code you trust. Every bad input ends in one line on standard error and
exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from ..core.graph import topological_order
from ..core.value import Value
from ..files import write_atomically
from . import drawing, stepper_page
from .expression import UNARY_FUNCTIONS, ExpressionError, build, parse_inputs
from .viewed import viewed_pass

USAGE_ERROR = 2
MODULE_FUNCTION = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*")
FILE_FUNCTION = re.compile(r"(.+)\.py:([A-Za-z_]\w*)")  # my_file.py:loss, which Python cannot import
VALUE_OPTIONS = ("-o", "--output", "--step", "--rankdir", "--max-nodes")
FLAG_OPTIONS = ("--backward", "-h", "--help")
GRAPHVIZ_STRING = 16384  # the longest quoted string Graphviz's dot reads


class CommandError(Exception):
    """A bad input or a failure the user can fix: printed as one line, exit status 2."""


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (argparse prints the usage too) and exit status 2."""

    argv: list[str] = []  # the command's arguments, set by main (for a hint that repeats them)

    def error(self, message: str) -> NoReturn:
        if message.startswith("unrecognized arguments: -"):
            hint = reordered(self.prog, self.argv)
            message += f"; an expression that starts with '-' goes after '--', the options before it: {hint}"
        fail(self.prog, f"{message} (see --help)")
        raise SystemExit(USAGE_ERROR)


def reordered(prog: str, argv: Sequence[str]) -> str:
    """The same command with every option first and the expression and its inputs after '--'."""
    options: list[str] = []
    rest: list[str] = []
    tokens = iter(argv)
    for token in tokens:
        name = token.split("=", 1)[0]
        if token == "--":
            continue
        if token in VALUE_OPTIONS:
            options += [token, next(tokens, "")]
        elif name in VALUE_OPTIONS or token in FLAG_OPTIONS:
            options.append(token)
        else:
            rest.append(token)
    return " ".join([prog, shlex.join(options), "--", shlex.join(rest)]).replace("  ", " ")


def positive_int(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def make_parser(prog: str) -> OneLineParser:
    parser = OneLineParser(
        prog=prog,
        description="Draw a computation graph as SVG, PNG, PDF or DOT, or write an HTML page that steps through "
        "its backward pass. TARGET is an expression such as 'tanh(x*w + b)' with each input given as "
        "name=number, or module:function.",
        epilog="An expression may use only numbers, its inputs, + - * / **, and calls of "
        f"{', '.join(UNARY_FUNCTIONS)} and leaky_relu(x, slope); it is parsed, never run as Python. "
        "module:function imports that module and runs the function (which must return the Value to draw), "
        "just as python -m runs a module: the module's own code runs with your rights, so only name code "
        "you trust. An expression that starts with '-' goes after '--'.",
    )
    parser.add_argument("target", help="an expression, or module:function")
    parser.add_argument("inputs", nargs="*", help="name=number for each input of an expression")
    parser.add_argument(
        "-o",
        "--output",
        help=".svg .png .pdf .dot, or .html for a page stepping through "
        "the backward pass; without it the DOT text goes to standard output",
    )
    parser.add_argument(
        "--backward", action="store_true", help="show the gradients one backward() pass gives (from zero)"
    )
    parser.add_argument("--step", type=int, help="show the graph after this step of the backward pass")
    parser.add_argument("--rankdir", choices=("LR", "TB"), default="LR")
    parser.add_argument(
        "--max-nodes",
        type=positive_int,
        help=f"refuse larger graphs (default {drawing.DEFAULT_MAX_NODES}, "
        f"{stepper_page.DEFAULT_MAX_NODES} for an .html page, which holds one picture of the whole graph per step)",
    )
    return parser


def call_function(target: str) -> Value:
    """Import module:function's module (running its code) and call the function; it must return a Value."""
    module_name, function_name = target.split(":")
    try:
        function = getattr(importlib.import_module(module_name), function_name)
    except AttributeError:
        raise CommandError(f"{target}: the module {module_name!r} has no {function_name!r}") from None
    except Exception as error:  # the user's module: any error while importing it
        raise CommandError(f"{target}: importing {module_name!r} failed: {type(error).__name__}: {error}") from None
    try:
        result = function()
    except Exception as error:  # the user's function: any error it raises
        raise CommandError(f"{target}() raised {type(error).__name__}: {error}") from None
    if type(result) is not Value:
        raise CommandError(f"{target}() returned {type(result).__name__}; it must return one Value to draw")
    return result


def output_format(path: str) -> str:
    """The picture format an output path asks for, checked before any work is done."""
    target = Path(path)
    if target.is_dir():
        raise CommandError(f"-o {path}: that is a folder; give a file name, such as {target / 'graph.svg'}")
    if not Path(os.path.realpath(target)).parent.is_dir():
        raise CommandError(f"-o {path}: the folder {target.parent} does not exist (or is not a folder)")
    if target.name.startswith(".") and not target.suffix:
        raise CommandError(f"-o {path}: give a file name before the format, e.g. graph{target.name}")
    fmt = (target.suffix.lstrip(".") or "svg").lower()
    if fmt != "html" and fmt not in drawing.FORMATS:
        formats = ", ".join((*drawing.FORMATS, "html"))
        raise CommandError(f"-o {path}: unknown picture format {fmt!r}; use one of {formats}")
    return fmt


def check_finite(v: Value, what: str) -> None:
    """Refuse a graph whose values (what='data') or gradients (what='grad', of one backward pass
    computed aside: no .grad changes) are not all finite."""
    grads = viewed_pass(v, who="backward").grads if what == "grad" else {}
    for node in topological_order(v):
        number = grads.get(node, 0.0) if what == "grad" else node.data
        if number - number != 0:  # inf or nan
            name = node.label or (f"the result of {node.op}" if node.op else "a constant")
            raise CommandError(
                f"the backward pass gives {name} the gradient {number!r}; nothing drawn"
                if what == "grad"
                else f"{name} is {number!r}; nothing drawn"
            )


def check_labels(v: Value) -> None:
    """Refuse a label Graphviz cannot read (too long, or holding a NUL) before anything is drawn."""
    for node in topological_order(v):
        label = node.label
        if "\0" in label:
            raise CommandError(f"the label {label[:40]!r} holds a NUL character, which Graphviz cannot read")
        if len(drawing.record_text(label)) > GRAPHVIZ_STRING - 100:
            raise CommandError(
                f"the label {label[:20]!r}... is {len(label):,} characters long; Graphviz reads at most "
                f"{GRAPHVIZ_STRING:,} in one string: shorten it"
            )


def run(args: argparse.Namespace) -> str | None:
    """Do what the arguments ask; return the file written (None when DOT text went to stdout)."""
    fmt = output_format(args.output) if args.output else None
    stepping = fmt == "html"
    if stepping and args.step is not None:
        name = Path(args.output).name
        raise CommandError(
            f"--step picks one picture, but {args.output} is a page of every step: drop --step, and open "
            f"{name}#step={args.step} to start at that step (or write an .svg to get that step's picture)"
        )
    misplaced = [a for a in args.inputs if a.split("=", 1)[0] in VALUE_OPTIONS + FLAG_OPTIONS]
    if misplaced:
        raise CommandError(
            f"{misplaced[0]} after '--' is read as an input; put the options first: {reordered(args.prog, args.argv)}"
        )
    named_file = FILE_FUNCTION.fullmatch(args.target)
    if named_file:
        module = named_file.group(1).replace("/", ".").replace("\\", ".")
        raise CommandError(
            f"{args.target}: name the module, not its file: {module}:{named_file.group(2)} "
            "(from the folder that holds it, as python -m does)"
        )
    if MODULE_FUNCTION.fullmatch(args.target):
        if args.inputs:
            raise CommandError(f"inputs such as {args.inputs[0]!r} are only for an expression, not module:function")
        v = call_function(args.target)
    else:
        v = build(args.target, parse_inputs(args.inputs))
    max_nodes = args.max_nodes or (stepper_page.DEFAULT_MAX_NODES if stepping else drawing.DEFAULT_MAX_NODES)
    drawing.check_size(v, max_nodes, "stepper" if stepping else "draw")
    check_finite(v, "data")
    check_labels(v)
    options: dict[str, Any] = {"rankdir": args.rankdir, "max_nodes": max_nodes}
    if stepping or args.backward:  # the pass is computed aside, as every picture's is: no .grad changes
        try:
            check_finite(v, "grad")
        except (ArithmeticError, ValueError) as error:
            raise CommandError(f"the backward pass failed: {error}") from None
    if stepping:
        page = stepper_page.stepper_html(v, **options)
        return str(write_atomically(args.output, page.encode("utf-8"), who="save", special="in place"))
    options["backward"] = args.backward
    if args.output:
        return str(drawing.save(v, args.output, step=args.step, **options))
    sys.stdout.write(drawing.to_dot(v, step=args.step, **options))
    return None


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """Write a picture (or a stepping HTML page) of a graph; 0 on success, 2 with one line on stderr."""
    prog = prog or (Path(sys.argv[0]).name if argv is None and sys.argv[0] else "chainrule-draw")
    parser = make_parser(prog)
    parser.argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(parser.argv)
    args.prog, args.argv = prog, parser.argv
    try:
        written = run(args)
    except (CommandError, ExpressionError, drawing.DotNotFound, drawing.GraphTooLarge) as error:
        return fail(prog, str(error))
    except drawing.DotFailed as error:  # a label or character Graphviz cannot read that check_labels missed
        return fail(prog, f"{error}; nothing drawn")
    except (ArithmeticError, ValueError, TypeError) as error:  # the engine refused something: it says what
        return fail(prog, str(error) or type(error).__name__)
    except OSError as error:
        return fail(prog, f"cannot write {args.output}: {error.strerror or error}")
    except RecursionError:
        return fail(prog, "the graph is too deep to draw")
    if written is not None:
        print(f"wrote {written}", file=sys.stderr)
    return 0


def fail(prog: str, message: str) -> int:
    """Print message as one line (cut in the middle if very long) on stderr; return the exit status 2."""
    message = " ".join(message.split())
    if len(message) > 400:
        message = f"{message[:300]} ... {message[-90:]}"
    print(f"{prog}: {message}", file=sys.stderr)
    return USAGE_ERROR


def console_main() -> None:
    """The `chainrule-draw` console script."""
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # as python -m does: modules in the current folder can be named
    sys.exit(main(prog="chainrule-draw"))
