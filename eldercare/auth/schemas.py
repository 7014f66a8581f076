"""Input and output schemas for sign-in, passwords, users and API tokens."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

from eldercare.core.permissions import FACILITY_ROLES, REGION_ROLES, Role
from eldercare.core.schemas import InputSchema, PageArgs, choice, id_field

PASSWORD_MIN = 10


def check_password_strength(value: str) -> None:
    if len(value) < PASSWORD_MIN:
        raise ValidationError(_l("A password needs at least %(n)s characters.", n=PASSWORD_MIN))
    if not re.search(r"[A-Za-z]", value) or not re.search(r"\d", value):
        raise ValidationError(_l("A password needs both letters and digits."))


class LoginSchema(InputSchema):
    username = fields.String(required=True, validate=validate.Length(max=254))
    password = fields.String(required=True, validate=validate.Length(max=256))
    remember = fields.Boolean(load_default=False)


class PasswordChangeSchema(InputSchema):
    current_password = fields.String(required=True)
    new_password = fields.String(required=True, validate=check_password_strength)
    confirm_password = fields.String(required=True)

    @validates_schema
    def _confirm(self, data, **kwargs):
        if data.get("new_password") != data.get("confirm_password"):
            raise ValidationError(_l("The two passwords differ."), "confirm_password")
        if data.get("new_password") == data.get("current_password"):
            raise ValidationError(
                _l("Choose a password different from the current one."), "new_password"
            )


#: A mainland mobile number: 11 digits starting 13-19.
MOBILE = validate.Regexp(r"^1[3-9][0-9]{9}$", error=_l("Enter an 11-digit mobile number."))


class RegisterSchema(InputSchema):
    """A family member signing up: a name, a phone or an e-mail address, a password."""

    display_name = fields.String(required=True, validate=validate.Length(min=1, max=80))
    phone = fields.String(allow_none=True, validate=MOBILE)
    email = fields.String(allow_none=True, validate=[validate.Length(max=254), validate.Email()])
    password = fields.String(required=True, validate=check_password_strength)
    confirm_password = fields.String(required=True)

    @validates_schema
    def _contact_and_confirm(self, data, **kwargs):
        errors = {}
        if not data.get("phone") and not data.get("email"):
            errors["phone"] = [_l("Enter a mobile number or an e-mail address.")]
        if data.get("password") != data.get("confirm_password"):
            errors["confirm_password"] = [_l("The two passwords differ.")]
        if errors:
            raise ValidationError(errors)


USERNAME = validate.Regexp(
    r"^[A-Za-z0-9_.@+-]{3,80}$",
    error=_l("3 to 80 letters, digits or _ . @ + -"),
)


class _UserFields(InputSchema):
    display_name = fields.String(required=True, validate=validate.Length(min=1, max=80))
    email = fields.String(allow_none=True, validate=[validate.Length(max=254), validate.Email()])
    phone = fields.String(
        allow_none=True,
        validate=validate.Regexp(r"^\+?[0-9-]{5,20}$", error=_l("Not a valid phone number.")),
    )
    role = choice(Role, required=True)
    region_id = id_field(allow_none=True)
    facility_id = id_field(allow_none=True)

    @validates_schema
    def _scope_matches_role(self, data, **kwargs):
        role = data.get("role")
        if role is None:
            return
        if role in REGION_ROLES and not data.get("region_id"):
            raise ValidationError(_l("This role needs a region."), "region_id")
        if role in FACILITY_ROLES and not data.get("facility_id"):
            raise ValidationError(_l("This role needs a facility."), "facility_id")


class UserCreateSchema(_UserFields):
    username = fields.String(required=True, validate=USERNAME)
    password = fields.String(required=True, validate=check_password_strength)


class UserUpdateSchema(_UserFields):
    active = fields.Boolean(load_default=True)
    new_password = fields.String(allow_none=True, validate=check_password_strength)


class UserQuery(PageArgs):
    q = fields.String(validate=validate.Length(max=80))
    role = choice(Role)


class TokenCreateSchema(InputSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=80))
    expires_in_days = fields.Integer(
        load_default=90,
        validate=validate.Range(min=1, max=365, error=_l("Between 1 and 365 days.")),
    )

    @validates("name")
    def _name_printable(self, value, **kwargs):
        if not value.isprintable():
            raise ValidationError(_l("Use printable characters only."))


class UserOut(Schema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()
    role = fields.String()
    region_id = fields.Integer(allow_none=True)
    facility_id = fields.Integer(allow_none=True)
    active = fields.Boolean()


class TokenOut(Schema):
    id = fields.Integer()
    name = fields.String()
    hint = fields.String()
    created_at = fields.DateTime()
    expires_at = fields.DateTime(allow_none=True)
    last_used_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)


class TokenCreatedOut(TokenOut):
    token = fields.String(metadata={"description": "The secret; shown once, never again."})
