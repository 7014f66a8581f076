"""Accounts: the demo's users bound to the city as in the demo, two officers per county (a
batch's maker and its approver), one officer per township and one operator per facility.
Every account has the demo password (hashed once)."""

from __future__ import annotations

from eldercare.auth.models import User
from eldercare.auth.passwords import hash_password
from eldercare.devtools.demo.data import DEMO_PASSWORD, SURNAMES
from eldercare.devtools.demo.data import USERS as DEMO_USERS
from eldercare.devtools.scale.base import Build
from eldercare.devtools.scale.people import COUNTY_WEIGHTS

USER_COLUMNS = (
    "id",
    "username",
    "display_name",
    "email",
    "phone",
    "password_hash",
    "role",
    "region_id",
    "facility_id",
    "active",
    "failed_logins",
    "created_at",
    "updated_at",
)


class Accounts:
    """Collects account rows (ids handed out as they are added), written at once."""

    def __init__(self, build: Build, expected: int) -> None:
        self.build = build
        self.first = build.loader.ids(User.__table__, expected)
        self.rows: list[tuple] = []
        self.password_hash = build.password_hash

    def add(
        self,
        username: str,
        display_name: str,
        role: str,
        region_code: str | None = None,
        facility_id: int | None = None,
        phone: str | None = None,
    ) -> int:
        user_id = self.first + len(self.rows)
        region_id = self.build.regions[region_code].id if region_code else None
        self.rows.append(
            (
                user_id,
                username,
                display_name,
                f"{username}@demo.eldercare.local",
                phone,
                self.password_hash,
                role,
                region_id,
                facility_id,
                True,
                0,
                self.build.now,
                self.build.now,
            )
        )
        self.build.users[username] = user_id
        return user_id

    def write(self) -> None:
        self.build.count(
            "user_account", self.build.loader.write(User.__table__, USER_COLUMNS, self.rows)
        )


def load_users(build: Build) -> None:
    rng = build.rng("users")
    build.password_hash = hash_password(DEMO_PASSWORD)
    regions = build.regions
    townships = sorted(
        code for code, r in regions.items() if r.level == "township" and code[:6] in COUNTY_WEIGHTS
    )
    accounts = Accounts(
        build, len(DEMO_USERS) + 2 * len(COUNTY_WEIGHTS) + len(townships) + len(build.facilities)
    )
    for username, display, role, scope in DEMO_USERS:
        if scope in build.demo_facilities:
            accounts.add(username, display, role, facility_id=build.demo_facilities[scope])
        else:
            accounts.add(username, display, role, region_code=scope)
    users = build.users
    # Two officers per county: one draws up a batch, the other approves it.
    for county in COUNTY_WEIGHTS:
        name = regions[county + "000000"].name
        code = county + "000000"
        officers = [
            u for u, _, role, scope in DEMO_USERS if role == "county_staff" and scope == code
        ]
        ids = [users[u] for u in officers]
        n = 1
        while len(ids) < 2:
            ids.append(
                accounts.add(
                    f"county-{county}-{n}",
                    f"{name}民政局 {rng.choice(SURNAMES)}科员",
                    "county_staff",
                    region_code=code,
                )
            )
            n += 1
        build.county_staff[county] = (ids[0], ids[1])
    for code in townships:
        if code == "610302006000":
            build.township_staff[code[:9]] = users["township"]
            continue
        build.township_staff[code[:9]] = accounts.add(
            f"township-{code[:9]}",
            f"{regions[code].name}民政办 {rng.choice(SURNAMES)}干事",
            "township_staff",
            region_code=code,
        )
    for facility in build.facilities:
        own = [
            u
            for u, _, role, scope in DEMO_USERS
            if role == "operator" and build.demo_facilities.get(scope) == facility["id"]
        ]
        if own:
            build.operators[facility["id"]] = users[own[0]]
            continue
        build.operators[facility["id"]] = accounts.add(
            f"operator-{facility['id']}",
            f"{facility['name']} {rng.choice(SURNAMES)}主任",
            "operator",
            facility_id=facility["id"],
        )
    accounts.write()
