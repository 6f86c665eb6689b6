"""The stepping page inside a Jupyter notebook: `engine.step_through(v)`.

A cell that ends with `step_through(v)` shows the backward pass of `v` inline, picture by
picture, with the same previous / next / play buttons, slider and keys as the page that
`engine.see.stepper_page` writes to a file. The page is self-contained (every frame's SVG and the script
are in it) and goes into an `<iframe srcdoc=...>`, so it needs no server extension and no
network, works the same in JupyterLab, the classic Notebook and VS Code, and survives an export
to HTML (nbconvert). Its element ids live inside the iframe, so several steppers in one notebook
do not clash.

Building it computes the backward pass aside, as `engine.see.stepper_page.write_stepper` does:
no `.grad` of the graph changes.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from pathlib import Path

from ..core.value import Value
from ..files import write_atomically
from .stepper_page import DEFAULT_MAX_NODES, stepper_html

# Shown by a notebook front end that strips iframes from outputs (JupyterLab does, for a
# notebook it does not trust); the iframe covers it otherwise.
UNTRUSTED_HINT = "Trust this notebook to see the backward pass step by step (the picture comes with a script)."


class Stepper:
    """The backward pass of a Value as an inline stepping page; Jupyter displays it via `_repr_html_`."""

    def __init__(
        self,
        v: Value,
        *,
        title: str | None = None,
        rankdir: str = "LR",
        height: int = 520,
        max_nodes: int = DEFAULT_MAX_NODES,
        parameters: Iterable[Value] = (),
        predict: bool = False,
    ) -> None:
        if type(v) is not Value:
            raise TypeError(f"step_through: expected a Value, got {type(v).__name__}")
        if isinstance(height, bool) or not isinstance(height, int) or height < 100:
            raise ValueError(f"step_through: height must be an int of at least 100 (pixels), got {height!r}")
        self.height = height
        self.page = stepper_html(
            v, title=title, rankdir=rankdir, max_nodes=max_nodes, parameters=parameters, predict=predict
        )

    def _repr_html_(self) -> str:
        return (
            f'<div style="position:relative;width:100%;height:{self.height}px">'
            f'<p style="position:absolute;margin:0;padding:1em;color:#666">{html.escape(UNTRUSTED_HINT)}</p>'
            f'<iframe srcdoc="{html.escape(self.page, quote=True)}" title="backward pass, step by step" '
            f'style="position:absolute;top:0;left:0;width:100%;height:100%;border:1px solid #ddd;background:#fff">'
            "</iframe></div>"
        )

    def save(self, path: str | Path) -> Path:
        """Write the page as a standalone .html file, all or nothing (see `engine.files`); return its path."""
        return write_atomically(path, self.page.encode("utf-8"), who="save", special="in place")

    def __repr__(self) -> str:
        return f"Stepper({self.page.count('<template id=')} frames; display it in a notebook, or .save('steps.html'))"


def step_through(
    v: Value,
    *,
    title: str | None = None,
    rankdir: str = "LR",
    height: int = 520,
    max_nodes: int = DEFAULT_MAX_NODES,
    parameters: Iterable[Value] = (),
    predict: bool = False,
) -> Stepper:
    """v's backward pass, step by step, shown inline when a notebook cell returns it (changes no `.grad`).

    predict=True starts the page in predict mode: each step is shown once its gradients are typed in.
    """
    return Stepper(
        v, title=title, rankdir=rankdir, height=height, max_nodes=max_nodes, parameters=parameters, predict=predict
    )
