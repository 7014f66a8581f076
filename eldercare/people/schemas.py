"""Registry schemas: input shared by forms, JSON and roster rows; output trimmed by role."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

from eldercare.core import resident_id
from eldercare.core.db import local_today
from eldercare.core.masking import mask_phone
from eldercare.core.openapi import rule
from eldercare.core.schemas import InputSchema, PageArgs, choice, id_field
from eldercare.people.models import AbilityLevel, EconomicStatus, HukouType, LinkStatus, Sex

PHONE = validate.Regexp(r"^\+?[0-9-]{5,20}$", error=_l("Not a valid phone number."))
RELATIONS = ("child", "spouse", "grandchild", "sibling", "other")
RELATION_LABELS = {
    "child": _l("Son or daughter"),
    "spouse": _l("Spouse"),
    "grandchild": _l("Grandchild"),
    "sibling": _l("Brother or sister"),
    "other": _l("Other relative"),
}
#: The badge colour of a family link's status where it is shown (any other: "secondary").
LINK_BADGES = {LinkStatus.VERIFIED.value: "success"}


@rule("A valid 18-character resident ID number (GB 11643: birth date and check digit).")
def check_id_number(value: str) -> None:
    try:
        resident_id.parse(value)
    except resident_id.InvalidResidentId as exc:
        raise ValidationError(str(exc.message)) from None


class PersonSchema(InputSchema):
    """A person's registry entry. Birth date and sex, if given, must match the ID number."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=50))
    id_number = fields.String(required=True, validate=check_id_number)
    birth_date = fields.Date(allow_none=True)
    sex = choice(Sex, allow_none=True)
    phone = fields.String(allow_none=True, validate=PHONE)
    address = fields.String(load_default="", validate=validate.Length(max=255))
    region_id = id_field(
        required=True,
        metadata={"enforced": "A township or village inside the caller's own area."},
    )
    hukou_type = choice(HukouType, load_default=HukouType.LOCAL.value)
    hukou_address = fields.String(load_default="", validate=validate.Length(max=255))
    lives_alone = fields.Boolean(load_default=False)
    empty_nest = fields.Boolean(load_default=False)
    left_behind = fields.Boolean(load_default=False)
    special_family = fields.Boolean(load_default=False)
    economic_status = choice(EconomicStatus, load_default=EconomicStatus.NONE.value)
    death_date = fields.Date(allow_none=True)

    @validates_schema
    def _cross_check(self, data, **kwargs):
        number = data.get("id_number")
        if not number:
            return
        try:
            parsed = resident_id.parse(number)
        except resident_id.InvalidResidentId:
            return  # already reported on the field
        errors = {}
        if data.get("birth_date") and data["birth_date"] != parsed.birth_date:
            errors["birth_date"] = [
                _l(
                    "The birth date does not match the ID number (%(d)s).",
                    d=parsed.birth_date.isoformat(),
                )
            ]
        if data.get("sex") and data["sex"] != parsed.sex:
            errors["sex"] = [_l("The sex does not match the ID number.")]
        death = data.get("death_date")
        if death and death < parsed.birth_date:
            errors["death_date"] = [_l("The death date is before the birth date.")]
        if errors:
            raise ValidationError(errors)

    @validates("death_date")
    def _death_not_future(self, value, **kwargs):
        # Checked on its own: a correction without an ID number skips the cross-check above.
        if value is not None and value > local_today():
            raise ValidationError(_l("The death date is in the future."))


class PersonUpdateSchema(PersonSchema):
    """Corrections: an ID number is given only to replace the stored one."""

    id_number = fields.String(validate=check_id_number)


class AssessmentSchema(InputSchema):
    assessed_on = fields.Date(required=True)
    level = choice(AbilityLevel, required=True)
    assessor = fields.String(load_default="", validate=validate.Length(max=80))
    notes = fields.String(allow_none=True, validate=validate.Length(max=2000))

    @validates("assessed_on")
    def _not_future(self, value, **kwargs):
        if value > local_today():
            raise ValidationError(_l("The assessment date is in the future."))


