"""The HTML stepper: frames follow backward_steps(), and in a real headless Chromium the page loads
without script errors and moving to another step changes the picture."""

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from devtools import FLAGS

from engine import Value, topological_order
from engine.see.stepper_page import frames, stepper_html, write_stepper

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot program is not installed")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def needs_browser(test):
    """A test in a real headless Chromium: end to end (slow), and skipped without Chromium."""
    return pytest.mark.slow(pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")(test))


def neuron():
    x1, w1 = Value(2.0, label="x1"), Value(-3.0, label="w1")
    x2, w2 = Value(0.0, label="x2"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    o = (x1 * w1 + x2 * w2 + b).tanh()
    o.label = "o"
    return o


def test_one_frame_to_start_and_one_per_step_with_the_step_as_caption():
    o = neuron()
    made = frames(o)
    other = neuron()
    reference = list(other.backward_steps())
    assert len(made) == len(reference) + 1
    assert made[0].caption.startswith("start:") and "o.grad seeded with 1.0" in made[0].caption
    assert [frame.caption for frame in made[1:]] == [str(step) for step in reference]
    assert all(frame.dot.startswith("digraph chainrule {") for frame in made)
    # each frame names its step's node by its DOT id, the node's place in the topological order
    order = topological_order(other)
    assert made[0].node == ""
    assert [frame.node for frame in made[1:]] == [f"n{order.index(step.node)}" for step in reference]


@needs_dot
def test_every_frame_is_an_inline_svg():
    page = stepper_html(neuron(), title="a <neuron>")
    templates = re.findall(r'<template id="frame-(\d+)"[^>]*>(.*?)</template>', page, re.S)
    assert [int(i) for i, _ in templates] == list(range(len(list(neuron().backward_steps())) + 1))
    for _, svg in templates:
        ET.fromstring(svg)  # well-formed XML
    assert "<title>a &lt;neuron&gt;</title>" in page
    assert "http" not in page.replace("http://www.w3.org", "")  # nothing fetched from elsewhere


def run_chromium(url: str, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
    profile.mkdir()
    flags = [*FLAGS, "--enable-logging=stderr", f"--user-data-dir={profile}"]
    return subprocess.run([CHROMIUM, *flags, *extra, url], capture_output=True, text=True, timeout=120)


def shown(dom: str) -> tuple[str, str, str]:
    """(body data-step, body data-status, the SVG in the viewer) of a dumped page."""
    body = re.search(r"<body([^>]*)>", dom).group(1)
    step = re.search(r'data-step="([^"]*)"', body).group(1)
    status = re.search(r'data-status="([^"]*)"', body).group(1)
    view = re.search(r'<div id="view">(.*?)</div>\s*<template', dom, re.S).group(1)
    return step, status, view


@needs_dot
@needs_browser
def test_page_loads_and_advancing_changes_the_picture(tmp_path):
    page = write_stepper(neuron(), tmp_path / "steps.html")
    url = page.resolve().as_uri()
    n_steps = len(neuron().backward_steps())
    expected = {k: frame.node for k, frame in enumerate(frames(neuron()))}
    assert expected[3]
    doms = {}
    for k in (0, 3):
        done = run_chromium(f"{url}#step={k}", tmp_path, "--dump-dom")
        assert "Uncaught" not in done.stderr, done.stderr
        doms[k] = shown(done.stdout)
        assert doms[k][:2] == (str(k), "ready")  # the script ran to its end and shows frame k
        assert f"step {k} of {n_steps}" in done.stdout
        # the page found the step's node in the picture (to scroll it into view)
        assert re.search(r'<body[^>]*data-current="([^"]*)"', done.stdout).group(1) == expected[k]
    assert doms[0][2] != doms[3][2]
    # frame 3 highlights its node in red; frame 0 (before any step) highlights nothing
    assert 'stroke="#d62728"' in doms[3][2] and 'stroke="#d62728"' not in doms[0][2]


@needs_dot
@needs_browser
def test_play_advances_by_itself(tmp_path):
    page = write_stepper(neuron(), tmp_path / "steps.html")
    done = run_chromium(page.resolve().as_uri() + "?autoplay", tmp_path, "--virtual-time-budget=3000", "--dump-dom")
    step, status, _ = shown(done.stdout)
    assert status == "ready" and int(step) >= 2  # one frame every 1.2 s of (virtual) time


@needs_dot
@needs_browser
def test_screenshot_of_the_page(tmp_path):
    page = write_stepper(neuron(), tmp_path / "steps.html")
    shot = tmp_path / "shot.png"
    run_chromium(page.resolve().as_uri() + "#step=2", tmp_path, f"--screenshot={shot}", "--window-size=1200,600")
    assert shot.exists(), "chromium wrote no screenshot: the page did not load"
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 5000


IMG = "<img src=x onerror=\"document.body.dataset.pwned='1'\">"
HOSTILE = f"</template>{IMG}<script>document.body.dataset.pwned='2'</script>"


@needs_dot
@needs_browser
def test_labels_cannot_inject_markup_or_script_into_the_page(tmp_path):
    x = Value(2.0, label=HOSTILE)
    w = Value(-3.0, label='w" onclick="x')
    out = (x * w).tanh()
    out.label = "&amp; <b>out</b>"
    page = write_stepper(out, tmp_path / "steps.html", title="<script>document.body.dataset.pwned='3'</script>")
    html_text = page.read_text()
    assert html_text.count("<script>") == 1 and html_text.count("<template") == len(frames(out))
    done = run_chromium(f"{page.resolve().as_uri()}#step=1", tmp_path, "--dump-dom")
    assert "Uncaught" not in done.stderr, done.stderr
    body = re.search(r"<body([^>]*)>", done.stdout).group(1)
    assert "pwned" not in body and 'data-status="ready"' in body
    step, _, view = shown(done.stdout)
    assert step == "1" and "<img" not in view
    caption = re.search(r'<pre id="caption">(.*?)</pre>', done.stdout, re.S).group(1)
    assert "&amp;amp; &lt;b&gt;out&lt;/b&gt;" in caption  # the label as text, escaped once by the browser
