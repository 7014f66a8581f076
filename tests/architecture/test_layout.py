"""The house rules of ../shared/ARCHITECTURE.md and issue 18, checked on the source: each
test walks every feature, so the next module, route or template added is held to them too."""

from __future__ import annotations

import re

import pytest

from tests.architecture import rules


def test_the_feature_import_graph_has_no_cycle():
    graph = rules.feature_imports()
    found = rules.cycles(graph)
    detail = []
    for group in found:
        for source in group:
            for target in group:
                if target in graph[source]:
                    detail.append(f"{source} -> {target}: {', '.join(graph[source][target][:3])}")
    assert not found, "features import each other in a circle:\n" + "\n".join(detail)


def test_every_feature_imports_only_the_layers_below_it():
    graph = rules.feature_imports()
    assert set(graph) <= set(rules.LAYERS), (
        f"a new feature: give it its place in rules.LAYERS and README's Layout: "
        f"{sorted(set(graph) - set(rules.LAYERS))}"
    )
    upward = [
        f"{source} -> {target}: {', '.join(where[:3])}"
        for source, targets in graph.items()
        for target, where in targets.items()
        if rules.LAYERS.index(target) > rules.LAYERS.index(source)
    ]
    assert not upward, "an import against the layers (use an event or move the code):\n" + (
        "\n".join(upward)
    )


def test_the_checker_sees_a_cycle_and_function_level_imports():
    graph = {"a": {"b": ["a/x.py:1"]}, "b": {"c": ["b/y.py:9"]}, "c": {"a": ["c/z.py:3"]}}
    assert rules.cycles(graph) == [["a", "b", "c"]]
    assert rules.cycles({"a": {"b": []}, "b": {}}) == []
    # the real graph is read from every import, functions included: people imports the
    # notifications feature (a module-level import) and the scheduler's jobs are imported
    # inside functions; both appear
    graph = rules.feature_imports()
    assert "notifications" in graph["people"]


@pytest.mark.parametrize("feature", rules.features())
def test_route_modules_hold_no_sql_and_no_commit(feature):
    found = rules.sql_in_routes(feature)
    assert not found, (
        "route modules load through get_visible_or_404 or a query function, act through "
        "operations and commit through submit_form or @transactional:\n"
        + "\n".join(map(str, found))
    )


def test_templates_do_not_decide_by_role_or_status():
    found = rules.template_decisions()
    assert not found, (
        "a template asks allowed_actions (or a model property) what to offer, never compares "
        "roles or statuses itself:\n" + "\n".join(map(str, found))
    )


def test_no_module_is_over_500_lines():
    found = rules.long_modules(500)
    assert not found, "split by lifecycle:\n" + "\n".join(
        f"{path.relative_to(rules.ROOT)}: {count} lines" for path, count in found
    )


def test_the_checkers_catch_what_they_look_for(tmp_path):
    assert rules._SQL.search("rows = db.session.scalars(stmt)")
    assert rules._SQL.search("    db.session.commit()")
    assert rules._SQL.search("stmt = sa.select(Bed)")
    assert not rules._SQL.search("return get_visible_or_404(Bed, bed_id)")
    for text in (
        "{% if current_user.role == 'admin' %}",
        "{% if booking.status in ('pending', 'confirmed') %}",
        "{% if b.status != 'cancelled' %}",
        "{% set s = bed.shown_status %}",
    ):
        assert rules._TEMPLATE_DECISION.search(text), text
    for text in (
        "{{ booking.status_label }}",
        "{% if 'cancel' in actions %}",
        "{% set c = r.status_total(s) %}",
    ):
        assert not rules._TEMPLATE_DECISION.search(text), text


def test_every_model_loaded_by_id_has_a_scope(app):
    """A record loaded by its id (from a URL or a form) is loaded through its scope, never
    by session.get and a hand-written check of its parent."""
    from eldercare.extensions import db

    unscoped = {
        mapper.class_.__name__
        for mapper in db.Model.registry.mappers
        if not hasattr(mapper.class_, "__scope__")
    }
    loads = re.compile(r"(?:session\.get|get_visible_or_404)\(\s*(\w+)\s*,")
    found = []
    for path in sorted(rules.PACKAGE.rglob("*.py")):
        rel = path.relative_to(rules.PACKAGE)
        if rel.parts[0] == "devtools":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for name in loads.findall(line):
                if name in unscoped:
                    found.append(f"eldercare/{rel}:{number}: {name} has no __scope__")
    assert not found, "\n".join(found)
