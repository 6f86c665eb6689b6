"""Pictures: DOT structure, SVG rendering, stable output, roles, step highlighting, errors, CLI."""

import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from engine import Value, topological_order
from engine.see.command import main
from engine.see.drawing import (
    CURRENT,
    ROLE_COLOURS,
    DotNotFound,
    GraphTooLarge,
    count_nodes,
    draw,
    render,
    save,
    to_dot,
)

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot program is not installed")
SVG = "{http://www.w3.org/2000/svg}"


def neuron():
    x1, w1 = Value(2.0, label="x1"), Value(-3.0, label="layer.w.0")
    x2, w2 = Value(0.0, label="x2"), Value(1.0, label="layer.w.1")
    b = Value(6.8813735870195432, label="layer.b")
    n = x1 * w1 + x2 * w2 + b
    n.label = "n"
    o = (2 * n).tanh()  # the 2 becomes an unlabeled constant leaf
    o.label = "o"
    return o


def records(dot: str) -> dict[str, str]:
    """{node id: its statement} for every record node."""
    return {m.group(1): m.group(0) for m in re.finditer(r"^\t(n\d+) \[shape=record.*$", dot, re.M)}


def test_one_record_per_value_one_op_node_per_result_and_their_edges():
    o = neuron()
    order = topological_order(o)
    dot = to_dot(o)
    results = [v for v in order if not v.is_leaf()]
    assert len(records(dot)) == len(order)
    assert len(re.findall(r"^\tn\d+_op \[shape=circle", dot, re.M)) == len(results)
    edges = re.findall(r"^\t(n\d+(?:_op)?) -> (n\d+(?:_op)?)", dot, re.M)
    assert len(edges) == sum(len(v.parents) for v in results) + len(results)
    ids = {v: f"n{i}" for i, v in enumerate(order)}
    for v in results:  # inputs -> op -> result
        assert (f"{ids[v]}_op", ids[v]) in edges
        for p in v.parents:
            assert (ids[p], f"{ids[v]}_op") in edges


def test_roles_are_coloured_by_the_documented_rule():
    o = neuron()
    x_plain = Value(1.0, label="x")
    extra = o * x_plain
    dot = to_dot(extra, parameters=[x_plain])
    order = topological_order(extra)
    statements = records(dot)

    def colour(v):
        return re.search(r'fillcolor="([^"]+)"', statements[f"n{order.index(v)}"]).group(1)

    leaves = {v.label: v for v in order if v.is_leaf()}
    assert colour(extra) == ROLE_COLOURS["output"]
    assert colour(o) == ROLE_COLOURS["result"]
    assert colour(leaves["layer.w.0"]) == ROLE_COLOURS["parameter"]  # dotted name
    assert colour(x_plain) == ROLE_COLOURS["parameter"]  # listed in parameters=
    assert colour(leaves["x1"]) == ROLE_COLOURS["input"]
    assert colour(leaves[""]) == ROLE_COLOURS["constant"]  # the Python 2 in 2 * n


def test_to_dot_needs_no_graphviz_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)  # import graphviz now fails
    assert to_dot(neuron()).startswith("digraph chainrule {")
    with pytest.raises(ImportError, match="pip install graphviz"):
        draw(neuron())


def test_missing_dot_program_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no dot on PATH
    o = neuron()
    for attempt in (lambda: save(o, tmp_path / "g.svg"), lambda: render("digraph {}"), lambda: draw(o)):
        with pytest.raises(DotNotFound) as error:
            attempt()
        message = str(error.value)
        for hint in ("`dot`", "apt-get install graphviz", "brew install graphviz", "conda install", "to_dot"):
            assert hint in message
    assert "n0" in to_dot(o)  # still works
    save(o, tmp_path / "g.dot")  # DOT text needs no dot either
    assert (tmp_path / "g.dot").read_text() == to_dot(o)


