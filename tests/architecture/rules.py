"""What the house rules look for in the source: shared by the architecture tests, and
runnable on one feature (``python -m tests.architecture.rules ratings``) while moving it."""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "eldercare"
TEMPLATES = ROOT / "templates"
#: Layers below the features: every feature may use them, they use no feature.
BASE = {"core", "translations", "devtools"}


#: The features from the bottom up, as README's Layout names them: each imports only features
#: before it in this list.
LAYERS = (
    "regions",
    "facilities",
    "auth",
    "notifications",
    "people",
    "feeds",
    "beds",
    "ratings",
    "visits",
    "daycare",
    "subsidies",
    "bookings",
    "public",
    "audit",
    "dashboard",
    "home",
    "scheduler",
)


def features() -> list[str]:
    return sorted(
        path.name
        for path in PACKAGE.iterdir()
        if path.is_dir() and path.name not in BASE and any(path.glob("*.py"))
    )


def route_modules(feature: str | None = None) -> list[Path]:
    """Modules that define routes: views.py, *_views.py, api.py (and such modules inside a
    views/ or api/ package)."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] in BASE or (feature and rel.parts[0] != feature):
            continue
        name = path.stem
        if name in ("views", "api") or name.endswith("_views") or "views" in rel.parts[1:-1]:
            found.append(path)
    return found


@dataclass(frozen=True)
class Finding:
    path: Path
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}: {self.what}"


#: A database statement or a transaction step, written in a route module.
_SQL = re.compile(
    r"\bsa\.(select|update|delete|insert|func|and_|or_|case|exists|text)\b"
    r"|\bdb\.session\.(execute|scalars?|query|commit|flush|add|delete|get|merge)\b"
    r"|\.query\.(filter|get|all)\b"
    r"|\bsqlalchemy\b"
)


def sql_in_routes(feature: str | None = None) -> list[Finding]:
    """Statements, commits and SQL building in route modules: routes load through
    get_visible_or_404 or operations, act through operations, and commit in one place."""
    out = []
    for path in route_modules(feature):
        for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = text.split("#", 1)[0]
            match = _SQL.search(code)
            if match:
                out.append(Finding(path, number, match.group(0)))
    return out


#: A template deciding by itself what a user may do: comparing a role or a status.
_TEMPLATE_DECISION = re.compile(
    r"\brole\s*(==|!=|\bin\b|\bnot\s+in\b)"
    r"|\broles?\b\s*\)"
    r"|\bstatus\s*(==|!=|\bin\b|\bnot\s+in\b)"
    r"|\bis_admin\b|\brole_of\b"
    # a status kept under another name to be compared later
    r"|\bset\s+\w+\s*=\s*[\w.]*(status|role)\s*-?%\}"
)


def template_decisions(directory: str | None = None) -> list[Finding]:
    """Role and status comparisons inside {% %} or {{ }} of the templates: which actions a
    page offers is asked of the operations (``allowed_actions``), and a status is shown by
    its label or a model property."""
    out = []
    root = TEMPLATES / directory if directory else TEMPLATES
    for path in sorted(root.rglob("*.html")):
        source = path.read_text(encoding="utf-8")
        for tag in re.finditer(r"\{%.*?%\}|\{\{.*?\}\}", source, re.S):
            match = _TEMPLATE_DECISION.search(tag.group(0))
            if match:
                line = source.count("\n", 0, tag.start()) + 1
                out.append(Finding(path, line, tag.group(0).strip()[:120]))
    return out


def _type_checking_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def feature_imports() -> dict[str, dict[str, list[str]]]:
    """{feature: {feature it imports: [where]}}: every import of every module, inside
    functions too (imports under ``if TYPE_CHECKING`` are annotations, not dependencies)."""
    names = set(features())
    graph: dict[str, dict[str, list[str]]] = {name: {} for name in names}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if len(rel.parts) < 2 or rel.parts[0] not in names:
            continue
        source = rel.parts[0]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _type_checking_lines(tree)
        for node in ast.walk(tree):
            if getattr(node, "lineno", None) in skip:
                continue
            modules: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            for module in modules:
                parts = module.split(".")
                if len(parts) > 1 and parts[0] == "eldercare" and parts[1] in names:
                    if parts[1] != source:
                        graph[source].setdefault(parts[1], []).append(f"{rel}:{node.lineno}")
                    break
    return graph


def cycles(graph: dict[str, dict[str, list[str]]]) -> list[list[str]]:
    """The strongly connected groups of more than one feature (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def long_modules(limit: int = 500) -> list[tuple[Path, int]]:
    """Feature modules over ``limit`` lines (the devtools and translations aside)."""
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] in ("devtools", "translations"):
            continue
        count = len(path.read_text(encoding="utf-8").splitlines())
        if count > limit:
            out.append((path, count))
    return out


if __name__ == "__main__":  # pragma: no cover - a developer's report
    feature = sys.argv[1] if len(sys.argv) > 1 else None
    for finding in sql_in_routes(feature):
        print("route:", finding)
    for finding in template_decisions(feature):
        print("template:", finding)
    for path, count in long_modules():
        if feature is None or path.relative_to(PACKAGE).parts[0] == feature:
            print("long:", path.relative_to(ROOT), count)
    graph = feature_imports()
    for group in cycles(graph):
        print("cycle:", group)
