"""Saved models, tried as an attacker would: no half-loaded model, no bad file replacing a good one.

Loading checks everything before the first parameter changes and refuses with `nn.LoadError`;
saving checks every parameter before writing, writes strict JSON, and swaps the file in
atomically and durably, keeping the path's permission bits, owner and symlinks.
"""

import errno
import json
import math
import os
import stat
import struct
import threading
from collections.abc import Iterator, Mapping
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

import nn
from engine import Value
from nn import module as module_file


def bits(model: nn.Module) -> list[bytes]:
    """Every parameter as its 8 IEEE-754 bytes: equal lists mean equal to the last bit."""
    return [struct.pack("<d", p.data) for p in model.parameters()]


def from_bits(pattern: int) -> float:
    return struct.unpack("<d", struct.pack("<Q", pattern))[0]


def bits_of(x: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def model37() -> nn.MLP:
    """2-4-4-1: 37 parameters, as in the report of 36 of 37 overwritten."""
    model = nn.MLP(2, [4, 4, 1], seed=1)
    assert model.num_parameters() == 37
    return model


def assert_refused(model: nn.Module, load, match: str) -> nn.LoadError:
    before = bits(model)
    with pytest.raises(nn.LoadError, match=match) as caught:
        load()
    assert bits(model) == before
    return caught.value


def good_state() -> dict:
    return nn.MLP(2, [4, 4, 1], seed=2).state_dict()


def good_document() -> dict:
    return {"format": "chainrule.nn.state", "version": 1, "model": "", "parameters": good_state()}


def last_name() -> str:
    return list(good_state())[-1]


def write_with_last_entry(tmp_path, literal: str):
    """A saved file whose last parameter is written as `literal`, exactly, in the JSON text."""
    text = json.dumps(good_document())
    name = last_name()
    document = good_document()
    document["parameters"][name] = "@@"
    text = json.dumps(document).replace('"@@"', literal)
    path = tmp_path / "m.json"
    path.write_text(text)
    return path


# ---------------------------------------------------------------- load_state_dict: nothing half-loaded


@pytest.mark.parametrize(
    "bad, match",
    [
        (10**400, r"too large for a float"),
        (10**5000 + 7, r"too large for a float"),  # beyond the interpreter's digit limit for str()
        (-(10**400), r"too large for a float"),
        (Fraction(10**400, 3), r"too large for a float"),
        (True, r"is bool True, not a number"),
        (None, r"is NoneType None, not a number"),
        ("0.5", r"is str '0.5', not a number"),
        ([0.5], r"is list"),
    ],
    ids=["10**400", "10**5000+7", "-10**400", "Fraction", "True", "None", "str", "list"],
)
def test_a_bad_last_entry_changes_nothing(bad, match):
    model = model37()
    state = good_state()
    state[last_name()] = bad
    error = assert_refused(model, lambda: model.load_state_dict(state), match)
    assert last_name() in str(error)


def test_a_mapping_of_values_is_refused_with_a_hint():
    model = model37()
    state = {name: Value(x) for name, x in good_state().items()}
    assert_refused(model, lambda: model.load_state_dict(state), r"is a Value.*\.data")


def test_non_string_keys_are_named_not_an_attribute_error():
    model = model37()
    state = good_state()
    state[0] = 1.0
    state[(1, 2)] = 2.0
    error = assert_refused(model, lambda: model.load_state_dict(state), r"not a string")
    assert "0 (int)" in str(error) and "(1, 2) (tuple)" in str(error)
    state = good_state()
    del state[last_name()]
    state[3.5] = 0.0  # in place of a real entry: both problems named
    error = assert_refused(model, lambda: model.load_state_dict(state), r"not a string")
    assert "missing 1 entry" in str(error)


class RepeatingMapping(Mapping):
    """A mapping whose iteration yields one name twice: which value would win is unclear."""

    def __init__(self, data: dict, repeated: str) -> None:
        self.data, self.repeated = data, repeated

    def __getitem__(self, key):
        return self.data[key]

    def __iter__(self) -> Iterator:
        yield from self.data
        yield self.repeated

    def __len__(self) -> int:
        return len(self.data) + 1


def test_a_mapping_that_repeats_a_name_is_refused():
    model = model37()
    state = RepeatingMapping(good_state(), last_name())
    assert_refused(model, lambda: model.load_state_dict(state), r"appears 2 times")


def test_many_bad_entries_make_a_short_message():
    model = nn.MLP(2, [16, 16, 1], seed=0)
    state = {name: "x" for name in model.state_dict()}
    error = assert_refused(model, lambda: model.load_state_dict(state), r"and 3\d\d more")
    assert len(str(error)) < 2000


def test_state_dict_round_trip_keeps_every_bit():
    model = model37()
    specials = [-0.0, 5e-324, -2.2250738585072009e-308, math.inf, -math.inf, math.nan, from_bits(0xFFF8000000000000)]
    specials.append(from_bits(0x7FF0000000000001))  # a signalling NaN's payload
    for p, x in zip(model.parameters(), specials, strict=False):
        p.data = x
    other = nn.MLP(2, [4, 4, 1], seed=9)
    other.load_state_dict(model.state_dict())
    assert bits(other) == bits(model)


# ---------------------------------------------------------------- load(): hostile files


def test_a_file_whose_last_entry_is_10_to_the_400_changes_nothing(tmp_path):
    path = write_with_last_entry(tmp_path, "1" + "0" * 400)
    model = model37()
    error = assert_refused(model, lambda: model.load(path), r"too large for a float")
    assert last_name() in str(error) and "m.json" in str(error)


def test_a_5000_digit_integer_in_a_file_is_refused(tmp_path):
    path = write_with_last_entry(tmp_path, "9" * 5000)
    model = model37()
    assert_refused(model, lambda: model.load(path), r"5000 digits")


def test_an_overflowing_float_literal_is_not_read_as_infinity(tmp_path):
    path = write_with_last_entry(tmp_path, "1.5e400")
    model = model37()
    assert_refused(model, lambda: model.load(path), r"1\.5e400.*too large for a float")


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_the_non_standard_json_tokens_are_refused(tmp_path, token):
    path = write_with_last_entry(tmp_path, token)
    model = model37()
    assert_refused(model, lambda: model.load(path), rf"{token}.*not strict JSON")


@pytest.mark.parametrize("literal", ["null", "true", "[1.0]", '{"a": 1}', '"0.5"', '"NaN"', '"nan:0x1"'])
def test_entries_that_are_not_numbers_in_a_file_are_named(tmp_path, literal):
    path = write_with_last_entry(tmp_path, literal)
    model = model37()
    error = assert_refused(model, lambda: model.load(path), r"not a number")
    assert last_name() in str(error)


def test_a_duplicate_parameter_in_the_file_is_refused(tmp_path):
    name = last_name()
    text = json.dumps(good_document())
    text = text.replace(f'"{name}":', f'"{name}": 0.0, "{name}":')
    path = tmp_path / "m.json"
    path.write_text(text)
    assert text.count(f'"{name}"') == 2
    model = model37()
    assert_refused(model, lambda: model.load(path), rf"{name}.*appears twice")


def test_a_duplicate_top_level_key_is_refused(tmp_path):
    text = json.dumps(good_document()).replace('"version": 1', '"version": 1, "version": 1')
    path = tmp_path / "m.json"
    path.write_text(text)
    model = model37()
    assert_refused(model, lambda: model.load(path), r"'version' appears twice")


def test_json_nested_100000_deep_is_refused(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    model = model37()
    assert_refused(model, lambda: model.load(path), r"more than 64 arrays and objects")
    document = good_document()
    document["parameters"][last_name()] = "@@"
    path.write_text(json.dumps(document).replace('"@@"', "[" * 100_000 + "]" * 100_000))
    assert_refused(model, lambda: model.load(path), r"more than 64 arrays and objects")


def test_a_million_empty_lists_are_refused_before_they_are_built(tmp_path):
    path = tmp_path / "wide.json"
    path.write_text("[" + ",".join(["[]"] * 1_000_000) + "]")
    model = model37()
    assert_refused(model, lambda: model.load(path), r"more than 64 arrays and objects")


@pytest.mark.parametrize("extra, fits", [(62, True), (63, False)])
def test_the_container_limit_is_exact(tmp_path, extra, fits):
    document = good_document()
    document["notes"] = "@@"  # the two objects of the format, and `extra` more
    text = json.dumps(document).replace('"@@"', "[" * extra + "]" * extra)
    path = tmp_path / "m.json"
    path.write_text(text)
    assert module_file.MAX_CONTAINERS == 64
    model = model37()
    if fits:
        model.load(path)
        assert model.state_dict() == good_state()
    else:
        assert_refused(model, lambda: model.load(path), r"more than 64 arrays and objects")


def test_deep_nesting_in_a_string_is_just_text(tmp_path):
    document = good_document()
    document["model"] = "[" * 100_000 + '{"'
    path = tmp_path / "m.json"
    path.write_text(json.dumps(document))
    model = model37()
    model.load(path)
    assert model.state_dict() == good_state()


def test_a_file_larger_than_the_limit_is_refused_unread(tmp_path):
    path = tmp_path / "huge.json"
    with open(path, "wb") as f:  # sparse: costs no disk, and reading it all would cost memory
        f.truncate(module_file.MAX_FILE_BYTES + 1)
    model = model37()
    assert_refused(model, lambda: model.load(path), r"larger than")


def test_the_limit_can_be_raised_or_lowered(tmp_path):
    path = tmp_path / "m.json"
    nn.MLP(2, [4, 4, 1], seed=2).save(path)
    model = model37()
    size = path.stat().st_size
    assert_refused(model, lambda: model.load(path, max_bytes=size - 1), rf"larger than {size - 1} bytes")
    model.load(path, max_bytes=size)
    assert model.state_dict() == good_state()


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_an_endless_device_is_refused(device):
    if not os.path.exists(device):
        pytest.skip(f"no {device} here")
    model = model37()
    assert_refused(model, lambda: model.load(device), r"not a regular file")


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    model = model37()
    outcome: list = []

    def attempt() -> None:
        try:
            model.load(fifo)
        except BaseException as e:  # noqa: B036 - handed to the main thread
            outcome.append(e)
        else:
            outcome.append(None)

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(60)  # a guard against hanging the suite, not a timing
    if worker.is_alive():  # blocked in open(): let it go, then fail
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        worker.join()
        pytest.fail("load() waited for a writer on a FIFO")
    assert isinstance(outcome[0], nn.LoadError) and "not a regular file" in str(outcome[0])


def test_non_utf8_bytes_are_refused(tmp_path):
    document = json.dumps(good_document()).replace('"model": ""', '"model": "@"')
    path = tmp_path / "m.json"
    path.write_bytes(document.encode().replace(b"@", b"\xe9t\xe9"))
    model = model37()
    assert_refused(model, lambda: model.load(path), r"m.json.*UTF-8")


def test_a_directory_is_refused(tmp_path):
    model = model37()
    assert_refused(model, lambda: model.load(tmp_path), r"is a directory")


def test_a_missing_file_is_a_load_error_and_still_a_file_not_found_error(tmp_path):
    model = model37()
    error = assert_refused(model, lambda: model.load(tmp_path / "nothing.json"), r"nothing.json.*no such file")
    assert isinstance(error, FileNotFoundError) and error.errno == errno.ENOENT


def test_a_symlink_loop_is_refused(tmp_path):
    os.symlink(tmp_path / "b", tmp_path / "a")
    os.symlink(tmp_path / "a", tmp_path / "b")
    model = model37()
    assert_refused(model, lambda: model.load(tmp_path / "a"), r"a'.*symbolic links")


@pytest.mark.parametrize("top", ["[1, 2]", '"chainrule.nn.state"', "1", "null", "true"])
def test_a_top_level_that_is_not_an_object_is_refused(tmp_path, top):
    path = tmp_path / "m.json"
    path.write_text(top)
    model = model37()
    assert_refused(model, lambda: model.load(path), r"not a saved chainrule model")


@pytest.mark.parametrize("version", ["true", "1.0", '"1"'])
def test_a_version_that_only_equals_1_is_refused(tmp_path, version):
    path = tmp_path / "m.json"
    path.write_text(json.dumps(good_document()).replace('"version": 1', f'"version": {version}'))
    model = model37()
    assert_refused(model, lambda: model.load(path), r"format version")


# ---------------------------------------------------------------- save(): never a bad file for a good one


def saved_good_file(tmp_path):
    path = tmp_path / "m.json"
    nn.MLP(2, [4, 4, 1], seed=2).save(path)
    return path, path.read_bytes()


@pytest.mark.parametrize(
    "bad, match",
    [
        ("0.5", r"is str '0.5', not a number"),
        (None, r"is NoneType None, not a number"),
        (10**400, r"too large for a float"),
        (10**5000, r"too large for a float"),
        (True, r"is bool True, not a number"),
        (Value(0.5), r"is a Value"),
        ([0.5], r"is list"),
        (Fraction(10**400, 7), r"too large for a float"),
    ],
    ids=["str", "None", "10**400", "10**5000", "True", "Value", "list", "Fraction"],
)
def test_save_refuses_a_bad_parameter_and_keeps_the_old_file(tmp_path, bad, match):
    path, before = saved_good_file(tmp_path)
    model = model37()
    model.parameters()[-1]._data = bad  # past Value.data's own check, as data corrupted in memory would be
    with pytest.raises(nn.SaveError, match=match) as caught:
        model.save(path)
    assert last_name() in str(caught.value)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.json"]


def test_save_error_is_a_value_error():
    assert issubclass(nn.SaveError, ValueError)


def test_the_file_is_strict_json(tmp_path):
    model = model37()
    for p, x in zip(model.parameters(), [math.nan, math.inf, -math.inf], strict=False):
        p.data = x
    model.save(tmp_path / "m.json")
    text = (tmp_path / "m.json").read_text()

    def strict(token: str):
        raise AssertionError(f"non-standard JSON token {token}")

    document = json.loads(text, parse_constant=strict)
    values = list(document["parameters"].values())
    assert values[:3] == ["nan", "inf", "-inf"]
    assert all(type(v) is float for v in values[3:])


SPECIAL_BITS = [
    0x8000000000000000,  # -0.0
    0x0000000000000001,  # the smallest subnormal
    0x800FFFFFFFFFFFFF,  # the largest negative subnormal
    0x7FEFFFFFFFFFFFFF,  # the largest float
    0x7FF0000000000000,  # inf
    0xFFF0000000000000,  # -inf
    0x7FF8000000000000,  # float('nan')
    0xFFF8000000000000,  # the NaN x86 arithmetic makes (inf - inf)
    0x7FF0000000000001,  # a signalling NaN
    0xFFFFFFFFFFFFFFFF,  # every payload bit
]


def test_every_special_float_round_trips_bit_for_bit(tmp_path):
    model = model37()
    for p, pattern in zip(model.parameters(), SPECIAL_BITS, strict=False):
        p.data = from_bits(pattern)
    model.save(tmp_path / "m.json")
    other = nn.MLP(2, [4, 4, 1], seed=9)
    other.load(tmp_path / "m.json")
    assert [bits_of(p.data) for p in other.parameters()][: len(SPECIAL_BITS)] == SPECIAL_BITS
    assert bits(other) == bits(model)


@given(st.lists(st.integers(0, 2**64 - 1), min_size=13, max_size=13))
def test_any_bit_pattern_round_trips(tmp_path_factory, patterns):
    path = tmp_path_factory.mktemp("round") / "m.json"
    model = nn.MLP(2, [3, 1], seed=1)
    for p, pattern in zip(model.parameters(), patterns, strict=True):
        p.data = from_bits(pattern)
    model.save(path)
    other = nn.MLP(2, [3, 1], seed=2)
    other.load(path)
    assert [bits_of(p.data) for p in other.parameters()] == patterns


def test_an_integer_parameter_is_written_as_its_float(tmp_path):
    model = model37()
    model.parameters()[0].data = 3
    model.save(tmp_path / "m.json")
    document = json.loads((tmp_path / "m.json").read_text())
    assert type(document["parameters"][model.named_parameters()[0][0]]) is float


# ---------------------------------------------------------------- save(): atomic, durable, respecting the path


def test_an_existing_files_mode_is_kept(tmp_path):
    path, _ = saved_good_file(tmp_path)
    os.chmod(path, 0o640)
    model37().save(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    os.chmod(path, 0o604)
    model37().save(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o604


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_a_new_file_gets_the_mode_open_would_give(tmp_path, mask):
    old = os.umask(mask)
    try:
        model37().save(tmp_path / "m.json")
        with open(tmp_path / "plain.txt", "w"):
            pass
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "m.json").st_mode) == 0o666 & ~mask
    assert stat.S_IMODE(os.stat(tmp_path / "m.json").st_mode) == stat.S_IMODE(os.stat(tmp_path / "plain.txt").st_mode)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="changing a file's owner needs root")
def test_an_existing_files_owner_is_kept(tmp_path):
    path, _ = saved_good_file(tmp_path)
    os.chown(path, 4321, 8765)
    model37().save(path)
    assert (os.stat(path).st_uid, os.stat(path).st_gid) == (4321, 8765)


def test_save_writes_through_a_symlink(tmp_path):
    target, _ = saved_good_file(tmp_path)
    os.makedirs(tmp_path / "links")
    link = tmp_path / "links" / "model.json"
    os.symlink(target, link)
    model = model37()
    model.save(link)
    assert os.path.islink(link) and os.readlink(link) == str(target)
    other = nn.MLP(2, [4, 4, 1], seed=5)
    other.load(target)
    assert bits(other) == bits(model)
    assert sorted(os.listdir(tmp_path)) == ["links", "m.json"]
    assert os.listdir(tmp_path / "links") == ["model.json"]


def test_save_through_a_chain_of_relative_symlinks(tmp_path):
    target, _ = saved_good_file(tmp_path)
    os.symlink("m.json", tmp_path / "one")
    os.symlink("one", tmp_path / "two")
    model = model37()
    model.save(tmp_path / "two")
    assert os.readlink(tmp_path / "two") == "one" and os.readlink(tmp_path / "one") == "m.json"
    other = nn.MLP(2, [4, 4, 1], seed=5)
    other.load(target)
    assert bits(other) == bits(model)


def test_save_through_a_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "link.json"
    os.symlink("real.json", link)
    model = model37()
    model.save(link)
    assert os.path.islink(link) and os.path.isfile(tmp_path / "real.json")


def test_save_into_a_symlink_loop_is_refused(tmp_path):
    os.symlink(tmp_path / "b", tmp_path / "a")
    os.symlink(tmp_path / "a", tmp_path / "b")
    with pytest.raises(OSError, match="symbolic links"):
        model37().save(tmp_path / "a")
    assert sorted(os.listdir(tmp_path)) == ["a", "b"]
    assert os.path.islink(tmp_path / "a") and os.path.islink(tmp_path / "b")


def test_save_refuses_a_directory(tmp_path):
    (tmp_path / "folder").mkdir()
    with pytest.raises(nn.SaveError, match=r"folder'.* is a directory, not a regular file"):
        model37().save(tmp_path / "folder")
    assert os.listdir(tmp_path) == ["folder"] and os.listdir(tmp_path / "folder") == []


def test_save_refuses_a_fifo(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(nn.SaveError, match=r"pipe'.* is a FIFO, not a regular file"):
        model37().save(tmp_path / "pipe")
    assert stat.S_ISFIFO(os.lstat(tmp_path / "pipe").st_mode)
    assert os.listdir(tmp_path) == ["pipe"]


def test_save_refuses_dev_null(monkeypatch):
    if not os.path.exists(os.devnull) or not stat.S_ISCHR(os.stat(os.devnull).st_mode):
        pytest.skip("no character device at os.devnull")
    real_open, real_replace = os.open, os.replace

    def guarded_open(path, flags, *args, **kwargs):  # a regression must fail here, not clobber /dev
        if flags & os.O_CREAT and os.path.dirname(os.path.realpath(path)) == "/dev":
            raise AssertionError(f"save() creates {path}")
        return real_open(path, flags, *args, **kwargs)

    def guarded_replace(src, dst, *args, **kwargs):
        if os.path.realpath(dst) == os.path.realpath(os.devnull):
            raise AssertionError(f"save() replaces {dst}")
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "open", guarded_open)
    monkeypatch.setattr(os, "replace", guarded_replace)
    with pytest.raises(nn.SaveError, match=r"is a character device, not a regular file"):
        model37().save(os.devnull)
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)


