"""demos/tour.ipynb runs top to bottom, is committed without outputs, and its inline stepper works in a
real browser after an export to HTML, as a reader of the exported notebook would see it."""

import base64
import json
import math
import shutil
from pathlib import Path

import pytest
from devtools import Page

ROOT = Path(__file__).resolve().parents[2]
TOUR = ROOT / "demos" / "tour.ipynb"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

nbformat = pytest.importorskip("nbformat", reason="the notebook tests need nbformat (pip install -e '.[test]')")
nbclient = pytest.importorskip("nbclient", reason="the notebook tests need nbclient (pip install -e '.[test]')")
pytest.importorskip("ipykernel", reason="the notebook tests need ipykernel (pip install -e '.[test]')")
pytestmark = [
    pytest.mark.slow,  # a notebook kernel and a browser: end to end
    pytest.mark.skipif(shutil.which("dot") is None, reason="the tour draws graphs: Graphviz's dot is missing"),
]


@pytest.fixture(scope="module")
def executed():
    """The tour, run top to bottom in a fresh kernel from the repository's root."""
    notebook = nbformat.read(TOUR, as_version=4)
    client = nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}
    )
    client.execute()  # raises CellExecutionError, naming the cell, if any cell fails
    return notebook


def outputs(notebook, kind):
    return [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs if kind in o.get("data", {})]


def text(notebook) -> str:
    parts = []
    for cell in notebook.cells:
        for o in cell.get("outputs", []):
            parts.append(o.get("text", "") + o.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def test_committed_without_outputs_and_small():
    document = json.loads(TOUR.read_text(encoding="utf-8"))
    code = [cell for cell in document["cells"] if cell["cell_type"] == "code"]
    assert code and all(cell["outputs"] == [] and cell["execution_count"] is None for cell in code)
    assert TOUR.stat().st_size < 20_000
    nbformat.validate(nbformat.reads(TOUR.read_text(encoding="utf-8"), as_version=4))


def test_every_cell_runs_and_shows_what_the_text_promises(executed):
    shown = text(executed)
    assert "Value(data=-8.0, grad=0.0, op='*', label='L')" in shown
    assert "step 3/3: e = a * b, e.grad = -2.0" in shown and "(6.0, -4.0, -2.0, 4.0)" in shown
    assert shown.count("(6.0, -4.0, -2.0, 4.0)") == 2  # by backward_steps(), then by hand with apply_chain_rule()
    assert "337 parameters" in shown and "step  99" in shown and "accuracy 100%" in shown.split("step  99")[1]
    # the operation defined in the notebook: its step shows the rule's formula, its gradient is 3 * sigmoid(2.1)
    assert "v2.grad += sigmoid(v2.data) * s.grad" in shown
    (line,) = [row for row in shown.splitlines() if row.startswith("x.grad = ")]
    assert line.split(" = ")[1] == line.split(" = ")[3] == repr(3.0 / (1.0 + math.exp(-2.1)))
    assert len(outputs(executed, "image/svg+xml")) == 2  # the expression's picture and the neuron's
    assert len(outputs(executed, "image/png")) == 1  # the decision boundary
    (gif,) = outputs(executed, "image/gif")  # the moons training animation, from the repository
    assert base64.b64decode(gif["data"]["image/gif"])[:6] == b"GIF89a"
    stepper, predicting = outputs(executed, "text/html")  # the stepper, then the same in predict mode
    assert "<iframe srcdoc=" in stepper["data"]["text/html"]
    assert "if (false || /predict/" in stepper["data"]["text/html"]
    assert "if (true || /predict/" in predicting["data"]["text/html"]


@pytest.fixture(scope="module", params=["lab", "classic"])
def exported(request, executed, tmp_path_factory):
    """The executed tour as one HTML file, with nbconvert's JupyterLab or classic Notebook look."""
    nbconvert = pytest.importorskip("nbconvert")
    body, _ = nbconvert.HTMLExporter(template_name=request.param).from_notebook_node(executed)
    path = tmp_path_factory.mktemp(f"export-{request.param}") / "tour.html"
    path.write_text(body, encoding="utf-8")
    return path


FRAME = "document.querySelector('iframe').contentDocument"


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_the_inline_stepper_advances_in_a_browser(exported, tmp_path):
    with Page(CHROMIUM, exported.resolve().as_uri(), tmp_path / "profile") as page:
        page.wait_for("location.protocol === 'file:' && document.readyState === 'complete'")
        assert page.evaluate("document.querySelectorAll('iframe').length") == 2
        page.wait_for(f"{FRAME} && {FRAME}.body && {FRAME}.body.dataset.status === 'ready'")

        def state():
            return page.evaluate(
                f"[{FRAME}.body.dataset.step, {FRAME}.getElementById('view').innerHTML,"
                f" {FRAME}.getElementById('caption').textContent]"
            )

        step0, picture0, caption0 = state()
        assert step0 == "0" and "<svg" in picture0 and caption0.startswith("start:")
        page.evaluate(f"{FRAME}.getElementById('next').click()")
        step1, picture1, caption1 = state()
        assert step1 == "1" and picture1 != picture0 and caption1.startswith("step 1/3: L = d * f")
        assert 'stroke="#d62728"' in picture1 and 'stroke="#d62728"' not in picture0  # the step's node in red
        page.evaluate(f"{FRAME}.getElementById('prev').click()")
        assert state() == [step0, picture0, caption0]
        page.evaluate(f"{FRAME}.getElementById('play').click()")
        page.wait_for(f"{FRAME}.body.dataset.step === '3'")  # play walks on to the last step by itself
        assert state()[1] not in (picture0, picture1)


PREDICTING = "document.querySelectorAll('iframe')[1].contentDocument"


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_the_predict_cell_checks_typed_answers_in_a_browser(exported, tmp_path):
    with Page(CHROMIUM, exported.resolve().as_uri(), tmp_path / "profile") as page:
        page.wait_for("document.querySelectorAll('iframe').length === 2")
        page.wait_for(f"{PREDICTING} && {PREDICTING}.body && {PREDICTING}.body.dataset.status === 'ready'")

        def answer(text):
            page.evaluate(f"{PREDICTING}.getElementById('guess').value = {text!r}")
            page.evaluate(f"{PREDICTING}.getElementById('check').click()")
            return page.evaluate(
                f"[{PREDICTING}.body.dataset.step, {PREDICTING}.body.dataset.score,"
                f" {PREDICTING}.getElementById('verdict').textContent]"
            )

        assert page.evaluate(f"{PREDICTING}.getElementById('question').textContent").endswith(
            "d.grad += f.data * L.grad  (f.data = -2.0, L.grad = 1.0)  = ?"
        )
        assert answer("-2*1") == ["0", "1/1", "right: d.grad += f.data * L.grad = -2.0 * 1.0 = -2.0"]
        step, score, verdict = answer("4.5")
        assert (step, score) == ("1", "1/2") and verdict.startswith("not quite (4.5): f.grad += d.data * L.grad")
