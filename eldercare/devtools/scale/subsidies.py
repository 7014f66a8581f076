"""Subsidies in every county: the advanced-age allowance (80 and over, by age band), the care
subsidy (by ability level) and the service subsidy (by economic status); enrolments through
their lifecycle, and twelve monthly batches per program, drawn up by one officer and
approved by the other, sent to the bank and paid (a few failed, then re-issued)."""

from __future__ import annotations

from collections import namedtuple
from datetime import date, timedelta

import sqlalchemy as sa

from eldercare.auth.models import User
from eldercare.core import resident_id
from eldercare.core.periods import notice_ends_on
from eldercare.devtools.demo.subsidies import AGE_ROWS, BANKS, CARE_ROWS
from eldercare.devtools.scale.base import ABILITY, ECONOMIC, Build
from eldercare.devtools.scale.bulk import unchecked
from eldercare.devtools.scale.crypto import encrypt_all
from eldercare.devtools.scale.people import COUNTY_WEIGHTS
from eldercare.extensions import db
from eldercare.subsidies import operations as ops
from eldercare.subsidies import periods, rules
from eldercare.subsidies.models import Batch, Enrolment, Payment

SERVICE_ROWS = [
    {
        "label": "分散供养特困人员",
        "min_age": 60,
        "economic_statuses": ["tekun_dispersed"],
        "amount_fen": 20000,
    },
    {"label": "低保对象", "min_age": 60, "economic_statuses": ["dibao"], "amount_fen": 10000},
    {
        "label": "低收入老年人",
        "min_age": 60,
        "economic_statuses": ["low_income"],
        "amount_fen": 5000,
    },
]
# code, name, kind, rule rows, note
PROGRAMS = [
    (
        "GL",
        "高龄津贴",
        "age_allowance",
        [row for row in AGE_ROWS if row["min_age"] >= 80],
        "80周岁及以上，按年龄段",
    ),
    ("HL", "失能老年人护理补贴", "care_subsidy", CARE_ROWS, "按能力评估等级"),
    ("FW", "经济困难老年人养老服务补贴", "service_subsidy", SERVICE_ROWS, "按经济状况"),
]
PAY_DAY = 10
CHUNK = 20_000
#: Share of the payments that fail at the bank (a closed account).
FAILED = 0.001
SERVICE_STATUSES = {ECONOMIC.index(s) for s in ("dibao", "tekun_dispersed", "low_income")}
MODERATE = ABILITY.index("moderate")
ENROLMENT_COLUMNS = (
    "id",
    "program_id",
    "region_id",
    "person_id",
    "status",
    "applied_on",
    "start_month",
    "id_birth_date",
    "account_kind",
    "bank_name",
    "account_holder",
    "account_number",
    "account_masked",
    "note",
    "reviewed_by_id",
    "reviewed_at",
    "approved_by_id",
    "approved_at",
    "notice_until",
    "activated_on",
    "next_review_on",
    "stop_month",
    "stop_reason",
    "decision_note",
    "created_by_id",
    "created_at",
    "updated_at",
)
#: An enrolment row, as the payments read it.
Enrolled = namedtuple("Enrolled", ENROLMENT_COLUMNS)
BATCH_COLUMNS = (
    "id",
    "program_id",
    "region_id",
    "period",
    "status",
    "due_on",
    "made_by_id",
    "generated_at",
    "approved_by_id",
    "approved_at",
    "payment_count",
    "total_fen",
    "exported_at",
    "reconciled_at",
    "created_at",
    "updated_at",
)
PAYMENT_COLUMNS = [
    "id",
    "batch_id",
    "enrolment_id",
    "program_id",
    "region_id",
    "person_id",
    "period",
    "kind",
    "status",
    "rule_id",
    "quantity",
    "amount_fen",
    "override_reason",
    "account_holder",
    "bank_name",
    "account_number",
    "account_masked",
    "bank_note",
    "settled_at",
    "resolution",
    "reissue_of_id",
    "note",
    "created_at",
]
#: What the payments of a batch are, by the batch's status.
PAYMENT_STATUS = {"draft": "pending", "approved": "approved", "exported": "exported"}


def _month_after(day: date) -> date:
    return periods.add_months(periods.month_start(day), 1)


