"""Predict mode of the stepping page, in a real headless Chromium: typing a right and a wrong answer,
the page checks them with no server, reveals each step only once answered, and keeps the score."""

import json
import shutil

import pytest
from devtools import Page

from engine import Value, step_through
from engine.see.stepper_page import frames, stepper_html, write_stepper

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot program is not installed")


def needs_browser(test):
    """A test in a real headless Chromium: end to end (slow), and skipped without Chromium."""
    return pytest.mark.slow(pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")(test))


def lecture():
    a, b, c = Value(2.0, label="a"), Value(-3.0, label="b"), Value(10.0, label="c")
    e = a * b
    e.label = "e"
    d = e + c
    d.label = "d"
    f = Value(-2.0, label="f")
    L = d * f
    L.label = "L"
    return L, (a, b, c, f)


def test_each_frame_carries_its_steps_questions_and_answers():
    made = frames(lecture()[0])
    assert json.loads(made[0].questions) == []
    first = json.loads(made[1].questions)
    assert [q["ask"] for q in first] == [
        "d.grad += f.data * L.grad  (f.data = -2.0, L.grad = 1.0)  = ?",
        "f.grad += d.data * L.grad  (d.data = 4.0, L.grad = 1.0)  = ?",
    ]
    assert [q["answer"] for q in first] == [-2.0, 4.0]
    assert first[1]["local"] == "dL/df = d.data = 4.0"


def typing(page: Page, text: str) -> None:
    """Type text into the answer box and press Enter, as key events, the way a person does."""
    page.evaluate("document.getElementById('guess').select()")  # what is typed replaces what is there
    page.send("Input.insertText", {"text": text})
    for kind in ("keyDown", "keyUp"):
        page.send(
            "Input.dispatchKeyEvent",
            {"type": kind, "key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13, "text": "\r"},
        )


def state(page: Page, document: str = "document") -> dict:
    return page.evaluate(
        f"({{step: {document}.body.dataset.step, score: {document}.body.dataset.score || '',"
        f" question: {document}.getElementById('question').textContent,"
        f" verdict: {document}.getElementById('verdict').textContent,"
        f" verdictClass: {document}.getElementById('verdict').className,"
        f" shown: {document}.getElementById('score').textContent}})"
    )


@needs_dot
@needs_browser
def test_right_and_wrong_answers_typed_into_the_saved_page(tmp_path):
    L, leaves = lecture()
    page_file = write_stepper(L, tmp_path / "steps.html", predict=True)
    with Page(CHROMIUM, page_file.resolve().as_uri(), tmp_path / "profile") as page:
        page.wait_for("document.body && document.body.dataset.status === 'ready'")
        s = state(page)
        assert (
            s["step"] == "0"
            and s["question"] == "step 1: d.grad += f.data * L.grad  (f.data = -2.0, L.grad = 1.0)  = ?"
        )
        page.evaluate("document.getElementById('next').click()")  # predicting: the step stays hidden
        assert state(page)["step"] == "0"
        typing(page, "-2*1")  # right
        s = state(page)
        assert s["verdictClass"] == "right" and s["verdict"] == "right: d.grad += f.data * L.grad = -2.0 * 1.0 = -2.0"
        assert (
            s["score"] == "1/1"
            and s["step"] == "0"
            and s["question"].endswith("f.grad += d.data * L.grad  (d.data = 4.0, L.grad = 1.0)  = ?")
        )
        typing(page, "3")  # wrong: the line, its numbers and the local derivative
        s = state(page)
        assert s["verdictClass"] == "wrong" and s["score"] == "1/2" and s["shown"] == "score 1 of 2"
        assert "not quite (3): f.grad += d.data * L.grad = 4.0 * 1.0 = 4.0" in s["verdict"]
        assert "local derivative: dL/df = d.data = 4.0" in s["verdict"]
        assert (
            s["step"] == "1" and s["question"] == "step 2: e.grad += 1 * d.grad  (d.grad = -2.0)  = ?"
        )  # both answered: revealed
        typing(page, "two")  # unreadable: not counted
        s = state(page)
        assert s["score"] == "1/2" and "cannot read" in s["verdict"]
        for answer in ("-2", "-2", "6", "2*-2"):
            typing(page, answer)
        s = state(page)
        assert s["step"] == "3" and s["score"] == "5/6" and s["question"] == "every step answered"
        # the "f" key typed in the box did not toggle the page's fit-to-width, and no script error
        assert page.evaluate("document.getElementById('fit').checked") is True  # the page starts fitted to width


@needs_dot
@needs_browser
def test_predict_mode_in_the_inline_notebook_stepper(tmp_path):
    L, _ = lecture()
    inline = step_through(L, predict=True)._repr_html_()
    html_file = tmp_path / "cell.html"
    html_file.write_text(f"<!DOCTYPE html><html><body>{inline}</body></html>", encoding="utf-8")
    frame = "document.querySelector('iframe').contentDocument"
    with Page(CHROMIUM, html_file.resolve().as_uri(), tmp_path / "profile") as page:
        page.wait_for(
            f"document.querySelector('iframe') && {frame} && {frame}.body && {frame}.body.dataset.status === 'ready'"
        )
        assert state(page, frame)["question"] == "step 1: d.grad += f.data * L.grad  (f.data = -2.0, L.grad = 1.0)  = ?"
        page.evaluate(f"{frame}.getElementById('guess').value = '-2'; {frame}.getElementById('check').click()")
        page.evaluate(f"{frame}.getElementById('guess').value = '5'; {frame}.getElementById('check').click()")
        s = state(page, frame)
        assert s["score"] == "1/2" and s["step"] == "1" and "4.0 * 1.0 = 4.0" in s["verdict"]


def test_predict_off_by_default_and_the_page_without_it_unchanged_in_behaviour():
    page = stepper_html(lecture()[0])
    assert "if (false || /predict/" in page and '<input id="predict" type="checkbox">' in page
    assert "if (true || /predict/" in stepper_html(lecture()[0], predict=True)


@needs_dot
@needs_browser
def test_the_page_accepts_an_answer_rounded_to_the_digits_typed_as_the_quiz_does(tmp_path):
    x, y, w = Value(-3.0, label="x"), Value(0.500972, label="y"), Value(1.0, label="w")
    m = x * y
    m.label = "m"
    L = m * w
    L.label = "L"
    page_file = write_stepper(L, tmp_path / "steps.html", predict=True)
    with Page(CHROMIUM, page_file.resolve().as_uri(), tmp_path / "profile") as page:
        page.wait_for("document.body && document.body.dataset.status === 'ready'")
        assert "rounded to the digits you type" in page.evaluate("document.getElementById('tolerance').textContent")
        verdicts = []
        for answer in ("1", "-1.5", "0.5", "-2"):  # 1.0, -1.50292, 0.500972, -3.0
            typing(page, answer)
            verdicts.append(state(page)["verdictClass"])
        assert verdicts == ["right", "right", "right", "wrong"]
