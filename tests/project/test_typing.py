"""The packages say they are typed, and CI checks the types with mypy."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_engine_and_nn_ship_py_typed():
    for package in ("engine", "nn"):
        assert (ROOT / package / "py.typed").is_file(), package
    assert 'packages = ["engine", "nn"]' in (ROOT / "pyproject.toml").read_text()  # the wheel takes both folders


def test_ci_runs_mypy_over_engine_and_nn_from_the_test_extra():
    pyproject = (ROOT / "pyproject.toml").read_text()
    test_extra = next(line for line in pyproject.splitlines() if line.startswith("test = ["))
    assert '"mypy' in test_extra
    assert '[tool.mypy]\nfiles = ["engine", "nn"]' in pyproject
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    install = next(i for i, line in enumerate(lines) if "pip install -q -e '.[test]'" in line)
    assert ".venv/bin/python -m mypy" in lines[install + 1 :]
