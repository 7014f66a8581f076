"""The report of one program for one period in an area: who may report on which programs,
the batch ledger, the new, the stopped with their reasons and the back pay."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _

from eldercare.core.permissions import visible
from eldercare.extensions import db
from eldercare.regions.models import Region
from eldercare.subsidies import periods
from eldercare.subsidies.models import (
    BACK_PAY_LABELS,
    EXCEPTION_LABELS,
    LIVE_PAYMENT,
    PAYMENT_LABELS,
    STOP_LABELS,
    SUSPEND_LABELS,
    BackPayReason,
    Batch,
    EnrolmentStatus,
    ExceptionCode,
    PaymentKind,
    PaymentStatus,
    Program,
    StopReason,
    SuspendReason,
)
from eldercare.subsidies.reports.model import (
    CHUNK,
    KINDS,
    PAY,
    STATUSES,
    Cell,
    E,
    F,
    Line,
    P,
    R,
    Report,
    in_area,
    kind_label,
)
from eldercare.subsidies.reports.trends import amounts_series, punctuality, window

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
        .where(of_batch, in_area(area))
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
        in_area(area),
        ~sa.exists().where(other.c.enrolment_id == PAY.c.enrolment_id, _live(other, not_in)),
    )


def _count(select: sa.Select) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(select.subquery()))


def _limited(select: sa.Select, limit: int | None) -> list[sa.Row]:
    ordered = select.order_by(R.c.code, sa.func.coalesce(P.c.name, F.c.name), E.c.id)
    if limit is not None:
        ordered = ordered.limit(limit)
    return db.session.execute(ordered).all()


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
        in_area(area),
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

    report.months = window(period)
    report.series = amounts_series(programs, report.months, area)
    report.punctuality = punctuality(programs, report.months, today)
    return report
