"""A refused subsidy form is shown again open, as it was sent: every typed value kept (the
selects' choices and an account number too), each field's message under it and a conflict's
message at the top of the form, also when the enrolment's state no longer offers the form."""

from __future__ import annotations

import re
from datetime import date

import lxml.html
import pytest

from eldercare.core.db import local_today
from eldercare.extensions import db
from eldercare.subsidies import operations as ops
from tests.subsidies.helpers import enrol, make_program, person_aged

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def active(world):
    program = make_program(world)
    her = person_aged(world, date(local_today().year - 82, 1, 15), name="王秀兰")
    enrolment = enrol(world, program, her, applied_on=date(2026, 3, 2))
    db.session.commit()
    return enrolment


def _form(html: str, action: str) -> lxml.html.FormElement:
    tree = lxml.html.fromstring(html)
    found = [f for f in tree.forms if f.get("action") == action]
    assert found, f"the form {action} is not shown again"
    return found[0]


def _value(form, name: str) -> str | None:
    el = form.xpath(".//*[@name=$n]", n=name)[0]
    if el.tag == "select":
        chosen = el.xpath(".//option[@selected]")
        return chosen[0].get("value") if chosen else None
    return el.get("value")


def _field_messages(form, name: str) -> list[str]:
    el = form.xpath(".//*[@name=$n]", n=name)[0]
    assert "is-invalid" in el.get("class", "")
    messages = [
        m.text_content().strip()
        for m in el.xpath("following-sibling::*[contains(@class, 'invalid-feedback')]")
    ]
    assert messages and all(CJK.search(m) for m in messages), messages
    return messages


def _alert(form) -> list[str]:
    alerts = form.xpath(".//*[contains(@class, 'alert-danger')]")
    assert alerts, "no message at the top of the form"
    return [a.text_content().strip() for a in alerts]


@pytest.mark.parametrize(
    ("action", "data", "broken"),
    [
        (
            "suspend",
            {"reason": "cannot_locate", "from_month": "2026-13", "note": "外出务工"},
            "from_month",
        ),
        (
            "stop",
            {"reason": "moved_out", "stop_month": "2026-13", "note": "迁往外省"},
            "stop_month",
        ),
        ("yearly-review", {"note": "长" * 300}, "note"),
        (
            "account",
            {
                "account_kind": "social_security_card",
                "bank_name": "长" * 61,
                "account_holder": "王秀兰",
                "account_number": "6221881234",
            },
            "bank_name",
        ),
    ],
)
def test_a_refused_enrolment_action_keeps_what_was_typed_and_says_why_by_the_field(
    active, world, client, auth, action, data, broken
):
    auth.login_as(world.user("county_staff"))
    url = f"/subsidies/enrolments/{active.id}/{action}"
    response = client.post(url, data=data)
    assert response.status_code == 422
    form = _form(response.get_data(as_text=True), url)
    _field_messages(form, broken)
    for name, typed in data.items():
        if name != broken:
            assert _value(form, name) == typed, name
    # the month typed wrong stays as typed: a text field, not a month input that blanks it
    if broken.endswith("month"):
        el = form.xpath(".//*[@name=$n]", n=broken)[0]
        assert (el.get("type"), el.get("value")) == ("text", "2026-13")


def test_an_action_the_state_no_longer_allows_is_shown_with_the_reason_and_the_note(
    active, world, client, auth
):
    county = world.user("county_staff")
    ops.stop(active, "moved_out", None, "", county)
    db.session.commit()
    auth.login_as(county)
    url = f"/subsidies/enrolments/{active.id}/yearly-review"
    page = client.get(f"/subsidies/enrolments/{active.id}").get_data(as_text=True)
    assert url not in page  # not offered for an ended enrolment...
    response = client.post(url, data={"note": "入户核实"})
    assert response.status_code == 409
    form = _form(response.get_data(as_text=True), url)  # ...but shown again when sent
    assert any("只有" in m for m in _alert(form)), _alert(form)
    assert _value(form, "note") == "入户核实"

    url = f"/subsidies/enrolments/{active.id}/account"
    response = client.post(
        url,
        data={"account_holder": "王秀兰", "bank_name": "邮储银行", "account_number": "62218812"},
    )
    assert response.status_code == 409
    form = _form(response.get_data(as_text=True), url)
    assert _alert(form)
    assert (_value(form, "bank_name"), _value(form, "account_number")) == ("邮储银行", "62218812")


def test_a_review_without_its_button_says_which_decision_is_missing(world, client, auth):
    program = make_program(world)
    her = person_aged(world, date(local_today().year - 82, 1, 15), name="王秀兰")
    township = world.user("township_staff")
    enrolment = ops.apply(
        program,
        {"person_id": her.id, "applied_on": local_today(), "account_holder": her.name},
        township,
    )
    db.session.commit()
    auth.login_as(township)
    url = f"/subsidies/enrolments/{enrolment.id}/review"
    response = client.post(url, data={"note": "材料齐全"})
    assert response.status_code == 422
    form = _form(response.get_data(as_text=True), url)
    assert all(CJK.search(m) for m in _alert(form))
    assert _value(form, "note") == "材料齐全"


def test_a_refused_application_keeps_the_account_number_typed(world, client, auth):
    program = make_program(world)
    her = person_aged(world, date(local_today().year - 82, 1, 15), name="王秀兰")
    auth.login_as(world.user("township_staff"))
    url = f"/subsidies/programs/{program.id}/apply"
    response = client.post(
        url,
        data={
            "person_id": her.id,
            "applied_on": "2026-13-45",
            "start_month": "2026-13",
            "account_kind": "bank",
            "bank_name": "农业银行",
            "account_holder": "王秀兰",
            "account_number": "6222 0212 3456 7890 123",
        },
    )
    assert response.status_code == 422
    form = _form(response.get_data(as_text=True), url)
    assert _value(form, "account_number") == "6222 0212 3456 7890 123"
    assert _value(form, "bank_name") == "农业银行"
    for name, typed in (("applied_on", "2026-13-45"), ("start_month", "2026-13")):
        el = form.xpath(".//*[@name=$n]", n=name)[0]
        assert (el.get("type"), el.get("value")) == ("text", typed)
