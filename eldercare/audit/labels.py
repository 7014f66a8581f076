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
    "room.created": _l("Room added"),
    "bed.created": _l("Bed added"),
    "bed.updated": _l("Bed changed"),
    "bed.imported": _l("Beds imported"),
    "bed.reserved": _l("Bed reserved"),
    "bed.reservation_released": _l("Reservation released"),
    "bed.reservation_expired": _l("Reservation expired"),
    "bed.out_of_service": _l("Bed taken out of service"),
    "bed.back_in_service": _l("Bed back in service"),
    "stay.admitted": _l("Resident admitted"),
    "stay.discharged": _l("Resident discharged"),
    "stay.transferred": _l("Resident moved to another bed"),
    "stay.leave_started": _l("Leave of absence began"),
    "stay.leave_ended": _l("Leave of absence ended"),
}

ENTITY_LABELS = {
    "User": _l("User"),
    "ApiToken": _l("API token"),
    "Person": _l("Elderly person"),
    "Facility": _l("Facility"),
    "FamilyLink": _l("Family link"),
    "Region": _l("Region"),
    "Room": _l("Room"),
    "Bed": _l("Bed"),
    "Stay": _l("Stay"),
}

FIELD_LABELS = {
    "username": _l("User name"),
    "display_name": _l("Name"),
    "name": _l("Name"),
    "email": _l("E-mail"),
    "phone": _l("Phone"),
    "role": _l("Role"),
    "region_id": _l("Area"),
    "facility_id": _l("Facility"),
    "active": _l("Active"),
    "password": _l("Password"),
    "id_number": _l("ID number"),
    "address": _l("Address"),
    "hukou_type": _l("Household registration"),
    "hukou_address": _l("Registered address"),
    "lives_alone": _l("Living alone"),
    "empty_nest": _l("Empty nest"),
    "left_behind": _l("Left behind"),
    "special_family": _l("Family-planning special family"),
    "economic_status": _l("Economic status"),
    "death_date": _l("Date of death"),
    "ability_level": _l("Ability level"),
    "assessed_on": _l("Date"),
    "status": _l("Status"),
    "kind": _l("Kind"),
    "ownership": _l("Ownership"),
    "latitude": _l("Latitude"),
    "longitude": _l("Longitude"),
    "licence_no": _l("Licence or filing number"),
    "contact_name": _l("Contact person"),
    "contact_phone": _l("Contact phone"),
    "description": _l("Description"),
    "created": _l("Created"),
    "updated": _l("Updated"),
    "file": _l("File"),
    "people": _l("People"),
}


def value_labels() -> dict[str, object]:
    """Stored codes (roles, statuses, kinds...) to their readable names."""
    from eldercare.core.permissions import ROLE_LABELS
    from eldercare.facilities.models import KIND_LABELS, OWNERSHIP_LABELS
    from eldercare.people.models import (
        ABILITY_LABELS,
        ECONOMIC_LABELS,
        HUKOU_LABELS,
        LINK_LABELS,
    )

    merged: dict[str, object] = {}
    for labels in (
        ROLE_LABELS,
        KIND_LABELS,
        OWNERSHIP_LABELS,
        ABILITY_LABELS,
        ECONOMIC_LABELS,
        HUKOU_LABELS,
        LINK_LABELS,
    ):
        merged.update({str(key.value): label for key, label in labels.items()})
    return merged