def _programs(build: Build) -> dict[tuple[str, str], object]:
    """The three programs of every county, made by the county's first officer."""
    out = {}
    for county in COUNTY_WEIGHTS:
        region = build.regions[county + "000000"]
        maker = db.session.get(User, build.county_staff[county][0])
        for code, name, kind, rows, note in PROGRAMS:
            program = ops.create_program(
                region,
                {
                    "code": code,
                    "name": name,
                    "kind": kind,
                    "basis": "person",
                    "frequency": "monthly",
                    "timing": "advance",
                    "pay_day": PAY_DAY,
                    "bank_columns": [],
                },
                maker,
            )
            ops.save_rule_table(program, date(2020, 1, 1), rows, note, maker)
            out[(county, kind)] = program
    db.session.flush()
    build.count("subsidy_program", len(out))
    return out


def _latest_period(build: Build) -> date:
    """This month once its batches have been drawn up (eight days before pay day), else
    the month before."""
    current = periods.month_start(build.today)
    started = build.at(current.replace(day=PAY_DAY) - timedelta(days=8), 9.5)
    return current if build.now >= started else periods.add_months(current, -1)


def _eligible_from(build: Build, index: int, kind: str) -> date:
    """The first period the rules owe the person (who qualifies) anything: the month after
    the 80th birthday, after the assessment, or after the 60th birthday."""
    people = build.people
    born = people.birth[index]
    if kind == "age_allowance":
        return _month_after(resident_id.years_before(born, -80))
    sixtieth = _month_after(resident_id.years_before(born, -60))
    if kind == "care_subsidy":
        return max(sixtieth, _month_after(people.ability[index][1]))
    return sixtieth


def load_subsidies(build: Build) -> None:
    rng = build.rng("subsidies")
    loader, today, now = build.loader, build.today, build.now
    people, villages = build.people, build.villages
    programs = _programs(build)
    latest = _latest_period(build)
    first_period = periods.add_months(latest, -11)
    months = [periods.add_months(first_period, n) for n in range(12)]

    # Quick tests first (a million people): the age, ability and status that can qualify.
    eighty_by = resident_id.years_before(periods.age_reference(latest), 80)
    candidates = []  # (person index, kind, first period owed)
    for index in range(len(people)):
        found = people.ability.get(index)
        for kind, could in (
            ("age_allowance", people.birth[index] <= eighty_by),
            ("care_subsidy", found is not None and found[0] >= MODERATE),
            ("service_subsidy", people.economic[index] in SERVICE_STATUSES),
        ):
            if not could:
                continue
            eligible = _eligible_from(build, index, kind)
            if eligible > latest:
                continue
            if kind == "service_subsidy":  # their hardship began some time in six years
                began = periods.month_start(today - timedelta(days=rng.randrange(6 * 365)))
                eligible = max(eligible, began)
            died = people.death.get(index)
            if died is not None and died < eligible:
                continue
            candidates.append((index, kind, eligible))
    chosen = sorted(
        rng.sample(range(len(candidates)), min(build.scale.enrolments, len(candidates)))
    )

    accounts: dict[int, tuple] = {}
    numbers: list[str] = []  # account numbers waiting for the encryptor
    encrypting = []
    rows = []
    first = loader.ids(Enrolment.__table__, len(chosen))
    for n in chosen:
        index, kind, eligible = candidates[n]
        village = villages[people.village[index]]
        county = village.county_code
        program = programs[(county, kind)]
        clerk = build.township_staff[village.township_code]
        approver = build.county_staff[county][0]
        applied = (
            eligible
            - timedelta(days=rng.randrange(5, 25))
            + timedelta(days=rng.choice([0, 0, 0, 30, 60, 120]))
        )
        start = _month_after(applied)
        if index not in accounts:  # one account per person, for all their programs
            bin_ = rng.choice(["28480", "21798", "22021", "17002"])  # banks' card prefixes
            number = f"62{bin_}{rng.randrange(10**11, 10**12)}"
            accounts[index] = (
                rng.choices(["bank", "social_security_card"], [4, 1])[0],
                rng.choice(BANKS),
                number,
                ops.mask_account(number),
            )
            numbers.append(number)
            if len(numbers) == CHUNK:
                encrypting.append(build.crypto.submit(encrypt_all, numbers))
                numbers = []
        account_kind, bank, number, masked = accounts[index]
        reviewed = build.at(applied + timedelta(days=rng.randint(1, 5)), rng.uniform(9, 17))
        approved = reviewed + timedelta(days=rng.randint(1, 5))
        notice_until = notice_ends_on(approved.date(), 7)
        activated = notice_until + timedelta(days=1)
        died = people.death.get(index)
        status, stop_month, stop_reason, decision = "active", None, None, ""
        if activated > today:  # still on its way: applied, reviewed, or in public notice
            if reviewed > now:
                status, reviewed, approved, notice_until = "applied", None, None, None
            elif approved > now:
                status, approved, notice_until = "reviewed", None, None
            else:
                status = "in_notice"
            activated = None
        if died is not None and status == "active":
            status, stop_month, stop_reason = "stopped", _month_after(died), "death"
        elif died is not None:
            status, approved, notice_until, decision = "rejected", None, None, "申请期间本人去世"
        next_review = None
        if activated is not None:
            next_review = periods.add_months(activated, 12).replace(day=min(activated.day, 28))
            while next_review < today - timedelta(days=30):
                next_review = periods.add_months(next_review, 12).replace(
                    day=min(activated.day, 28)
                )
        created = build.at(applied, rng.uniform(9, 17))
        rows.append(
            (
                first + len(rows),
                program.id,
                village.id,
                people.id_of(index),
                status,
                applied,
                start,
                people.birth[index],
                account_kind,
                bank,
                people.name[index],
                number,  # encrypted below
                masked,
                "",
                clerk if reviewed else None,
                reviewed,
                approver if approved else None,
                approved,
                notice_until,
                activated,
                next_review,
                stop_month,
                stop_reason,
                decision,
                clerk,
                created,
                now,
            )
        )
    encrypting.append(build.crypto.submit(encrypt_all, numbers))
    plain = [number for _, _, number, _ in accounts.values()]
    ciphers = dict(zip(plain, (c for f in encrypting for c in f.result()), strict=True))
    at = ENROLMENT_COLUMNS.index("account_number")
    rows = [(*row[:at], ciphers[row[at]], *row[at + 1 :]) for row in rows]
    with unchecked(loader, "subsidy_enrolment"):
        build.count("subsidy_enrolment", loader.write(Enrolment.__table__, ENROLMENT_COLUMNS, rows))
    _batches(build, programs, months, [Enrolled(*row) for row in rows], rng)


