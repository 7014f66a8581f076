"""Facilities of every kind in plausible shares (the demo's own facilities first), and the
homes' rooms and beds: about 55% nursing-type, about 65% occupied by living people of the
county, with earlier stays, leaves, reservations and beds out of service."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

from eldercare.beds.models import RISKS, Bed, Leave, Outage, Reservation, Room, Stay
from eldercare.core import resident_id
from eldercare.core.crypto import encrypt
from eldercare.devtools.demo.data import FACILITIES as DEMO_FACILITIES
from eldercare.devtools.demo.data import GIVEN_F, GIVEN_M, SURNAMES
from eldercare.devtools.scale.base import Build, apportion
from eldercare.devtools.scale.people import COUNTY_WEIGHTS
from eldercare.facilities.models import Facility

#: Share of each kind among a city's facilities (percent), in the order quotas are filled.
KIND_SHARES = [
    ("nursing_home", 20),
    ("day_care", 25),
    ("township_home", 20),
    ("happiness_home", 20),
    ("community_station", 10),
    ("home_care_provider", 5),
]
HOMES = ("nursing_home", "township_home")
BRANDS = (
    "福康 颐养 康乐 安康 福寿 松鹤 夕阳红 康宁 颐和 仁和 永安 长青 乐康 祥和 泰康 安泰 慈恩 孝和"
)
BRANDS = BRANDS.split()
HOME_SUFFIXES = ["养老院", "养老中心", "护理院", "颐养院", "老年公寓"]
#: Where each county's facilities are, roughly (latitude, longitude).
CENTRES = {
    "610302": (34.36, 107.15),
    "610303": (34.38, 107.14),
    "610304": (34.35, 107.37),
    "610305": (34.52, 107.40),
    "610323": (34.44, 107.62),
    "610324": (34.38, 107.90),
    "610326": (34.27, 107.75),
    "610327": (34.89, 106.86),
    "610328": (34.64, 107.13),
    "610329": (34.68, 107.79),
    "610330": (33.91, 106.52),
    "610331": (34.06, 107.32),
}
FACILITY_COLUMNS = (
    "id",
    "name",
    "kind",
    "ownership",
    "region_id",
    "address",
    "latitude",
    "longitude",
    "licence_no",
    "contact_name",
    "contact_phone",
    "description",
    "active",
    "created_at",
    "updated_at",
)
ROOM_COLUMNS = ("id", "facility_id", "building", "floor", "number", "created_at", "updated_at")
BED_COLUMNS = (
    "id",
    "code",
    "facility_id",
    "room_id",
    "label",
    "care_type",
    "monthly_price_fen",
    "status",
    "created_at",
    "updated_at",
)
STAY_COLUMNS = (
    "id",
    "bed_id",
    "facility_id",
    "person_id",
    "admitted_on",
    "discharged_on",
    "discharge_reason",
    "risk_assessment",
    "note",
    "created_at",
    "updated_at",
)


def quotas(total: int) -> dict[str, int]:
    """How many facilities of each kind make ``total`` (each kind at least one when there
    is room for all)."""
    exact = {kind: total * share / 100 for kind, share in KIND_SHARES}
    out = {kind: int(value) for kind, value in exact.items()}
    if total >= len(KIND_SHARES):
        out = {kind: max(n, 1) for kind, n in out.items()}
    by_remainder = sorted(KIND_SHARES, key=lambda ks: -(exact[ks[0]] - int(exact[ks[0]])))
    i = 0
    while sum(out.values()) < total:
        out[by_remainder[i % len(by_remainder)][0]] += 1
        i += 1
    while sum(out.values()) > total:
        kind = max(out, key=lambda k: out[k])
        out[kind] -= 1
    return out


def load_facilities(build: Build) -> None:
    rng = build.rng("facilities")
    regions = build.regions
    left = quotas(build.scale.facilities)
    chosen: list[tuple] = []  # (demo key, name, kind, ownership, region code, address)
    for key, name, kind, ownership, code, address in DEMO_FACILITIES:
        if left[kind] > 0:
            chosen.append((key, name, kind, ownership, code, address))
            left[kind] -= 1
    names = {c[1] for c in chosen}
    townships = sorted(
        (r for r in regions.values() if r.level == "township" and r.code[:6] in COUNTY_WEIGHTS),
        key=lambda r: r.code,
    )
    rural_townships = [t for t in townships if not t.name.endswith("街道")]
    taken = {c[4] for c in chosen}  # one happiness home or station per village at most
    villages = [v for v in build.villages if not v.urban and v.code not in taken]
    communities = [v for v in build.villages if v.urban and v.code not in taken]
    township_weights = [
        COUNTY_WEIGHTS[t.code[:6]] * (3 if t in rural_townships else 4) for t in townships
    ]

    def unique(name: str, place: str) -> str:
        if name in names:
            name = place + name
        n = 2
        base = name
        while name in names:
            name = f"{base}（{n}）"
            n += 1
        names.add(name)
        return name

    def county_name(code: str) -> str:
        return regions[code[:6] + "000000"].name

    rng.shuffle(rural_townships)
    rng.shuffle(villages)
    rng.shuffle(communities)
    for kind, _ in KIND_SHARES:
        for n in range(left[kind]):
            if kind == "township_home":
                town = rural_townships[n % len(rural_townships)]
                suffix = "敬老院" if n < len(rural_townships) else "中心敬老院"
                name = unique(town.name + suffix, county_name(town.code))
                row = (name, "public", town.code, town.name + "政府旁")
            elif kind == "nursing_home":
                town = rng.choices(townships, township_weights)[0]
                name = county_name(town.code) + rng.choice(BRANDS) + rng.choice(HOME_SUFFIXES)
                ownership = rng.choices(
                    ["public", "private", "public_built_private_run"], [3, 6, 1]
                )[0]
                row = (unique(name, town.name), ownership, town.code, f"{town.name}{n + 1}号")
            elif kind == "day_care":
                town = rng.choices(townships, township_weights)[0]
                ownership = rng.choice(["public", "public_built_private_run"])
                name = unique(town.name + "日间照料中心", county_name(town.code))
                row = (name, ownership, town.code, town.name)
            elif kind == "happiness_home":
                village = villages[n % len(villages)]
                row = (
                    unique(village.name + "农村幸福院", ""),
                    "public",
                    village.code,
                    village.name,
                )
            elif kind == "community_station":
                village = communities[n % len(communities)]
                row = (
                    unique(village.name + "养老服务站", ""),
                    "public_built_private_run",
                    village.code,
                    village.name + "服务中心",
                )
            else:
                town = rng.choices(townships, township_weights)[0]
                name = "宝鸡" + rng.choice(BRANDS) + "居家养老服务有限公司"
                row = (unique(name, county_name(town.code)), "private", town.code, town.name)
            chosen.append((None, row[0], kind, row[1], row[2], row[3]))

    first = build.loader.ids(Facility.__table__, len(chosen))
    rows = []
    for n, (key, name, kind, ownership, code, address) in enumerate(chosen):
        facility_id = first + n
        latitude, longitude = CENTRES[code[:6]]
        opened = build.now - timedelta(days=rng.randrange(2 * 365, 12 * 365))
        rows.append(
            (
                facility_id,
                name,
                kind,
                ownership,
                regions[code].id,
                address,
                Decimal(str(round(latitude + rng.uniform(-0.08, 0.08), 6))),
                Decimal(str(round(longitude + rng.uniform(-0.08, 0.08), 6))),
                f"{code[:6]}{opened.year}{facility_id:05d}",
                "值班室",
                f"0917-{rng.randrange(2000000, 9999999)}",
                "",
                True,
                opened,
                opened,
            )
        )
        build.facilities.append(
            {
                "id": facility_id,
                "name": name,
                "kind": kind,
                "code": code,
                "county": code[:6],
                "township": code[:9],
                "opened": opened,
            }
        )
        if key:
            build.demo_facilities[key] = facility_id
    build.count("facility", build.loader.write(Facility.__table__, FACILITY_COLUMNS, rows))


def _bed_counts(build: Build, homes: list[dict], rng) -> list[int]:
    """``scale.beds`` beds over the homes: township homes small, nursing homes of any size."""
    weights = [
        rng.uniform(0.4, 0.8) if h["kind"] == "township_home" else rng.uniform(0.6, 2.6)
        for h in homes
    ]
    return apportion(build.scale.beds, weights)


def _resident_pools(build: Build, rng) -> dict[str, list[int]]:
    """Living people of each county in a random order, the older more likely to be in a
    home (the rest wait behind them for earlier stays)."""
    people = build.people
    villages = build.villages
    today = build.today
    first, later = {}, {}
    for index in range(len(people)):
        if index in people.death:
            continue
        county = villages[people.village[index]].county_code
        age = resident_id.age_on(people.birth[index], today)
        keen = 1.0 if age >= 80 else 0.45 if age >= 70 else 0.15
        (first if rng.random() < keen else later).setdefault(county, []).append(index)
    pools = {}
    for county in sorted(set(first) | set(later)):
        front, back = first.get(county, []), later.get(county, [])
        rng.shuffle(front)
        rng.shuffle(back)
        pools[county] = back + front  # popped from the end
    return pools


def _risks(levels: dict[str, str]) -> str:
    return encrypt(json.dumps({key: levels.get(key, "low") for key in RISKS}, ensure_ascii=False))


def load_beds(build: Build) -> None:
    rng = build.rng("beds")
    loader, today, now = build.loader, build.today, build.now
    people = build.people
    homes = [f for f in build.facilities if f["kind"] in HOMES]
    if not homes:
        return
    counts = _bed_counts(build, homes, rng)
    pools = _resident_pools(build, rng)
    # The admission risk assessment is encrypted like the model does; a few typical ones
    # are encrypted once and shared.
    risk_texts = [
        _risks({}),
        _risks({"fall": "medium"}),
        _risks({"fall": "high", "fall_from_bed": "medium"}),
        _risks({"pressure_ulcer": "high", "choking": "medium", "fall_from_bed": "high"}),
        _risks({"wandering": "high", "wrong_intake": "medium"}),
    ]
    rooms, beds, stays, leaves, reservations, outages = [], [], [], [], [], []
    room_id = loader.ids(Room.__table__, sum(counts))  # at most one room per bed
    bed_id = loader.ids(Bed.__table__, sum(counts))
    codes: set[str] = set()

    def pool_for(county: str) -> list[int]:
        own = pools.get(county)
        if own:
            return own
        return max(pools.values(), key=len)

    for home, count in zip(homes, counts, strict=True):
        fid = home["id"]
        opened = home["opened"]
        pool = pool_for(home["county"])
        nursing_share = 0.6 if home["kind"] == "nursing_home" else 0.4
        per_floor = rng.randint(10, 20)
        made = 0
        room_n = 0
        home_beds = []
        while made < count:
            size = min(rng.choices([1, 2, 3, 4], [10, 50, 30, 10])[0], count - made)
            floor = room_n // per_floor + 1
            building = ""
            if count > 6 * per_floor * 2:  # big homes have several buildings of six floors
                building = f"{(floor - 1) // 6 + 1}号楼"
                floor = (floor - 1) % 6 + 1
            number = f"{floor}{room_n % per_floor + 1:02d}"
            rooms.append((room_id, fid, building, floor, number, opened, opened))
            for label in range(1, size + 1):
                code = f"{fid:05d}-{rng.getrandbits(40):010X}"
                while code in codes:  # drawn again on the (rare) repeat
                    code = f"{fid:05d}-{rng.getrandbits(40):010X}"
                codes.add(code)
                r = rng.random()
                care = "nursing" if r < nursing_share else "dementia" if r > 0.92 else "general"
                price = rng.randrange(1800, 4501, 100) * 100
                if care != "general":
                    price = max(price, 2600_00)
                home_beds.append([bed_id, code, fid, room_id, str(label), care, price, "vacant"])
                bed_id += 1
            made += size
            room_n += 1
            room_id += 1
        share = rng.uniform(0.5, 0.8)
        for bed in home_beds:
            earliest_end = today - timedelta(days=rng.randint(25, 90))
            if pool and rng.random() < share:
                person = pool.pop()
                sixtieth = resident_id.years_before(people.birth[person], -60)
                earliest = max(opened.date(), sixtieth)
                span = max((today - earliest).days, 1)
                admitted = earliest + timedelta(days=rng.randrange(span))
                stays.append(
                    [
                        bed[0],
                        fid,
                        person,
                        admitted,
                        None,
                        None,
                        rng.choice(risk_texts),
                        "",
                        build.at(admitted, 10),
                    ]
                )
                build.residents[person] = fid
                bed[7] = "occupied"
                if rng.random() < 0.01 and admitted < today - timedelta(days=10):
                    start = today - timedelta(days=rng.randint(1, 10))
                    leaves.append((len(stays) - 1, start, rng.choice(["住院治疗", "回家探亲"])))
                    bed[7] = "held"
                earliest_end = admitted - timedelta(days=rng.randint(3, 30))
            # Up to two earlier residents, who have left the bed.
            end = earliest_end
            for _ in range(rng.choice([0, 0, 1, 1, 2])):
                if not pool:
                    break
                start = end - timedelta(days=rng.randint(30, 400))
                person = pool[-1]
                if start < max(opened.date(), resident_id.years_before(people.birth[person], -60)):
                    break
                pool.pop()
                stays.append(
                    [
                        bed[0],
                        fid,
                        person,
                        start,
                        end,
                        rng.choice(["home", "hospital", "transfer_out"]),
                        rng.choice(risk_texts),
                        "",
                        build.at(start, 10),
                    ]
                )
                end = start - timedelta(days=rng.randint(5, 40))
            if bed[7] == "vacant":
                r = rng.random()
                if r < 0.06:
                    holder = rng.choice(SURNAMES) + rng.choice(GIVEN_M + GIVEN_F)
                    expires = now + timedelta(days=rng.randint(1, 14), hours=rng.randint(0, 23))
                    reservations.append((bed[0], fid, holder, expires))
                    bed[7] = "reserved"
                elif r < 0.1:
                    start = today - timedelta(days=rng.randint(1, 30))
                    reason = rng.choice(["设施维修", "消毒隔离", "更换护理床"])
                    outages.append((bed[0], reason, start))
                    bed[7] = "out_of_service"
        beds.extend((*b, opened, opened) for b in home_beds)

    build.count("room", loader.write(Room.__table__, ROOM_COLUMNS, rooms))
    build.count("bed", loader.write(Bed.__table__, BED_COLUMNS, beds))
    first_stay = loader.ids(Stay.__table__, len(stays))
    build.count(
        "stay",
        loader.write(
            Stay.__table__,
            STAY_COLUMNS,
            (
                (first_stay + n, s[0], s[1], people.id_of(s[2]), *s[3:8], s[8], s[8])
                for n, s in enumerate(stays)
            ),
        ),
    )
    first_leave = loader.ids(Leave.__table__, len(leaves))
    build.count(
        "stay_leave",
        loader.write(
            Leave.__table__,
            ("id", "stay_id", "start_on", "reason", "created_at", "updated_at"),
            (
                (
                    first_leave + n,
                    first_stay + i,
                    start,
                    reason,
                    build.at(start, 9),
                    build.at(start, 9),
                )
                for n, (i, start, reason) in enumerate(leaves)
            ),
        ),
    )
    first_reservation = loader.ids(Reservation.__table__, len(reservations))
    build.count(
        "bed_reservation",
        loader.write(
            Reservation.__table__,
            (
                "id",
                "bed_id",
                "facility_id",
                "holder_name",
                "expires_at",
                "created_at",
                "updated_at",
            ),
            (
                (first_reservation + n, bed, fid, holder, expires, now - timedelta(days=1), now)
                for n, (bed, fid, holder, expires) in enumerate(reservations)
            ),
        ),
    )
    first_outage = loader.ids(Outage.__table__, len(outages))
    build.count(
        "bed_outage",
        loader.write(
            Outage.__table__,
            ("id", "bed_id", "reason", "start_on", "created_at", "updated_at"),
            (
                (first_outage + n, bed, reason, start, build.at(start, 9), build.at(start, 9))
                for n, (bed, reason, start) in enumerate(outages)
            ),
        ),
    )
