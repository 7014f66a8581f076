"""One English word with two meanings has a message context: a visitor reads 失能 beside a
disabled person, never the 已停用 of a switched-off account."""

from __future__ import annotations

import os

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from flask_babel import force_locale, gettext

from eldercare.visits.models import (
    CATEGORY_LABELS,
    FINDING_CHOICES,
    STATUS_LABELS,
    TIER_LABELS,
    Category,
    DueStatus,
    Tier,
)
from tests.builders import build_person
from tests.test_i18n import CATALOG, ROOT
from tests.visits.helpers import build_target

CONTEXT_KEYWORDS = {"pgettext": ((1, "c"), 2), "_lp": ((1, "c"), 2), "lazy_pgettext": ((1, "c"), 2)}


def test_visit_words_are_not_the_account_words(app):
    with app.test_request_context(), force_locale("zh_Hans_CN"):
        assert str(CATEGORY_LABELS[Category.DISABLED]) == "失能"
        assert gettext("Disabled") == "已停用"  # a user account's state keeps its own word
        assert str(STATUS_LABELS[DueStatus.DUE]) == "待访"
        assert str(TIER_LABELS[Tier.KEY]) == "重点"
        assert str(FINDING_CHOICES["family_support"]["absent"]) == "未履行"


def test_every_message_with_a_context_in_visits_is_translated():
    with open(CATALOG, "rb") as handle:
        catalog = read_po(handle, locale="zh_Hans_CN")
    translated = {(m.context, m.id) for m in catalog if m.id and m.string and m.context}
    used = set()
    for subdir, pattern, method in (
        ("eldercare/visits", "**.py", "python"),
        ("templates/visits", "**.html", "jinja2"),
    ):
        for _f, _n, message, _c, context in extract_from_dir(
            os.path.join(ROOT, subdir), method_map=[(pattern, method)], keywords=CONTEXT_KEYWORDS
        ):
            if context:
                used.add((context, message))
    assert ("visit category", "Disabled") in used
    assert used <= translated, sorted(used - translated)


def test_plan_page_calls_a_disabled_person_disabled(world, client, auth):
    person = build_person(world.village_a, name="郑秀兰")
    target = build_target(person, [world.user("visitor")], categories=("disabled",))
    auth.login_as(world.user("visitor"))
    page = client.get(f"/visits/targets/{target.id}").get_data(as_text=True)
    assert "失能" in page and "已停用" not in page