def test_size_guard_refuses_a_large_graph_without_walking_all_of_it():
    total = Value(0.0)
    for i in range(20000):
        total = total + Value(float(i)) * Value(2.0)
    assert count_nodes(total, 100) == 101  # stops as soon as it is over the limit
    with pytest.raises(GraphTooLarge, match=r"max_nodes=1000.*one example.*larger max_nodes"):
        to_dot(total)
    small = Value(0.0)
    for i in range(400):
        small = small + Value(float(i))  # 801 nodes... then raise the limit past them
    with pytest.raises(GraphTooLarge):
        to_dot(small, max_nodes=500)
    assert len(records(to_dot(small, max_nodes=900))) == len(topological_order(small))


def test_record_labels_escape_dot_specials():
    tricky = Value(1.0, label='w{0}|<in> "q" \\ x')
    dot = to_dot(tricky * 2)
    assert r"w\{0\}\|\<in\>\ \"q\"\ \\\ x" in dot


@needs_dot
def test_tricky_labels_render_and_appear_in_the_svg():
    tricky = Value(1.0, label='w{0}|<in> "q"')
    svg = render(to_dot((tricky * 2).tanh()))
    root = ET.fromstring(svg)
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert 'w{0}|<in> "q"' in texts


@needs_dot
def test_svg_parses_and_contains_every_label():
    o = neuron()
    o.backward()
    root = ET.fromstring(render(to_dot(o)))
    texts = {(t.text or "").strip() for t in root.iter(f"{SVG}text")}
    for label in ("x1", "x2", "layer.w.0", "layer.w.1", "layer.b", "n", "o", "v1", "tanh", "*", "+"):
        assert label in texts, label


@needs_dot
def test_identical_graphs_give_byte_identical_svg(tmp_path):
    first, second = neuron(), neuron()
    first.backward()
    second.backward()
    save(first, tmp_path / "a.svg")
    save(second, tmp_path / "b.svg")
    assert (tmp_path / "a.svg").read_bytes() == (tmp_path / "b.svg").read_bytes()
    neuron_changed = neuron()
    neuron_changed.data = 0.25
    save(neuron_changed, tmp_path / "c.svg")
    assert (tmp_path / "c.svg").read_bytes() != (tmp_path / "b.svg").read_bytes()


@needs_dot
def test_draw_returns_a_digraph_with_the_same_source():
    graphviz = pytest.importorskip("graphviz")
    o = neuron()
    graph = draw(o, rankdir="TB")
    assert isinstance(graph, graphviz.Digraph)
    assert graph.source == to_dot(o, rankdir="TB")
    assert "rankdir=TB" in graph.source
    assert graph.pipe(format="svg").startswith(b"<?xml")


