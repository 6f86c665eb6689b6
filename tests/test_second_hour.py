"""The second hour: the mistakes a learner makes next get a message that teaches, and nothing is lost.

Each test is one of the things a new user tried after the first hour (issue 33): parameters kept in
nested lists and dicts, copies of Values and models, hooks that return odd numbers, and the
messages for passing the wrong thing.
"""

from __future__ import annotations

import copy
import importlib
import pickle

import numpy as np
import pytest

import nn
from engine import Value
from engine.core.hooks import live_hooks

# ---------------------------------------------------------------- parameters in nested containers


class Rows(nn.Module):
    """A weight matrix as a list of rows, biases in a dict: 8 parameters."""

    def __init__(self) -> None:
        self.W = [[Value(1.0), Value(2.0), Value(3.0)], [Value(4.0), Value(5.0), Value(6.0)]]
        self.b = {"first": Value(0.5), "second": Value(-0.5)}

    def __call__(self, x: list[float]) -> list[Value]:
        rows = zip(self.W, self.b.values(), strict=True)
        return [sum((w * xi for w, xi in zip(row, x, strict=True)), b) for row, b in rows]


def test_parameters_in_nested_lists_and_dicts_are_all_found_in_a_documented_order():
    m = Rows()
    names = [name for name, _ in m.named_parameters()]
    assert names == ["W.0.0", "W.0.1", "W.0.2", "W.1.0", "W.1.1", "W.1.2", "b.first", "b.second"]
    assert m.parameters() == [*m.W[0], *m.W[1], m.b["first"], m.b["second"]]


def test_modules_in_a_dict_or_a_tuple_of_lists_are_walked_too():
    class Holder(nn.Module):
        def __init__(self) -> None:
            self.parts = {"a": nn.Neuron(2, seed=0), "b": (nn.Neuron(1, seed=1), [Value(7.0)])}

    h = Holder()
    assert [n for n, _ in h.named_parameters()] == [
        "parts.a.w.0", "parts.a.w.1", "parts.a.b", "parts.b.0.w.0", "parts.b.0.b", "parts.b.1.0",
    ]  # fmt: skip
    assert "(parts.a): Neuron" in repr(h)


def test_the_optimizer_moves_a_nested_weight_and_save_load_keeps_it(tmp_path):
    m = Rows()
    out = m([1.0, 1.0, 1.0])
    (out[0] + out[1]).backward()
    nn.SGD(m.parameters(), lr=0.1).step()
    assert m.W[1][2].data == 6.0 - 0.1
    m.save(tmp_path / "rows.json")
    fresh = Rows()
    fresh.load(tmp_path / "rows.json")
    assert fresh.state_dict() == m.state_dict() and fresh.W[1][2].data == 6.0 - 0.1


def test_parameters_in_a_set_or_under_an_unnamable_key_are_refused_naming_the_attribute():
    class InASet(nn.Module):
        def __init__(self) -> None:
            self.weights = {Value(1.0), Value(2.0)}

    with pytest.raises(TypeError, match=r"InASet\.weights.*set.*no order"):
        InASet().parameters()

    class OddKey(nn.Module):
        def __init__(self) -> None:
            self.b = {("x", 1): Value(1.0)}

    with pytest.raises(TypeError, match=r"OddKey\.b.*key \('x', 1\)"):
        OddKey().parameters()

    class DottedKey(nn.Module):
        def __init__(self) -> None:
            self.b = {"a.b": Value(1.0)}

    with pytest.raises(ValueError, match=r"DottedKey\.b.*'a\.b'"):
        DottedKey().parameters()


def test_two_parameters_under_one_name_are_refused():
    class Clash(nn.Module):
        def __init__(self) -> None:
            self.b = {1: Value(1.0), "1": Value(2.0)}

    with pytest.raises(ValueError, match=r"Clash: two parameters are named 'b\.1'"):
        Clash().parameters()


def test_a_container_that_holds_itself_is_refused_not_walked_forever():
    class Loop(nn.Module):
        def __init__(self) -> None:
            self.items: list = [Value(1.0)]
            self.items.append(self.items)

    with pytest.raises(ValueError, match=r"Loop\.items.*holds itself"):
        Loop().parameters()


# ---------------------------------------------------------------- copies


def test_a_hook_on_a_copy_does_not_run_on_the_original():
    v = Value(3.0)
    v.register_hook(lambda g: g * 3.0)
    c = copy.copy(v)
    c.register_hook(lambda g: g * 100.0)
    y = v * 1.0
    y.backward()
    assert v.grad == 3.0
    assert c.data == 3.0 and c is not v


def test_a_copy_keeps_the_hooks_the_original_had_and_counts_them():
    v = Value(2.0, "v")
    v.register_hook(lambda g: g * 10.0)
    c = copy.copy(v)
    (c * 3.0).backward()
    assert c.grad == 30.0 and c.label == "v"
    assert v._hooks is not c._hooks


@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
@pytest.mark.parametrize("make", [lambda: nn.Neuron(3, "tanh", seed=1), lambda: nn.Layer(2, 3, seed=2),
                                  lambda: nn.MLP(2, [4, 4, 1], seed=3)])  # fmt: skip
