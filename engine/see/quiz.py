"""Knowledge checks: predict each chain-rule step of a backward pass, then see it. `engine.quiz(v)`.

Before each step the quiz asks for the gradient the step adds to one input,

    d.grad += f.data * L.grad = ?

with the numbers it needs (`f.data = -2.0, L.grad = 1.0`), and reads the answer: a number, or
arithmetic such as `-2*1` (read by a small parser of numbers, `+ - * / **` and brackets; nothing
is run by Python's eval). An answer is right when it is within `REL_TOL` (0.1%) of the true
share, or when it is a plain number that is the share rounded to the digits typed and off by at
most `ROUNDED_TOL` (1%): -1.5 for -1.50292, 0.5 for 0.500972, but not -2. 0 is right only for a
share of 0 (not for 3.74e-13, which the step shows as such). A wrong answer is answered with the
chain-rule line and its numbers and the local derivative's formula. At the end: the score and
the operations that were missed.

The quiz never changes a `.grad`: the shares are computed aside, as every viewing tool computes
them (`engine.see.viewed`), with the same rules, in the same order and with the same hooks as
`backward()`, so the numbers asked for are exactly the ones `v.backward()` would add. Answers come from the terminal,
a pipe or any iterable of strings; Ctrl-C, the end of the input or an empty line stops the quiz.
"""

from __future__ import annotations

import ast
import math
import operator
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TextIO

from ..core.spelling import number
from ..core.value import Value
from .drawing import check_size
from .naming import node_names
from .steps import Share, Step
from .viewed import viewed_pass

REL_TOL = 1e-3  # an answer off by at most 0.1% of the true share is right (the steps print 6 digits) ...
ROUNDED_TOL = 1e-2  # ... or a plain number that is the share rounded to the digits typed, off by at most 1% ...
ABS_TOL = 1e-6  # ... and, for a share of exactly 0, an answer at most this far from it
TOLERANCE_HELP = (
    "an answer is right within 0.1%, or rounded to the digits you type (-1.5 for -1.50292) "
    "if that is within 1%; 0 only for 0"
)
DEFAULT_MAX_NODES = 1000  # one example through the README's network; a batch has thousands of questions
MAX_ANSWER = 200  # characters; an answer is a number or a short sum, never a program


# ---------------------------------------------------------------- reading an answer


class AnswerError(ValueError):
    """An answer that is not a number or plain arithmetic."""


_BINARY: dict[type, Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}
_NAMES = {"inf": math.inf, "nan": math.nan, "e": math.e, "pi": math.pi}


def read_answer(text: str) -> float:
    """The number an answer stands for: a number or arithmetic of numbers (`-2*1`, `0.5 * (1 - 0.25)`).

    Parsed with `ast` and evaluated node by node on floats; anything else (names other than inf,
    nan, e and pi, calls, attributes, ...) raises AnswerError. `^` is read as a power, as people write it.
    """
    text = text.strip().replace("^", "**").replace("\u2212", "-")  # a typographic minus sign, pasted
    if len(text) > MAX_ANSWER:
        raise AnswerError(f"the answer is too long ({len(text)} characters; at most {MAX_ANSWER})")
    try:
        tree = ast.parse(text, mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise AnswerError(f"cannot read {text!r} as a number or arithmetic such as -2*1") from None
    try:
        return _evaluate(tree)
    except ZeroDivisionError:
        raise AnswerError(f"{text!r} divides by zero") from None
    except (OverflowError, RecursionError):
        raise AnswerError(f"{text!r} is too large for a float") from None


def _evaluate(node: ast.expr) -> float:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return float(node.value)  # type: ignore[arg-type]
    if isinstance(node, ast.Name) and node.id.lower() in _NAMES:
        return _NAMES[node.id.lower()]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        x = _evaluate(node.operand)
        return -x if isinstance(node.op, ast.USub) else x
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        a, b = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, ast.Pow) and abs(b) > 1e4:
            raise OverflowError
        result = _BINARY[type(node.op)](a, b)
        if isinstance(result, complex):
            raise AnswerError("a negative number to a fractional power has no real value")
        return result
    raise AnswerError(f"only numbers, + - * / ** and brackets are understood, not {ast.unparse(node)!r}")


