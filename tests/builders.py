"""Builders with sensible defaults, and a small two-county world for scope tests."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from datetime import date

import pytest

from eldercare.auth.models import User
from eldercare.auth.passwords import hash_password
from eldercare.auth.sessions import start as start_session
from eldercare.beds.models import RISKS, Bed, Room
from eldercare.beds.operations import new_bed_code
from eldercare.core import resident_id
from eldercare.extensions import db
from eldercare.facilities.models import Facility
from eldercare.people.models import FamilyLink, LinkStatus, Person, id_number_index
from eldercare.regions.models import Region, level_of_code, parent_code_of

PASSWORD = "Test-password-2026"
_counter = itertools.count(1)


def build_region(code: str, name: str | None = None) -> Region:
    existing = db.session.scalar(db.select(Region).where(Region.code == code))
    if existing is not None:
        return existing
    parent_code = parent_code_of(code)
    parent = build_region(parent_code) if parent_code else None
    region = Region(
        code=code, name=name or f"区域{code}", level=level_of_code(code).value, parent=parent
    )
    db.session.add(region)
    db.session.flush()
    return region


def build_facility(region: Region, **kw) -> Facility:
    n = next(_counter)
    facility = Facility(
        name=kw.pop("name", f"测试养老院{n}"),
        kind=kw.pop("kind", "nursing_home"),
        ownership=kw.pop("ownership", "public"),
        region_id=region.id,
        **kw,
    )
    db.session.add(facility)
    db.session.flush()
    return facility


def build_user(
    role: str, region: Region | None = None, facility: Facility | None = None, **kw
) -> User:
    n = next(_counter)
    user = User(
        username=kw.pop("username", f"{role}{n}"),
        display_name=kw.pop("display_name", f"用户{n}"),
        role=role,
        region_id=region.id if region else None,
        facility_id=facility.id if facility else None,
        password_hash=hash_password(kw.pop("password", PASSWORD)),
        **kw,
    )
    db.session.add(user)
    db.session.flush()
    return user


def new_id_number(
    area: str = "610302", born: date | None = None, sex: str = "F", rng: random.Random | None = None
) -> str:
    rng = rng or random.Random(next(_counter))
    born = born or date(1950, 3, 15)
    while True:
        number = resident_id.synthesise(area, born, sex, rng)
        if (
            db.session.scalar(
                db.select(Person.id).where(Person.id_number_index == id_number_index(number))
            )
            is None
        ):
            return number


def build_person(region: Region, **kw) -> Person:
    number = kw.pop("id_number", None) or new_id_number(
        born=kw.pop("born", None), sex=kw.pop("sex", "F")
    )
    person = Person(name=kw.pop("name", f"老人{next(_counter)}"), region_id=region.id, **kw)
    person.set_id_number(number)
    db.session.add(person)
    db.session.flush()
    return person


@dataclass
class World:
    """County A (in scope for the users) and county B (out of scope), each with a township,
    a village, a facility and a person; one user of every role bound inside county A (the
    external assessor is appointed to nothing: the ratings tests appoint it where needed).
    With ``second_township``, county A also has a township ``*_a2`` beside the township
    staff's own."""

    county_a: Region
    township_a: Region
    village_a: Region
    county_b: Region
    township_b: Region
    village_b: Region
    facility_a: Facility
    facility_b: Facility
    person_a: Person
    person_b: Person
    users: dict[str, User]
    township_a2: Region | None = None
    village_a2: Region | None = None
    facility_a2: Facility | None = None
    person_a2: Person | None = None

    def user(self, role: str) -> User:
        return self.users[role]


def build_world(second_township: bool = False) -> World:
    county_a = build_region("610302000000", "渭滨区")
    township_a = build_region("610302006000", "马营镇")
    village_a = build_region("610302006201", "马营东村")
    county_b = build_region("610304000000", "陈仓区")
    township_b = build_region("610304004000", "阳平镇")
    village_b = build_region("610304004201", "阳平东村")
    facility_a = build_facility(township_a, name="马营镇敬老院", kind="township_home")
    facility_b = build_facility(township_b, name="阳平养老院")
    person_a = build_person(village_a, name="张秀英")
    person_b = build_person(village_b, name="李桂兰")
    users = {
        "admin": build_user("admin", username="w_admin"),
        "county_staff": build_user("county_staff", county_a, username="w_county"),
        "township_staff": build_user("township_staff", township_a, username="w_township"),
        "visitor": build_user("visitor", village_a, username="w_visitor"),
        "operator": build_user("operator", facility=facility_a, username="w_operator"),
        "family": build_user("family", username="w_family"),
        "assessor": build_user("assessor", county_a, username="w_assessor"),
    }
    db.session.add(
        FamilyLink(
            user_id=users["family"].id,
            person_id=person_a.id,
            relation="child",
            status=LinkStatus.VERIFIED.value,
        )
    )
    db.session.flush()
    township_a2 = village_a2 = facility_a2 = person_a2 = None
    if second_township:
        township_a2 = build_region("610302001000", "经二路街道")
        village_a2 = build_region("610302001001", "东风社区")
        facility_a2 = build_facility(township_a2, name="经二路日间照料中心", kind="day_care")
        person_a2 = build_person(village_a2, name="赵桂英")
    return World(
        county_a,
        township_a,
        village_a,
        county_b,
        township_b,
        village_b,
        facility_a,
        facility_b,
        person_a,
        person_b,
        users,
        township_a2,
        village_a2,
        facility_a2,
        person_a2,
    )


@pytest.fixture
def world(app) -> World:
    return build_world()


@pytest.fixture
def wide_world(app) -> World:
    """The world with a second township in county A (scope boundaries inside a county)."""
    return build_world(second_township=True)


@pytest.fixture
def make_region(app):
    return build_region


@pytest.fixture
def make_facility(app):
    return build_facility


@pytest.fixture
def make_user(app):
    return build_user


@pytest.fixture
def make_person(app):
    return build_person


def build_room(facility: Facility, number: str | None = None, floor: int = 1) -> Room:
    room = Room(facility_id=facility.id, number=number or f"{100 + next(_counter)}", floor=floor)
    db.session.add(room)
    db.session.flush()
    return room


def build_bed(
    room: Room, label: str | None = None, care_type: str = "nursing", price_fen: int = 250000
) -> Bed:
    bed = Bed(
        code=new_bed_code(room.facility_id),
        facility_id=room.facility_id,
        room_id=room.id,
        label=label or str(next(_counter)),
        care_type=care_type,
        monthly_price_fen=price_fen,
    )
    db.session.add(bed)
    db.session.flush()
    return bed


#: A complete GB 38600 admission risk assessment (every risk low).
LOW_RISKS = {key: "low" for key in RISKS}


@pytest.fixture
def make_room(app):
    return build_room


@pytest.fixture
def make_bed(app):
    return build_bed


class Auth:
    """Signs a test client in as a user (the way Flask-Login's session does)."""

    def __init__(self, client):
        self.client = client

    def login_as(self, user: User | None):
        with self.client.session_transaction() as session:
            session.clear()
            if user is not None:
                session["_user_id"] = start_session(user)
                session["_fresh"] = True
        return user

    def logout(self):
        return self.login_as(None)


@pytest.fixture
def auth(client) -> Auth:
    return Auth(client)
