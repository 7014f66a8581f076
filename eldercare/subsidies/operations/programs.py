"""A county's subsidy programs: created, changed, and which programs exclude each other.

Operations add and flush; the view or the job commits once.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _

from eldercare.core import audit
from eldercare.core.errors import Conflict, Invalid
from eldercare.core.permissions import is_county_staff_of
from eldercare.extensions import db
from eldercare.regions.models import Level, Region
from eldercare.subsidies.models import (
    PERSON_KINDS,
    Basis,
    Batch,
    Program,
    ProgramKind,
    program_exclusion,
)
from eldercare.subsidies.operations.access import require_county

PROGRAM_FIELDS = (
    "code",
    "name",
    "kind",
    "basis",
    "frequency",
    "timing",
    "pay_day",
    "notice_days",
    "review_months",
    "bank_columns",
    "active",
)


def _program_snapshot(program: Program) -> dict:
    return {field: getattr(program, field) for field in PROGRAM_FIELDS}


def _check_program(data: dict) -> None:
    pays_people = ProgramKind(data["kind"]) in PERSON_KINDS
    if pays_people and data["basis"] != Basis.PERSON.value:
        raise Invalid(errors={"basis": [_("A program for people pays per person.")]})
    if not pays_people and data["basis"] == Basis.PERSON.value:
        raise Invalid(
            errors={
                "basis": [_("A facility program pays per facility, bed, person served or meal.")]
            }
        )
    if data["basis"] == Basis.MEAL.value and data["timing"] != "arrears":
        raise Invalid(
            errors={"timing": [_("Meals are counted after they are served: pay in arrears.")]}
        )


def create_program(county: Region, data: dict, by) -> Program:
    require_county(by, county)
    if county.level != Level.COUNTY.value:
        raise Invalid(errors={"region_id": [_("A program belongs to a county.")]})
    _check_program(data)
    if db.session.scalar(
        sa.select(Program.id).where(Program.region_id == county.id, Program.code == data["code"])
    ):
        raise Conflict(errors={"code": [_("This county already has a program with this code.")]})
    program = Program(
        region=county, created_by_id=by.id, **{k: data[k] for k in PROGRAM_FIELDS if k in data}
    )
    db.session.add(program)
    db.session.flush()
    audit.record("subsidies.program_created", program, actor=by, changes=_program_snapshot(program))
    return program


def update_program(program: Program, data: dict, by) -> Program:
    require_county(by, program.region)
    frozen_fields = {"kind", "basis", "frequency"}
    used = db.session.scalar(sa.select(Batch.id).where(Batch.program_id == program.id).limit(1))
    for field in frozen_fields:
        if used and field in data and data[field] != getattr(program, field):
            raise Conflict(
                errors={field: [_("Batches exist: what the program pays for cannot change.")]}
            )
    merged = {**_program_snapshot(program), **data}
    _check_program(merged)
    before = _program_snapshot(program)
    for field in PROGRAM_FIELDS:
        if field in data and field != "code":
            setattr(program, field, data[field])
    db.session.flush()
    audit.record(
        "subsidies.program_updated",
        program,
        actor=by,
        changes=audit.changes_between(before, _program_snapshot(program)),
    )
    return program


def set_exclusions(program: Program, other_ids: list[int], by) -> list[Program]:
    """Programs that exclude this one (symmetric: each excludes the other)."""
    require_county(by, program.region)
    others = list(
        db.session.scalars(
            sa.select(Program).where(Program.id.in_(other_ids), Program.id != program.id)
        )
    )
    for other in others:
        if not is_county_staff_of(by, other.region) and other.region_id != program.region_id:
            raise Invalid(errors={"other_ids": [_("Choose programs of your own county.")]})
    before = sorted(exclusions_of(program))
    db.session.execute(
        sa.delete(program_exclusion).where(
            sa.or_(
                program_exclusion.c.program_id == program.id,
                program_exclusion.c.other_id == program.id,
            )
        )
    )
    rows = []
    for other in others:
        rows += [
            {"program_id": program.id, "other_id": other.id},
            {"program_id": other.id, "other_id": program.id},
        ]
    if rows:
        db.session.execute(sa.insert(program_exclusion), rows)
    audit.record(
        "subsidies.exclusions_set",
        program,
        actor=by,
        changes={"excludes": [before, sorted(o.id for o in others)]},
    )
    return others


def exclusions_of(program: Program) -> list[int]:
    return list(
        db.session.scalars(
            sa.select(program_exclusion.c.other_id).where(
                program_exclusion.c.program_id == program.id
            )
        )
    )
