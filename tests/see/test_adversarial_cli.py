"""The draw command line under attack: it runs no code from the expression, no short input hangs it,
and every bad input ends in one line on stderr with exit code 2, never a traceback."""

import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine import Value, cos, exp, leaky_relu, log, relu, sigmoid, sin, sqrt, tanh, to_dot

ROOT = Path(__file__).resolve().parents[2]
COMMAND = [sys.executable, "-m", "engine"]
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot program is not installed")


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """The real command, as a user types it, in a fresh process (with a guard against a hang)."""
    return subprocess.run(
        [*COMMAND, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT)},
        timeout=120,
    )


def refused(done: subprocess.CompletedProcess, pattern: str) -> str:
    """Assert one line on stderr matching pattern, exit code 2, no traceback, nothing on stdout."""
    err = done.stderr
    assert done.returncode == 2, (done.returncode, err)
    assert "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert re.search(pattern, err), err
    assert done.stdout == ""
    return err


@pytest.mark.slow
def test_the_expression_cannot_run_code(tmp_path):
    marker = tmp_path / "PWNED"
    attack = f"tanh.__globals__['__builtins__']['__import__']('os').system('touch {marker}')"
    refused(run(attack, cwd=tmp_path), r"attribute")
    assert not marker.exists()
    for attack in (
        f"__import__('os').system('touch {marker}')",
        f"[c for c in ().__class__.__base__.__subclasses__()][0]('touch {marker}')",
        f"(lambda: __import__('os').system('touch {marker}'))()",
    ):
        refused(run(attack, "x=1", cwd=tmp_path), r"refused")
        assert not marker.exists()


REFUSED_SYNTAX = [
    ("x.data", "attribute"),
    ("x[0]", "subscript"),
    ("(lambda: x)()", "lambda"),
    ("[x for y in x]", "comprehension"),
    ("'x'", "string"),
    ("leaky_relu(x, slope=0.1)", "keyword"),
    ("tanh(*x)", "starred"),
    ("foo(x)", "foo"),
    ("x < 1", "comparison"),
    ("x and x", "boolean"),
    ("x if x else x", "if"),
    ("(y := x)", "assignment"),
    ("x // 2", "//"),
    ("x % 2", "%"),
    ("x @ x", "@"),
    ("x ^ 2", r"\^"),
    ("~x", "~"),
    ("not x", "not"),
    ("True * x", "True"),
    ("1j * x", "1j"),
    ("x, x", "tuple"),
    ("tanh(x)(x)", "call"),
    ("tanh(x, x)", "tanh takes 1"),
    ("tanh()", "tanh takes 1"),
    ("leaky_relu(x, x)", "slope"),
    ("tanh + x", "tanh"),
    ("x(1)", "x"),
    ("f'{x}'", "string"),
    ("x; x", "syntax"),
    ("x\n+ 1", "syntax"),
    ("__builtins__", "__builtins__"),
]


@pytest.mark.slow
@pytest.mark.parametrize("expression, named", REFUSED_SYNTAX, ids=[e for e, _ in REFUSED_SYNTAX])
def test_anything_outside_the_grammar_is_refused_by_name(expression, named):
    err = refused(run(expression, "x=1"), re.escape(named) if named in ("@", "//", "%", "~") else named)
    assert "refused" in err or "syntax" in err or "not defined" in err


