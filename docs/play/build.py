"""Build chainrule's browser page into docs/play/dist/, and serve it on 127.0.0.1 with --serve.

    python3 docs/play/build.py            # build (runs `npm ci` in docs/play/ first if needed)
    python3 docs/play/build.py --serve    # build, then serve it at http://127.0.0.1:8000/

The page is static: the Pyodide runtime (CPython in WebAssembly) and viz.js (Graphviz in
WebAssembly) from docs/play/node_modules, at the versions package-lock.json pins; chainrule's
`engine/` and `nn/` with docs/play/py/playground.py as one zip the page unpacks into Python's
site-packages; the examples of docs/play/examples/ embedded in index.html. Nothing is fetched from
anywhere but the server that sends the page.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

PLAY = Path(__file__).resolve().parent
ROOT = PLAY.parent.parent
DIST = PLAY / "dist"
MODULES = PLAY / "node_modules"
PYODIDE_FILES = ("pyodide.mjs", "pyodide.asm.js", "pyodide.asm.wasm", "python_stdlib.zip", "pyodide-lock.json")
EXAMPLES = {  # file in examples/: its title in the page's menu, in the menu's order
    "worked": "the README's worked example",
    "neuron": "a neuron, step by step (and predict mode)",
    "mlp": "the lecture's MLP",
    "moons": "two moons: training, the boundary forming",
    "deep": "a 100,000-deep chain",
}
TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm", ".json": "application/json"}


def pinned() -> dict[str, str]:
    """The exact versions package.json asks for."""
    return json.loads((PLAY / "package.json").read_text())["devDependencies"]


def installed(name: str) -> str | None:
    manifest = MODULES / name / "package.json"
    return json.loads(manifest.read_text())["version"] if manifest.is_file() else None


def install() -> None:
    """`npm ci` in docs/play/ unless node_modules already holds the pinned versions."""
    if all(installed(name) == version for name, version in pinned().items()):
        return
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("build: needs npm (Node.js 20 or newer) to fetch the Pyodide runtime and viz.js once")
    print("build: npm ci (the pinned Pyodide, viz.js and playwright-core)", flush=True)
    subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=PLAY, check=True)


def zip_chainrule(path: Path) -> None:
    """engine/, nn/ and playground.py as one zip, the same bytes for the same files."""
    files = [p for top in ("engine", "nn") for p in sorted((ROOT / top).rglob("*")) if p.is_file()]
    files = [p for p in files if "__pycache__" not in p.parts and p.suffix != ".pyc"]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for source, name in [
            *((p, p.relative_to(ROOT).as_posix()) for p in files),
            (PLAY / "py" / "playground.py", "playground.py"),
        ]:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, source.read_bytes())


def examples_json() -> str:
    found = {p.stem for p in (PLAY / "examples").glob("*.py")}
    if found != set(EXAMPLES):
        raise SystemExit(f"build: docs/play/examples/ holds {sorted(found)}, the menu lists {sorted(EXAMPLES)}")
    data = {
        name: {"title": title, "code": (PLAY / "examples" / f"{name}.py").read_text()}
        for name, title in EXAMPLES.items()
    }
    return json.dumps(data).replace("</", "<\\/")  # safe inside <script>


def build() -> int:
    """Write dist/ from scratch; return its size in bytes."""
    install()
    if DIST.exists():
        shutil.rmtree(DIST)
    (DIST / "pyodide").mkdir(parents=True)
    for name in PYODIDE_FILES:
        shutil.copy2(MODULES / "pyodide" / name, DIST / "pyodide" / name)
    shutil.copy2(MODULES / "@viz-js" / "viz" / "dist" / "viz.js", DIST / "viz.js")
    for name in ("app.js", "worker.js", "style.css"):
        shutil.copy2(PLAY / "src" / name, DIST / name)
    page = (PLAY / "src" / "index.html").read_text()
    embedded = f'<script type="application/json" id="examples-data">{examples_json()}</script>'
    (DIST / "index.html").write_text(page.replace("<!--EXAMPLES-->", embedded))
    zip_chainrule(DIST / "chainrule.zip")
    return sum(p.stat().st_size for p in DIST.rglob("*") if p.is_file())


class Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **TYPES}

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:  # one line per failed request
        if str(code).isdigit() and int(code) >= 400:
            super().log_request(code, size)


def serve(port: int) -> None:
    handler = functools.partial(Handler, directory=str(DIST))
    try:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as error:
        raise SystemExit(f"build: cannot serve on 127.0.0.1:{port}: {error.strerror}; try another --port") from None
    with server:
        print(f"serving http://127.0.0.1:{server.server_address[1]}/ (Ctrl+C stops)", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass


def port_number(text: str) -> int:
    """--port: an int from 0 (any free port) to 65535."""
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"must be an int from 0 to 65535, got {text!r}")
    return int(text)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--serve", action="store_true", help="after building, serve the page on 127.0.0.1")
    parser.add_argument(
        "--port", type=port_number, default=8000, help="the port to serve on (0: any free port); default 8000"
    )
    args = parser.parse_args(argv)
    size = build()
    print(f"built {DIST.relative_to(ROOT)}/: {size / 1e6:.1f} MB", flush=True)
    if args.serve:
        serve(args.port)


if __name__ == "__main__":
    sys.exit(main())