PLAIN_NUMBER = re.compile(r"\s*[-+\u2212]?(\d*)(?:\.(\d*))?(?:[eE]([-+]?\d+))?\s*")


def half_unit(text: str) -> float | None:
    """Half a unit in the last digit of a plain number as typed (0.05 for '-1.5'); None for arithmetic."""
    match = PLAIN_NUMBER.fullmatch(text)
    if match is None or not (match.group(1) or match.group(2)):
        return None
    decimals = len(match.group(2) or "")
    exponent = int(match.group(3) or 0)
    if abs(exponent) > 300:
        return None
    return 0.5 * 10.0 ** (exponent - decimals)


def is_right(answer: float, truth: float, typed: str | None = None) -> bool:
    """Whether an answer counts as the true share (see the module's docstring; `typed` is the answer's text).

    Within REL_TOL of the share; or, typed as a plain number, the share rounded to its digits and
    within ROUNDED_TOL; a share of exactly 0 takes answers within ABS_TOL of it.
    """
    if math.isnan(truth) or math.isnan(answer):
        return math.isnan(truth) and math.isnan(answer)
    if math.isinf(truth) or math.isinf(answer):
        return answer == truth
    off = abs(answer - truth)
    if truth == 0.0:
        return off <= ABS_TOL
    if off <= REL_TOL * abs(truth):
        return True
    unit = half_unit(typed) if typed is not None else None
    return unit is not None and off <= unit * (1 + 1e-9) and off <= ROUNDED_TOL * abs(truth)


# ---------------------------------------------------------------- the questions


@dataclass(frozen=True)
class Question:
    """One share of one step: what is asked, the answer, and what a wrong answer is shown."""

    step: Step
    share: Share
    ask: str  # d.grad += f.data * L.grad  (f.data = -2.0, L.grad = 1.0)  = ?
    line: str  # d.grad += f.data * L.grad = -2.0 * 1.0 = -2.0
    local: str  # dL/dd = f.data = -2.0  (the local derivative: its formula and value)

    @property
    def answer(self) -> float:
        return self.share.amount

    @property
    def operation(self) -> str:
        return self.step.node.op


def questions(step: Step) -> list[Question]:
    """The step's questions, one per input, in the stepper's words, with the numbers each needs."""
    result = []
    for share, line in zip(step.shares, step.lines(), strict=True):
        head = line.rsplit(" = ", 2)[0]
        local = f"d{step.name}/d{share.name} = {share.formula} = {number(share.local)}"
        given = ", ".join(given_numbers(step, share.formula))
        result.append(Question(step, share, f"{head}  ({given})  = ?", line, local))
    return result


def given_numbers(step: Step, formula: str) -> list[str]:
    """`name.data = x` for each node whose data the formula reads, then `node.grad = g`."""
    nodes = {step.name: step.node} | {s.name: s.input for s in step.shares}
    given = [
        f"{name}.data = {number(node.data)}"
        for name, node in nodes.items()
        if re.search(rf"(?<![\w.]){re.escape(name)}\.data(?!\w)", formula)
    ]
    return given + [f"{step.name}.grad = {number(step.grad)}"]


def passive_steps(v: Value, grad: float = 1.0) -> list[Step]:
    """v's backward pass as Steps, computed aside (`engine.see.viewed`): no `.grad` is touched."""
    return viewed_pass(v, grad, who="quiz").steps


# ---------------------------------------------------------------- the quiz


@dataclass
class QuizResult:
    """How a quiz went: questions asked and answered right, the operations missed, whether it ran to the end."""

    total: int
    asked: int = 0
    right: int = 0
    missed: list[str] = field(default_factory=list)  # the operation of each wrong answer, in order
    finished: bool = False

    def summary(self) -> str:
        ops = sorted(set(self.missed), key=self.missed.index)
        missed = f"; missed: {', '.join(ops)}" if ops else ""
        done = "" if self.finished else f" (stopped after {self.asked} of {self.total})"
        return f"score {self.right}/{self.asked}{done}{missed}"

    def __repr__(self) -> str:
        return f"QuizResult({self.summary()})"


