"""The developer tools stay out of the runtime: a web worker (create_app, then requests) has
imported no module of eldercare.devtools, nor locust or gevent, and no module outside
eldercare/devtools/ imports it, at module level or inside a function."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "eldercare"
TOOLS = PACKAGE / "devtools"
FORBIDDEN = ("eldercare.devtools", "locust", "gevent", "geventhttpclient")

WORKER = """
import json, sys
from eldercare import create_app

app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": sys.argv[1]})
with app.test_client() as client:
    statuses = [client.get(path).status_code for path in ("/healthz", "/auth/login", "/")]
print(json.dumps({"statuses": statuses, "modules": sorted(sys.modules)}))
"""


def _worker_modules(script: str, *args: str, env: dict | None = None) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _forbidden(modules: list[str]) -> list[str]:
    return [m for m in modules if m.split(".")[0] in FORBIDDEN or m.startswith(FORBIDDEN)]


def test_a_web_worker_imports_no_developer_tool(tmp_path):
    out = _worker_modules(WORKER, "sqlite:///" + str(tmp_path / "worker.db"))
    assert out["statuses"][0] == 200  # the app answered: the views it needs are imported
    assert "eldercare.commands" in out["modules"]  # the production commands are registered
    assert _forbidden(out["modules"]) == []


def test_the_wsgi_module_gunicorn_loads_imports_no_developer_tool(tmp_path):
    script = "import json, sys, wsgi; print(json.dumps({'modules': sorted(sys.modules)}))"
    out = _worker_modules(
        script,
        env={
            "ELDERCARE_CONFIG": "development",
            "DATABASE_URL": "sqlite:///" + str(tmp_path / "wsgi.db"),
        },
    )
    assert "eldercare.commands" in out["modules"]
    assert _forbidden(out["modules"]) == []


def _imported(source: str, relpath: Path) -> list[tuple[int, str]]:
    """Every module a file of the package (at ``relpath`` from the project root) names in an
    import, at any depth, relative ones resolved, and every string naming a devtools module
    (an importlib call)."""
    tree = ast.parse(source, filename=str(relpath))
    package = list(relpath.with_suffix("").parts)[:-1]  # a module's package, or __init__'s own
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found.append((node.lineno, module))
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and node.value.startswith("eldercare.devtools")
        ):
            found.append((node.lineno, node.value))
    return found


def _is_devtools(module: str) -> bool:
    return module == "eldercare.devtools" or module.startswith("eldercare.devtools.")


def test_no_module_outside_devtools_imports_it():
    offenders = []
    checked = 0
    for path in sorted(PACKAGE.rglob("*.py")):
        if TOOLS in path.parents:
            continue
        checked += 1
        relpath = path.relative_to(ROOT)
        for line, module in _imported(path.read_text(encoding="utf-8"), relpath):
            if _is_devtools(module):
                offenders.append(f"{relpath}:{line} imports {module}")
    assert checked > 50  # the walk found the package
    assert offenders == []


def test_the_import_reader_sees_function_level_relative_and_dynamic_imports():
    source = (
        "import importlib\n"
        "def f():\n"
        "    from .. import devtools\n"
        "    from ..devtools.demo import load_demo\n"
        "    import eldercare.devtools.cli\n"
        "    return importlib.import_module('eldercare.devtools.bench.city')\n"
    )
    names = [name for _line, name in _imported(source, Path("eldercare/beds/views.py"))]
    assert [n for n in names if _is_devtools(n)] == [
        "eldercare.devtools",
        "eldercare.devtools.demo",
        "eldercare.devtools.demo.load_demo",
        "eldercare.devtools.cli",
        "eldercare.devtools.bench.city",
    ]
    assert not _is_devtools("eldercare.devtoolsx")