BAD_INPUTS = {
    "incomplete": (["x+", "x=1"], r"syntax"),
    "300 nested parentheses": (["(" * 300 + "x" + ")" * 300, "x=1"], r"nest"),
    "300 nested minus signs": (["--", "-(" * 300 + "x" + ")" * 300, "x=1"], r"nest"),
    "10,000 unary minus signs": (["--", "-" * 10000 + "x", "x=1"], r"nest|long"),
    "1990 unary minus signs": (["--", "-" * 1990 + "x", "x=1"], r"nest|long"),
    "a minus sign first, without --": (["-x", "x=1"], r"after '--'"),
    "a long expression": (["+".join(["x"] * 20000), "x=1"], r"long"),
    "division by zero": (["x/0", "x=1"], r"/"),
    "exp overflow": (["exp(x)", "x=1000"], r"exp"),
    "product overflow": (["x*y", "x=1e300", "y=1e300"], r"\*"),
    "tower of powers": (["9**9**9**9"], r"\*\*"),
    "tower times x": (["x * 9**9**9**9", "x=2"], r"\*\*"),
    "huge integer": (["x * 1" + "0" * 400, "x=2"], r"too large"),
    "5000 digits": (["x * 1" + "0" * 5000, "x=2"], r"digits|long"),
    "negative base": (["x ** 0.5", "x=-4"], r"\*\*"),
    "log of zero": (["log(x)", "x=0"], r"log"),
    "negative power of zero, backward": (["x**-2", "x=0", "--backward"], r"\*\*"),
    "negative power of a tiny x, backward": (["x**-2", "x=1e-120", "--backward"], r"backward"),
    "negative power of the smallest float": (["x**-2", "x=5e-324", "--backward"], r"\*\*"),
    "not a number": (["x*2", "x=abc"], r"x=abc.*number"),
    "nan": (["x*2", "x=nan"], r"finite"),
    "infinity": (["x*2", "x=-inf"], r"finite"),
    "too large for a float": (["x*2", "x=1e400"], r"finite"),
    "no equals sign": (["x*2", "x2"], r"name=number"),
    "keyword as a name": (["x*2", "lambda=1"], r"lambda"),
    "function as a name": (["tanh*2", "tanh=1"], r"tanh"),
    "name given twice": (["x*2", "x=1", "x=2"], r"twice"),
    "name not used": (["x*2", "x=1", "y=2"], r"y.*not used"),
    "name not given": (["x*y", "x=1"], r"name 'y' is not defined"),
    "no input at all": (["2*3"], r"input"),
    "unknown format": (["x*2", "x=1", "-o", "g.gif"], r"format 'gif'"),
    "step out of range": (["x*2", "x=1", "--step", "99"], r"step"),
    "step not a number": (["x*2", "x=1", "--step", "abc"], r"step"),
    "max nodes not positive": (["x*2", "x=1", "--max-nodes", "0"], r"max-nodes"),
    "no target": ([], r"target|arguments"),
    "unknown option": (["x*2", "x=1", "--colour"], r"--colour"),
    "no module": (["no_such_module_here:f"], r"no_such_module_here"),
    "no function": (["engine:no_such_function"], r"no_such_function"),
    "inputs with a module": (["engine:Value", "x=1"], r"input"),
}


