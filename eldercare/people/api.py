"""API: the elderly registry within the caller's scope."""

from __future__ import annotations

from flask_login import current_user

from eldercare.core.api import api_blueprint, api_roles, document_errors, paged
from eldercare.core.errors import AppError
from eldercare.core.permissions import Role, get_visible_or_404, is_visible
from eldercare.core.transaction import transactional
from eldercare.people import operations as ops
from eldercare.people.models import Person
from eldercare.people.permissions import registration_limit, reveal_limit
from eldercare.people.schemas import (
    AssessmentOut,
    AssessmentSchema,
    LookupSchema,
    PersonFamilyOut,
    PersonListOut,
    PersonOut,
    PersonQuery,
    PersonSchema,
    PersonUpdateSchema,
    RevealedId,
)

blp = api_blueprint("people", "Registry of elderly people (ID numbers masked)")
STAFF = (Role.ADMIN, Role.COUNTY_STAFF, Role.TOWNSHIP_STAFF)


@blp.route("/")
@api_roles(*STAFF)
@document_errors(blp, 401, 403, 422)
@blp.arguments(PersonQuery, location="query")
@blp.response(200, PersonListOut(many=True))
def list_people(args):
    """People in the caller's area, paged with page/per_page."""
    return paged(ops.search_people(current_user, args), args)


@blp.route("/", methods=["POST"])
@api_roles(*STAFF)
@registration_limit
@document_errors(blp, 401, 403, 409, 422)
@blp.arguments(PersonSchema)
@blp.response(201, PersonOut)
@transactional
def register_person(data):
    """Register a person; 409 if the ID number is already registered."""
    person = ops.register_person(data, current_user)
    return person


@blp.route("/lookup", methods=["POST"])
@api_roles(*STAFF)
@document_errors(blp, 401, 403, 404, 422)
@blp.arguments(LookupSchema)
@blp.response(200, PersonOut)
def lookup(data):
    """Find a person in the caller's area by full ID number."""
    person = ops.find_by_id_number(data["id_number"])
    if person is None or not is_visible(person, current_user):
        raise AppError(404)
    return person


@blp.route("/relatives")
@api_roles(Role.FAMILY)
@document_errors(blp, 401, 403)
@blp.response(200, PersonFamilyOut(many=True))
def my_relatives():
    """A family member's verified relatives (no ID numbers, no economic or health data)."""
    return ops.relatives_of(current_user)


@blp.route("/<int:person_id>")
@api_roles(*STAFF)
@document_errors(blp, 401, 403, 404)
@blp.response(200, PersonOut)
def get_person(person_id: int):
    """One person."""
    return get_visible_or_404(Person, person_id)


@blp.route("/<int:person_id>", methods=["PUT"])
@api_roles(*STAFF)
@document_errors(blp, 401, 403, 404, 409, 422)
@blp.arguments(PersonUpdateSchema())
@blp.response(200, PersonOut)
@transactional
def update_person(data, person_id: int):
    """Correct a person's entry (an ID number given replaces the stored one)."""
    person = get_visible_or_404(Person, person_id)
    ops.update_person(person, data, current_user)
    return person


@blp.route("/<int:person_id>/reveal-id", methods=["POST"])
@api_roles(*STAFF)
@reveal_limit
@document_errors(blp, 401, 403, 404, 429)
@blp.response(200, RevealedId)
@transactional
def reveal_id(person_id: int):
    """The full ID number; every call is written to the audit log."""
    person = get_visible_or_404(Person, person_id)
    number = ops.reveal_id_number(person, current_user)
    return {"id_number": number}


@blp.route("/<int:person_id>/assessments")
@api_roles(*STAFF)
@document_errors(blp, 401, 403, 404)
@blp.response(200, AssessmentOut(many=True))
def list_assessments(person_id: int):
    """A person's ability assessments, newest first."""
    return get_visible_or_404(Person, person_id).assessments


@blp.route("/<int:person_id>/assessments", methods=["POST"])
@api_roles(*STAFF)
@document_errors(blp, 401, 403, 404, 422)
@blp.arguments(AssessmentSchema)
@blp.response(201, AssessmentOut)
@transactional
def add_assessment(data, person_id: int):
    """Record a GB/T 42195 ability assessment."""
    person = get_visible_or_404(Person, person_id)
    assessment = ops.add_assessment(person, data, current_user)
    return assessment
