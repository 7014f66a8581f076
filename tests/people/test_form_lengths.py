"""Every text box of the registry, family-link, day-care and public-search forms takes no
more than its schema accepts: its ``maxlength`` is the schema field's Length max, so a long
note is stopped while it is typed instead of refused after the submit.

The pages are rendered and each form is matched to the schema of the endpoint it posts to;
a form of these features posting to an endpoint not listed here fails, so a new form cannot
be added without its lengths being checked."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import lxml.html
import pytest
from marshmallow import validate
from werkzeug.exceptions import MethodNotAllowed, NotFound

from eldercare.core.db import utcnow
from eldercare.daycare import operations as day_ops
from eldercare.daycare import schemas as day
from eldercare.extensions import db
from eldercare.people import schemas as people
from eldercare.people.models import FamilyLink
from eldercare.public.schemas import VacancySearch
from tests.daycare.helpers import make_center, make_member

#: endpoint -> the schema its form is validated with.
SCHEMAS = {
    "people.index": people.PersonQuery,
    "people.lookup": people.LookupSchema,
    "people.new": people.PersonSchema,
    "people.edit": people.PersonUpdateSchema,
    "people.add_assessment": people.AssessmentSchema,
    "people.record_death": people.DeathSchema,
    "people.record_move_out": people.MoveOutSchema,
    "people.decide_link": people.LinkDecisionSchema,
    "people.link_request": people.LinkRequestSchema,
    "daycare.roster": day.DaySchema,
    "daycare.check_in": day.CheckInSchema,
    "daycare.add_member": day.NewMemberSchema,
    "daycare.member": day.MemberSchema,
    "daycare.end_membership": day.LeaveSchema,
    "daycare.add_activity": day.ActivitySchema,
    "daycare.report_incident": day.IncidentSchema,
    "daycare.close_incident": day.CloseIncidentSchema,
    "daycare.save_settings": day.CenterSchema,
    "daycare.add_closed_day": day.ClosedDaySchema,
    "public.facilities": VacancySearch,
}
OURS = ("people.", "daycare.", "public.")
TEXT_TYPES = {None, "", "text", "search", "tel", "email", "url"}


def length_max(schema_class, name: str) -> int | None:
    field = schema_class().fields.get(name)
    if field is None:
        return None
    maxima = [v.max for v in field.validators if isinstance(v, validate.Length)]
    return min((m for m in maxima if m is not None), default=None)


def endpoint_of(app, form: lxml.html.HtmlElement, page_url: str) -> str | None:
    action = urlsplit(form.get("action") or page_url).path
    method = (form.get("method") or "get").upper()
    try:
        endpoint, _args = app.url_map.bind("localhost").match(action, method=method)
    except (NotFound, MethodNotAllowed):
        return None
    return endpoint


def text_boxes(form: lxml.html.HtmlElement) -> list[lxml.html.HtmlElement]:
    boxes = [el for el in form.xpath(".//input") if el.get("type") in TEXT_TYPES]
    return boxes + form.xpath(".//textarea")


@pytest.fixture
def pages(world, make_person, make_user):
    """(user, url) of every page with a form in these features, with data enough that each
    form shows: a pending link, a member, an open incident."""
    person = world.person_a
    son = make_user("family", username="length_son")
    db.session.add(FamilyLink(user_id=son.id, person_id=person.id, relation="child"))
    operator = world.user("operator")
    center = make_center(world.facility_a)
    member = make_member(center, make_person(world.village_a))
    day_ops.report_incident(
        center,
        {
            "occurred_at": utcnow() - timedelta(hours=1),
            "risk": next(iter(day.RISKS)),
            "severity": next(iter(day.Severity)).value,
            "description": "滑倒",
        },
        member.person,
        operator,
    )
    db.session.flush()
    staff = world.user("township_staff")
    base = f"/facilities/{center.id}/daycare"
    return [
        (staff, "/people/"),
        (staff, "/people/new"),
        (staff, f"/people/{person.id}"),
        (staff, f"/people/{person.id}/edit"),
        (staff, "/people/links"),
        (son, "/people/links/request"),
        (operator, base),
        (operator, f"{base}/members"),
        (operator, f"{base}/members/{member.id}"),
        (operator, f"{base}/activities"),
        (operator, f"{base}/incidents"),
        (operator, f"{base}/settings"),
        (None, "/public/facilities"),
    ]


def test_every_text_box_takes_what_its_schema_takes(app, client, auth, pages):
    checked, problems = 0, []
    for user, url in pages:
        if user is None:
            auth.logout()
        else:
            auth.login_as(user)
        response = client.get(url)
        assert response.status_code == 200, url
        tree = lxml.html.fromstring(response.get_data(as_text=True))
        for form in tree.xpath("//form"):
            endpoint = endpoint_of(app, form, url)
            boxes = [b for b in text_boxes(form) if b.get("name") not in (None, "csrf_token")]
            if endpoint is None or not endpoint.startswith(OURS) or not boxes:
                continue
            assert endpoint in SCHEMAS, f"{url}: a form posting to {endpoint} is not listed"
            for box in boxes:
                most = length_max(SCHEMAS[endpoint], box.get("name"))
                if most is None:
                    continue
                checked += 1
                if box.get("maxlength") != str(most):
                    problems.append(
                        f"{url} {endpoint} {box.get('name')}: maxlength"
                        f" {box.get('maxlength')!r}, schema {most}"
                    )
    assert problems == [], "\n".join(problems)
    assert checked >= 15  # the forms did show


def test_a_long_decision_note_is_kept_with_its_message(client, auth, world, make_user):
    son = make_user("family", username="long_note_son")
    link = FamilyLink(user_id=son.id, person_id=world.person_a.id, relation="child")
    db.session.add(link)
    db.session.flush()
    auth.login_as(world.user("township_staff"))
    note = "已电话联系村委会核实，" * 30  # 330 characters
    response = client.post(
        f"/people/links/{link.id}/decide", data={"decision": "verified", "note": note}
    )
    assert response.status_code == 422
    page = lxml.html.fromstring(response.get_data(as_text=True))
    [box] = page.xpath(f"//form[@id='decide-{link.id}']//input[@name='note']")
    assert box.get("value") == note
    assert "is-invalid" in box.get("class")
    assert "255" in page.xpath(f"string(//form[@id='decide-{link.id}'])")
    db.session.expire_all()
    assert db.session.get(FamilyLink, link.id).status == "pending"