def _batch_times(build: Build, period: date, late: bool) -> dict:
    """When a period's batch was drawn up, approved, sent and settled, and what it is now."""
    due = period.replace(day=PAY_DAY)
    sent_on = due + timedelta(days=1 if late else -2)
    times = {
        "due_on": due,
        "generated_at": build.at(due - timedelta(days=8), 9.5),
        "approved_at": build.at(due - timedelta(days=5), 15),
        "exported_at": build.at(sent_on, 10),
        "reconciled_at": build.at(sent_on + timedelta(days=3), 16),
    }
    status = "draft"
    for stage, name in (
        ("approved_at", "approved"),
        ("exported_at", "exported"),
        ("reconciled_at", "reconciled"),
    ):
        if times[stage] <= build.now:
            status = name
        else:
            times[stage] = None
    times["status"] = status
    return times


def _batches(build: Build, programs: dict, months: list[date], enrolled: list, rng) -> None:
    """A batch per program and month, and its payments: what the program's rules owe each
    payable enrolment for the month (``rules.rule_for``, the rule generation's SQL is
    written after), failed now and then at the bank and re-issued the month after."""
    loader, people = build.loader, build.people
    batches: dict[tuple[int, date], list] = {}  # (program id, period) -> batch row
    first = loader.ids(Batch.__table__, len(programs) * len(months))
    for (county, _kind), program in sorted(programs.items(), key=lambda kv: kv[1].id):
        maker, approver = build.county_staff[county]
        for period in months:
            # Now and then a batch went to the bank after its pay day (not the latest).
            times = _batch_times(build, period, late=period < months[-1] and rng.random() < 0.05)
            batches[(program.id, period)] = [
                first + len(batches),
                program.id,
                program.region_id,
                period,
                times["status"],
                times["due_on"],
                maker,
                times["generated_at"],
                approver if times["approved_at"] else None,
                times["approved_at"],
                0,  # payment count and total: added up below
                0,
                times["exported_at"],
                times["reconciled_at"],
                times["generated_at"],
                build.now,
            ]
    by_program: dict[int, list] = {}
    for enrolment in enrolled:
        if enrolment.status in ("active", "stopped"):
            by_program.setdefault(enrolment.program_id, []).append(enrolment)
    # One version of each rule table, in force since 2020: the same rows for every month.
    rule_tables = {p.id: list(p.table_for(months[0]).rules) for p in programs.values()}
    owed_cache: dict[tuple, object] = {}

    def owed(program_id: int, index: int, period: date):
        """The rule that applies to the person for the period (None: nothing is owed)."""
        found = people.ability.get(index)
        key = (
            program_id,
            resident_id.age_on(people.birth[index], periods.age_reference(period)),
            people.economic[index],
            found[0] if found and found[1] < period else None,
        )
        if key not in owed_cache:
            facts = rules.Facts(
                age=key[1],
                economic_status=ECONOMIC[key[2]],
                ability_level=None if key[3] is None else ABILITY[key[3]],
            )
            owed_cache[key] = rules.rule_for(rule_tables[program_id], facts)
        return owed_cache[key]

    build.count(
        "subsidy_batch",
        loader.write(Batch.__table__, BATCH_COLUMNS, sorted(batches.values())),
    )
    first_payment = loader.ids(Payment.__table__, 0)

    def payments():
        n = 0
        reissue: list[tuple] = []  # failed last month, paid again this month
        for period in months:
            failed_now = []
            for program_id, own in sorted(by_program.items()):
                batch = batches[(program_id, period)]
                status = batch[4]
                settled = batch[13]
                frozen = status != "draft"
                for e, kind, reissue_of in [(e, "regular", None) for e in own] + [
                    (e, "reissue", of) for e, of in reissue if e.program_id == program_id
                ]:
                    if kind == "regular":
                        if not (
                            e.start_month <= period
                            and (e.stop_month is None or e.stop_month > period)
                            and build.living(e.person_id - people.first_id, period)
                        ):
                            continue
                        rule = owed(program_id, e.person_id - people.first_id, period)
                        if rule is None:
                            continue
                        rule_id, amount, paid_for = rule.id, rule.amount_fen, period
                    else:
                        rule_id, amount, paid_for = reissue_of[1], reissue_of[2], reissue_of[3]
                    fails = status == "reconciled" and kind == "regular" and rng.random() < FAILED
                    payment_id = first_payment + n
                    n += 1
                    batch[10] += 1
                    batch[11] += amount
                    if fails:
                        failed_now.append((e, (payment_id, rule_id, amount, paid_for)))
                    yield (
                        payment_id,
                        batch[0],
                        e.id,
                        program_id,
                        e.region_id,
                        e.person_id,
                        paid_for,
                        kind,
                        ("failed" if fails else "paid") if settled else PAYMENT_STATUS[status],
                        rule_id,
                        1,
                        amount,
                        "",
                        e.account_holder if frozen else "",
                        e.bank_name if frozen else "",
                        e.account_number if frozen else None,
                        e.account_masked if frozen else "",
                        "账户已销户" if fails else "",
                        settled,
                        # failed before the latest month: re-issued by the next batch
                        "reissue" if fails and period < months[-1] else None,
                        reissue_of[0] if reissue_of else None,
                        "已核实账户，重新发放" if reissue_of else "",
                        batch[7],
                    )
            reissue = failed_now

    with unchecked(loader, Payment.__table__.name):
        written = loader.write(Payment.__table__, PAYMENT_COLUMNS, payments())
    loader.ids(Payment.__table__, written)
    build.count("subsidy_payment", written)
    # The control totals, frozen when a batch is approved.
    table = Batch.__table__
    db.session.execute(
        sa.update(table)
        .where(table.c.id == sa.bindparam("batch"))
        .values(payment_count=sa.bindparam("count"), total_fen=sa.bindparam("total")),
        [
            {"batch": b[0], "count": b[10], "total": b[11]}
            for b in batches.values()
            if b[4] != "draft" and b[10]
        ],
    )
