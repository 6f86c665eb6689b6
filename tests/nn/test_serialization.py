"""state_dict / load_state_dict / save / load: exact round trips, and failed loads that change nothing."""

import json
import math
import os
import random
import struct

import pytest

import nn


def bits(model: nn.Module) -> list[bytes]:
    """Every parameter as its 8 IEEE-754 bytes: equal lists mean equal to the last bit."""
    return [struct.pack("<d", p.data) for p in model.parameters()]


def awkward_model(seed: int = 3) -> nn.MLP:
    """A model whose weights need all 17 significant digits, plus some corner values."""
    model = nn.MLP(2, [5, 4, 1], seed=seed)
    rng = random.Random(seed)
    for p in model.parameters():
        p.data = rng.uniform(-1, 1) * 10 ** rng.randint(-300, 300)
    ps = model.parameters()
    ps[0].data, ps[1].data, ps[2].data, ps[3].data = -0.0, 0.1 + 0.2, 5e-324, 1.7976931348623157e308
    return model


def test_state_dict_maps_names_to_numbers():
    model = nn.MLP(2, [3, 1], seed=1)
    state = model.state_dict()
    assert list(state) == [name for name, _ in model.named_parameters()]
    assert list(state.values()) == [p.data for p in model.parameters()]
    state["layers.0.neurons.0.b"] = 99.0  # a copy: changing it leaves the model alone
    assert model.layers[0].neurons[0].b.data == 0.0


def test_load_state_dict_copies_every_value():
    source, target = nn.MLP(2, [3, 1], seed=1), nn.MLP(2, [3, 1], seed=2)
    assert bits(source) != bits(target)
    target.load_state_dict(source.state_dict())
    assert bits(source) == bits(target)


def test_save_then_load_is_exact_to_the_last_bit(tmp_path):
    model = awkward_model()
    path = tmp_path / "model.json"
    model.save(path)
    fresh = nn.MLP(2, [5, 4, 1], seed=99)
    fresh.load(path)
    assert bits(fresh) == bits(model)
    assert math.copysign(1.0, fresh.parameters()[0].data) == -1.0  # -0.0 kept its sign


def test_save_then_load_gives_identical_outputs(tmp_path):
    model = nn.MLP(2, [16, 16, 1], seed=5)
    for p in model.parameters():
        p.data += 1e-3 * math.sin(len(p.label))  # moved away from the initial values
    model.save(tmp_path / "m.json")
    fresh = nn.MLP(2, [16, 16, 1], seed=6)
    fresh.load(tmp_path / "m.json")
    rng = random.Random(0)
    for _ in range(20):
        x = [rng.uniform(-2, 2), rng.uniform(-2, 2)]
        assert struct.pack("<d", fresh(x).data) == struct.pack("<d", model(x).data)


def test_the_file_is_plain_json_naming_format_and_architecture(tmp_path):
    model = nn.MLP(2, [3, 1], seed=1)
    model.save(tmp_path / "m.json")
    document = json.loads((tmp_path / "m.json").read_text())
    assert document["format"] == "chainrule.nn.state"
    assert document["version"] == 1
    assert "Layer(nin=2, nout=3, activation='relu')" in document["model"]
    assert document["parameters"] == model.state_dict()


def test_save_replaces_an_old_file_and_leaves_no_temporary_files(tmp_path):
    path = tmp_path / "m.json"
    nn.MLP(2, [3, 1], seed=1).save(path)
    second = nn.MLP(2, [3, 1], seed=2)
    second.save(path)
    assert os.listdir(tmp_path) == ["m.json"]
    check = nn.MLP(2, [3, 1], seed=3)
    check.load(path)
    assert bits(check) == bits(second)


# ---------------------------------------------------------------- failed loads change nothing


def assert_load_refused(model: nn.Module, load, match: str) -> None:
    before = bits(model)
    with pytest.raises(nn.LoadError, match=match):
        load()
    assert bits(model) == before


def test_missing_entry_is_named_and_nothing_changes():
    model = nn.MLP(2, [3, 1], seed=1)
    state = nn.MLP(2, [3, 1], seed=2).state_dict()
    del state["layers.1.neurons.0.b"]
    assert_load_refused(model, lambda: model.load_state_dict(state), r"missing 1 entry: 'layers.1.neurons.0.b'")


