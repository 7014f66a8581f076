"""Bookings: services at the homes (visits, admission applications), the day-care centers
(trial days, meals) and the home-care providers (cleaning, bathing, escort); family accounts
verified for a relative; three months of past bookings and two weeks ahead. A slot's
``booked`` is the number of its bookings holding a place."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from eldercare.bookings.models import (
    HOLDING_STATUSES,
    HOME_SERVICES,
    LAPSED_REASON,
    Booking,
    Service,
    Slot,
)
from eldercare.bookings.operations import slot_times
from eldercare.devtools.demo.bookings import SERVICES as DEMO_SERVICES
from eldercare.devtools.demo.data import SURNAMES
from eldercare.devtools.scale.base import Build
from eldercare.devtools.scale.users import Accounts
from eldercare.people.models import FamilyLink

#: The demo's settings of each kind of service.
TEMPLATES = {}
for _name, _fields in DEMO_SERVICES:
    TEMPLATES.setdefault(_fields["kind"], _fields)
PAST_DAYS = 90
PAST_SHARE = 0.75
RESIDENTS_SHARE = 0.4
SERVICE_COLUMNS = (
    "id",
    "facility_id",
    "kind",
    "name",
    "description",
    "price_fen",
    "weekdays",
    "opens_at",
    "closes_at",
    "slot_minutes",
    "capacity",
    "min_notice_hours",
    "max_days_ahead",
    "cancel_hours",
    "auto_confirm",
    "active",
    "created_at",
    "updated_at",
)
BOOKING_COLUMNS = (
    "id",
    "service_id",
    "facility_id",
    "slot_id",
    "person_id",
    "user_id",
    "starts_at",
    "ends_at",
    "status",
    "party_size",
    "note",
    "place",
    "contact_phone",
    "confirmed_at",
    "confirmed_by_id",
    "ended_at",
    "ended_by_id",
    "reason",
    "created_at",
    "updated_at",
)


def _offered(kind: str, rng) -> list[str]:
    """The services a facility of ``kind`` offers for booking."""
    if kind in ("nursing_home", "township_home"):
        return (
            ["visit", "admission"] if kind == "nursing_home" and rng.random() < 0.4 else ["visit"]
        )
    if kind == "day_care":
        return ["trial_day", "meal"] if rng.random() < 0.5 else ["trial_day"]
    if kind == "home_care_provider":
        return ["cleaning", "bathing", "escort"]
    return ["meal"] if rng.random() < 0.3 else []


def _services(build: Build, rng) -> list[dict]:
    loader = build.loader
    services, rows = [], []
    for facility in build.facilities:
        for kind in _offered(facility["kind"], rng):
            fields = dict(TEMPLATES[kind])
            fields["capacity"] = max(1, fields["capacity"] + rng.randint(-1, 2))
            service_id = loader.ids(Service.__table__, 1)
            created = facility["opened"]
            rows.append(
                (
                    service_id,
                    facility["id"],
                    kind,
                    fields["name"],
                    fields.get("description", ""),
                    fields["price_fen"],
                    fields["weekdays"],
                    fields["opens_at"],
                    fields["closes_at"],
                    fields["slot_minutes"],
                    fields["capacity"],
                    fields["min_notice_hours"],
                    fields["max_days_ahead"],
                    fields["cancel_hours"],
                    fields["auto_confirm"],
                    True,
                    created,
                    created,
                )
            )
            services.append(
                {
                    **fields,
                    "id": service_id,
                    "facility": facility,
                    "operator": build.operators[facility["id"]],
                    "shape": SimpleNamespace(**fields),
                }
            )
    build.count("booking_service", loader.write(Service.__table__, SERVICE_COLUMNS, rows))
    return services


def _relatives(build: Build, rng) -> list[tuple[int, int, int, str]]:
    """(family user id, relative's person index, the relative's facility or 0, the user's
    phone); the demo family first, verified for a person of 马营东村 as in the demo."""
    people, villages = build.people, build.villages
    residents = sorted(build.residents)
    at_home = [i for i in range(len(people)) if i not in people.death and i not in build.residents]
    demo_village = next((v.index for v in villages if v.code == "610302006201"), None)
    demo_relative = next((i for i in at_home if people.village[i] == demo_village), at_home[0])
    wanted = build.scale.family_users
    from_homes = rng.sample(residents, min(len(residents), round(wanted * RESIDENTS_SHARE)))
    from_homes_set = set(from_homes)
    others = [i for i in rng.sample(at_home, min(len(at_home), wanted + 1)) if i != demo_relative]
    rest = others[: max(wanted - 1 - len(from_homes), 0)]
    chosen = [demo_relative, *sorted(from_homes_set), *rest]
    accounts = Accounts(build, len(chosen))
    links, out = [], []
    first_link = build.loader.ids(FamilyLink.__table__, len(chosen))
    for n, index in enumerate(chosen):
        phone = ""
        if n == 0 and "family" in build.users:
            user = build.users["family"]
        else:
            female = rng.random() < 0.6
            phone = f"139{n:08d}"
            user = accounts.add(
                f"family-{n:06d}",
                f"家属 {rng.choice(SURNAMES)}{'女士' if female else '先生'}",
                "family",
                phone=phone,
            )
        facility = build.residents.get(index, 0)
        township = villages[people.village[index]].township_code
        decider = build.operators[facility] if facility else build.township_staff[township]
        decided = build.now - timedelta(days=rng.randrange(100, 700))
        links.append(
            (
                first_link + n,
                user,
                people.id_of(index),
                rng.choices(
                    ["child", "spouse", "grandchild", "sibling", "other"], [70, 8, 15, 4, 3]
                )[0],
                "verified",
                decider,
                decided,
                "",
                decided - timedelta(days=2),
                decided,
            )
        )
        out.append((user, index, facility, phone))
    accounts.write()
    build.count(
        "family_link",
        build.loader.write(
            FamilyLink.__table__,
            (
                "id",
                "user_id",
                "person_id",
                "relation",
                "status",
                "decided_by_id",
                "decided_at",
                "decision_note",
                "created_at",
                "updated_at",
            ),
            links,
        ),
    )
    return out


def load_bookings(build: Build) -> None:
    rng = build.rng("bookings")
    loader, today, now = build.loader, build.today, build.now
    people = build.people
    services = _services(build, rng)
    if not services:
        return
    visits_at = {s["facility"]["id"]: s for s in services if s["kind"] == "visit"}
    elsewhere: dict[str, list[dict]] = {}
    for s in services:
        if s["kind"] not in ("visit", "admission"):
            elsewhere.setdefault(s["facility"]["county"], []).append(s)
    admissions = [s for s in services if s["kind"] == "admission"]
    every = [s for s in services if s["kind"] not in ("visit", "admission")] or services
    relatives = _relatives(build, rng)
    # (service id, start) -> [slot id, facility id, end, capacity, places held]
    slots: dict[tuple[int, object], list] = {}
    taken: set[tuple[int, object]] = set()  # (person, day): one booking a day each
    bookings = []
    first_slot = loader.ids(Slot.__table__, 0)
    attempts = 0
    while len(bookings) < build.scale.bookings and attempts < build.scale.bookings * 5:
        attempts += 1
        user, index, facility, phone = rng.choice(relatives)
        county = build.villages[people.village[index]].county_code
        if facility and facility in visits_at and rng.random() < 0.9:
            service = visits_at[facility]
        elif admissions and not facility and rng.random() < 0.05:
            service = rng.choice(admissions)
        else:
            service = rng.choice(elsewhere.get(county) or every)
        past = rng.random() < PAST_SHARE
        if past:
            day = today - timedelta(days=rng.randint(1, PAST_DAYS))
        else:
            day = today + timedelta(days=rng.randint(1, service["max_days_ahead"]))
        if day.weekday() not in service["weekdays"] or (index, day) in taken:
            continue
        starts_at, ends_at = rng.choice(slot_times(service["shape"], day))
        if not past and starts_at < now + timedelta(hours=service["min_notice_hours"]):
            continue
        key = (service["id"], starts_at)
        slot = slots.get(key)
        if slot is None:
            slot = [None, service["facility"]["id"], ends_at, service["capacity"], 0]
        auto = service["auto_confirm"] and service["kind"] != "admission"
        if past:
            status = rng.choices(["completed", "cancelled", "no_show"], [80, 12, 8])[0]
        elif auto:
            status = rng.choices(["confirmed", "cancelled"], [88, 12])[0]
        elif service["kind"] == "admission":
            status = rng.choices(["requested", "cancelled"], [85, 15])[0]
        else:
            status = rng.choices(["requested", "confirmed", "cancelled"], [55, 33, 12])[0]
        if slot[4] >= slot[3]:
            continue  # full: no place to hold, nor to ask for
        if status in HOLDING_STATUSES:
            slot[4] += 1
        if slot[0] is None:
            slot[0] = first_slot + len(slots)
            slots[key] = slot
        taken.add((index, day))
        notice = service["min_notice_hours"]
        latest = min(now - timedelta(hours=1), starts_at - timedelta(hours=notice))
        booked_at = latest - timedelta(hours=rng.randint(0, 24 * 5))
        confirmed_at = confirmed_by = ended_at = ended_by = None
        reason = ""
        operator = service["operator"]
        if status in HOLDING_STATUSES or (status == "cancelled" and (auto or rng.random() < 0.5)):
            answered = booked_at + timedelta(hours=rng.randint(1, 20))
            confirmed_at = booked_at if auto else min(answered, starts_at, now)
            confirmed_by = None if auto else operator
        if status in ("completed", "no_show"):
            ended_at, ended_by = ends_at + timedelta(minutes=rng.randint(5, 90)), operator
        elif status == "cancelled" and past and confirmed_at is None and not auto:
            ended_at, reason = starts_at, LAPSED_REASON  # nobody answered the request in time
        elif status == "cancelled":
            halfway = booked_at + (starts_at - booked_at) / 2
            ended_at = min(max(halfway, confirmed_at or booked_at), now)
            ended_by, reason = user, rng.choice(["家中有事，改期", "老人身体不适", ""])
        at_home = service["kind"] in HOME_SERVICES
        bookings.append(
            (
                service["id"],
                service["facility"]["id"],
                slot[0],
                people.id_of(index),
                user,
                starts_at,
                ends_at,
                status,
                rng.choice([1, 1, 2, 3]) if service["kind"] == "visit" else 1,
                "",
                people.address[index] if at_home else "",
                phone,
                confirmed_at,
                confirmed_by,
                ended_at,
                ended_by,
                reason,
                booked_at,
                ended_at or confirmed_at or booked_at,
            )
        )
    build.count(
        "booking_slot",
        loader.write(
            Slot.__table__,
            ("id", "service_id", "facility_id", "starts_at", "ends_at", "capacity", "booked"),
            (
                (slot_id, service_id, fid, start, end, capacity, booked)
                for (service_id, start), (slot_id, fid, end, capacity, booked) in slots.items()
            ),
        ),
    )
    loader.ids(Slot.__table__, len(slots))
    first = loader.ids(Booking.__table__, len(bookings))
    build.count(
        "booking",
        loader.write(
            Booking.__table__,
            BOOKING_COLUMNS,
            ((first + n, *row) for n, row in enumerate(bookings)),
        ),
    )