def test_a_model_pickles_and_deep_copies_exactly_and_independently(how, make):
    model = make()
    twin = pickle.loads(pickle.dumps(model)) if how == "pickle" else copy.deepcopy(model)
    assert twin.state_dict() == model.state_dict()
    assert repr(twin) == repr(model)
    x = [0.3] * model.nin
    assert _data(twin(x)) == _data(model(x))
    for p in twin.parameters():
        p.data += 1.0
    assert all(p.data != q.data for p, q in zip(model.parameters(), twin.parameters(), strict=True))
    assert not set(map(id, model.parameters())) & set(map(id, twin.parameters()))


def _data(out):
    return [o.data for o in out] if isinstance(out, list) else out.data


def test_a_deep_copied_parameter_keeps_its_hook_working():
    m = nn.Neuron(1, "linear", seed=0)
    handle = m.b.register_hook(lambda g: g * 5.0)
    counted = live_hooks[0]
    twin = copy.deepcopy(m)
    assert live_hooks[0] == counted + 1  # while none is counted, backward() takes its path without hooks
    handle.remove()  # the original's hook goes; the copy's stays
    twin([2.0]).backward()
    assert twin.b.grad == 5.0


# ---------------------------------------------------------------- hooks' results


def test_a_hook_returning_a_numpy_float32_gives_float_gradients():
    x = Value(2.0)
    x.register_hook(lambda g: np.float32(g))
    y = x * x * x
    y.backward()
    assert type(x.grad) is float and x.grad == 12.0


def test_a_hook_returning_a_huge_int_is_named_in_the_error():
    x = Value(2.0)

    def huge(g):
        return 10**400

    x.register_hook(huge)
    y = x * x * 3.0
    with pytest.raises(OverflowError, match=r"the hook .*huge on 'leaf'.*too large for a float"):
        y.backward()
    assert x.grad == 0.0  # nothing the user had is lost


# ---------------------------------------------------------------- messages that teach


def test_an_optimizer_given_the_parameters_method_says_to_call_it():
    m = nn.MLP(2, [3, 1], seed=0)
    with pytest.raises(TypeError, match=r"SGD: got the method .*parameters.*m\.parameters\(\)"):
        nn.SGD(m.parameters, lr=0.1)


def test_an_optimizer_given_the_model_says_to_pass_its_parameters():
    m = nn.MLP(2, [3, 1], seed=0)
    with pytest.raises(TypeError, match=r"Adam: got the model MLP itself.*\.parameters\(\)"):
        nn.Adam(m, lr=0.1)
    with pytest.raises(TypeError, match=r"SGD: expected the parameters.*got Value"):
        nn.SGD(Value(1.0), lr=0.1)


def test_setting_backward_by_hand_points_to_engine_operation():
    out = Value(2.0) * Value(3.0)
    with pytest.raises(AttributeError, match=r"_backward.*engine\.operation"):
        out._backward = lambda: None
    out._backward()  # micrograd's name still runs the node's chain-rule step


@pytest.mark.parametrize("operand", [None, "a", [1], object(), {1: 2}, 1j])
@pytest.mark.parametrize("op", ["+", "-", "*", "/", "**"])
def test_every_wrong_operand_gets_one_shape_of_message(op, operand):
    shown = type(operand).__name__
    expected = rf"^{'[*][*]' if op == '**' else '[' + op + ']'}: expected a real number or a Value, got {shown}"
    with pytest.raises(TypeError, match=expected):
        eval(f"v {op} operand", {"v": Value(2.0), "operand": operand})
    with pytest.raises(TypeError, match=expected):
        eval(f"operand {op} v", {"v": Value(2.0), "operand": operand})


def test_a_wrong_operand_that_knows_the_operation_still_gets_its_turn():
    assert (Value(2.0) * np.array([1.0, 2.0]))[1].data == 4.0


def test_a_bad_grad_is_explained_in_a_learners_words():
    x = Value(2.0, "x")
    x.grad = "bad"
    with pytest.raises(TypeError) as caught:
        (x * x).backward()
    message = str(caught.value)
    assert "not recorded" not in message
    assert "'leaf' 'x' (to learn which line made it" in message and "detect_anomaly()" in message
    assert x.grad == "bad"


# ---------------------------------------------------------------- demos: arguments before the disk


@pytest.mark.parametrize(
    "demo, argv",
    [("digits", ["--per-class", "0"]), ("digits", ["--per-class", "21"]), ("digits", ["--per-class", "-1"]),
     ("layers", ["--batch", "1"]), ("layers", ["--hidden", "3", "0"])],
)  # fmt: skip
def test_a_demo_refusing_an_argument_leaves_no_out_folder(tmp_path, demo, argv):
    main = importlib.import_module(f"demos.{demo}").main
    out = tmp_path / "new" / "pictures"
    with pytest.raises(SystemExit) as stopped:
        main([*argv, "--out", str(out), "--quiet"])
    assert stopped.value.code == 2
    assert not (tmp_path / "new").exists()


def test_any_error_after_parsing_removes_the_folders_parsing_made_and_keeps_the_others(tmp_path):
    from demos import common

    (tmp_path / "kept").mkdir()
    parser = common.make_parser("probe", None)
    args = common.parse(parser, ["--out", str(tmp_path / "kept" / "a" / "b")])
    assert args.out.is_dir()
    with pytest.raises(SystemExit):
        parser.error("a check of the demo's own")
    assert (tmp_path / "kept").is_dir() and not (tmp_path / "kept" / "a").exists()
