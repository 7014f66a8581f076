"""Readable names for audit actions and record types (each feature adds its own here)."""

from flask_babel import lazy_gettext as _l

ACTION_LABELS = {
    "auth.login": _l("Signed in"),
    "auth.locked": _l("Account locked after failed sign-ins"),
    "auth.password_changed": _l("Password changed"),
    "user.created": _l("User created"),
    "user.updated": _l("User changed"),
    "user.unlocked": _l("User unlocked"),
    "token.created": _l("API token created"),
    "token.revoked": _l("API token revoked"),
    "regions.imported": _l("Regions imported"),
    "facility.created": _l("Facility registered"),
    "facility.updated": _l("Facility changed"),
    "person.registered": _l("Person registered"),
    "person.updated": _l("Person changed"),
    "person.id_revealed": _l("Full ID number viewed"),
    "person.duplicate_refused": _l("Registration refused: ID number already registered"),
    "person.assessed": _l("Ability assessment recorded"),
    "person.exported": _l("Registry exported"),
    "person.roster_imported": _l("Roster imported"),
    "family_link.requested": _l("Family link requested"),
    "family_link.decided": _l("Family link decided"),
    "family_link.created": _l("Family link created"),
}

ENTITY_LABELS = {
    "User": _l("User"),
    "ApiToken": _l("API token"),
    "Person": _l("Elderly person"),
    "Facility": _l("Facility"),
    "FamilyLink": _l("Family link"),
    "Region": _l("Region"),
}
