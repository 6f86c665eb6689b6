"""`LayerReport`: the layer view of one backward pass, as numbers, a table and a picture.

It holds, per layer, what the graph gave beside what the textbook recursion gave (`nn.textbook`)
and the checks between them; `str(report)` is the table, `to_dot()` / `draw()` / `save()` the
picture (`nn.layerpicture`). `nn.backprop_report` (in `nn.layerview`) makes one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .layerpicture import draw_layers, layers_to_dot, save_layers
from .textbook import FORMULAS, Check, LayerData, _plain


class LayerReport:
    """The layer view of a backward pass: per layer z, a, f'(z), delta (graph and textbook), dL/dW, dL/db.

    `str(report)` is a table; `report.data` (or `to_dict()`) the same numbers as plain lists;
    `report.checks` the equations with their largest differences; `report.agree` whether all are
    within the tolerance. `to_dot()`, `draw()` and `save(path)` make a picture of the network.
    """

    def __init__(
        self,
        sizes: list[int],
        inputs: list[list[float]],
        batch: bool,
        loss: float,
        l2: float,
        layers: list[LayerData],
        checks: list[Check],
        tolerance: float,
    ) -> None:
        self.sizes = sizes
        self.inputs = inputs
        self.batch = batch
        self.loss = loss
        self.l2 = l2
        self.layers = layers
        self.checks = checks
        self.tolerance = tolerance

    @property
    def examples(self) -> int:
        return len(self.inputs)

    @property
    def flagged(self) -> list[Check]:
        """The checks whose difference is above the tolerance."""
        return [c for c in self.checks if not c.ok]

    @property
    def agree(self) -> bool:
        """True when every equation holds on the graph's numbers to within the tolerance."""
        return not self.flagged

    @property
    def max_rel_diff(self) -> float:
        return max(c.max_rel_diff for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        """The report's numbers as plain dicts, lists and floats (JSON-ready)."""
        return {
            "sizes": list(self.sizes),
            "activations": [layer.activation for layer in self.layers],
            "inputs": _plain(self.inputs),
            "examples": self.examples,
            "loss": self.loss,
            "l2": self.l2,
            "tolerance": self.tolerance,
            "layers": [layer.to_dict() for layer in self.layers],
            "checks": [c.to_dict() for c in self.checks],
            "max_rel_diff": self.max_rel_diff,
            "agree": self.agree,
        }

    @property
    def data(self) -> dict[str, Any]:
        """Same as to_dict()."""
        return self.to_dict()

    def summary(self) -> str:
        """One line: whether the textbook equations and the scalar graph agree, and by how much."""
        if self.agree:
            return (
                f"textbook and scalar graph agree: {len(self.checks)} checks, largest relative difference "
                f"{_diff(self.max_rel_diff)} (tolerance {self.tolerance:g})"
            )
        worst = max(self.flagged, key=lambda c: c.max_rel_diff)
        return (
            f"textbook and scalar graph DISAGREE: {len(self.flagged)} of {len(self.checks)} checks above "
            f"{self.tolerance:g}, the worst {_diff(worst.max_rel_diff)} in {worst.equation}"
        )

    def __str__(self) -> str:
        return _text(self)

    def __repr__(self) -> str:
        shape = "-".join(str(s) for s in self.sizes)
        activations = ", ".join(layer.activation for layer in self.layers)
        return (
            f"<LayerReport MLP {shape} ({activations}), {self.examples} example{'s' if self.examples > 1 else ''}, "
            f"loss {self.loss:.6g}, {'agree' if self.agree else 'DISAGREE'}>"
        )

    # pictures (nn/layerpicture.py)
    def to_dot(self, example: int = 0) -> str:
        """DOT text of the network as columns of neurons (z, a, delta of one example; edges by |dL/dw|)."""
        return layers_to_dot(self, example)

    def draw(self, example: int = 0) -> Any:
        """The picture as a graphviz.Digraph (shown inline by Jupyter)."""
        return draw_layers(self, example)

    def save(self, path: str | Path, example: int = 0) -> Path:
        """Write the picture as SVG, PNG or PDF (runs Graphviz's `dot`), or DOT text, by the suffix."""
        return save_layers(self, path, example)


# ---------------------------------------------------------------- text


def _num(x: float, width: int = 11) -> str:
    return f"{x + 0.0:.4g}".rjust(width)  # + 0.0: -0.0 prints as 0


def _diff(x: float) -> str:
    return "0" if x == 0.0 else f"{x:.2g}"


def _text(report: LayerReport) -> str:
    shape = "-".join(str(s) for s in report.sizes)
    acts = ", ".join(layer.activation for layer in report.layers)
    n = report.examples
    lines = [
        f"backward pass layer by layer: MLP {shape} ({acts}), {n} example{'s' if n > 1 else ''}, "
        f"loss {report.loss:.6g}",
        "delta = dL/dz read from the graph, beside the textbook recursion (tb)"
        + (f"; z, a, f'(z), delta of example 0 (all in .data), dL/db and dL/dW summed over the {n}" if n > 1 else ""),
    ]
    for layer in report.layers:
        lines.append("")
        head = f"layer {layer.index}: {layer.activation}, {FORMULAS[layer.activation]}"
        lines.append(head)
        lines.append(
            "  neuron"
            + "".join(h.rjust(11) for h in ("z", "a", "f'(z)", "delta", "delta(tb)", "dL/db", "dL/db(tb)"))
            + "   dL/dW row (graph)"
        )
        for k in range(len(layer.b)):
            row = layer.dW_graph[k]
            shown = ", ".join(f"{x:.4g}" for x in row[:4]) + (", ..." if len(row) > 4 else "")
            lines.append(
                f"  {k:>6}"
                + _num(layer.z[0][k])
                + _num(layer.a[0][k])
                + _num(layer.fprime[0][k])
                + _num(layer.delta_graph[0][k])
                + _num(layer.delta_textbook[0][k])
                + _num(layer.db_graph[k])
                + _num(layer.db_textbook[k])
                + f"   [{shown}]"
            )
    lines.append("")
    lines.append(f"checks: largest difference relative to the size of the terms (flagged above {report.tolerance:g})")
    width = max(len(c.equation) for c in report.checks)
    for c in report.checks:
        lines.append(f"  {c.equation.ljust(width)}  {_diff(c.max_rel_diff):>8}  {'ok' if c.ok else 'FLAGGED'}")
    lines.append(report.summary())
    return "\n".join(lines)
