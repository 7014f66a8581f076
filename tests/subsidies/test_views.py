"""The subsidy pages: programs and rule tables typed in yuan, the enrolment lifecycle clicked
through, batches approved by a second pair of eyes, and no full ID or account number on a
list."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from marshmallow import ValidationError

from eldercare.core.audit import AuditLog
from eldercare.core.db import local_today
from eldercare.extensions import db
from eldercare.people.models import Person
from eldercare.subsidies import operations as ops
from eldercare.subsidies import periods
from eldercare.subsidies.models import Batch, Enrolment, Payment, Program, Rule
from eldercare.subsidies.schemas import Yuan
from tests.builders import build_region, build_user, new_id_number
from tests.subsidies.helpers import county_staff, enrol, make_program, person_aged

ACCOUNT = "6222021234567890123"


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _this_month() -> str:
    return local_today().strftime("%Y-%m")


# --- programs and rule tables --------------------------------------------------------------


BAD_PROGRAM = {
    "code": "坏 代码!",
    "name": "",
    "kind": "pension",
    "basis": "person",
    "pay_day": "40",
}


def test_a_bad_program_is_refused_in_chinese_and_nothing_is_written(world, client, auth):
    auth.login_as(world.user("county_staff"))
    response = client.post("/subsidies/programs", data=BAD_PROGRAM)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "请修改标出的项目。" in page
    assert "此项为必填项。" in page  # the name
    assert "不是允许的选项。" in page  # the kind
    assert 'value="坏 代码!"' in page  # what was typed is kept
    assert _count(Program) == 0


def test_a_bad_program_is_refused_in_english_too(world, client, auth):
    auth.login_as(world.user("county_staff"))
    response = client.post("/subsidies/programs?lang=en", data=BAD_PROGRAM)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "This field is required." in page
    assert "Not one of the allowed choices." in page
    assert _count(Program) == 0


def test_a_program_for_people_pays_per_person(world, client, auth):
    auth.login_as(world.user("county_staff"))
    response = client.post(
        "/subsidies/programs?lang=en",
        data={"code": "GL", "name": "高龄津贴", "kind": "age_allowance", "basis": "occupied_bed"},
    )
    assert response.status_code == 422
    assert "A program for people pays per person." in response.get_data(as_text=True)
    assert _count(Program) == 0


def test_county_staff_create_a_program_for_their_county(world, client, auth):
    auth.login_as(world.user("county_staff"))
    response = client.post(
        "/subsidies/programs",
        data={
            "county_id": world.county_b.id,  # ignored: county staff create for their own
            "code": "GL",
            "name": "高龄津贴",
            "kind": "age_allowance",
            "basis": "person",
            "frequency": "quarterly",
            "pay_day": "15",
        },
    )
    assert response.status_code == 302
    program = db.session.scalar(sa.select(Program))
    assert (program.region_id, program.frequency, program.pay_day) == (
        world.county_a.id,
        "quarterly",
        15,
    )
    assert client.get(response.location).status_code == 200


@pytest.mark.parametrize(
    ("typed", "fen"),
    [
        ("180.00", 18000),
        ("180", 18000),
        ("0.29", 29),  # int(0.29 * 100) is 28 through a float
        ("0.1", 10),
        ("0.30", 30),
        ("1.15", 115),  # 114.99999999999999 through a float
        ("19.99", 1999),
        ("1,234.5", 123450),
        ("1000000", 100_000_000),
    ],
)
def test_yuan_are_converted_to_fen_exactly(typed, fen):
    assert Yuan().deserialize(typed) == fen


@pytest.mark.parametrize(
    "typed", ["1.005", "-1", "abc", "1e3", "1000000.01", "0.1+0.2", "0.30000000000000004"]
)
def test_amounts_that_are_not_yuan_and_fen_are_refused(typed):
    with pytest.raises(ValidationError):
        Yuan().deserialize(typed)


def test_a_rule_table_typed_in_yuan(world, client, auth):
    program = make_program(world)
    auth.login_as(world.user("county_staff"))
    form = {
        "effective_from": "2027-01",
        "note": "县政发〔2026〕12号",
        "rules-0-label": "80-89岁 低保/特困",
        "rules-0-min_age": "80",
        "rules-0-max_age": "89",
        "rules-0-economic_statuses": ["dibao", "tekun_dispersed"],
        "rules-0-amount": "200.29",
        "rules-1-min_age": "80",
        "rules-1-max_age": "89",
        "rules-1-economic_statuses": ["none", "low_income", "tekun_concentrated"],
        "rules-1-amount": "180.00",
        # an empty line in between is ignored
        "rules-3-min_age": "90",
        "rules-3-amount": "0.1",
    }
    response = client.post(f"/subsidies/programs/{program.id}/rules", data=form)
    assert response.status_code == 302
    table = program.table_for(date(2027, 1, 1))
    assert table.version == 2 and table.note == "县政发〔2026〕12号"
    assert [(r.min_age, r.max_age, r.amount_fen) for r in table.rules] == [
        (80, 89, 20029),
        (80, 89, 18000),
        (90, None, 10),
    ]
    assert table.rules[0].economic_statuses == ["dibao", "tekun_dispersed"]
    page = client.get(f"/subsidies/programs/{program.id}").get_data(as_text=True)
    assert "200.29" in page and "0.10" in page


def test_a_bad_rule_table_names_its_lines_and_writes_nothing(world, client, auth):
    program = make_program(world)
    auth.login_as(world.user("county_staff"))
    response = client.post(
        f"/subsidies/programs/{program.id}/rules?lang=en",
        data={
            "effective_from": "2027-01",
            "rules-0-min_age": "80",
            "rules-0-amount": "180",
            "rules-1-min_age": "90",
            "rules-1-amount": "1.005",
            "rules-2-min_age": "95",
            "rules-2-max_age": "92",
            "rules-2-amount": "1",
        },
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Row 2: 1.005 has more than two decimals" in page
    assert "Row 3: The lowest age is above the highest." in page
    assert 'value="1.005"' in page  # the grid keeps what was typed
    assert program.table_for(date(2027, 1, 1)).effective_from == date(2020, 1, 1)


def test_overlapping_lines_are_refused_with_the_operation_s_message(world, client, auth):
    program = make_program(world)
    auth.login_as(world.user("county_staff"))
    response = client.post(
        f"/subsidies/programs/{program.id}/rules?lang=en",
        data={
            "effective_from": "2027-01",
            "rules-0-min_age": "80",
            "rules-0-max_age": "89",
            "rules-0-amount": "180",
            "rules-1-min_age": "85",
            "rules-1-amount": "350",
        },
    )
    assert response.status_code == 422
    assert "Rows 1 and 2 overlap" in response.get_data(as_text=True)
    assert _count(Rule) == 5  # Shanghai's bands only


def test_an_unused_version_is_deleted_and_exclusions_are_set(world, client, auth):
    program = make_program(world)
    other = make_program(world, code="HL", name="护理补贴", kind="care_subsidy")
    spare = ops.save_rule_table(
        program,
        date(2030, 1, 1),
        [{"min_age": 80, "amount_fen": 1}],
        "",
        world.user("county_staff"),
    )
    auth.login_as(world.user("county_staff"))
    response = client.post(f"/subsidies/programs/{program.id}/rules/{spare.id}/delete")
    assert response.status_code == 302
    assert [t.version for t in program.tables] == [1]
    response = client.post(
        f"/subsidies/programs/{program.id}/exclusions", data={"other_ids": [other.id]}
    )
    assert response.status_code == 302
    assert ops.exclusions_of(other) == [program.id]


def test_township_staff_read_programs_but_cannot_change_them(world, client, auth):
    program = make_program(world)
    auth.login_as(world.user("township_staff"))
    page = client.get(f"/subsidies/programs/{program.id}").get_data(as_text=True)
    assert program.name in page
    assert f"/subsidies/programs/{program.id}/rules" not in page
    assert client.post(f"/subsidies/programs/{program.id}/settings").status_code == 403
    assert client.get(f"/subsidies/programs/{program.id}/batches").status_code == 403


# --- enrolments ---------------------------------------------------------------------------


def _eighty_year_old(world) -> Person:
    today = local_today()
    return person_aged(world, date(today.year - 82, 1, 15), name="王秀兰")


def test_the_enrolment_lifecycle_through_the_pages(world, client, auth):
    program = make_program(world, notice_days=7)
    her = _eighty_year_old(world)
    township, county = world.user("township_staff"), world.user("county_staff")

    auth.login_as(township)
    assert client.get(f"/subsidies/programs/{program.id}/apply").status_code == 200
    response = client.post(
        f"/subsidies/programs/{program.id}/apply",
        data={
            "id_number": her.id_number,
            "applied_on": local_today().isoformat(),
            "account_kind": "bank",
            "bank_name": "农业银行",
            "account_holder": her.name,
            "account_number": "6222 0212 3456 7890 123",
        },
    )
    assert response.status_code == 302
    enrolment = db.session.scalar(sa.select(Enrolment))
    assert (enrolment.person_id, enrolment.status) == (her.id, "applied")
    assert enrolment.start_month == periods.month_start(local_today())
    assert enrolment.account_masked == "6222***********0123"

    def act(action: str, **data) -> int:
        return client.post(f"/subsidies/enrolments/{enrolment.id}/{action}", data=data).status_code

    assert act("review", decision="approve", note="材料齐全") == 302
    assert client.post(f"/subsidies/enrolments/{enrolment.id}/decision").status_code == 403

    auth.login_as(county)
    assert act("decision", decision="approve") == 302
    db.session.refresh(enrolment)
    assert enrolment.status == "in_notice"
    notice = client.get(f"/subsidies/programs/{program.id}/notice").get_data(as_text=True)
    assert her.name in notice and her.id_number_masked in notice
    assert her.id_number not in notice
    assert "data-print" in notice

    ops.activate(enrolment, enrolment.notice_until + timedelta(days=1))
    db.session.commit()
    page = client.get(f"/subsidies/enrolments/{enrolment.id}").get_data(as_text=True)
    assert "180.00" in page  # the 80-89 rate applies

    assert act("suspend", reason="cannot_locate", from_month=_this_month(), note="外出务工") == 302
    db.session.refresh(enrolment)
    assert enrolment.status == "suspended"
    assert act("resume", back_pay_reason="out_of_contact") == 302
    assert act("yearly-review", note="入户核实") == 302
    assert (
        act("account", account_holder=her.name, bank_name="邮储银行", account_number="6221881234")
        == 302
    )
    db.session.refresh(enrolment)
    assert (enrolment.status, enrolment.account_masked) == ("active", "6221**1234")
    assert act("stop", reason="", stop_month=_this_month()) == 422  # a reason is chosen
    assert act("stop", reason="moved_out", stop_month=_this_month(), note="迁往外省") == 302
    db.session.refresh(enrolment)
    assert (enrolment.status, enrolment.stop_reason) == ("stopped", "moved_out")

    page = client.get(f"/subsidies/enrolments/{enrolment.id}").get_data(as_text=True)
    for note in ("材料齐全", "外出务工", "入户核实", "迁往外省"):
        assert note in page  # the history tells the story
    history = db.session.scalars(
        sa.select(AuditLog.action).where(
            AuditLog.entity_type == "Enrolment", AuditLog.entity_id == enrolment.id
        )
    ).all()
    assert len(history) == 9
    assert page.count('<li class="list-group-item small">') == 9


def test_the_history_is_shown_to_township_staff(world, client, auth):
    program = make_program(world)
    enrolment = enrol(world, program, _eighty_year_old(world), applied_on=date(2026, 3, 2))
    auth.login_as(world.user("township_staff"))
    page = client.get(f"/subsidies/enrolments/{enrolment.id}").get_data(as_text=True)
    assert page.count('<li class="list-group-item small">') == 4  # applied ... activated


def test_an_unknown_id_number_gets_the_same_answer_as_one_outside_the_area(
    wide_world, client, auth
):
    world = wide_world
    program = make_program(world)
    elsewhere = person_aged(world, date(1944, 2, 2), region=world.village_a2)
    auth.login_as(world.user("township_staff"))
    for number in (elsewhere.id_number, new_id_number("110101", date(1944, 2, 2))):
        response = client.post(
            f"/subsidies/programs/{program.id}/apply", data={"id_number": number}
        )
        assert response.status_code == 422
        assert "您的辖区内没有登记该身份证号的人员。" in response.get_data(as_text=True)
    assert _count(Enrolment) == 0


def test_a_refusal_needs_a_reason_and_keeps_the_page(world, client, auth):
    program = make_program(world)
    her = _eighty_year_old(world)
    enrolment = ops.apply(
        program,
        {"person_id": her.id, "applied_on": local_today()},
        world.user("township_staff"),
    )
    auth.login_as(world.user("township_staff"))
    response = client.post(
        f"/subsidies/enrolments/{enrolment.id}/review?lang=en", data={"decision": "reject"}
    )
    assert response.status_code == 422
    assert "Say why the application is rejected." in response.get_data(as_text=True)
    db.session.refresh(enrolment)
    assert enrolment.status == "applied"


def test_the_registrar_cannot_approve_the_application(world, client, auth):
    program = make_program(world)
    county = world.user("county_staff")
    her = _eighty_year_old(world)
    enrolment = ops.apply(program, {"person_id": her.id}, county)
    ops.review(enrolment, True, "", county)
    db.session.commit()
    auth.login_as(county)
    response = client.post(
        f"/subsidies/enrolments/{enrolment.id}/decision?lang=en", data={"decision": "approve"}
    )
    assert response.status_code == 403
    assert "cannot approve it" in response.get_data(as_text=True)


def test_the_list_filters_by_program_status_area_and_name(wide_world, client, auth):
    world = wide_world
    program = make_program(world)
    here = enrol(world, program, _eighty_year_old(world), applied_on=date(2026, 3, 2))
    there = person_aged(world, date(1940, 5, 5), region=world.village_a2, name="赵大妈")
    ops.apply(program, {"person_id": there.id}, world.user("county_staff"))
    auth.login_as(world.user("county_staff"))

    def names(**args) -> set[str]:
        page = client.get("/subsidies/enrolments", query_string=args).get_data(as_text=True)
        return set(re.findall(r'/subsidies/enrolments/\d+">([^<]+)</a>', page))

    assert names() == {"王秀兰", "赵大妈"}
    assert names(status="active") == {"王秀兰"}
    assert names(region_id=world.township_a2.id) == {"赵大妈"}
    assert names(q="秀兰") == {"王秀兰"}
    assert names(q=here.person.id_number) == {"王秀兰"}
    assert names(program_id=program.id, status="applied") == {"赵大妈"}
    auth.login_as(world.user("township_staff"))
    assert names() == {"王秀兰"}  # their township only


def test_candidates_of_the_month_link_to_an_application(world, client, auth):
    program = make_program(world)
    month = periods.month_start(local_today())
    turning = person_aged(world, date(month.year - 65, month.month, 1), name="刚满六十五")
    person_aged(world, date(month.year - 66, month.month, 1), name="早已六十六")
    auth.login_as(world.user("township_staff"))
    page = client.get(f"/subsidies/programs/{program.id}/candidates").get_data(as_text=True)
    assert "刚满六十五" in page and "早已六十六" not in page
    assert turning.id_number not in page and turning.id_number_masked in page
    link = f"/subsidies/programs/{program.id}/apply?person_id={turning.id}"
    assert link in page
    form = client.get(link).get_data(as_text=True)
    assert f'name="person_id" value="{turning.id}"' in form


# --- scope ---------------------------------------------------------------------------------


def test_staff_of_another_county_or_township_get_404(world, client, auth):
    program = make_program(world)
    enrolment = enrol(world, program, _eighty_year_old(world), applied_on=date(2026, 3, 2))
    batch = ops.generate(program, date(2026, 3, 1), world.user("county_staff")).batch
    db.session.commit()
    auth.login_as(build_user("county_staff", world.county_b))
    for url in (
        f"/subsidies/programs/{program.id}",
        f"/subsidies/programs/{program.id}/notice",
        f"/subsidies/enrolments/{enrolment.id}",
        f"/subsidies/batches/{batch.id}",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/subsidies/batches/{batch.id}/approve").status_code == 404
    next_door = build_region("610302001000", "经二路街道")
    auth.login_as(build_user("township_staff", next_door))
    assert client.get(f"/subsidies/enrolments/{enrolment.id}").status_code == 404
    assert client.post(f"/subsidies/enrolments/{enrolment.id}/account/reveal").status_code == 404
    assert client.get(f"/subsidies/programs/{program.id}").status_code == 200  # county-wide


# --- batches ------------------------------------------------------------------------------


def test_the_maker_cannot_approve_and_a_colleague_sees_the_recheck(world, client, auth):
    program = make_program(world)
    her = _eighty_year_old(world)
    enrol(world, program, her, applied_on=date(2026, 3, 2))
    db.session.commit()
    maker = world.user("county_staff")
    auth.login_as(maker)
    response = client.post(f"/subsidies/programs/{program.id}/batches", data={"period": "2026-03"})
    assert response.status_code == 302
    batch = db.session.scalar(sa.select(Batch))
    assert response.location.endswith(f"/subsidies/batches/{batch.id}")
    page = client.get(response.location).get_data(as_text=True)
    assert "180.00" in page and her.name in page

    refused = client.post(f"/subsidies/batches/{batch.id}/approve?lang=en")
    assert refused.status_code == 403
    assert "The maker of a batch cannot approve it" in refused.get_data(as_text=True)
    db.session.refresh(batch)
    assert batch.status == "draft"

    # She dies before the period is paid: the approver's re-check excludes her payment.
    her.death_date = date(2026, 2, 20)
    db.session.commit()
    checker = county_staff(world, "checker")
    auth.login_as(checker)
    response = client.post(f"/subsidies/batches/{batch.id}/approve?lang=en", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Eligibility changed since the batch was drawn up" in page
    assert "1 excluded" in page
    assert "本期之前已死亡" in page
    db.session.refresh(batch)
    assert batch.status == "draft"
    (payment,) = db.session.scalars(sa.select(Payment)).all()
    assert (payment.status, payment.exception) == ("excluded", "deceased")
    assert db.session.scalar(
        sa.select(AuditLog.id).where(AuditLog.action == "subsidies.batch_rechecked")
    )

    response = client.post(f"/subsidies/batches/{batch.id}/approve?lang=en", follow_redirects=True)
    assert "Batch approved: 0 payments, 0.00 yuan." in response.get_data(as_text=True)
    db.session.refresh(batch)
    assert (batch.status, batch.approved_by_id) == ("approved", checker.id)


def test_a_held_payment_is_released_with_a_reason(world, client, auth):
    program = make_program(world)
    enrol(world, program, _eighty_year_old(world), applied_on=date(2026, 3, 2), account=None)
    batch = ops.generate(program, date(2026, 3, 1), world.user("county_staff")).batch
    (payment,) = db.session.scalars(sa.select(Payment)).all()
    assert (payment.status, payment.exception) == ("held", "no_account")
    db.session.commit()
    auth.login_as(county_staff(world, "checker"))
    page = client.get(f"/subsidies/batches/{batch.id}?lang=en").get_data(as_text=True)
    assert "No account to pay into" in page
    url = f"/subsidies/batches/{batch.id}/payments/{payment.id}/override"
    refused = client.post(url, data={"reason": "  "})
    assert refused.status_code == 422
    db.session.refresh(payment)
    assert payment.status == "held"
    assert client.post(url, data={"reason": "代领人账户, 见委托书"}).status_code == 302
    db.session.refresh(payment)
    assert (payment.status, payment.override_reason) == ("pending", "代领人账户, 见委托书")


def test_the_payments_list_filters_and_pages(world, client, auth):
    program = make_program(world)
    for n in range(3):
        enrol(world, program, person_aged(world, date(1940, 1, 1 + n)), applied_on=date(2026, 3, 2))
    batch = ops.generate(program, date(2026, 3, 1), world.user("county_staff")).batch
    db.session.commit()
    auth.login_as(world.user("county_staff"))
    page = client.get(f"/subsidies/batches/{batch.id}?per_page=2").get_data(as_text=True)
    assert page.count("/subsidies/enrolments/") == 2
    assert f"/subsidies/batches/{batch.id}?per_page=2&amp;page=2#payments" in page
    filtered = client.get(f"/subsidies/batches/{batch.id}?status=held").get_data(as_text=True)
    assert 'id="payment-list"' in filtered and filtered.count("/subsidies/enrolments/") == 0


# --- sensitive numbers ---------------------------------------------------------------------


def test_full_numbers_stay_off_the_lists_and_a_reveal_is_audited(world, client, auth):
    program = make_program(world)
    her = _eighty_year_old(world)
    enrolment = enrol(world, program, her, applied_on=date(2026, 3, 2), account=ACCOUNT)
    pending = person_aged(world, date(1944, 6, 6))
    applied = ops.apply(
        program,
        {"person_id": pending.id, "account_number": ACCOUNT, "account_holder": pending.name},
        world.user("township_staff"),
    )
    ops.review(applied, True, "", world.user("township_staff"))
    ops.decide(applied, True, "", county_staff(world, "approver"))
    batch = ops.generate(program, date(2026, 3, 1), world.user("county_staff")).batch
    db.session.commit()
    county = world.user("county_staff")

    for user in (county, world.user("township_staff")):
        auth.login_as(user)
        for url in (
            "/subsidies/enrolments",
            f"/subsidies/enrolments/{enrolment.id}",
            f"/subsidies/programs/{program.id}/notice",
            f"/subsidies/programs/{program.id}/candidates",
        ):
            page = client.get(url).get_data(as_text=True)
            assert ACCOUNT not in page, url
            assert her.id_number not in page and pending.id_number not in page, url
    auth.login_as(county)
    page = client.get(f"/subsidies/batches/{batch.id}").get_data(as_text=True)
    assert ACCOUNT not in page and her.id_number not in page
    assert "6222***********0123" in page

    auth.login_as(world.user("township_staff"))
    response = client.post(f"/subsidies/enrolments/{enrolment.id}/account/reveal")
    assert response.status_code == 200
    assert ACCOUNT in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    entry = db.session.scalar(
        sa.select(AuditLog).where(AuditLog.action == "subsidies.account_revealed")
    )
    assert (entry.entity_type, entry.entity_id) == ("Enrolment", enrolment.id)
    assert entry.actor_id == world.user("township_staff").id
    again = client.get(f"/subsidies/enrolments/{enrolment.id}").get_data(as_text=True)
    assert ACCOUNT not in again


def test_every_form_carries_a_csrf_token(csrf_app, world, client, auth):
    program = make_program(world)
    enrolment = enrol(world, program, _eighty_year_old(world), applied_on=date(2026, 3, 2))
    batch = ops.generate(program, date(2026, 3, 1), world.user("county_staff")).batch
    db.session.commit()
    auth.login_as(county_staff(world, "checker"))
    for url in (
        "/subsidies/programs",
        f"/subsidies/programs/{program.id}",
        f"/subsidies/programs/{program.id}/apply",
        f"/subsidies/programs/{program.id}/batches",
        f"/subsidies/enrolments/{enrolment.id}",
        f"/subsidies/batches/{batch.id}",
    ):
        page = client.get(url).get_data(as_text=True)
        posts = page.count('method="post"')
        assert posts >= 1, url
        assert page.count('name="csrf_token"') == posts, url
    refused = client.post(f"/subsidies/batches/{batch.id}/approve")
    assert refused.status_code == 400


def test_county_staff_choose_the_bank_file_columns(client, auth, world):
    from tests.subsidies.helpers import make_program

    program = make_program(world)
    auth.login_as(world.user("county_staff"))
    form = {
        "name": program.name,
        "kind": program.kind,
        "basis": program.basis,
        "frequency": program.frequency,
        "timing": program.timing,
        "pay_day": "10",
        "notice_days": "7",
        "review_months": "12",
        "active": "y",
    }
    refused = client.post(
        f"/subsidies/programs/{program.id}/settings",
        data={**form, "bank_columns": ["name", "amount"]},
    )
    assert refused.status_code == 422
    assert "银行代发文件必须包含业务参考号和金额" in refused.get_data(as_text=True)
    assert program.bank_columns == []
    saved = client.post(
        f"/subsidies/programs/{program.id}/settings",
        data={**form, "bank_columns": ["reference", "name", "account_number", "amount"]},
    )
    assert saved.status_code == 302
    db.session.refresh(program)
    assert program.bank_columns == ["reference", "name", "account_number", "amount"]