class DeathSchema(InputSchema):
    """A death typed on the registry page (people.life_events.record_death checks the date
    against today and the birth date)."""

    death_date = fields.Date(required=True)
    note = fields.String(load_default="", validate=validate.Length(max=255))


class MoveOutSchema(InputSchema):
    """A move of the household registration out of the county."""

    moved_out_on = fields.Date(required=True)
    moved_out_to = fields.String(load_default="", validate=validate.Length(max=100))
    note = fields.String(load_default="", validate=validate.Length(max=255))


class PersonQuery(PageArgs):
    # No ID-number filter here: a query string ends up in URLs, browser history and access
    # logs. Finding a person by ID number is a POST (LookupSchema).
    q = fields.String(validate=validate.Length(max=50))
    region_id = id_field()
    flag = choice(("lives_alone", "empty_nest", "left_behind", "special_family"))
    economic_status = choice(EconomicStatus)
    min_age = fields.Integer(validate=validate.Range(min=0, max=130, error=_l("Age 0 to 130.")))
    max_age = fields.Integer(validate=validate.Range(min=0, max=130, error=_l("Age 0 to 130.")))
    include_deceased = fields.Boolean(load_default=False)


class LinkQuery(PageArgs):
    status = choice(LinkStatus, load_default=LinkStatus.PENDING.value)


class LinkRequestSchema(InputSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=50))
    id_number = fields.String(required=True, validate=check_id_number)
    relation = choice(RELATIONS, required=True)


class LinkDecisionSchema(InputSchema):
    decision = choice(
        (LinkStatus.VERIFIED.value, LinkStatus.REJECTED.value, LinkStatus.REVOKED.value),
        required=True,
    )
    note = fields.String(load_default="", validate=validate.Length(max=255))


class AssessmentOut(Schema):
    id = fields.Integer()
    assessed_on = fields.Date()
    level = fields.String()
    assessor = fields.String()
    notes = fields.String(allow_none=True)


class PersonOut(Schema):
    """What staff receive: the ID number only masked; revealing it is a separate, audited call."""

    id = fields.Integer()
    name = fields.String()
    id_number_masked = fields.String()
    birth_date = fields.Date()
    sex = fields.String()
    age = fields.Integer()
    phone = fields.String(allow_none=True)
    address = fields.String()
    region_id = fields.Integer()
    hukou_type = fields.String()
    hukou_address = fields.String()
    lives_alone = fields.Boolean()
    empty_nest = fields.Boolean()
    left_behind = fields.Boolean()
    special_family = fields.Boolean()
    economic_status = fields.String()
    death_date = fields.Date(allow_none=True)
    ability_level = fields.Function(
        lambda p: p.current_ability.level if p.current_ability else None, allow_none=True
    )


class PersonListOut(Schema):
    """A row of a list: enough to find the person, nothing about health, no exact birth date,
    the phone masked (open the person for the rest)."""

    id = fields.Integer()
    name = fields.String()
    id_number_masked = fields.String()
    sex = fields.String()
    age = fields.Integer()
    phone_masked = fields.Function(lambda p: mask_phone(p.phone))
    region_id = fields.Integer()
    lives_alone = fields.Boolean()
    empty_nest = fields.Boolean()
    left_behind = fields.Boolean()
    special_family = fields.Boolean()
    economic_status = fields.String()
    deceased = fields.Function(lambda p: p.death_date is not None)


class PersonFamilyOut(Schema):
    """A verified family member's view of a relative: no ID, economic or health data."""

    id = fields.Integer()
    name = fields.String()
    age = fields.Integer()
    region_name = fields.Function(lambda p: p.region.full_name)


class RevealedId(Schema):
    id_number = fields.String()


class LookupSchema(InputSchema):
    id_number = fields.String(required=True, validate=check_id_number)
