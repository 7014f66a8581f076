"""The versioned rule tables of a program: the amounts it pays and to whom, from a period on.

Operations add and flush; the view or the job commits once.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from eldercare.core import audit
from eldercare.core.errors import Conflict, Invalid
from eldercare.extensions import db
from eldercare.subsidies import periods, rules
from eldercare.subsidies.models import (
    Batch,
    BatchStatus,
    Payment,
    PaymentStatus,
    Program,
    Rule,
    RuleTable,
)
from eldercare.subsidies.operations.access import require_county


def _rule_rows(program: Program, rows: list[dict]) -> list[Rule]:
    built = []
    for position, row in enumerate(rows):
        if not program.pays_people and (
            row.get("min_age") is not None
            or row.get("max_age") is not None
            or row.get("economic_statuses")
            or row.get("ability_levels")
        ):
            raise Invalid(
                errors={
                    "rules": [
                        _(
                            "Row %(n)d: a facility program's rules ask only for the star level.",
                            n=position + 1,
                        )
                    ]
                }
            )
        if program.pays_people and row.get("star_levels"):
            raise Invalid(
                errors={
                    "rules": [
                        _(
                            "Row %(n)d: a program for people does not ask for a star level.",
                            n=position + 1,
                        )
                    ]
                }
            )
        built.append(
            Rule(
                position=position,
                label=row.get("label") or "",
                min_age=row.get("min_age"),
                max_age=row.get("max_age"),
                economic_statuses=sorted(row.get("economic_statuses") or []),
                ability_levels=sorted(row.get("ability_levels") or []),
                star_levels=sorted(row.get("star_levels") or []),
                amount_fen=row["amount_fen"],
            )
        )
    if not built:
        raise Invalid(errors={"rules": [_("A rule table needs at least one row.")]})
    problems = rules.overlap_errors(built)
    if problems:
        raise Invalid(errors={"rules": problems})
    return built


def save_rule_table(
    program: Program, effective_from: date, rows: list[dict], note: str, by
) -> RuleTable:
    """A new version of the program's amounts from a period on, or new rows for a version
    not yet used by an approved batch."""
    require_county(by, program.region)
    if not periods.is_period_start(program.frequency, effective_from):
        raise Invalid(
            errors={"effective_from": [_("A rule table takes effect at the start of a period.")]}
        )
    built = _rule_rows(program, rows)
    table = db.session.scalar(
        sa.select(RuleTable).where(
            RuleTable.program_id == program.id, RuleTable.effective_from == effective_from
        )
    )
    if table is not None and table.is_frozen:
        raise Conflict(
            errors={
                "effective_from": [
                    _(
                        "This version has been paid with: add a new version from a later"
                        " period instead."
                    )
                ]
            }
        )
    approved_later = db.session.scalar(
        sa.select(Batch.id)
        .where(
            Batch.program_id == program.id,
            Batch.status != BatchStatus.DRAFT.value,
            Batch.period >= effective_from,
        )
        .limit(1)
    )
    if approved_later:
        raise Conflict(
            errors={
                "effective_from": [
                    _("A batch from this period on is already approved: choose a later period.")
                ]
            }
        )
    before = [_rule_dict(rule) for rule in table.rules] if table else []
    if table is None:
        version = (
            db.session.scalar(
                sa.select(sa.func.max(RuleTable.version)).where(RuleTable.program_id == program.id)
            )
            or 0
        ) + 1
        table = RuleTable(
            program=program, version=version, effective_from=effective_from, created_by_id=by.id
        )
        db.session.add(table)
    else:
        # Draft payments drawn up with the old rows are excluded (the next generation or the
        # approval's re-check draws them again with the new amounts) and let go of the rows.
        old_rules = [rule.id for rule in table.rules]
        db.session.execute(
            sa.update(Payment)
            .where(
                Payment.rule_id.in_(old_rules),
                Payment.status.in_([PaymentStatus.PENDING.value, PaymentStatus.HELD.value]),
            )
            .values(status=PaymentStatus.EXCLUDED.value, exception="amount_changed")
        )
        db.session.execute(
            sa.update(Payment)
            .where(
                Payment.rule_id.in_(old_rules),
                Payment.status == PaymentStatus.EXCLUDED.value,
            )
            .values(rule_id=None)
        )
        table.rules.clear()
        db.session.flush()
    table.note = note or ""
    table.rules.extend(built)
    db.session.flush()
    db.session.expire(program, ["tables"])
    audit.record(
        "subsidies.rules_saved",
        program,
        actor=by,
        changes={
            "version": table.version,
            "effective_from": effective_from.isoformat(),
            "rules": [before, [_rule_dict(rule) for rule in built]],
        },
    )
    return table


def _rule_dict(rule: Rule) -> dict:
    return {
        "min_age": rule.min_age,
        "max_age": rule.max_age,
        "economic_statuses": rule.economic_statuses,
        "ability_levels": rule.ability_levels,
        "star_levels": rule.star_levels,
        "amount_fen": rule.amount_fen,
    }


def delete_rule_table(table: RuleTable, by) -> None:
    program = table.program
    require_county(by, program.region)
    if table.is_frozen or db.session.scalar(
        sa.select(Payment.id)
        .join(Rule, Rule.id == Payment.rule_id)
        .where(Rule.table_id == table.id)
        .limit(1)
    ):
        raise Conflict(_l("This version has payments: it stays on record."))
    audit.record(
        "subsidies.rules_deleted",
        program,
        actor=by,
        changes={"version": table.version, "effective_from": table.effective_from.isoformat()},
    )
    db.session.delete(table)
    db.session.flush()
    db.session.expire(program, ["tables"])
