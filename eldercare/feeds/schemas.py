"""Forms of the data feeds: the upload, the columns chosen, a reviewing officer's decision."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, validate, validates_schema
from werkzeug.datastructures import FileStorage

from eldercare.core.schemas import InputSchema, PageArgs, choice, id_field
from eldercare.feeds.models import FeedKind, RowReason

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_ROWS = 20_000
#: The fields of a list: (key, label, required).
FIELDS = (
    ("id_number", _l("ID number"), True),
    ("name", _l("Name"), True),
    ("date", _l("Date"), True),
    ("source", _l("Source in the file"), False),
    ("destination", _l("Moved to"), False),
)
MAX_COLUMN = 999


def max_bytes() -> int:
    return int(current_app.config.get("FEEDS_MAX_BYTES", DEFAULT_MAX_BYTES))


def max_rows() -> int:
    return int(current_app.config.get("FEEDS_MAX_ROWS", DEFAULT_MAX_ROWS))


@dataclass(frozen=True)
class Upload:
    name: str
    data: bytes


class FeedFile(fields.Field):
    """An .xlsx or .csv file, not empty and not larger than FEEDS_MAX_BYTES (read no further
    than the bound)."""

    def _deserialize(self, value, attr, data, **kwargs) -> Upload:
        if not isinstance(value, FileStorage) or not value.filename:
            raise ValidationError(_l("Choose a file to upload."))
        name = value.filename.replace("\\", "/").rsplit("/", 1)[-1].strip()[-255:]
        if not name.lower().endswith((".xlsx", ".csv")):
            raise ValidationError(_l("Upload an .xlsx or .csv file."))
        limit = max_bytes()
        content = value.stream.read(limit + 1)
        if not content:
            raise ValidationError(_l("The file is empty."))
        if len(content) > limit:
            megabytes = format(limit / (1024 * 1024), "g")
            raise ValidationError(
                _l(
                    "The file is larger than the %(limit)s MB allowed: split the list into "
                    "smaller files.",
                    limit=megabytes,
                )
            )
        return Upload(name, content)


class UploadSchema(InputSchema):
    kind = choice([k.value for k in FeedKind], required=True)
    source_name = fields.String(required=True, validate=validate.Length(min=1, max=50))
    #: the county, chosen by an administrator (county staff import for their own)
    county_id = id_field(load_default=None)
    file = FeedFile(required=True, error_messages={"required": _l("Choose a file to upload.")})


def _column(required: bool):
    extra = {} if required else {"load_default": None}
    return fields.Integer(
        required=required,
        strict=False,
        validate=validate.Range(min=0, max=MAX_COLUMN, error=_l("Choose one of the columns.")),
        error_messages={
            "required": _l("Choose the column that holds this field."),
            "invalid": _l("Choose one of the columns."),
        },
        **extra,
    )


class MappingSchema(InputSchema):
    id_number = _column(True)
    name = _column(True)
    date = _column(True)
    source = _column(False)
    destination = _column(False)

    @validates_schema
    def _distinct(self, data, **kwargs):
        seen: dict[int, str] = {}
        errors = {}
        for key, _label, _required in FIELDS:
            index = data.get(key)
            if index is None:
                continue
            if index in seen:
                errors[key] = [_l("This column is already chosen for another field.")]
            seen[index] = key
        if errors:
            raise ValidationError(errors)


class DecisionSchema(InputSchema):
    decision = choice(["apply", "dismiss"], required=True)
    person_id = id_field(load_default=None)
    note = fields.String(load_default="", validate=validate.Length(max=255))

    @validates_schema
    def _needs(self, data, **kwargs):
        if data.get("decision") == "apply" and data.get("person_id") is None:
            raise ValidationError(
                {"person_id": [_l("Choose the registry person the row is about.")]}
            )
        if data.get("decision") == "dismiss" and not (data.get("note") or "").strip():
            raise ValidationError({"note": [_l("Say why the row is dismissed.")]})


class QueueQuery(PageArgs):
    kind = choice([k.value for k in FeedKind], load_default=None)
    reason = choice([r.value for r in RowReason], load_default=None)
