"""Templates translate through a catalogue remembered per request: still the language in
force at each moment, when a notice is written in its recipient's language mid-request."""

from __future__ import annotations

from flask import render_template_string
from flask_babel import force_locale

from eldercare.core.i18n import speaking

TEMPLATE = "{{ _('Search') }}"


def test_templates_follow_the_locale_in_force(app):
    with app.test_request_context("/"):
        assert render_template_string(TEMPLATE) == "查询"
        with force_locale("en"):
            assert render_template_string(TEMPLATE) == "Search"
        assert render_template_string(TEMPLATE) == "查询"
        with speaking("en"):
            assert render_template_string(TEMPLATE) == "Search"
            with speaking("zh_Hans_CN"):
                assert render_template_string(TEMPLATE) == "查询"
            assert render_template_string(TEMPLATE) == "Search"
        assert render_template_string(TEMPLATE) == "查询"


def test_each_request_speaks_its_own_language(client):
    assert ">Search</button>" in client.get("/public/facilities?lang=en").get_data(as_text=True)
    assert ">查询</button>" in client.get("/public/facilities").get_data(as_text=True)


def test_a_request_looks_its_catalogue_up_once(app, monkeypatch):
    from eldercare.core import i18n

    calls = []
    real = i18n.get_translations
    monkeypatch.setattr(i18n, "get_translations", lambda: calls.append(1) or real())
    with app.test_request_context("/"):
        for _ in range(5):
            assert render_template_string(TEMPLATE) == "查询"
    assert len(calls) == 1