@needs_dot
def test_png_and_format_errors(tmp_path):
    path = save(neuron(), tmp_path / "g.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="unknown picture format 'gif'"):
        save(neuron(), tmp_path / "g.gif")
    with pytest.raises(ValueError, match="rankdir"):
        to_dot(neuron(), rankdir="RL")


def test_step_k_shows_the_gradients_after_k_steps_and_highlights_its_node():
    o = neuron()
    reference = neuron()
    steps = reference.backward_steps()
    taken = [next(steps) for _ in range(3)]
    dot = to_dot(o, step=3)
    order = topological_order(o)
    ref_order = topological_order(reference)
    current = f"n{ref_order.index(taken[-1].node)}"
    statements = records(dot)
    for i, (v, r) in enumerate(zip(order, ref_order, strict=True)):
        grad = re.search(r"grad (?:\\ )*(\S+)}", statements[f"n{i}"]).group(1)
        assert float(grad) == pytest.approx(r.grad, rel=1e-3, abs=1e-4), v.label
        assert (CURRENT in statements[f"n{i}"]) == (f"n{i}" == current)
    assert f'{current}_op -> {current} [color="{CURRENT}"' in dot


def test_step_zero_is_the_seeded_graph_and_bad_steps_are_refused():
    o = neuron()
    o.backward()
    order = topological_order(o)
    leaf_grads = [v.grad for v in order if v.is_leaf()]
    dot = to_dot(o, step=0)
    grads = [float(g) for g in re.findall(r"grad (?:\\ )*(\S+)}", dot)]
    assert grads[-1] == 1.0  # the root, seeded
    results = [g for v, g in zip(order[:-1], grads[:-1], strict=True) if not v.is_leaf()]
    assert results and set(results) == {0.0}  # reset, as backward() resets them
    leaves = [g for v, g in zip(order, grads, strict=True) if v.is_leaf()]
    assert set(leaves) == {0.0}  # one pass from zero: the earlier pass's leaf gradients are left out
    assert [v.grad for v in order if v.is_leaf()] == leaf_grads  # and kept
    n_steps = len(o.backward_steps())
    with pytest.raises(ValueError, match=f"from 0 to {n_steps}"):
        to_dot(o, step=n_steps + 1)


@needs_dot
def test_the_layout_stays_put_from_step_to_step():
    shapes = []
    for k in (1, 4):
        svg = render(to_dot(neuron(), step=k)).decode()
        shapes.append(re.findall(r'(?:points|d)="([^"]+)"', svg))
    assert shapes[0] == shapes[1]


def test_cli_writes_dot_to_stdout(capsys):
    assert main(["tanh(x*w + b)", "x=2", "w=-3", "b=1", "--backward"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("digraph chainrule {")
    assert len(records(out)) == 6  # x, w, x*w, b, x*w + b, tanh
    grads = dict(re.findall(r'label="\{(\w)\|data.*?grad (?:\\ )*(\S+)}', out))
    t = __import__("math").tanh(-5.0)
    assert float(grads["x"]) == pytest.approx(-3 * (1 - t * t), rel=1e-3)


@needs_dot
def test_cli_saves_svg_and_runs_a_module_function(tmp_path, monkeypatch, capsys):
    (tmp_path / "my_graph.py").write_text(
        "from engine import Value\n\ndef loss():\n    a = Value(3.0, label='a')\n    return (a * a).relu()\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["my_graph:loss", "-o", str(tmp_path / "loss.svg")]) == 0
    texts = [t.text for t in ET.parse(tmp_path / "loss.svg").getroot().iter(f"{SVG}text")]
    assert "a" in texts and "relu" in texts


def test_cli_reports_bad_input(capsys):
    assert main(["x * y", "x=2"]) == 2
    assert "name 'y' is not defined" in capsys.readouterr().err
    assert main(["x * 2", "x2"]) == 2
    assert "name=number" in capsys.readouterr().err


def colours(v: Value, **options) -> dict[Value, str]:
    """{node: its fill colour} in to_dot(v, **options)."""
    statements = records(to_dot(v, **options))
    order = topological_order(v)
    return {node: re.search(r'fillcolor="([^"]+)"', statements[f"n{i}"]).group(1) for i, node in enumerate(order)}


def test_an_nn_model_draws_its_parameters_as_parameters_and_its_inputs_as_inputs():
    nn = pytest.importorskip("nn")
    model = nn.MLP(2, [3, 1], seed=0)
    out = model([0.5, -1.0])
    filled = colours(out)
    params = set(model.parameters())
    for node, colour in filled.items():
        if node in params:
            assert colour == ROLE_COLOURS["parameter"], node.label
        elif node.is_leaf():
            assert node.label in ("x0", "x1") and colour == ROLE_COLOURS["input"]
    assert sum(colour == ROLE_COLOURS["parameter"] for colour in filled.values()) == model.num_parameters()
    # a lone neuron's bias is labelled plain `b`: pass the model itself as parameters=
    neuron = nn.Neuron(2, "tanh")
    y = neuron([1.0, 2.0])
    assert colours(y)[neuron.b] == ROLE_COLOURS["input"]
    by_model = colours(y, parameters=neuron)
    assert [by_model[p] for p in neuron.parameters()] == [ROLE_COLOURS["parameter"]] * 3
    assert to_dot(y, parameters=neuron) == to_dot(y, parameters=neuron.parameters())


@needs_dot
def test_jupyter_shows_the_digraph_inline_as_svg():
    pytest.importorskip("graphviz")
    bundle = draw(neuron())._repr_mimebundle_()  # what a notebook calls to display the result
    svg = bundle["image/svg+xml"]
    texts = {(t.text or "").strip() for t in ET.fromstring(svg.encode()).iter(f"{SVG}text")}
    assert {"o", "x1", "layer.w.0"} <= texts


def test_cli_stepping_page_keeps_the_steppers_smaller_size_limit(tmp_path, capsys):
    # 300 nodes: fine for one picture, but a page holds one picture per step (here 199 of them)
    terms = " + ".join(f"x*{i}" for i in range(1, 101))
    page = tmp_path / "steps.html"
    assert main([terms, "x=1", "-o", str(page)]) == 2
    err = capsys.readouterr().err
    assert "stepper: the graph has more than max_nodes=150 nodes" in err and "max_nodes=" in err
    assert not page.exists()
    assert main([terms, "x=1"]) == 0  # the DOT text of the same graph is fine
    assert len(records(capsys.readouterr().out)) == 300


@pytest.mark.slow
@needs_dot
def test_cli_draws_the_moons_demo_network_on_one_point(tmp_path):
    # the real command line, as a reader would type it, on nn's MLP(2, [16, 16, 1]) and one input point
    (tmp_path / "one_point.py").write_text(
        "import nn\n\ndef loss():\n"
        "    model = nn.MLP(2, [16, 16, 1], seed=0)\n"
        "    return nn.hinge_loss(model([0.5, -0.3]), 1)\n"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-m", "engine", "one_point:loss", "--backward", "-o", str(tmp_path / "net.svg")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": os.environ["PATH"], "PYTHONPATH": f"{root}:{tmp_path}"},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stderr and "Warning" not in done.stderr
    texts = {(t.text or "").strip() for t in ET.parse(tmp_path / "net.svg").getroot().iter(f"{SVG}text")}
    assert {"layers.0.neurons.0.w.0", "layers.2.neurons.0.b", "x0", "x1", "relu"} <= texts


def test_stepper_frames_start_from_zero_and_change_no_gradient():
    from engine.see.stepper_page import frames

    x, w = Value(2.0, label="x"), Value(-3.0, label="w")
    out = (x * w).tanh()
    out.backward()
    once = x.grad, w.grad
    made = frames(out)
    assert "every gradient of the graph at 0" in made[0].caption
    assert re.search(r"\{x\|data[\\ ]*2\.0\|grad[\\ ]*0\.0\}", made[0].dot), made[0].dot  # not the earlier pass's
    assert (x.grad, w.grad) == once  # the page's pass is computed aside


@needs_dot
def test_draw_renders_svg_unless_told_otherwise(tmp_path):
    graphviz = pytest.importorskip("graphviz")
    graph = draw(neuron())
    assert graph.format == "svg"
    written = Path(graph.render(tmp_path / "gout"))
    assert written == tmp_path / "gout.svg"
    assert ET.parse(written).getroot().tag == f"{SVG}svg"
    png = Path(draw(neuron(), format="png").render(tmp_path / "gout"))
    assert png == tmp_path / "gout.png" and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="draw: unknown picture format 'svgg'"):
        draw(neuron(), format="svgg")
    assert isinstance(graph, graphviz.Digraph)


def test_engine_draw_is_only_the_function_and_needs_no_warning_filter():
    import warnings

    import engine

    assert callable(engine.draw) and engine.draw is draw
    assert not any("engine.draw" in str(f[1] and f[1].pattern) for f in warnings.filters)
    # the page imports the pictures, the command line imports both, nothing imports back: no cycle
    imports = {module: imported_modules(Path(engine.__file__).parent / "see" / f"{module}.py") for module in MODULES}
    assert "drawing" in imports["stepper_page"] and {"drawing", "stepper_page"} <= imports["command"]
    assert not imports["drawing"] & {"stepper_page", "command", "argparse"}
    assert not imports["stepper_page"] & {"command", "argparse"}


MODULES = ("drawing", "stepper_page", "command")


def imported_modules(path: Path) -> set[str]:
    """The last part of every module path imports and `from . import x` names."""
    import ast

    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.rsplit(".", 1)[-1] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add((node.module or "").rsplit(".", 1)[-1])
            names |= {alias.name for alias in node.names}
    return names


def test_a_write_that_fails_midway_leaves_the_old_picture_and_no_temporary_file(tmp_path, monkeypatch):
    picture = tmp_path / "g.dot"
    picture.write_text("the good picture")
    picture.chmod(0o640)

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        save(neuron(), picture)
    assert picture.read_text() == "the good picture"
    assert [p.name for p in tmp_path.iterdir()] == ["g.dot"]
    monkeypatch.undo()
    save(neuron(), picture)
    assert picture.read_text() == to_dot(neuron())
    assert picture.stat().st_mode & 0o777 == 0o640  # the file keeps its permission bits


def test_save_writes_through_a_symlink_and_refuses_a_folder(tmp_path):
    target = tmp_path / "real.dot"
    link = tmp_path / "link.dot"
    link.symlink_to(target)
    save(neuron(), link)
    assert link.is_symlink() and target.read_text() == to_dot(neuron())
    with pytest.raises(IsADirectoryError, match="folder"):
        save(neuron(), tmp_path, format="dot")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save(neuron(), tmp_path / "missing" / "g.dot")


HOSTILE_LABELS = [
    'w{0}|<in> "q" \\ x',
    "</template><img src=x onerror=\"document.body.dataset.pwned='1'\">",
    "<script>document.body.dataset.pwned='1'</script>",
    "a\nb\r\nc\\l\\N",
    "]]><!-- & &amp; ' \"",
    "\\",
]


@pytest.mark.parametrize("label", HOSTILE_LABELS)
def test_hostile_labels_stay_text_in_dot(label):
    x = Value(1.5, label=label)
    dot = to_dot((x * x).tanh())
    first = records(dot)["n0"]
    # the record label holds the escaped text and nothing breaks out of the quoted attribute
    quoted_text = r'"(?:[^"\\]|\\.)*"'
    assert re.fullmatch(rf"\tn0 \[shape=record label={quoted_text} tooltip={quoted_text} style=filled.*", first)
    assert "\n" not in first


@needs_dot
@pytest.mark.parametrize("label", HOSTILE_LABELS)
def test_hostile_labels_render_as_their_own_text(label):
    x = Value(1.5, label=label)
    svg = render(to_dot((x * x).tanh()))
    texts = [t.text for t in ET.fromstring(svg).iter(f"{SVG}text")]
    assert " ".join(label.splitlines()) in texts


def test_pictures_and_the_stepping_page_use_the_one_writer(tmp_path, monkeypatch):
    """save(), write_stepper() and the command line's -o all write through engine.files."""
    import engine.files
    from engine.see.stepper_page import write_stepper

    calls = []
    real = engine.files.write_all_or_none
    monkeypatch.setattr(engine.files, "write_all_or_none", lambda *a, **k: calls.append(k) or real(*a, **k))
    save(neuron(), tmp_path / "n.dot")
    write_stepper(neuron(), tmp_path / "n.html")
    assert main(["x * 2", "x=1", "-o", str(tmp_path / "c.html")], prog="draw") == 0
    assert [(k["who"], k["special"]) for k in calls] == [("save", "in place")] * 3
    assert (tmp_path / "c.html").read_text().startswith("<!DOCTYPE html>")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write a read-only file")
def test_a_read_only_picture_is_refused_and_left_as_it_was(tmp_path):
    from engine.see.stepper_page import write_stepper

    for name, write in (("g.dot", save), ("p.html", write_stepper)):
        path = tmp_path / name
        path.write_text("old")
        path.chmod(0o444)
        with pytest.raises(PermissionError, match="save: the file is read-only"):
            write(neuron(), path)
        assert path.read_text() == "old"
