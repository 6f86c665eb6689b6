"""The install commands a newcomer runs from a clone, run as written in a fresh virtual environment.

PyTorch's CPU build, then the torch extra, keep the CPU build (no CUDA wheels); the notebook's
commands give a Jupyter whose kernel imports engine and runs the tour. The commands are those of
the README's install section. Slow (a few minutes: PyTorch's CPU wheel is about 200 MB), and run
by CI all the same.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TORCH_CPU = "torch==2.13.0+cpu"  # what CI installs; elsewhere: pip install torch --index-url <PyTorch's CPU index>

pytestmark = pytest.mark.slow


def sh(*command: str | Path, check: bool = True) -> subprocess.CompletedProcess:
    """Run a command from the clone's root, as a user would, without this test run's environment leaking in."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    done = subprocess.run([str(c) for c in command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    if check:
        assert done.returncode == 0, f"{' '.join(map(str, command))}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    """A fresh venv with the commands of the README: PyTorch's CPU build, the torch extra, the notebook."""
    folder = tmp_path_factory.mktemp("clone") / ".venv"
    sh(sys.executable, "-m", "venv", folder)
    pip = folder / "bin" / "pip"
    if sh(pip, "install", "-q", TORCH_CPU, check=False).returncode != 0:
        pytest.skip(f"no CPU build of PyTorch reachable here ({TORCH_CPU}), as CI's own run would say")
    sh(pip, "install", "-q", "-e", ".[torch]")
    sh(pip, "install", "-q", "-e", ".[demos]", "jupyterlab")
    return folder


def installed(venv: Path) -> dict[str, str]:
    listing = json.loads(sh(venv / "bin" / "pip", "list", "--format", "json").stdout)
    return {p["name"].lower(): p["version"] for p in listing}


def test_the_torch_extra_keeps_the_cpu_build(venv, tmp_path):
    packages = installed(venv)
    assert packages["torch"].endswith("+cpu") and packages["chainrule"] == "0.1.0"
    assert not [name for name in packages if name.startswith(("nvidia", "triton"))]  # no CUDA wheels pulled in
    done = sh(venv / "bin" / "python", "demos/layers.py", "--quiet", "--out", tmp_path)
    assert "PyTorch float64 (model.to_torch())" in done.stdout and "skipped" not in done.stdout


def test_the_notebook_commands_give_a_kernel_that_runs_the_tour(venv, tmp_path):
    assert sh(venv / "bin" / "jupyter", "lab", "--version").stdout.strip()
    # what `jupyter lab` runs a notebook with: the venv's own python3 kernel
    sh(
        venv / "bin" / "jupyter",
        "nbconvert",
        "--to",
        "notebook",
        "--execute",
        "demos/tour.ipynb",
        "--output-dir",
        tmp_path,
    )
    executed = json.loads((tmp_path / "tour.ipynb").read_text(encoding="utf-8"))
    errors = [o for c in executed["cells"] for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors and any(
        "accuracy 100%" in "".join(o.get("text", "")) for c in executed["cells"] for o in c.get("outputs", [])
    )


def test_the_venv_kernel_can_be_registered_for_a_jupyter_installed_elsewhere(venv, tmp_path):
    sh(venv / "bin" / "python", "-m", "ipykernel", "install", "--prefix", tmp_path, "--name", "chainrule",
       "--display-name", "Python (chainrule)")  # fmt: skip
    spec = json.loads((tmp_path / "share" / "jupyter" / "kernels" / "chainrule" / "kernel.json").read_text())
    python = Path(spec["argv"][0])
    assert python.parent == venv / "bin"
    assert sh(python, "-c", "import engine, nn; print('ok')", check=True).stdout.strip() == "ok"