@pytest.mark.slow
@pytest.mark.parametrize("args, pattern", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_every_bad_input_is_one_line_and_exit_2(args, pattern, tmp_path):
    refused(run(*args, cwd=tmp_path), pattern)
    assert list(tmp_path.iterdir()) == []  # nothing written


@pytest.mark.slow
def test_a_users_function_that_fails_or_returns_no_value_is_one_line(tmp_path):
    (tmp_path / "mine.py").write_text(
        "from engine import Value\n\n"
        "def broken():\n    return Value(1.0) / 0\n\n"
        "def number():\n    return 3.0\n\n"
        "def deep():\n    x = Value(1.0)\n    for _ in range(20):\n        x = x * x * 1e10\n    return x\n"
    )
    refused(run("mine:broken", cwd=tmp_path), r"mine:broken.*ZeroDivisionError")
    refused(run("mine:number", cwd=tmp_path), r"returned float")
    refused(run("mine:deep", cwd=tmp_path), r"mine:deep.*OverflowError")
    (tmp_path / "bad_syntax.py").write_text("def f(:\n")
    refused(run("bad_syntax:f", cwd=tmp_path), r"bad_syntax")


@pytest.mark.slow
def test_output_paths_that_cannot_be_written(tmp_path):
    (tmp_path / "a_folder").mkdir()
    (tmp_path / "a_file").write_text("keep")
    refused(run("x*2", "x=1", "-o", str(tmp_path / "missing" / "g.svg")), r"folder|directory")
    refused(run("x*2", "x=1", "-o", str(tmp_path / "a_folder")), r"folder|directory")
    refused(run("x*2", "x=1", "-o", str(tmp_path / "a_file" / "g.svg")), r"folder|directory")
    refused(run("x*2", "x=1", "-o", str(tmp_path / "a_folder"), "--backward"), r"folder|directory")
    refused(run("x*2", "x=1", "-o", str(tmp_path / "a_folder" / ".html")), r"format|name")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file", "a_folder"]
    assert list((tmp_path / "a_folder").iterdir()) == [] and (tmp_path / "a_file").read_text() == "keep"


@pytest.mark.slow
def test_a_failed_run_leaves_an_existing_picture_as_it_was(tmp_path):
    picture = tmp_path / "g.svg"
    picture.write_text("the good picture")
    refused(run("exp(x)", "x=1000", "-o", str(picture)), r"exp")
    refused(run("x**-2", "x=1e-120", "--backward", "-o", str(picture)), r"backward")
    assert picture.read_text() == "the good picture"
    assert [p.name for p in tmp_path.iterdir()] == ["g.svg"]  # no temporary file left behind


@pytest.mark.slow
@needs_dot
def test_an_output_symlink_is_written_through_and_stays_a_link(tmp_path):
    target = tmp_path / "real.svg"
    target.write_text("old")
    link = tmp_path / "link.svg"
    link.symlink_to(target)
    done = run("tanh(x)", "x=1", "-o", str(link))
    assert done.returncode == 0, done.stderr
    assert link.is_symlink() and link.resolve() == target.resolve()
    assert ET.parse(target).getroot().tag.endswith("svg")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.svg", "real.svg"]


@pytest.mark.slow
def test_help_says_the_module_form_runs_the_users_code():
    done = run("--help")
    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    assert "imports" in text and "runs" in text and "python -m" in text
    assert "module:function" in text


@pytest.mark.slow
@needs_dot
def test_the_grammar_draws_what_python_would_and_writes_svg(tmp_path):
    done = run("-tanh(+x*w + b) + leaky_relu(x, 0.1) + abs(w) + 2**x + x**2 / 4", "x=2", "w=-3", "b=6.88",
               "--backward", "-o", str(tmp_path / "g.svg"), cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines() == [f"wrote {tmp_path / 'g.svg'}"]
    texts = {(t.text or "").strip() for t in ET.parse(tmp_path / "g.svg").getroot().iter()}
    assert {"x", "w", "b", "tanh", "leaky_relu", "abs", "**2", "neg"} <= texts


FUNCTIONS = {"relu": relu, "tanh": tanh, "exp": exp, "log": log, "sqrt": sqrt, "sin": sin, "cos": cos}
FUNCTIONS |= {"sigmoid": sigmoid, "abs": abs, "leaky_relu": leaky_relu}

NUMBERS = st.sampled_from(["0", "1", "2", "0.5", "3.25", "1e-3", "10", "2.0", "-1"])
OPERATORS = st.sampled_from(["+", "-", "*", "/", "**"])


def extend(inner):
    """Grow an expression whose every subexpression uses an input (so Python folds no constants)."""
    return st.one_of(
        st.tuples(inner, OPERATORS, inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(inner, OPERATORS, NUMBERS).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(NUMBERS, OPERATORS, inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(st.sampled_from(["-", "+"]), inner).map(lambda t: f"{t[0]}{t[1]}"),
        st.tuples(st.sampled_from(sorted(set(FUNCTIONS) - {"leaky_relu"})), inner).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(inner, NUMBERS).map(lambda t: f"leaky_relu({t[0]}, {t[1]})"),
    )


@given(
    text=st.recursive(st.sampled_from(["x", "y"]), extend, max_leaves=12),
    x=st.sampled_from([-2.0, -0.5, 0.0, 0.7, 3.0]),
    y=st.sampled_from([-1.5, 0.25, 2.0]),
)
def test_the_parser_builds_the_graph_python_builds(text, x, y):
    from engine.see.expression import ExpressionError, build

    inputs = {name: value for name, value in (("x", x), ("y", y)) if re.search(rf"\b{name}\b", text)}
    try:  # the trusted reference: Python itself evaluating the same text on Values
        expected = eval(text, {"__builtins__": {}}, {**FUNCTIONS, **{n: Value(v, label=n) for n, v in inputs.items()}})
    except (ArithmeticError, ValueError) as error:
        expected = error
    try:
        built = build(text, inputs)
    except ExpressionError as error:
        assert isinstance(expected, Exception), (text, error)  # refused only what the engine refuses
        return
    assert not isinstance(expected, Exception), (text, expected)
    assert to_dot(built) == to_dot(expected)


@pytest.mark.slow
def test_the_console_script_is_the_same_command():
    tomllib = pytest.importorskip("tomllib")
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    module, function = scripts["chainrule-draw"].split(":")
    # what the installed script does: import the function and call it with the command's arguments
    code = f"from {module} import {function}; {function}()"
    done = subprocess.run(
        [sys.executable, "-c", code, "x+", "x=1"],
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT)},
        timeout=120,
    )
    assert refused(done, r"syntax").startswith("chainrule-draw: ")