def test_extra_entry_is_named_and_nothing_changes():
    model = nn.MLP(2, [3, 1], seed=1)
    state = nn.MLP(2, [3, 1], seed=2).state_dict()
    state["layers.2.neurons.0.b"] = 1.0
    assert_load_refused(model, lambda: model.load_state_dict(state), r"unexpected 1 entry: 'layers.2.neurons.0.b'")


def test_differently_shaped_entry_is_named_and_nothing_changes():
    model = nn.MLP(2, [3, 1], seed=1)
    state = nn.MLP(3, [3, 1], seed=2).state_dict()  # three inputs: each first-layer neuron has 3 weights
    assert_load_refused(
        model, lambda: model.load_state_dict(state), r"layers.0.neurons.0.w has 3 entries in the state, the model has 2"
    )


def test_wider_layer_is_reported_as_unexpected_neurons():
    model = nn.MLP(2, [3, 1], seed=1)
    state = nn.MLP(2, [4, 1], seed=2).state_dict()
    assert_load_refused(model, lambda: model.load_state_dict(state), r"layers.1.neurons.0.w has 4 entries")


def test_a_non_number_late_in_the_state_changes_nothing():
    model = nn.MLP(2, [3, 1], seed=1)
    state = nn.MLP(2, [3, 1], seed=2).state_dict()
    state["layers.1.neurons.0.b"] = "0.5"  # every earlier entry is fine: still none may be assigned
    assert_load_refused(model, lambda: model.load_state_dict(state), r"entry 'layers.1.neurons.0.b' is str '0.5'")
    state["layers.1.neurons.0.b"] = True
    assert_load_refused(model, lambda: model.load_state_dict(state), r"is bool True, not a number")


def test_not_a_dict_is_refused():
    model = nn.MLP(2, [1])
    assert_load_refused(model, lambda: model.load_state_dict([1.0, 2.0, 3.0]), "expected a dict")


@pytest.mark.parametrize(
    "content, match",
    [
        ('{"format": "chainrule.nn.state", "version": 1, "parameters": {"layers.0', "not valid JSON"),
        ("", "not valid JSON"),
        ("[1, 2, 3]", "not a saved chainrule model"),
        ('{"format": "something else", "parameters": {}}', "not a saved chainrule model"),
        ('{"format": "chainrule.nn.state", "version": 7, "parameters": {}}', "format version 7"),
        ('{"format": "chainrule.nn.state", "version": 1}', "no 'parameters' table"),
        ('{"format": "chainrule.nn.state", "version": 1, "parameters": {}}', "missing 4 entries"),
    ],
)
def test_corrupt_or_foreign_files_are_refused_and_nothing_changes(tmp_path, content, match):
    path = tmp_path / "bad.json"
    path.write_text(content)
    model = nn.MLP(1, [1, 1], seed=1)
    assert_load_refused(model, lambda: model.load(path), match)


def test_binary_garbage_is_refused(tmp_path):
    path = tmp_path / "bad.json"
    path.write_bytes(bytes(range(256)))
    model = nn.MLP(2, [2, 1])
    assert_load_refused(model, lambda: model.load(path), "bad.json")


def test_truncated_save_file_is_refused(tmp_path):
    path = tmp_path / "m.json"
    model = nn.MLP(2, [3, 1], seed=1)
    model.save(path)
    text = path.read_text()
    path.write_text(text[: len(text) // 2])
    other = nn.MLP(2, [3, 1], seed=2)
    assert_load_refused(other, lambda: other.load(path), "not valid JSON")


def test_a_file_for_another_architecture_names_the_file_and_the_problem(tmp_path):
    path = tmp_path / "big.json"
    nn.MLP(2, [16, 16, 1]).save(path)
    small = nn.MLP(2, [3, 1])
    assert_load_refused(small, lambda: small.load(path), r"big.json.*nothing was loaded")


def test_load_error_is_a_value_error():
    assert issubclass(nn.LoadError, ValueError)
