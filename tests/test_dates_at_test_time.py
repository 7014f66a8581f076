"""The suite may cross the county's midnight (a run started at 23:50 Beijing time ends after
it). A date or time read when a test module is imported is then yesterday's while the
application, asked during the test, answers today's. So no test module reads the clock at
import time: not in a module constant, a class attribute, a decorator (parametrize) or a
default argument. Each test reads it when it runs, and the guard in conftest keeps a test
from straddling midnight."""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path

from tests.conftest import MIDNIGHT_MARGIN, wait_before

TESTS = Path(__file__).parent

#: Functions that read the clock, called by name (``local_today()``) or as an attribute
#: (``datetime.now()``, ``date.today()``, ``ops.local_today()``, ``time.time()``).
CLOCK_NAMES = {"local_today", "utcnow"}
CLOCK_ATTRIBUTES = CLOCK_NAMES | {"now", "today", "monotonic", "localtime"}


def _reads_clock(call: ast.Call) -> bool:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id in CLOCK_NAMES
    if isinstance(func, ast.Attribute):
        if func.attr == "time":  # time.time(), not datetime.time(9, 30)
            return isinstance(func.value, ast.Name) and func.value.id == "time"
        return func.attr in CLOCK_ATTRIBUTES
    return False


def _clock_calls(node: ast.AST):
    """Clock calls that run when ``node`` does: a lambda's body runs later."""
    if isinstance(node, ast.Lambda):
        return
    if isinstance(node, ast.Call) and _reads_clock(node):
        yield node
    for child in ast.iter_child_nodes(node):
        yield from _clock_calls(child)


def _import_time_parts(body):
    """The parts of a module or class body that run at import."""
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield from node.decorator_list
            yield from node.args.defaults
            yield from (d for d in node.args.kw_defaults if d is not None)
        elif isinstance(node, ast.ClassDef):
            yield from node.decorator_list
            yield from _import_time_parts(node.body)
        else:
            yield node


def import_time_clock_reads(source: str) -> list[int]:
    tree = ast.parse(source)
    return sorted(
        call.lineno for part in _import_time_parts(tree.body) for call in _clock_calls(part)
    )


def test_no_test_module_reads_the_clock_when_it_is_imported():
    found = []
    for path in sorted(TESTS.rglob("*.py")):
        for line in import_time_clock_reads(path.read_text(encoding="utf-8")):
            found.append(f"{path.relative_to(TESTS.parent)}:{line}")
    assert not found, (
        "read the date when the test runs (call local_today() in the test or helper), "
        "not when the module is imported:\n" + "\n".join(found)
    )


def test_the_check_sees_every_import_time_place():
    source = """
TODAY = local_today()
class Case:
    START = utcnow()
    def method(self, day=date.today()):
        return local_today()
@pytest.mark.parametrize("when", [datetime.now(UTC), time(9, 30)])
def test_x(when, later=lambda: ops.local_today()):
    today = local_today()
STARTED = time.monotonic(), time.time()
"""
    assert import_time_clock_reads(source) == [2, 4, 5, 7, 10, 10]


def test_a_test_close_to_the_county_midnight_waits_for_it():
    # 15:58 UTC is 23:58 in Beijing: two minutes and a second to wait; 16:00 is the new day.
    assert wait_before(datetime(2026, 12, 7, 15, 58, tzinfo=UTC)) == 121
    assert wait_before(datetime(2026, 12, 7, 16, 0, tzinfo=UTC)) == 0
    assert wait_before(datetime(2026, 12, 7, 3, 0, tzinfo=UTC)) == 0
    assert MIDNIGHT_MARGIN.total_seconds() >= 120
