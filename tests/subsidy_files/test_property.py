"""Generation in SQL and the rule written plainly in Python agree, for any people and any
table of age bands (some split by economic status): every eligible enrolment is paid what
``rules.rule_for`` says, nobody else is paid, and the batch total is their sum."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from eldercare.extensions import db
from eldercare.people.models import EconomicStatus
from eldercare.subsidies import operations as ops
from eldercare.subsidies import rules
from eldercare.subsidies.models import Enrolment, Payment
from tests.builders import build_person

PERIOD = date(2026, 4, 1)  # the first month of a quarter: monthly and quarterly alike
STATUSES = [s.value for s in EconomicStatus]


@st.composite
def tables(draw):
    """Age bands partitioning 60..110 (the last one open-ended or not), each paying a random
    amount, some split in two by economic status."""
    cuts = sorted(draw(st.sets(st.integers(61, 110), max_size=6)))
    starts = [60, *cuts]
    ends = [c - 1 for c in cuts] + [draw(st.sampled_from([110, None]))]
    rows = []
    for low, high in zip(starts, ends, strict=True):
        amount = st.integers(0, 200_000)
        if draw(st.booleans()):
            some = sorted(draw(st.sets(st.sampled_from(STATUSES), min_size=1, max_size=4)))
            rest = sorted(set(STATUSES) - set(some))
            rows.append({"min_age": low, "max_age": high, "economic_statuses": some})
            rows[-1]["amount_fen"] = draw(amount)
            rows.append({"min_age": low, "max_age": high, "economic_statuses": rest})
            rows[-1]["amount_fen"] = draw(amount)
        else:
            rows.append({"min_age": low, "max_age": high, "amount_fen": draw(amount)})
    return rows


people = st.lists(
    st.fixed_dictionaries(
        {
            # Born 1908-1972: ages 53 to 117 on the day before the period.
            "born": st.dates(date(1908, 1, 1), date(1972, 12, 31)),
            "economic_status": st.sampled_from(STATUSES),
            "died": st.sampled_from([None, None, None, date(2026, 3, 20), date(2026, 4, 2)]),
            "moved_out": st.sampled_from([False, False, False, True]),
            "status": st.sampled_from(["active", "active", "active", "suspended"]),
        }
    ),
    min_size=1,
    max_size=12,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=tables(), crowd=people, frequency=st.sampled_from(["monthly", "quarterly"]))
def test_the_batch_pays_what_the_python_rule_says(world, rows, crowd, frequency):
    savepoint = db.session.begin_nested()  # each example starts from the same world
    try:
        staff = world.user("county_staff")
        program = ops.create_program(
            world.county_a,
            {
                "code": "P",
                "name": "高龄津贴",
                "kind": "age_allowance",
                "basis": "person",
                "frequency": frequency,
            },
            staff,
        )
        table = ops.save_rule_table(program, date(2020, 1, 1), rows, "", staff)
        expected = {}
        for who in crowd:
            person = build_person(
                world.village_b if who["moved_out"] else world.village_a,
                born=who["born"],
                economic_status=who["economic_status"],
            )
            if who["died"] and who["died"] >= who["born"]:
                person.death_date = who["died"]
            enrolment = Enrolment(
                program=program,
                region_id=world.village_a.id,
                person_id=person.id,
                status=who["status"],
                applied_on=date(2025, 12, 1),
                start_month=date(2025, 12, 1),
                account_holder=person.name,
                account_number="6222021234567890123",
            )
            db.session.add(enrolment)
            db.session.flush()
            rule = rules.rule_for(table.rules, ops.facts_of(person, PERIOD))
            payable = (
                rule is not None
                and who["status"] == "active"
                and not who["moved_out"]
                and (person.death_date is None or person.death_date >= PERIOD)
            )
            if payable:
                expected[enrolment.id] = rule.amount_fen * program.months
        batch = ops.generate(program, PERIOD, staff).batch
        paid = dict(
            db.session.execute(
                sa.select(Payment.enrolment_id, Payment.amount_fen).where(
                    Payment.batch_id == batch.id
                )
            ).all()
        )
        event(f"{len(expected)} of {len(crowd)} paid")
        assert paid == expected
        total = db.session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(Payment.amount_fen), 0)).where(
                Payment.batch_id == batch.id
            )
        )
        assert total == sum(expected.values())
        assert ops.generate(program, PERIOD, staff).added == 0
    finally:
        savepoint.rollback()


def test_the_strategy_covers_every_age_from_60_to_110():
    """The bands the strategy draws leave no age of 60..110 unpaid and none paid twice."""

    @given(tables())
    @settings(max_examples=50, deadline=None)
    def check(rows):
        for age in range(60, 111):
            for status in STATUSES:
                facts = rules.Facts(age=age, economic_status=status)
                matching = [r for r in rows if _matches(r, facts)]
                assert len(matching) == 1, (age, status, rows)

    check()


def _matches(row: dict, facts: rules.Facts) -> bool:
    from types import SimpleNamespace

    rule = SimpleNamespace(
        min_age=row.get("min_age"),
        max_age=row.get("max_age"),
        economic_statuses=row.get("economic_statuses") or [],
        ability_levels=[],
        star_levels=[],
    )
    return rules.matches(rule, facts)
