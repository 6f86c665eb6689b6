"""engine.step_through: the stepping page as a notebook's inline display."""

import errno
import html
import os
import re
import shutil

import pytest

import engine
from engine import Value
from engine.see.notebook import Stepper, step_through
from engine.see.stepper_page import stepper_html

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot program is not installed")


def neuron():
    x, w, b = Value(2.0, label="x"), Value(-3.0, label="w"), Value(6.8813735870195432, label="b")
    o = (x * w + b).tanh()
    o.label = "o"
    return o, (x, w, b)


def srcdoc(markup: str) -> str:
    (attribute,) = re.findall(r'<iframe srcdoc="([^"]*)"', markup)
    return html.unescape(attribute)


@needs_dot
def test_the_display_is_the_whole_stepping_page_in_an_iframe():
    o, _ = neuron()
    shown = step_through(o, title="one <neuron>")
    markup = shown._repr_html_()
    assert srcdoc(markup) == stepper_html(neuron()[0], title="one <neuron>") == shown.page
    outside = re.sub(r'srcdoc="[^"]*"', "", markup)
    assert "<script" not in outside and 'id="' not in outside  # ids and script stay inside the iframe
    assert "Trust this notebook" in outside  # what a front end that strips iframes shows instead
    assert re.search(r"height:520px", outside)
    assert repr(shown) == "Stepper(4 frames; display it in a notebook, or .save('steps.html'))"
    assert engine.step_through is step_through and engine.Stepper is Stepper


@needs_dot
def test_building_it_or_displaying_it_changes_no_gradient():
    o, leaves = neuron()
    leaves[0].grad = None
    before = [v.grad for v in leaves]
    shown = step_through(o)
    assert [v.grad for v in leaves] == before
    shown._repr_html_()
    shown._repr_html_()
    assert [v.grad for v in leaves] == before


@needs_dot
def test_save_writes_the_standalone_page(tmp_path):
    o, _ = neuron()
    shown = step_through(o, rankdir="TB", height=300)
    path = shown.save(tmp_path / "steps.html")
    assert path.read_text(encoding="utf-8") == shown.page
    assert "height:300px" in shown._repr_html_()


@needs_dot
def test_save_is_all_or_nothing_and_keeps_the_files_mode(tmp_path, monkeypatch):
    o, _ = neuron()
    shown = step_through(o)
    page = tmp_path / "steps.html"
    page.write_text("the previous page")
    page.chmod(0o640)

    def disk_full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        shown.save(page)
    assert page.read_text() == "the previous page"  # not a half-written page under the final name
    assert os.listdir(tmp_path) == ["steps.html"]  # and no temporary file beside it
    monkeypatch.undo()
    shown.save(page)
    assert page.read_text(encoding="utf-8") == shown.page and page.stat().st_mode & 0o777 == 0o640


def test_bad_arguments_are_refused_before_any_work():
    o, (x, _, _) = neuron()
    with pytest.raises(TypeError, match="step_through: expected a Value, got float"):
        step_through(1.5)
    with pytest.raises(ValueError, match="height must be an int of at least 100"):
        step_through(o, height=10)
    assert x.grad == 0.0


def test_a_graph_too_big_for_a_page_is_refused_with_the_steppers_hint():
    x = Value(1.0)
    total = sum(x * i for i in range(1, 100))
    with pytest.raises(ValueError, match="max_nodes"):
        step_through(total)
