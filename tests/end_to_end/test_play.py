"""The render hook the browser page draws through, and the page itself (docs/play/) under Chromium.

`use_renderer` swaps Graphviz's `dot` for any function from DOT texts to pictures: everything that
renders must go through it, in one call for the stepping page's frames. The slow test builds the
page and runs docs/play/test/page.mjs, which drives headless Chromium against it on 127.0.0.1.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine import Value, step_through
from engine.see.drawing import DotFailed, dot_renderer, render, render_all, save, to_dot, use_renderer

ROOT = Path(__file__).resolve().parents[2]
PLAY = ROOT / "docs" / "play"


def neuron() -> Value:
    x, w, b = Value(2.0, label="x"), Value(-3.0, label="w"), Value(6.88, label="b")
    n = (x * w + b).tanh()
    n.label = "n"
    return n


class Recorder:
    """A renderer that draws nothing: it records each call and answers with a tiny SVG per graph."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], str]] = []

    def __call__(self, dot_texts, fmt):
        self.calls.append((list(dot_texts), fmt))
        return [f'<?xml version="1.0"?>\n<svg id="g{i}"></svg>'.encode() for i in range(len(dot_texts))]


@pytest.fixture
def recorder():
    recording = Recorder()
    previous = use_renderer(recording)
    try:
        yield recording
    finally:
        use_renderer(previous)


def test_render_and_save_go_through_the_renderer_in_use(recorder, tmp_path):
    n = neuron()
    assert render(to_dot(n)) == b'<?xml version="1.0"?>\n<svg id="g0"></svg>'
    path = save(n, tmp_path / "n.svg")
    assert path.read_bytes().endswith(b'<svg id="g0"></svg>')
    assert [fmt for _, fmt in recorder.calls] == ["svg", "svg"]
    assert recorder.calls[1][0] == [to_dot(n)]


def test_the_stepping_page_renders_all_its_frames_in_one_call(recorder):
    page = step_through(neuron()).page
    assert len(recorder.calls) == 1
    texts, fmt = recorder.calls[0]
    assert fmt == "svg" and len(texts) == 4  # the start and one frame per operation (*, +, tanh)
    assert all(text.startswith("digraph chainrule {") for text in texts)
    for i in range(4):
        assert f'<template id="frame-{i}"' in page and f'<svg id="g{i}"></svg>' in page


def test_a_renderer_that_returns_the_wrong_number_of_pictures_is_refused():
    previous = use_renderer(lambda texts, fmt: [b"<svg/>"])
    try:
        with pytest.raises(DotFailed, match="1 pictures for 2 graphs"):
            render_all(["digraph {}", "digraph {}"])
        with pytest.raises(DotFailed, match="not bytes"):
            use_renderer(lambda texts, fmt: ["<svg/>"])
            render("digraph {}")
    finally:
        use_renderer(previous)
    with pytest.raises(TypeError, match="use_renderer: expected a function"):
        use_renderer("dot")  # type: ignore[arg-type]


def test_none_puts_dot_back():
    previous = use_renderer(Recorder())
    assert use_renderer(None) is not dot_renderer
    assert use_renderer(previous) is dot_renderer


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot program is not installed")
def test_dot_cuts_one_run_into_one_picture_per_graph():
    a, b = to_dot(neuron()), to_dot(Value(1.0, label="lonely"))
    first, second = render_all([a, b])
    assert first.startswith(b"<?xml") and first.count(b"<svg") == 1 and b">n<" in first
    assert second.startswith(b"<?xml") and second.count(b"<svg") == 1 and b">lonely<" in second


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("node") is None or shutil.which("npm") is None, reason="needs node and npm")
@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs chromium")
def test_the_page_in_headless_chromium():
    """Build docs/play/ and run its browser test (docs/play/test/page.mjs): see that file for what it checks."""
    subprocess.run([sys.executable, str(PLAY / "build.py")], check=True, timeout=600)
    env = dict(os.environ, PYTHON=sys.executable, CHROMIUM=str(shutil.which("chromium")))  # serves it; drives it
    done = subprocess.run(["node", "test/page.mjs"], cwd=PLAY, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
