"""Subsidy reports of an area, per program and period, and their .xlsx export. The one place
where each figure is defined:

- the batch ledger of a period: the payments of the program's batch for that period (the
  period itself, back pay for earlier periods, re-issues), plus the reversal entries of any
  of them, counted and added up by kind and status;
- paid in a period: a payment for that period (whichever batch carried it) that is live:
  pending, held, approved, sent to the bank or paid (one per enrolment and period, ever);
- new (新增): enrolments paid in the period and not in the previous one; stopped (停发):
  paid in the previous period and not in this one, with the reason: the enrolment's stop
  reason, a death before the period, a move out of the county, the suspension reason, or
  what happened to the period's payment (its exception, a failed or returned transfer);
- back pay (补发): the batch's payments of kind back pay, with the enrolment's reason;
- amounts per program: for each of the twelve months up to the period, what the batch of
  that period pays out (approved, sent or paid);
- paid on time: a batch is on time when it was first sent to the bank by its due date; a
  period whose due date has passed with no batch sent is late. The share is over the
  periods of the twelve months from the program's first batch on.

ID numbers are masked everywhere, in the page and in the export. The area narrows the
payments (by where the beneficiary lives), not the batches.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from eldercare.core.db import local_date, local_zone, utcnow
from eldercare.core.i18n import DEFAULT_LOCALE, speaking
from eldercare.core.permissions import visible
from eldercare.core.spreadsheets import append_row
from eldercare.extensions import db
from eldercare.facilities.models import Facility
from eldercare.people.models import Person
from eldercare.regions.models import Region
from eldercare.subsidies import periods
from eldercare.subsidies.bankfile import yuan
from eldercare.subsidies.models import (
    BACK_PAY_LABELS,
    EXCEPTION_LABELS,
    LIVE_PAYMENT,
    PAYMENT_KIND_LABELS,
    PAYMENT_LABELS,
    STOP_LABELS,
    SUSPEND_LABELS,
    BackPayReason,
    Batch,
    Enrolment,
    EnrolmentStatus,
    ExceptionCode,
    Payment,
    PaymentKind,
    PaymentStatus,
    Program,
    StopReason,
    SuspendReason,
)

PAY = Payment.__table__
E = Enrolment.__table__
P = Person.__table__
F = Facility.__table__
R = Region.__table__
KINDS = [k.value for k in PaymentKind]
STATUSES = [s.value for s in PaymentStatus]
#: What a batch pays out: what has gone, or is about to go, to the bank.
PAID_OUT = (
    PaymentStatus.APPROVED.value,
    PaymentStatus.EXPORTED.value,
    PaymentStatus.PAID.value,
)
MONTHS = 12
CHUNK = 5000


@dataclass(frozen=True)
class Cell:
    count: int = 0
    fen: int = 0


@dataclass(frozen=True)
class Line:
    """A beneficiary in a detail list (new, stopped, back pay)."""

    enrolment_id: int
    name: str
    id_masked: str
    area: str
    amount_fen: int
    kind: str = ""
    period: str = ""
    reason: str = ""


@dataclass(frozen=True)
class Punctuality:
    program: Program
    due: int
    on_time: int

    @property
    def late(self) -> int:
        return self.due - self.on_time

    @property
    def share(self) -> float | None:
        return self.on_time / self.due if self.due else None


@dataclass(frozen=True)
class Series:
    program: Program
    amounts_fen: list[int]
    #: How many payments make up each month's amount.
    counts: list[int] = field(default_factory=list)


@dataclass
class Report:
    area: Region
    program: Program
    period: date
    previous: date
    batch: Batch | None
    ledger: dict[str, dict[str, Cell]] = field(default_factory=dict)
    new: list[Line] = field(default_factory=list)
    new_count: int = 0
    stopped: list[Line] = field(default_factory=list)
    stopped_count: int = 0
    back_pay: list[Line] = field(default_factory=list)
    back_pay_count: int = 0
    months: list[date] = field(default_factory=list)
    series: list[Series] = field(default_factory=list)
    punctuality: list[Punctuality] = field(default_factory=list)

    @property
    def period_label(self) -> str:
        return periods.label(self.program.frequency, self.period)

    @property
    def previous_label(self) -> str:
        return periods.label(self.program.frequency, self.previous)

    @property
    def statuses(self) -> list[str]:
        """The statuses that occur in the ledger, in their natural order."""
        present = {s for row in self.ledger.values() for s in row}
        return [s for s in STATUSES if s in present]

    @property
    def kinds(self) -> list[str]:
        return [k for k in KINDS if k in self.ledger]

    def kind_total(self, kind: str) -> Cell:
        cells = self.ledger.get(kind, {}).values()
        return Cell(sum(c.count for c in cells), sum(c.fen for c in cells))

    def status_total(self, status: str) -> Cell:
        cells = [row[status] for row in self.ledger.values() if status in row]
        return Cell(sum(c.count for c in cells), sum(c.fen for c in cells))

    @property
    def total(self) -> Cell:
        cells = [c for row in self.ledger.values() for c in row.values()]
        return Cell(sum(c.count for c in cells), sum(c.fen for c in cells))


# --- what a user may report on ----------------------------------------------------------------


def programs_for(area: Region, user) -> list[Program]:
    """The programs the user may see that pay in ``area``: those of its county, or of the
    counties inside it."""
    return _paying_in(area, visible(Program, user))


def related_programs(area: Region) -> list[Program]:
    """Every program that pays in ``area``, whoever looks (for figures computed by a job)."""
    return _paying_in(area, sa.select(Program))


def _paying_in(area: Region, stmt: sa.Select) -> list[Program]:
    programs = db.session.scalars(stmt.join(Region, Region.id == Program.region_id))
    return [
        p
        for p in sorted(programs, key=lambda p: (p.region.code, p.code))
        if p.region.contains(area) or area.contains(p.region)
    ]


def default_period(program: Program, today: date) -> date:
    """The latest period with a batch, up to the current one; else the current one."""
    current = periods.period_containing(program.frequency, today)
    latest = db.session.scalar(
        sa.select(sa.func.max(Batch.period)).where(
            Batch.program_id == program.id, Batch.period <= current
        )
    )
    return latest or current


# --- the pieces -------------------------------------------------------------------------------


def _in_area(area: Region):
    return PAY.c.region_id.in_(Region.subtree_ids(area))


def _live(table, period: date):
    return sa.and_(
        table.c.period == period,
        table.c.status.in_(LIVE_PAYMENT),
        table.c.kind != PaymentKind.REVERSAL.value,
    )


def _ledger(batch: Batch, area: Region) -> dict[str, dict[str, Cell]]:
    original = PAY.alias("original")
    of_batch = sa.or_(
        PAY.c.batch_id == batch.id,
        PAY.c.reverses_id.in_(sa.select(original.c.id).where(original.c.batch_id == batch.id)),
    )
    rows = db.session.execute(
        sa.select(PAY.c.kind, PAY.c.status, sa.func.count(), sa.func.sum(PAY.c.amount_fen))
        .where(of_batch, _in_area(area))
        .group_by(PAY.c.kind, PAY.c.status)
    )
    ledger: dict[str, dict[str, Cell]] = {}
    for kind, status, count, fen in rows:
        ledger.setdefault(kind, {})[status] = Cell(count, int(fen or 0))
    return {k: {s: ledger[k][s] for s in STATUSES if s in ledger[k]} for k in KINDS if k in ledger}


def _who():
    """Columns naming the beneficiary of a payment (person or facility) and where."""
    return (
        E.c.id.label("enrolment_id"),
        sa.func.coalesce(P.c.name, F.c.name).label("name"),
        sa.func.coalesce(P.c.id_number_masked, "").label("id_masked"),
        R.c.name.label("area"),
        PAY.c.amount_fen,
        PAY.c.kind,
        PAY.c.period,
    )


def _joined(select: sa.Select) -> sa.Select:
    return select.select_from(
        PAY.join(E, E.c.id == PAY.c.enrolment_id)
        .outerjoin(P, P.c.id == PAY.c.person_id)
        .outerjoin(F, F.c.id == PAY.c.facility_id)
        .join(R, R.c.id == PAY.c.region_id)
    )


def _changes(program: Program, area: Region, paid_in: date, not_in: date) -> sa.Select:
    """Live payments of ``paid_in`` whose enrolment has none for ``not_in``."""
    other = PAY.alias("other")
    return _joined(sa.select(*_who())).where(
        PAY.c.program_id == program.id,
        _live(PAY, paid_in),
        _in_area(area),
        ~sa.exists().where(other.c.enrolment_id == PAY.c.enrolment_id, _live(other, not_in)),
    )


def _count(select: sa.Select) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(select.subquery()))


def _limited(select: sa.Select, limit: int | None) -> list[sa.Row]:
    ordered = select.order_by(R.c.code, sa.func.coalesce(P.c.name, F.c.name), E.c.id)
    if limit is not None:
        ordered = ordered.limit(limit)
    return db.session.execute(ordered).all()


def kind_label(kind: str) -> str:
    return str(PAYMENT_KIND_LABELS[PaymentKind(kind)])


def _line(row, reason: str = "", frequency: str | None = None) -> Line:
    return Line(
        enrolment_id=row.enrolment_id,
        name=row.name or "",
        id_masked=row.id_masked or "",
        area=row.area,
        amount_fen=row.amount_fen,
        kind=kind_label(row.kind),
        period=periods.label(frequency, row.period) if frequency else "",
        reason=reason,
    )


def _why_stopped(program: Program, period: date, enrolment_ids: list[int]) -> dict[int, str]:
    """Why each enrolment is not paid for ``period``, the plainest reason first."""
    facts: dict[int, sa.Row] = {}
    payments: dict[int, sa.Row] = {}
    # In chunks: a whole city's list would pass PostgreSQL's limit of bound parameters.
    for start in range(0, len(enrolment_ids), CHUNK):
        chunk = enrolment_ids[start : start + CHUNK]
        for row in db.session.execute(
            sa.select(
                E.c.id,
                E.c.status,
                E.c.stop_reason,
                E.c.suspend_reason,
                P.c.death_date,
                R.c.code.label("lives_in"),
            )
            .select_from(
                E.outerjoin(P, P.c.id == E.c.person_id).outerjoin(R, R.c.id == P.c.region_id)
            )
            .where(E.c.id.in_(chunk))
        ):
            facts[row.id] = row
        for row in db.session.execute(
            sa.select(PAY.c.enrolment_id, PAY.c.status, PAY.c.exception, PAY.c.bank_note)
            .where(
                PAY.c.enrolment_id.in_(chunk),
                PAY.c.period == period,
                PAY.c.kind != PaymentKind.REVERSAL.value,
            )
            .order_by(PAY.c.id)
        ):
            payments[row.enrolment_id] = row  # the latest one
    county = program.region.prefix
    out = {}
    for enrolment_id in enrolment_ids:
        f = facts[enrolment_id]
        payment = payments.get(enrolment_id)
        if f.status == EnrolmentStatus.STOPPED.value and f.stop_reason:
            reason = str(STOP_LABELS[StopReason(f.stop_reason)])
        elif f.death_date is not None and f.death_date < period:
            reason = str(STOP_LABELS[StopReason.DEATH])
        elif f.lives_in is not None and not f.lives_in.startswith(county):
            reason = str(STOP_LABELS[StopReason.MOVED_OUT])
        elif f.status == EnrolmentStatus.SUSPENDED.value and f.suspend_reason:
            reason = _suspended(f.suspend_reason)
        elif payment is not None and payment.exception:
            reason = str(EXCEPTION_LABELS[ExceptionCode(payment.exception)])
        elif payment is not None:
            reason = str(PAYMENT_LABELS[PaymentStatus(payment.status)])
            if payment.bank_note:
                reason += f"（{payment.bank_note}）"
        else:
            reason = _no_payment()
        out[enrolment_id] = reason
    return out


def _suspended(code: str) -> str:
    return _("Suspended: %(reason)s", reason=SUSPEND_LABELS[SuspendReason(code)])


def _no_payment() -> str:
    return _("No payment for this period")


def _back_pay(batch: Batch, area: Region, limit: int | None) -> tuple[list[Line], int]:
    select = _joined(sa.select(*_who(), E.c.back_pay_reason)).where(
        PAY.c.batch_id == batch.id,
        PAY.c.kind == PaymentKind.BACK_PAY.value,
        PAY.c.status.in_([*LIVE_PAYMENT, PaymentStatus.FAILED.value, PaymentStatus.RETURNED.value]),
        _in_area(area),
    )
    rows = _limited(select, limit)
    frequency = batch.program.frequency
    lines = [
        _line(
            row,
            str(BACK_PAY_LABELS[BackPayReason(row.back_pay_reason)]) if row.back_pay_reason else "",
            frequency,
        )
        for row in rows
    ]
    return lines, (len(rows) if limit is None else _count(select))


def _window(period: date) -> list[date]:
    return [periods.add_months(period, n) for n in range(1 - MONTHS, 1)]


def _series(programs: list[Program], months: list[date], area: Region) -> list[Series]:
    ids = [p.id for p in programs]
    sums: dict[tuple[int, date], int] = {}
    counts: dict[tuple[int, date], int] = {}
    for program_id, period, fen, count in db.session.execute(
        sa.select(Batch.program_id, Batch.period, sa.func.sum(PAY.c.amount_fen), sa.func.count())
        .join(PAY, PAY.c.batch_id == Batch.id)
        .where(
            Batch.program_id.in_(ids),
            Batch.period.between(months[0], months[-1]),
            PAY.c.status.in_(PAID_OUT),
            _in_area(area),
        )
        .group_by(Batch.program_id, Batch.period)
    ):
        sums[(program_id, period)] = int(fen or 0)
        counts[(program_id, period)] = int(count)
    return [
        Series(
            p,
            [sums.get((p.id, m), 0) for m in months],
            [counts.get((p.id, m), 0) for m in months],
        )
        for p in programs
    ]


def _punctuality(programs: list[Program], months: list[date], today: date) -> list[Punctuality]:
    ids = [p.id for p in programs]
    batches: dict[int, dict[date, Batch]] = {}
    for batch in db.session.scalars(sa.select(Batch).where(Batch.program_id.in_(ids))):
        batches.setdefault(batch.program_id, {})[batch.period] = batch
    # A batch with nothing to pay (no payment, or only excluded ones) is neither on time nor
    # late: it never goes to the bank.
    paying = set(
        db.session.scalars(
            sa.select(Batch.id).where(
                Batch.program_id.in_(ids),
                sa.exists().where(
                    PAY.c.batch_id == Batch.id, PAY.c.status != PaymentStatus.EXCLUDED.value
                ),
            )
        )
    )
    out = []
    for program in programs:
        own = batches.get(program.id, {})
        if not own:
            out.append(Punctuality(program, 0, 0))
            continue
        start = max(months[0], min(own))
        due = on_time = 0
        for period in periods.periods_between(
            program.frequency, start, periods.add_months(months[-1], 1)
        ):
            batch = own.get(period)
            if batch is not None and batch.id not in paying:
                continue
            deadline = (
                batch.due_on
                if batch is not None
                else periods.due_on(program.frequency, program.timing, program.pay_day, period)
            )
            if batch is not None and batch.exported_at is not None:
                due += 1
                on_time += local_date(batch.exported_at) <= deadline
            elif deadline < today:
                due += 1
        out.append(Punctuality(program, due, on_time))
    return out


def build(
    area: Region,
    program: Program,
    period: date,
    programs: list[Program],
    today: date,
    limit: int | None = None,
) -> Report:
    """The report of ``program`` for ``period`` in ``area`` (detail lists cut at ``limit``
    lines, their full counts kept), with the chart and punctuality of ``programs``."""
    period = periods.period_containing(program.frequency, period)
    previous = periods.previous_period(program.frequency, period)
    batch = db.session.scalar(
        sa.select(Batch).where(Batch.program_id == program.id, Batch.period == period)
    )
    report = Report(area, program, period, previous, batch)
    if batch is not None:
        report.ledger = _ledger(batch, area)
        report.back_pay, report.back_pay_count = _back_pay(batch, area, limit)

    new = _changes(program, area, period, previous)
    rows = _limited(new, limit)
    report.new = [_line(row) for row in rows]
    report.new_count = len(rows) if limit is None else _count(new)

    stopped = _changes(program, area, previous, period)
    rows = _limited(stopped, limit)
    reasons = _why_stopped(program, period, [row.enrolment_id for row in rows])
    report.stopped = [_line(row, reasons[row.enrolment_id]) for row in rows]
    report.stopped_count = len(rows) if limit is None else _count(stopped)

    report.months = _window(period)
    report.series = _series(programs, report.months, area)
    report.punctuality = _punctuality(programs, report.months, today)
    return report


# --- the export -------------------------------------------------------------------------------


def _money(sheet: WriteOnlyWorksheet, fen: int | None) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=yuan(fen) if fen is not None else None)
    cell.number_format = "0.00"
    return cell


def _percent(share: float | None):
    return round(share * 100, 1) if share is not None else None


def _ledger_table(sheet: WriteOnlyWorksheet, r: Report) -> None:
    """The page's table of payments by kind and status, as the page shows it: a row per kind
    (类型, as the page heads it), a column pair (笔数, 金额) per status and for the kind's
    total, a 合计 row of the status totals and the grand total; a status a kind has none of
    is "—"."""
    statuses = r.statuses
    append_row(sheet, ("按类别和状态统计",))
    if not r.ledger:
        append_row(sheet, ("无。",))
        return
    labels = [str(PAYMENT_LABELS[PaymentStatus(s)]) for s in statuses]
    append_row(sheet, ("类型", *(x for label in [*labels, "合计"] for x in (label, ""))))
    append_row(sheet, ("", *(["笔数", "金额（元）"] * (len(statuses) + 1))))

    def pair(cell: Cell | None) -> tuple:
        return (cell.count, _money(sheet, cell.fen)) if cell else ("—", "—")

    for kind in r.kinds:
        row = r.ledger[kind]
        cells = [x for s in statuses for x in pair(row.get(s))]
        append_row(sheet, (kind_label(kind), *cells, *pair(r.kind_total(kind))))
    totals = [x for s in statuses for x in pair(r.status_total(s))]
    append_row(sheet, ("合计", *totals, *pair(r.total)))


def report_xlsx(report: Report, made_by: str = "") -> str:
    """Every table of the report as a sheet of an .xlsx (ID numbers masked), under a title
    with the area, when and by whom it was made; its path."""
    wb = Workbook(write_only=True)
    r = report
    with speaking(DEFAULT_LOCALE):
        sheet = wb.create_sheet("汇总")
        for row in (
            (f"{r.area.name} {r.program.name} {r.period_label} 补贴发放报表",),
            ("地区", r.area.name),
            ("补贴项目", r.program.name),
            ("发放期间", r.period_label),
            ("批次状态", r.batch.status_label if r.batch else "未生成"),
            ("制表时间", utcnow().astimezone(local_zone()).strftime("%Y-%m-%d %H:%M")),
            ("制表人", made_by),
        ):
            append_row(sheet, row)
        append_row(sheet, ())
        _ledger_table(sheet, r)

        sheet = wb.create_sheet("新增")
        append_row(sheet, ("姓名", "身份证号", "地区", "本期金额（元）", "类别"))
        for line in r.new:
            append_row(
                sheet,
                (line.name, line.id_masked, line.area, _money(sheet, line.amount_fen), line.kind),
            )
        append_row(sheet, ("合计", f"{r.new_count}人"))

        sheet = wb.create_sheet("停发")
        append_row(sheet, ("姓名", "身份证号", "地区", "上期金额（元）", "停发原因"))
        for line in r.stopped:
            append_row(
                sheet,
                (line.name, line.id_masked, line.area, _money(sheet, line.amount_fen), line.reason),
            )
        append_row(sheet, ("合计", f"{r.stopped_count}人"))

        sheet = wb.create_sheet("补发")
        append_row(sheet, ("姓名", "身份证号", "地区", "补发期间", "金额（元）", "补发原因"))
        for line in r.back_pay:
            append_row(
                sheet,
                (
                    line.name,
                    line.id_masked,
                    line.area,
                    line.period,
                    _money(sheet, line.amount_fen),
                    line.reason,
                ),
            )
        append_row(
            sheet,
            (
                "合计",
                f"{r.back_pay_count}笔",
                "",
                "",
                _money(sheet, sum(line.amount_fen for line in r.back_pay)),
            ),
        )

        sheet = wb.create_sheet("近12个月发放金额")
        append_row(sheet, ("月份", *(s.program.name for s in r.series)))
        for i, month in enumerate(r.months):
            append_row(
                sheet,
                (f"{month:%Y-%m}", *(_money(sheet, s.amounts_fen[i]) for s in r.series)),
            )

        sheet = wb.create_sheet("按时发放")
        append_row(sheet, ("补贴项目", "应发期数", "按时发放", "未按时", "按时发放率（%）"))
        for p in r.punctuality:
            append_row(sheet, (p.program.name, p.due, p.on_time, p.late, _percent(p.share)))
    handle = tempfile.NamedTemporaryFile(suffix=".xlsx", delete=False)  # noqa: SIM115
    handle.close()
    wb.save(handle.name)
    return handle.name


# --- for the county overview (dashboard.overview): the same definitions, by name --------------


def amounts_series(programs: list[Program], months: list[date], area: Region) -> list[Series]:
    """Per program, what the batch of each month's period pays out in ``area``."""
    return _series(programs, months, area)


def punctuality(programs: list[Program], months: list[date], today: date) -> list[Punctuality]:
    """Per program, the periods of ``months`` due by now and those sent to the bank on time."""
    return _punctuality(programs, months, today)


def amounts_by_area(program_ids: list[int], month: date, area: Region) -> dict[str, int]:
    """What the batches of ``month``'s period pay out, by the region code of the
    beneficiary (the drill-down of the overview adds the codes up by area)."""
    if not program_ids:
        return {}
    rows = db.session.execute(
        sa.select(R.c.code, sa.func.sum(PAY.c.amount_fen))
        .select_from(PAY.join(Batch.__table__, Batch.__table__.c.id == PAY.c.batch_id))
        .join(R, R.c.id == PAY.c.region_id)
        .where(
            Batch.__table__.c.program_id.in_(program_ids),
            Batch.__table__.c.period == month,
            PAY.c.status.in_(PAID_OUT),
            _in_area(area),
        )
        .group_by(R.c.code)
    )
    return {code: int(fen or 0) for code, fen in rows}
