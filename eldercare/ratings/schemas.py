"""Input schemas of the ratings pages: schemes, rounds, scores, evidence files, withdrawal,
the public notice's objections."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from decimal import Decimal

from flask import current_app
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, post_load, validate, validates_schema
from werkzeug.datastructures import FileStorage

from eldercare.core.db import local_today
from eldercare.core.errors import Invalid
from eldercare.core.schemas import CONTROL_CHARACTERS, InputSchema, id_field, load_form
from eldercare.ratings.models import sniff_type


class CopySchema(InputSchema):
    #: Administrators name the county the copy is for; county staff copy for their own.
    county_id = id_field(load_default=None, allow_none=True)


class ItemSchema(InputSchema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=500))
    max_points = fields.Integer(validate=validate.Range(min=0, max=1000))
    must_have = fields.Boolean(load_default=False)
    evidence = fields.String(load_default="", validate=validate.Length(max=255))


#: A phone number as people write one: digits, spaces, hyphens, an extension after a hyphen.
PHONE = validate.Regexp(
    r"^\+?[0-9][0-9\- ]{4,19}$", error=_l("Enter a phone number: digits and hyphens only.")
)


class NoticeDetailsSchema(InputSchema):
    """What the public notice of a round's results names: the office issuing it and the
    supervision phone (监督电话) the public calls."""

    issuing_office = fields.String(required=True, validate=validate.Length(min=2, max=120))
    supervision_phone = fields.String(required=True, validate=PHONE)


def _year_near(year: int) -> None:
    """A round is opened for the year under way, the one just ended or the next one."""
    this_year = local_today().year
    if not this_year - 1 <= year <= this_year + 1:
        raise ValidationError(
            _l("Choose a year from %(first)s to %(last)s.", first=this_year - 1, last=this_year + 1)
        )


class RoundSchema(NoticeDetailsSchema):
    county_id = id_field(load_default=None, allow_none=True)
    year = fields.Integer(required=True, validate=_year_near)
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    scheme_id = id_field(required=True)
    notice_days = fields.Integer(load_default=7, validate=validate.Range(min=1, max=60))


class ApplicationSchema(InputSchema):
    facility_id = id_field(required=True)


class AppointSchema(InputSchema):
    user_id = id_field(required=True)


class DecisionSchema(InputSchema):
    decision = fields.String(required=True, validate=validate.OneOf(["approve", "return"]))
    note = fields.String(load_default="", validate=validate.Length(max=500))

    @validates_schema
    def _why(self, data, **kwargs):
        if data.get("decision") == "return" and not data.get("note"):
            raise ValidationError(_l("Say what the assessors should look at again."), "note")


class ObjectionSchema(InputSchema):
    """An objection county staff received (a letter, a call); the operation checks that the
    day it came in is inside the notice period and not after today."""

    received_on = fields.Date(required=True)
    text = fields.String(required=True, validate=validate.Length(min=1, max=1000))
    resolution = fields.String(load_default="", validate=validate.Length(max=1000))


class NoticeQuery(InputSchema):
    """The public list of notices, of every county or of one."""

    county_id = id_field()


class PublicObjectionSchema(InputSchema):
    """An objection lodged on the public notice page, without signing in: who (a name and a
    phone, so that county staff can call back) and what."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=40))
    phone = fields.String(required=True, validate=PHONE)
    text = fields.String(required=True, validate=validate.Length(min=5, max=1000))


