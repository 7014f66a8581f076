"""Rating schemes: load the shipped schemes, copy one for a county and edit the copy until a
round uses it (then it is frozen)."""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from eldercare.core import audit
from eldercare.core.db import utcnow
from eldercare.core.errors import AppError, Conflict, Invalid
from eldercare.core.permissions import Role, is_county_staff_of, is_visible, role_of, scope_clause
from eldercare.extensions import db
from eldercare.ratings.models import FACILITY_KINDS, Item, Scheme, SchemeKind, Section, Threshold
from eldercare.ratings.scoring import (
    ItemSpec,
    SchemeSpec,
    SectionSpec,
    ThresholdSpec,
    check,
    spec_of,
)
from eldercare.regions.models import Region

SHIPPED_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "schemes")


class SchemeFileError(ValueError):
    """A shipped scheme file that does not hold together (nothing is loaded from it)."""


def _spec_from_json(data: dict) -> SchemeSpec:
    return SchemeSpec(
        sections=tuple(
            SectionSpec(
                s["code"],
                s["name"],
                int(s["max_points"]),
                tuple(
                    ItemSpec(i["code"], int(i.get("max_points", 0)), bool(i.get("must_have")))
                    for i in s["items"]
                ),
            )
            for s in data["sections"]
        ),
        thresholds=tuple(
            ThresholdSpec(int(t["level"]), int(t["min_total"]), t.get("section_minimums", {}))
            for t in data["thresholds"]
        ),
        max_level=int(data["max_level"]),
    )


def scheme_from_json(data: dict) -> Scheme:
    """A new (unsaved) scheme from the shipped JSON format, checked first."""
    try:
        SchemeKind(data["kind"])
        problems = check(_spec_from_json(data))
    except (KeyError, TypeError, ValueError) as err:
        raise SchemeFileError(f"malformed scheme: {err!r}") from None
    if problems:
        raise SchemeFileError("; ".join(problems))
    scheme = Scheme(
        code=data["code"],
        version=int(data.get("version", 1)),
        name=data["name"],
        kind=data["kind"],
        max_level=int(data["max_level"]),
        description=data.get("description", ""),
    )
    for position, s in enumerate(data["sections"]):
        section = Section(
            code=s["code"], name=s["name"], max_points=int(s["max_points"]), position=position
        )
        section.items = [
            Item(
                code=i["code"],
                text=i["text"],
                max_points=int(i.get("max_points", 0)),
                must_have=bool(i.get("must_have")),
                evidence=i.get("evidence", ""),
                position=n,
            )
            for n, i in enumerate(s["items"])
        ]
        scheme.sections.append(section)
    scheme.thresholds = [
        Threshold(
            level=int(t["level"]),
            min_total=int(t["min_total"]),
            section_minimums={k: int(v) for k, v in t.get("section_minimums", {}).items()},
        )
        for t in data["thresholds"]
    ]
    return scheme


@functools.cache
def rateable_kinds(directory: str = SHIPPED_DIR) -> tuple[str, ...]:
    """The facility kinds a scheme shipped with the platform can rate (a county's copies are
    of the same kinds): the only ones a share of rated facilities counts."""
    kinds: set[str] = set()
    for name in sorted(os.listdir(directory)):
        if name.endswith(".json"):
            with open(os.path.join(directory, name), encoding="utf-8") as handle:
                kinds.update(FACILITY_KINDS[SchemeKind(json.load(handle)["kind"])])
    return tuple(sorted(kinds))


def load_shipped_schemes(directory: str = SHIPPED_DIR) -> int:
    """Add the schemes shipped with the application that are not in the database yet (by
    code and version); returns how many were added. Every file is checked before any is
    added."""
    schemes = []
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(directory, name), encoding="utf-8") as handle:
            try:
                schemes.append(scheme_from_json(json.load(handle)))
            except (json.JSONDecodeError, SchemeFileError) as err:
                raise SchemeFileError(f"{name}: {err}") from None
    shipped = set(
        db.session.execute(
            sa.select(Scheme.code, Scheme.version).where(Scheme.region_id.is_(None))
        ).all()
    )
    missing = [s for s in schemes if (s.code, s.version) not in shipped]
    db.session.add_all(missing)
    db.session.flush()
    return len(missing)


