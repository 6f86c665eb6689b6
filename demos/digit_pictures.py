"""The digits demo's pictures: the confusion matrix, the misclassified test digits, the first layer's weights."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from matplotlib.figure import Figure

from demos import common, plots

CLASSES = 10
SHOWN = 24  # misclassified digits drawn at most


def confusion(truth: Sequence[int], predicted: Sequence[int], accuracy: float) -> Figure:
    """counts[true][predicted] as a heat map with the numbers written in."""
    counts = [[0] * CLASSES for _ in range(CLASSES)]
    for t, p in zip(truth, predicted, strict=True):
        counts[t][p] += 1
    figure = plots.new_figure(5.2, 4.8)
    ax = figure.add_subplot()
    image = ax.imshow(counts, cmap="Blues")
    top = max(max(row) for row in counts)
    for t in range(CLASSES):
        for p in range(CLASSES):
            if counts[t][p]:
                ax.text(
                    p,
                    t,
                    str(counts[t][p]),
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if counts[t][p] > top / 2 else "black",
                )
    ax.set(
        xticks=range(CLASSES),
        yticks=range(CLASSES),
        xlabel="predicted digit",
        ylabel="true digit",
        title=f"test digits: {common.percent(accuracy)} of {len(truth)} right",
    )
    figure.colorbar(image, ax=ax, shrink=0.8)
    return figure


def mistakes(images: Sequence[Sequence[float]], truth: Sequence[int], predicted: Sequence[int]) -> Figure:
    """The misclassified test digits (up to SHOWN), each titled 'true -> predicted'."""
    wrong = [i for i, (t, p) in enumerate(zip(truth, predicted, strict=True)) if t != p][:SHOWN]
    columns = 8
    rows = max(1, -(-len(wrong) // columns))
    figure = plots.new_figure(columns * 1.0, rows * 1.2 + 0.4)
    figure.suptitle(f"misclassified test digits: true -> predicted ({len(wrong)} shown)", fontsize=9)
    for n, i in enumerate(wrong):
        ax = figure.add_subplot(rows, columns, n + 1)
        ax.imshow(_square(images[i]), cmap="gray_r", vmin=0.0, vmax=1.0)
        ax.set_title(f"{truth[i]} -> {predicted[i]}", fontsize=8, color=plots.COLOURS[1])
        ax.set_axis_off()
    if not wrong:
        figure.text(0.5, 0.5, "none: every test digit is right", ha="center")
    return figure


def first_layer(model: Any) -> Figure:
    """Each first-layer neuron's 64 weights as an 8x8 image (blue negative, red positive, one scale for all)."""
    neurons = model.layers[0].neurons
    rows = [[w.data for w in neuron.w] for neuron in neurons]
    scale = max(abs(w) for row in rows for w in row) or 1.0
    columns = 8
    lines = -(-len(rows) // columns)
    figure = plots.new_figure(columns * 1.0, lines * 1.0 + 0.4)
    figure.suptitle("first layer: each hidden neuron's weights over the 8x8 pixels", fontsize=9)
    for n, row in enumerate(rows):
        ax = figure.add_subplot(lines, columns, n + 1)
        ax.imshow(_square(row), cmap="coolwarm", vmin=-scale, vmax=scale)
        ax.set_title(str(n), fontsize=7)
        ax.set_axis_off()
    return figure


def _square(pixels: Sequence[float]) -> list[list[float]]:
    return [list(pixels[8 * r : 8 * r + 8]) for r in range(8)]
