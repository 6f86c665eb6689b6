"""The picture of a layer report: columns of neurons with z, a, delta, edges shaded by |dL/dw|."""

import re
import shutil
import xml.etree.ElementTree as ET

import pytest

import nn
from nn import layerpicture

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
SVG = "{http://www.w3.org/2000/svg}"


def report(batch: int = 3):
    X, y = nn.make_moons(batch, seed=0)
    model = nn.MLP(2, [3, 2, 1], "tanh", seed=1)
    return nn.backprop_report(model, X, nn.hinge_loss, y)


def test_every_neuron_and_weight_is_drawn_with_its_numbers():
    r = report()
    dot = r.to_dot(example=1)
    assert dot.startswith("digraph layers {") and dot.endswith("}\n")
    ids = re.findall(r"^\t  (\w+) \[", dot, flags=re.M)
    assert ids == ["x0", "x1", "l1n0", "l1n1", "l1n2", "l2n0", "l2n1", "l3n0"]
    edges = re.findall(r"^\t(\w+) -> (\w+) ", dot, flags=re.M)
    assert len(edges) == 2 * 3 + 3 * 2 + 2 * 1 + 1
    assert ("x1", "l1n2") in edges and ("l2n1", "l3n0") in edges and ("l3n0", "loss") in edges
    layer = r.layers[1]
    z, a, delta = layer.z[1][0], layer.a[1][0], layer.delta_graph[1][0]
    cells = ["neuron 0", f"z {z:.4g}", f"a {a:.4g}", f"delta {delta:.4g}"]
    assert "</td></tr><tr><td>".join(cells) in dot
    assert "example 1 of 3" in dot and 'subgraph cluster_2 { label="layer 2: tanh"' in dot


def test_edges_are_shaded_by_the_size_of_the_weight_gradient():
    r = report()
    dot = r.to_dot()
    grads = {}
    for layer in r.layers:
        for k, row in enumerate(layer.dW_graph):
            for j, g in enumerate(row):
                tail = f"x{j}" if layer.index == 1 else f"l{layer.index - 1}n{j}"
                grads[(tail, f"l{layer.index}n{k}")] = abs(g)
    widths = {
        (t, h): float(w) for t, h, w in re.findall(r"^\t(\w+) -> (\w+) \[color=\"#\w+\" penwidth=([\d.]+)", dot, re.M)
    }
    assert set(widths) == set(grads)
    largest = max(grads, key=grads.get)
    smallest = min(grads, key=grads.get)
    assert widths[largest] == 3.0 and widths[smallest] < widths[largest]
    assert sorted(widths, key=widths.get)[-1] == largest
    assert 'color="#000000" penwidth=3.00' in dot  # the largest |dL/dw| is black


def test_the_same_report_gives_the_same_text():
    assert report().to_dot() == report().to_dot()


def test_label_text_is_escaped_and_columns_keep_their_order():
    label = layerpicture._table(['a|b {c} <d> & "e"'], "#ffffff")
    assert "<td>a|b {c} &lt;d&gt; &amp; &quot;e&quot;</td>" in label
    assert label.startswith("<<table") and label.endswith("</table>>")
    dot = report().to_dot()
    assert "{ rank=same; l1n2 -> l1n1 -> l1n0 [style=invis] }" in dot  # in LR an edge within a rank points up


def test_a_bad_example_index_is_refused():
    with pytest.raises(ValueError, match="example must be an int from 0 to 2"):
        report().to_dot(example=3)


@needs_dot
def test_the_svg_has_every_neuron_and_its_numbers(tmp_path):
    r = report()
    path = r.save(tmp_path / "net.svg")
    root = ET.fromstring(path.read_bytes())
    titles = [t.text for t in root.iter(SVG + "title")]
    assert {"x0", "l1n0", "l3n0", "loss", "x0->l1n0"} <= set(titles)
    texts = [t.text for t in root.iter(SVG + "text")]
    assert f"delta {r.layers[2].delta_graph[0][0]:.4g}" in texts
    assert path.read_bytes() == r.save(tmp_path / "again.svg").read_bytes()
    assert r.save(tmp_path / "net.dot").read_text() == r.to_dot()
    with pytest.raises(ValueError, match="unknown picture format"):
        r.save(tmp_path / "net.gif")


@needs_dot
def test_draw_returns_a_digraph():
    graphviz = pytest.importorskip("graphviz")
    g = report().draw()
    assert isinstance(g, graphviz.Digraph)
    assert "l3n0 -> loss" in g.source


def test_a_save_that_fails_part_way_leaves_the_old_picture(tmp_path, monkeypatch):
    import errno
    import os

    path = tmp_path / "net.dot"
    path.write_text("the old picture")

    def disk_full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        report().save(path)
    assert path.read_text() == "the old picture"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.dot"]