def _county_of(user) -> Region:
    county = user.region.county if user.region is not None else None
    if county is None:
        raise AppError(403, _l("Only county staff keep rating schemes."))
    return county


def can_edit(user, scheme: Scheme) -> bool:
    """County staff (and admins) edit their county's copies that no round uses yet."""
    if scheme.region_id is None or scheme.is_frozen:
        return False
    return is_county_staff_of(user, scheme.region)


def copy_scheme(scheme: Scheme, by, county: Region | None = None) -> Scheme:
    """A county's own copy of a scheme, as the next version of that code in the county."""
    if role_of(by) not in (Role.ADMIN, Role.COUNTY_STAFF) or not is_visible(scheme, by):
        raise AppError(403, _l("You do not have permission to do this."))
    county = county or _county_of(by)
    latest = db.session.scalar(
        sa.select(sa.func.max(Scheme.version)).where(
            Scheme.code == scheme.code, Scheme.region_id == county.id
        )
    )
    copy = Scheme(
        code=scheme.code,
        version=(latest or 0) + 1,
        name=scheme.name,
        kind=scheme.kind,
        max_level=scheme.max_level,
        description=scheme.description,
        region_id=county.id,
        copied_from_id=scheme.id,
        created_by_id=by.id,
    )
    for s in scheme.sections:
        section = Section(code=s.code, name=s.name, max_points=s.max_points, position=s.position)
        section.items = [
            Item(
                code=i.code,
                text=i.text,
                max_points=i.max_points,
                must_have=i.must_have,
                evidence=i.evidence,
                position=i.position,
            )
            for i in s.items
        ]
        copy.sections.append(section)
    copy.thresholds = [
        Threshold(level=t.level, min_total=t.min_total, section_minimums=dict(t.section_minimums))
        for t in scheme.thresholds
    ]
    db.session.add(copy)
    db.session.flush()
    audit.record(
        "rating_scheme.copied",
        copy,
        actor=by,
        region_id=county.id,
        changes={"copied_from": [None, scheme.id], "version": [None, copy.version]},
    )
    return copy


def _require_editable(scheme: Scheme, by) -> None:
    if scheme.is_frozen:
        raise Conflict(_l("A round uses this scheme: it can no longer change. Copy it instead."))
    if not can_edit(by, scheme):
        raise AppError(403, _l("You do not have permission to do this."))


def update_item(item: Item, data: dict, by) -> Item:
    """Change an item of a county's copy; the section's points follow its items, and the
    scheme must still hold together (thresholds within the points)."""
    scheme = item.section.scheme
    _require_editable(scheme, by)
    must_have = data.get("must_have", item.must_have)
    points = 0 if must_have else data.get("max_points", item.max_points)
    if not must_have and not points:
        raise Invalid(errors={"max_points": [_l("A scored item is worth at least one point.")]})
    before = {k: getattr(item, k) for k in ("text", "max_points", "must_have", "evidence")}
    # Nothing reaches the database before the whole scheme is checked (the caller rolls back
    # a refusal).
    with db.session.no_autoflush:
        item.text = data.get("text", item.text)
        item.evidence = data.get("evidence", item.evidence)
        item.must_have = must_have
        item.max_points = points
        section = item.section
        section.max_points = sum(i.max_points for i in section.items if not i.must_have)
        problems = check(spec_of(scheme))
    if problems:
        raise Invalid(
            _l("The scheme would not hold together: %(problems)s", problems="; ".join(problems))
        )
    db.session.flush()
    audit.record(
        "rating_scheme.item_changed",
        scheme,
        actor=by,
        region_id=scheme.region_id,
        changes=audit.changes_between(before, {k: getattr(item, k) for k in before}),
        note=f"{section.code}/{item.code}",
    )
    return item


def freeze(scheme: Scheme) -> None:
    """A round starts using the scheme: from now on it never changes."""
    if scheme.frozen_at is None:
        scheme.frozen_at = utcnow()


@dataclass
class SchemeRow:
    scheme: Scheme
    items: int
    must_haves: int


def schemes_for(user) -> list[Scheme]:
    return list(
        db.session.scalars(
            sa.select(Scheme)
            .where(scope_clause(Scheme, user))
            .options(selectinload(Scheme.sections).selectinload(Section.items))
            .order_by(Scheme.region_id.is_not(None), Scheme.kind, Scheme.code, Scheme.version)
        )
    )