class ScoresSchema(InputSchema):
    """The scoring form of one application, its fields named per item of the scheme:
    ``score-<item>`` (points, empty = not scored yet), ``met-<item>`` ("1" met, "0" not met,
    anything else = not decided), ``note-<item>``. Loads as ``{"entries": {item id:
    {"points"|"met", "note"}}}``, every item of the scheme present; whether the points suit
    the item is the operation's check (``save_scores``)."""

    items: tuple = ()

    @classmethod
    def of(cls, application) -> ScoresSchema:
        """The schema of the scoring form of ``application``'s scheme."""
        items = tuple(i for s in application.round.scheme.sections for i in s.items)
        declared = {}
        for item in items:
            declared[f"{'met' if item.must_have else 'score'}-{item.id}"] = fields.String()
            declared[f"note-{item.id}"] = fields.String()
        schema = cls.from_dict(declared, name="ScoresFormSchema")()
        schema.items = items
        return schema

    @validates_schema
    def _numbers(self, data, **kwargs):
        errors = {
            f"item-{item.id}": [_l("Not a valid number.")]
            for item in self.items
            if not item.must_have and _points(data.get(f"score-{item.id}")) is _NOT_A_NUMBER
        }
        if errors:
            raise ValidationError(errors)

    @post_load
    def _entries(self, data, **kwargs):
        entries: dict[int, dict] = {}
        for item in self.items:
            note = (data.get(f"note-{item.id}") or "")[:500]
            if item.must_have:
                met = {"1": True, "0": False}.get(data.get(f"met-{item.id}", ""))
                entries[item.id] = {"met": met, "note": note}
            else:
                entries[item.id] = {"points": _points(data.get(f"score-{item.id}")), "note": note}
        return {"entries": entries}


_NOT_A_NUMBER = object()


def _points(raw: str | None):
    """Typed points as a Decimal; None when left empty; ``_NOT_A_NUMBER`` otherwise."""
    if not raw:
        return None
    try:
        points = Decimal(raw)
    except ArithmeticError:
        return _NOT_A_NUMBER
    return points if points.is_finite() else _NOT_A_NUMBER


def scores_of(formdata, application) -> dict:
    """The entries of a scoring form sent along with another action (attaching or removing
    a file keeps the page's scores): refused as a whole (422) when a number is not one."""
    data, errors = load_form(ScoresSchema.of(application), formdata)
    if errors:
        raise Invalid(errors=errors)
    return data["entries"]


class AnswerSchema(InputSchema):
    resolution = fields.String(required=True, validate=validate.Length(min=1, max=1000))


class WithdrawSchema(InputSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class ConfirmSchema(InputSchema):
    """An action that takes no input (closing a round, removing a file): the operation
    checks everything."""


@dataclass(frozen=True)
class EvidenceUpload:
    """An uploaded file that passed the checks: its bytes and what they are."""

    name: str
    content_type: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def _clean_name(filename: str) -> str:
    """The name the file had on the uploader's device, without any folder (some browsers
    send one) or control characters; only ever shown and offered back on download."""
    name = re.split(r"[\\/]", filename)[-1]
    name = CONTROL_CHARACTERS.sub("", name).strip()
    return name[-255:] or "evidence"


class EvidenceFile(fields.Field):
    """A photo (JPEG, PNG) or a PDF, told by its first bytes (never by its name or the
    type the browser claims), not empty and not larger than RATING_EVIDENCE_MAX_BYTES."""

    def _deserialize(self, value, attr, data, **kwargs) -> EvidenceUpload:
        if not isinstance(value, FileStorage) or not value.filename:
            raise ValidationError(_l("Choose a file to upload."))
        limit = current_app.config["RATING_EVIDENCE_MAX_BYTES"]
        content = value.stream.read(limit + 1)
        if not content:
            raise ValidationError(_l("The file is empty."))
        if len(content) > limit:
            megabytes = format(limit / (1024 * 1024), "g")
            raise ValidationError(
                _l("The file is larger than the %(limit)s MB allowed.", limit=megabytes)
            )
        kind = sniff_type(content)
        if kind is None:
            raise ValidationError(
                _l("Only photos (JPEG or PNG) and PDF documents can be attached.")
            )
        return EvidenceUpload(_clean_name(value.filename), kind.value, content)


class EvidenceSchema(InputSchema):
    """One file for one item of the scheme (sent as multipart form data)."""

    item_id = id_field(required=True)
    file = EvidenceFile(required=True, error_messages={"required": _l("Choose a file to upload.")})