class UnreadableInput(EOFError):
    """Standard input gave bytes that are not UTF-8 text: the quiz stops with one line saying so."""


def answer_reader(
    answers: Iterable[str] | None, file: TextIO | None, say: Callable[[str], None]
) -> Callable[[str], str]:
    """read(prompt): the next answer, from `answers` or from standard input (a terminal or a pipe).

    Shown as in a terminal: the prompt goes to `file` (or stdout), and an answer from a list or a
    pipe is echoed after it. EOFError at the end of the input; UnreadableInput for bytes that are
    not UTF-8 text (one line, not a traceback).
    """
    source = iter(answers) if answers is not None else None

    def read(prompt: str) -> str:
        if source is not None:
            text = next(source)
            say(f"{prompt}{text}")
            return text
        try:
            if file is None and sys.stdin.isatty():
                return _checked(input(prompt))
            text = _checked(input())
        except UnicodeDecodeError as error:
            raise UnreadableInput(_not_text(error.object[error.start : error.start + 1])) from None
        say(f"{prompt}{text}")  # from a pipe, echoed, so the transcript reads as it does in a terminal
        return text

    return read


def _checked(text: str) -> str:
    """The line read, unless it holds bytes that are not UTF-8 (read with errors='surrogateescape')."""
    bad = next((c for c in text if "\udc80" <= c <= "\udcff"), None)
    if bad is not None:
        raise UnreadableInput(_not_text(bytes([ord(bad) - 0xDC00])))
    return text


def _not_text(byte: bytes) -> str:
    return f"standard input is not UTF-8 text (it has the byte 0x{byte.hex()}); stopped"


def quiz(
    v: Value,
    *,
    grad: float = 1.0,
    answers: Iterable[str] | None = None,
    file: TextIO | None = None,
    max_nodes: int = DEFAULT_MAX_NODES,
) -> QuizResult:
    """Ask for every share of v's backward pass before showing it; return the score. Never changes `.grad`.

    `answers` (strings) stand in for what is typed; without it the answers are read from stdin,
    a terminal or a pipe. Ctrl-C, the end of the input or an empty answer stops the quiz. A graph
    of more than `max_nodes` nodes raises GraphTooLarge before any question is made.
    """
    out = sys.stdout if file is None else file
    check_size(v, max_nodes, "quiz", "it would ask thousands of questions, slowly", "Quiz on")
    asked = [q for step in passive_steps(v, grad) for q in questions(step)]
    result = QuizResult(total=len(asked))

    def say(text: str = "", end: str = "\n") -> None:
        print(text, file=out, end=end, flush=True)

    read = answer_reader(answers, file, say)
    names = node_names(v)
    say(f"quiz: {len(asked)} questions on the backward pass of {names[v]}, {names[v]}.grad = {number(grad)} to start")
    say("type the gradient each step adds (a number or arithmetic such as -2*1); an empty line stops")
    say(TOLERANCE_HELP)
    shown = None
    try:
        for q in asked:
            if q.step is not shown:
                shown = step = q.step
                say(f"step {step.index}/{step.total}: {step.name} = {step.expression}, {step.name}.grad = ", end="")
                say(number(step.grad))
            while True:
                text = read(f"    {q.ask} ")
                if not text.strip():
                    raise EOFError
                try:
                    answer = read_answer(text)
                except AnswerError as error:
                    say(f"    ({error}; try again)")
                    continue
                break
            result.asked += 1
            if is_right(answer, q.answer, text):
                result.right += 1
                say(f"    right: {q.line}")
            else:
                result.missed.append(q.operation)
                say(f"    not quite ({number(answer)}): {q.line}")
                say(f"    local derivative of {q.step.name} = {q.step.expression}: {q.local}")
        result.finished = True
    except UnreadableInput as error:
        say(f"    ({error})")
    except (EOFError, StopIteration, KeyboardInterrupt):
        say()
    say(result.summary())
    return result
