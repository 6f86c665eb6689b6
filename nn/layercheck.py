"""Layer checks: predict delta for one neuron from the next layer's delta and the weights, then compare.

For a hidden layer l and neuron j (one example of a `backprop_report`):

    delta(l)[j] = (sum_k W(l+1)[k][j] * delta(l+1)[k]) * f'(z(l)[j])

and for the last layer delta(L)[j] = dL/da(L)[j] * f'(z(L)[j]). `layer_question(report, l, j)` gives
the numbers that go in and the answer, read from the scalar graph (the report's `delta_graph`);
`.check(answer)` takes a number or arithmetic (as `engine.quiz` does). `layer_quiz(report)` asks for
every neuron, from the last layer back, and returns the score.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TextIO

from engine.see.quiz import (
    TOLERANCE_HELP,
    AnswerError,
    QuizResult,
    UnreadableInput,
    answer_reader,
    is_right,
    read_answer,
)

from .layerview import LayerReport


def _n(x: float) -> str:
    return f"{x:.6g}"


@dataclass(frozen=True)
class LayerQuestion:
    """delta(layer)[neuron] for one example: what is given, the answer, and how it is worked out."""

    layer: int  # 1-based, as in the report
    neuron: int
    example: int
    activation: str
    fprime: float
    weights: tuple[float, ...]  # column `neuron` of W(layer+1) (empty for the last layer)
    next_delta: tuple[float, ...]  # delta(layer+1) (for the last layer: dL/da(L)[neuron] alone)
    answer: float  # delta read from the graph

    @property
    def last(self) -> bool:
        return not self.weights

    def ask(self) -> str:
        n, j = self.layer, self.neuron
        if self.last:
            return (
                f"delta({n})[{j}] = dL/da({n})[{j}] * f'(z({n})[{j}]) with dL/da = {_n(self.next_delta[0])}, "
                f"f' = {_n(self.fprime)} ({self.activation}) = ?"
            )
        return (
            f"delta({n})[{j}] = (sum_k W({n + 1})[k][{j}] * delta({n + 1})[k]) * f'(z({n})[{j}]) with "
            f"W({n + 1})[:, {j}] = [{', '.join(map(_n, self.weights))}], "
            f"delta({n + 1}) = [{', '.join(map(_n, self.next_delta))}], f' = {_n(self.fprime)} ({self.activation}) = ?"
        )

    def worked(self) -> str:
        """The sum written out with its numbers, and the answer."""
        if self.last:
            return f"{_n(self.next_delta[0])} * {_n(self.fprime)} = {_n(self.answer)}"
        terms = " + ".join(f"{_n(w)} * {_n(d)}" for w, d in zip(self.weights, self.next_delta, strict=True))
        total = sum(w * d for w, d in zip(self.weights, self.next_delta, strict=True))
        return f"({terms}) * {_n(self.fprime)} = {_n(total)} * {_n(self.fprime)} = {_n(self.answer)}"

    def check(self, answer: float | str) -> bool:
        """Whether the answer (a number, or arithmetic as text) is delta within engine.quiz's tolerance."""
        if isinstance(answer, str):
            return is_right(read_answer(answer), self.answer, answer)
        return is_right(float(answer), self.answer)


def layer_question(report: LayerReport, layer: int, neuron: int, example: int = 0) -> LayerQuestion:
    """The question for neuron `neuron` of layer `layer` (1-based) on example `example` of the report."""
    layers = report.data["layers"]
    if not 1 <= layer <= len(layers):
        raise ValueError(f"layer_question: layer must be from 1 to {len(layers)}, got {layer!r}")
    this = layers[layer - 1]
    if not 0 <= neuron < len(this["b"]):
        raise ValueError(f"layer_question: layer {layer} has neurons 0 to {len(this['b']) - 1}, got {neuron!r}")
    if not 0 <= example < len(this["z"]):
        raise ValueError(f"layer_question: the report has examples 0 to {len(this['z']) - 1}, got {example!r}")
    if layer == len(layers):
        weights: tuple[float, ...] = ()
        given: tuple[float, ...] = (this["dL_da"][example][neuron],)
    else:
        after = layers[layer]
        weights = tuple(row[neuron] for row in after["W"])
        given = tuple(after["delta_graph"][example])
    return LayerQuestion(
        layer,
        neuron,
        example,
        this["activation"],
        this["fprime"][example][neuron],
        weights,
        given,
        this["delta_graph"][example][neuron],
    )


def layer_quiz(
    report: LayerReport, *, example: int = 0, answers: Iterable[str] | None = None, file: TextIO | None = None
) -> QuizResult:
    """Ask delta for every neuron, last layer first, reading answers from `answers` or stdin; return the score."""
    out = sys.stdout if file is None else file
    layers = report.data["layers"]
    asked = [
        layer_question(report, n, j, example) for n in range(len(layers), 0, -1) for j in range(len(layers[n - 1]["b"]))
    ]
    result = QuizResult(total=len(asked))

    def say(text: str = "") -> None:
        print(text, file=out, flush=True)

    read = answer_reader(answers, file, say)
    say(f"layer checks: delta for {len(asked)} neurons, last layer first; an empty line stops")
    say(TOLERANCE_HELP)
    try:
        for q in asked:
            while True:
                say(q.ask())
                text = read("> ")
                if not text.strip():
                    raise EOFError
                try:
                    right = q.check(text)
                except AnswerError as error:
                    print(f"  ({error}; try again)", file=out)
                    continue
                break
            result.asked += 1
            if right:
                result.right += 1
                print(f"  right: {q.worked()}", file=out)
            else:
                result.missed.append(f"layer {q.layer}")
                print(f"  not quite: delta({q.layer})[{q.neuron}] = {q.worked()}", file=out)
        result.finished = True
    except UnreadableInput as error:
        say(f"  ({error})")
    except (EOFError, StopIteration, KeyboardInterrupt):
        say()
    print(result.summary(), file=out)
    return result