def test_save_into_a_missing_folder_names_the_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no such folder.*missing'") as caught:
        model37().save(tmp_path / "missing" / "m.json")
    assert ".chainrule" not in str(caught.value)
    assert os.listdir(tmp_path) == []


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root may write any file")
def test_save_respects_a_read_only_file(tmp_path):
    path, before = saved_good_file(tmp_path)
    os.chmod(path, 0o444)
    with pytest.raises(PermissionError, match="m.json"):
        model37().save(path)
    assert path.read_bytes() == before


def test_save_syncs_the_file_and_its_folder(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync

    def recording_fsync(fd):
        synced.append(os.fstat(fd).st_mode)
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    model37().save(tmp_path / "m.json")
    kinds = ["file" if stat.S_ISREG(m) else "folder" if stat.S_ISDIR(m) else "other" for m in synced]
    assert kinds == ["file", "folder"]


def failing_fsync(fd):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_failed_fsync_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path, before = saved_good_file(tmp_path)
    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="No space left"):
        model37().save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.json"]


def test_a_disk_that_fills_up_mid_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path, before = saved_good_file(tmp_path)
    real_write = os.write
    calls = []

    def filling_write(fd, data):
        calls.append(len(data))
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, bytes(data)[:100])  # a short write, then the disk is full

    monkeypatch.setattr(os, "write", filling_write)
    with pytest.raises(OSError, match="No space left"):
        model37().save(path)
    assert len(calls) == 2
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.json"]


def test_an_interrupt_mid_save_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path, before = saved_good_file(tmp_path)

    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        model37().save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.json"]


def test_a_folder_we_may_not_write_is_named_not_the_temporary_file(tmp_path, monkeypatch):
    path, before = saved_good_file(tmp_path)
    real_open = os.open

    def refusing_open(name, flags, *args, **kwargs):  # a folder we may not write into (root may write any)
        if flags & os.O_CREAT:
            raise PermissionError(errno.EACCES, "Permission denied", name)
        return real_open(name, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", refusing_open)
    with pytest.raises(PermissionError, match=r"cannot create a file in the folder.*Permission denied") as caught:
        model37().save(path)
    assert ".chainrule" not in str(caught.value) and caught.value.filename == str(tmp_path)
    assert path.read_bytes() == before
