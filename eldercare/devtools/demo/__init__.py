"""Deterministic demo data for 宝鸡市: regions, one user per role, facilities, elderly people."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from eldercare.auth.models import User
from eldercare.auth.passwords import hash_password
from eldercare.beds.models import (
    RISKS,
    Bed,
    BedStatus,
    CareType,
    DischargeReason,
    Outage,
    Reservation,
    RiskLevel,
    Room,
    Stay,
)
from eldercare.beds.operations import clean_risk_assessment
from eldercare.core import resident_id
from eldercare.core.db import local_today, utcnow
from eldercare.extensions import db
from eldercare.facilities.models import Facility, FacilityKind
from eldercare.people.models import (
    AbilityAssessment,
    EconomicStatus,
    FamilyLink,
    LinkStatus,
    Person,
    id_number_index,
)
from eldercare.regions.models import Region

DEMO_PASSWORD = "Eldercare2026"
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
GIVEN_M = [
    "建国",
    "建华",
    "国强",
    "志强",
    "德明",
    "振华",
    "文华",
    "永福",
    "福来",
    "长林",
    "春生",
    "玉林",
    "宝山",
    "有才",
    "满仓",
    "树林",
    "富贵",
    "明亮",
    "秀峰",
    "新民",
    "金山",
    "庆华",
    "桂生",
    "忠义",
]
GIVEN_F = [
    "秀英",
    "桂英",
    "玉兰",
    "秀兰",
    "凤英",
    "淑珍",
    "桂兰",
    "玉珍",
    "秀珍",
    "兰英",
    "素芳",
    "翠花",
    "金花",
    "月娥",
    "彩霞",
    "美兰",
    "春梅",
    "爱莲",
    "巧云",
    "玉梅",
    "冬梅",
    "桂芳",
    "淑英",
    "秀云",
]

USERS = [
    # username, display name, role, region code or facility key
    ("admin", "系统管理员", "admin", None),
    ("county", "渭滨区民政局 王科长", "county_staff", "610302000000"),
    ("county2", "陈仓区民政局 李科长", "county_staff", "610304000000"),
    # A second officer of 渭滨区: subsidy batches are approved by someone other than the maker.
    ("checker", "渭滨区民政局 陈会计", "county_staff", "610302000000"),
    ("township", "马营镇民政办 张干事", "township_staff", "610302006000"),
    ("visitor", "马营东村 赵探访员", "visitor", "610302006201"),
    ("operator", "渭滨区社会福利院 刘院长", "operator", "welfare"),
    ("daycare", "经二路日间照料中心 孙主任", "operator", "jingerlu"),
    ("family", "家属 陈女士", "family", None),
    # A third-party rating assessor of 渭滨区 (the demo has no round to appoint it to yet).
    ("assessor", "宝鸡市养老服务评估中心 郑评估师", "assessor", "610302000000"),
]

FACILITIES = [
    ("welfare", "宝鸡市渭滨区社会福利院", "nursing_home", "public", "610302001000", "经二路12号"),
    (None, "马营镇敬老院", "township_home", "public", "610302006000", "马营镇政府东侧"),
    (None, "渭滨区颐养园养老中心", "nursing_home", "private", "610302002000", "清姜路88号"),
    (
        "jingerlu",
        "经二路街道日间照料中心",
        "day_care",
        "public_built_private_run",
        "610302001000",
        "经二路社区服务楼",
    ),
    (None, "马营东村农村幸福院", "happiness_home", "public", "610302006201", "马营东村村委会旁"),
    (
        None,
        "清姜街道社区养老服务站",
        "community_station",
        "public_built_private_run",
        "610302002000",
        "清姜街道新华社区",
    ),
    (
        None,
        "宝鸡康乐居家养老服务有限公司",
        "home_care_provider",
        "private",
        "610302003000",
        "姜谭路15号",
    ),
    (None, "陈仓区中心敬老院", "township_home", "public", "610304001000", "虢镇街道"),
    (None, "陈仓区福康养老院", "nursing_home", "private", "610304004000", "阳平镇"),
    (None, "金台区社会福利中心", "nursing_home", "public", "610303002000", "西关街道"),
    (None, "凤翔区糜杆桥镇敬老院", "township_home", "public", "610305006000", "糜杆桥镇"),
    (None, "岐山县蔡家坡日间照料中心", "day_care", "public", "610323002000", "蔡家坡镇"),
]

# Where the demo people live: most in 渭滨区, the rest in neighbouring counties.
PEOPLE_COUNTIES = [("610302", 0.55), ("610304", 0.2), ("610303", 0.15), ("610305", 0.1)]


def _age_weighted(rng: random.Random) -> int:
    """Ages 60-104 following a declining pyramid (many in their 60s, few centenarians)."""
    while True:
        age = 60 + int(rng.expovariate(1 / 11))
        if age <= 104:
            return age


def load_demo(people: int = 2000, seed: int = 2026) -> str:
    from eldercare.commands import BAOJI_CSV
    from eldercare.regions.operations import import_regions_csv

    if db.session.scalar(sa.select(User.id).where(User.username == "admin")) is not None:
        return "demo data already present; nothing done"
    rng = random.Random(seed)
    if db.session.scalar(sa.select(sa.func.count()).select_from(Region)) == 0:
        with open(BAOJI_CSV, encoding="utf-8") as handle:
            import_regions_csv(handle.read())
    regions = {r.code: r for r in db.session.scalars(sa.select(Region))}

    facilities = {}
    for i, (key, name, kind, ownership, code, address) in enumerate(FACILITIES):
        f = Facility(
            name=name,
            kind=kind,
            ownership=ownership,
            region_id=regions[code].id,
            address=address,
            contact_name="值班室",
            contact_phone=f"0917-3{i:02d}1234",
            licence_no=f"61030{i:02d}2020{i:04d}",
            latitude=Decimal("34.36") + Decimal(i) / 100,
            longitude=Decimal("107.14") + Decimal(i) / 100,
            description="",
        )
        db.session.add(f)
        if key:
            facilities[key] = f
    db.session.flush()

    password_hash = hash_password(DEMO_PASSWORD)
    users = {}
    for username, display, role, scope in USERS:
        u = User(
            username=username,
            display_name=display,
            role=role,
            password_hash=password_hash,
            email=f"{username}@demo.eldercare.local",
        )
        if scope in facilities:
            u.facility_id = facilities[scope].id
        elif scope:
            u.region_id = regions[scope].id
        db.session.add(u)
        users[username] = u
    db.session.flush()

    villages_by_county = {
        county: [r for c, r in regions.items() if c.startswith(county) and r.level == "village"]
        for county, _ in PEOPLE_COUNTIES
    }
    today = local_today()
    seen = set()
    made = []
    for n in range(people):
        county = rng.choices([c for c, _ in PEOPLE_COUNTIES], [w for _, w in PEOPLE_COUNTIES])[0]
        village = rng.choice(villages_by_county[county])
        age = _age_weighted(rng)
        born = today - timedelta(days=age * 365 + rng.randrange(0, 365))
        sex = rng.choice("MF")
        # 凤翔区 people born before 2021 mostly carry the old 凤翔县 code 610322.
        area = "610322" if county == "610305" and rng.random() < 0.8 else county
        number = resident_id.synthesise(area, born, sex, rng)
        if number in seen:
            continue
        seen.add(number)
        name = rng.choice(SURNAMES) + rng.choice(GIVEN_M if sex == "M" else GIVEN_F)
        p = Person(
            name=name,
            phone=f"13{rng.randrange(0, 10)}{rng.randrange(10**7, 10**8)}",
            address=f"{village.name}{rng.randrange(1, 12)}组{rng.randrange(1, 60)}号",
            region_id=village.id,
            hukou_type="local",
            hukou_address=village.full_name,
            lives_alone=rng.random() < 0.12,
            empty_nest=rng.random() < 0.25,
            left_behind=rng.random() < 0.15,
            special_family=rng.random() < 0.02,
            economic_status=rng.choices([s.value for s in EconomicStatus], [80, 9, 2, 3, 6])[0],
        )
        p.id_number = number
        p.id_number_index = id_number_index(number)
        p.id_number_masked = resident_id.mask(number)
        p.birth_date, p.sex = born, sex
        if age > 85 and rng.random() < 0.04:
            p.death_date = today - timedelta(days=rng.randrange(1, 300))
        if rng.random() < 0.35:
            p.assessments.append(
                AbilityAssessment(
                    assessed_on=today - timedelta(days=rng.randrange(10, 700)),
                    level=rng.choices(
                        ["intact", "mild", "moderate", "severe", "total"], [50, 22, 14, 9, 5]
                    )[0],
                    assessor="县老年人能力评估中心",
                )
            )
        made.append(p)
        if n and n % 500 == 0:
            db.session.add_all(made)
            db.session.flush()
            made.clear()
    db.session.add_all(made)
    db.session.flush()

    # The demo family member is a verified child of a person in 马营东村.
    relative = db.session.scalar(
        sa.select(Person)
        .where(Person.region_id == regions["610302006201"].id, Person.death_date.is_(None))
        .order_by(Person.id)
        .limit(1)
    )
    if relative is not None:
        db.session.add(
            FamilyLink(
                user_id=users["family"].id,
                person_id=relative.id,
                relation="child",
                status=LinkStatus.VERIFIED.value,
                decided_by_id=users["township"].id,
            )
        )
    db.session.flush()
    beds, residents = _load_beds(rng, regions)
    targets, visits = _load_visits(rng, regions, users)
    members, attendance = _load_daycare(rng, regions, users, facilities)
    from eldercare.ratings.operations import load_shipped_schemes

    load_shipped_schemes()
    from eldercare.subsidies.demo import load_demo as load_subsidies

    subsidies = load_subsidies(
        regions["610302000000"], users["township"], users["county"], users["checker"]
    )
    from eldercare.bookings.demo import load_demo as load_bookings

    bookings = load_bookings(users["admin"], users["family"])
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Person))
    return (
        f"demo loaded: {len(regions)} regions, {len(FACILITIES)} facilities, "
        f"{len(USERS)} users (password {DEMO_PASSWORD}), {total} people, "
        f"{beds} beds, {residents} residents, {targets} people visited regularly "
        f"with {visits} visits, {members} day-care members with {attendance} attendances; "
        f"{subsidies}; {bookings}"
    )


def _past_stays(rng, bed, until, pool, opened, risks) -> None:
    """Up to two earlier residents who have left the bed before ``until``, so that the
    occupancy history (and its 12-month trend) looks like a real home's."""
    end = until - timedelta(days=rng.randint(3, 30))
    for _ in range(rng.randint(0, 2)):
        if not pool:
            return
        start = end - timedelta(days=rng.randint(30, 300))
        person = pool[-1]
        if start < max(opened, person.birth_date + timedelta(days=60 * 365)):
            return
        pool.pop()
        db.session.add(
            Stay(
                bed_id=bed.id,
                facility_id=bed.facility_id,
                person_id=person.id,
                admitted_on=start,
                discharged_on=end,
                discharge_reason=rng.choice(
                    [DischargeReason.HOME, DischargeReason.HOSPITAL, DischargeReason.TRANSFER_OUT]
                ).value,
                risk_assessment=risks,
            )
        )
        end = start - timedelta(days=rng.randint(5, 40))


def _load_beds(rng: random.Random, regions: dict[str, Region]) -> tuple[int, int]:
    """Rooms and beds for every nursing and township home, about 70% of them occupied by
    living people of the same county, and a few reserved or out of service. The rows are
    written directly (as a migration of an existing ledger would), not through the
    operations: the demo has no acting operator and must stay fast."""
    today = local_today()
    now = utcnow()
    opened = now - timedelta(days=3 * 365)
    low_risks = clean_risk_assessment({key: RiskLevel.LOW.value for key in RISKS})
    code_of = {r.id: r.code for r in regions.values()}
    homes = db.session.scalars(
        sa.select(Facility)
        .where(Facility.kind.in_([FacilityKind.NURSING_HOME, FacilityKind.TOWNSHIP_HOME]))
        .order_by(Facility.id)
    ).all()
    living = db.session.execute(
        sa.select(Person.id, Person.region_id, Person.birth_date)
        .where(Person.death_date.is_(None))
        .order_by(Person.id)
    ).all()
    pools: dict[str, list] = {}
    for row in living:
        pools.setdefault(code_of[row.region_id][:6], []).append(row)
    for pool in pools.values():
        rng.shuffle(pool)
    codes: set[str] = set()
    beds = residents = 0
    for facility in homes:
        county = code_of[facility.region_id][:6]
        pool = pools.get(county, [])
        facility_beds = []
        for floor in range(1, rng.randint(2, 3) + 1):
            for r in range(1, rng.randint(3, 5) + 1):
                room = Room(
                    facility_id=facility.id,
                    floor=floor,
                    number=f"{floor}{r:02d}",
                    created_at=opened,
                )
                db.session.add(room)
                for label in range(1, rng.randint(2, 3) + 1):
                    code = f"{facility.id:05d}-{rng.getrandbits(40):010X}"
                    while code in codes:  # drawn again on the (rare) repeat
                        code = f"{facility.id:05d}-{rng.getrandbits(40):010X}"
                    codes.add(code)
                    care = rng.choices(
                        [CareType.NURSING, CareType.GENERAL, CareType.DEMENTIA], [55, 37, 8]
                    )[0]
                    price = rng.randrange(1800, 4501, 100) * 100
                    if care == CareType.NURSING:
                        price = max(price, 2600_00)
                    bed = Bed(
                        code=code,
                        facility_id=facility.id,
                        room=room,
                        label=str(label),
                        care_type=care.value,
                        monthly_price_fen=price,
                        status=BedStatus.VACANT.value,
                        created_at=opened,
                    )
                    db.session.add(bed)
                    facility_beds.append(bed)
        db.session.flush()
        beds += len(facility_beds)
        share = rng.uniform(0.6, 0.75)
        vacant = []
        for bed in facility_beds:
            if not pool or rng.random() >= share:
                vacant.append(bed)
                continue
            person = pool.pop()
            earliest = max(opened.date(), person.birth_date + timedelta(days=60 * 365))
            span = max((today - earliest).days, 1)
            admitted = earliest + timedelta(days=rng.randrange(span))
            db.session.add(
                Stay(
                    bed_id=bed.id,
                    facility_id=facility.id,
                    person_id=person.id,
                    admitted_on=admitted,
                    risk_assessment=low_risks,
                )
            )
            bed.status = BedStatus.OCCUPIED.value
            residents += 1
            _past_stays(rng, bed, admitted, pool, opened.date(), low_risks)
        for bed in vacant:
            _past_stays(
                rng,
                bed,
                today - timedelta(days=rng.randint(25, 90)),
                pool,
                opened.date(),
                low_risks,
            )
        # A few of the free beds are kept for someone, one is being repaired.
        rng.shuffle(vacant)
        for bed in vacant[: rng.randint(1, 2)]:
            db.session.add(
                Reservation(
                    bed_id=bed.id,
                    facility_id=facility.id,
                    holder_name=rng.choice(SURNAMES) + rng.choice(GIVEN_M + GIVEN_F),
                    expires_at=now + timedelta(days=rng.randint(2, 14)),
                )
            )
            bed.status = BedStatus.RESERVED.value
        if len(vacant) > 4:
            bed = vacant[-1]
            db.session.add(
                Outage(
                    bed_id=bed.id,
                    reason=rng.choice(["设施维修", "消毒隔离", "更换护理床"]),
                    start_on=today - timedelta(days=rng.randint(1, 20)),
                )
            )
            bed.status = BedStatus.OUT_OF_SERVICE.value
    db.session.flush()
    return beds, residents


def _load_visits(rng: random.Random, regions: dict[str, Region], users: dict) -> tuple[int, int]:
    """Everyone of 马营镇 in a covered category is visited by the demo visitor: a year of
    visits at their tier's interval (a few missed), so that some are overdue today, some due
    soon, and the coverage page has a history."""
    from eldercare.visits import operations as visits
    from eldercare.visits.models import CareAssignment, Visit

    township = regions["610302006000"]
    staff, visitor = users["township"], users["visitor"]
    today = local_today()
    people = db.session.scalars(visits.candidates(staff, township)).all()
    made = 0
    for person in people:
        target = visits.enrol(person, staff, on=today - timedelta(days=rng.randrange(200, 400)))
        db.session.add(
            CareAssignment(target=target, visitor_id=visitor.id, assigned_by_id=staff.id)
        )
        interval = visits.policy_for(target.county_id).interval_days(target.tier)
        # Today's state first: a few visited today, most within their interval, about one in
        # seven overdue; then the earlier visits back to the enrolment, a few missed.
        gap = int(interval * rng.choice([0, 0.2, 0.4, 0.6, 0.8, 0.95, 1.15]))
        day = today - timedelta(days=gap)
        latest = True
        while day >= target.enrolled_on:
            if latest or rng.random() > 0.07:
                hour = rng.randrange(8, 11) if day == today else rng.randrange(8, 18)
                at = datetime.combine(day, time(hour, rng.randrange(0, 60)))
                db.session.add(
                    Visit(
                        target_id=target.id,
                        visitor_id=visitor.id,
                        visited_at=at.replace(tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC),
                        method=rng.choices(["home", "phone", "video"], [70, 25, 5])[0],
                        living_conditions=rng.choices(["good", "fair", "poor"], [70, 25, 5])[0],
                        health=rng.choices(["stable", "changed", "poor"], [75, 20, 5])[0],
                        mood=rng.choices(["good", "fair", "low"], [70, 25, 5])[0],
                        family_support=rng.choices(["fulfilled", "partial", "absent"], [70, 25, 5])[
                            0
                        ],
                        summary=rng.choice(DEMO_VISIT_NOTES),
                    )
                )
                made += 1
            latest = False
            day -= timedelta(days=interval + rng.randrange(-2, 3))
        visits.refresh_due(target)
    db.session.flush()
    return len(people), made


DEMO_VISIT_NOTES = [
    "老人身体状况良好，家中整洁，已提醒按时服药。",
    "电话联系，老人精神尚可，子女每周来电。",
    "屋内电线老化，已告知村委会安排检修。",
    "老人反映腿脚不便，建议申请助浴服务。",
    "天气转冷，已检查取暖设施，叮嘱注意防滑。",
    "",
]


def _load_daycare(
    rng: random.Random, regions: dict[str, Region], users: dict, facilities
) -> tuple[int, int]:
    """经二路街道日间照料中心 runs every weekday: 24 members of its township, two months of
    attendance, lunches (some subsidised), activities, an incident. 马营东村农村幸福院 has members
    but recorded no attendance for three weeks: the county view flags it as not operating."""
    from eldercare.daycare.models import (
        Activity,
        Attendance,
        Center,
        ClosedDay,
        Incident,
        Meal,
        Member,
    )
    from eldercare.facilities.models import Facility
    from eldercare.visits.operations import day_start

    today = local_today()
    operator = users["daycare"]
    center_facility = facilities["jingerlu"]
    happiness = db.session.scalar(sa.select(Facility).where(Facility.name == "马营东村农村幸福院"))
    db.session.add_all(
        [
            Center(
                facility_id=center_facility.id,
                capacity=30,
                open_days=[0, 1, 2, 3, 4],
                meal_types=["lunch"],
                meal_price_fen=1200,
            ),
            Center(
                facility_id=happiness.id,
                capacity=20,
                open_days=[0, 2, 4],
                meal_types=["lunch"],
                meal_price_fen=800,
            ),
        ]
    )
    closed = today - timedelta(days=(today.weekday() + 7) % 7 + 7)  # a Monday two weeks back
    db.session.add(ClosedDay(facility_id=center_facility.id, day=closed, reason="设备检修"))
    made_members = 0
    made_attendance = 0
    for facility, region_code, n, last_day in (
        (center_facility, "610302001000", 24, today),
        (happiness, "610302006201", 10, today - timedelta(days=21)),
    ):
        town = regions[region_code]
        people = db.session.scalars(
            sa.select(Person)
            .join(Region, Region.id == Person.region_id)
            .where(Region.code.startswith(town.prefix), Person.death_date.is_(None))
            .order_by(Person.id)
            .limit(n)
        ).all()
        members = []
        for person in people:
            days = sorted(rng.sample([0, 1, 2, 3, 4], rng.choice([3, 4, 5])))
            member = Member(
                facility_id=facility.id,
                person_id=person.id,
                joined_on=today - timedelta(days=rng.randrange(70, 400)),
                days=days,
                transport=rng.random() < 0.2,
                subsidised_meals=person.economic_status != "none",
                emergency_contact=rng.choice(SURNAMES) + "先生",
                emergency_phone=f"139{rng.randrange(10**7, 10**8)}",
            )
            db.session.add(member)
            members.append(member)
        made_members += len(members)
        db.session.flush()
        day = today - timedelta(days=62)
        center_days = {0, 1, 2, 3, 4} if facility is center_facility else {0, 2, 4}
        while day <= last_day:
            if day.weekday() in center_days and day != closed:
                activity_people = []
                for member in members:
                    if day.weekday() not in member.days or rng.random() < 0.12:
                        continue
                    start = day_start(day) + timedelta(hours=rng.choice([8, 8.5, 9]))
                    if day == today:
                        start = min(start, utcnow())
                    db.session.add(
                        Attendance(
                            facility_id=facility.id,
                            person_id=member.person_id,
                            day=day,
                            check_in_at=start,
                            check_out_at=None if day == today else start + timedelta(hours=7),
                            recorded_by_id=operator.id if facility is center_facility else None,
                        )
                    )
                    made_attendance += 1
                    activity_people.append(member.person)
                    if rng.random() < 0.85:
                        db.session.add(
                            Meal(
                                facility_id=facility.id,
                                person_id=member.person_id,
                                day=day,
                                meal_type="lunch",
                                subsidised=member.subsidised_meals,
                                price_fen=1200 if facility is center_facility else 800,
                            )
                        )
                if activity_people and day.weekday() in (1, 3) and day < today:
                    start = day_start(day) + timedelta(hours=14)
                    db.session.add(
                        Activity(
                            facility_id=facility.id,
                            title=rng.choice(
                                ["太极拳", "健康讲座：冬季防跌倒", "手工编织", "戏曲欣赏", "生日会"]
                            ),
                            category=rng.choice(
                                ["exercise", "health", "handicraft", "culture", "social"]
                            ),
                            starts_at=start,
                            ends_at=start + timedelta(hours=1, minutes=30),
                            participants=rng.sample(activity_people, min(len(activity_people), 8)),
                        )
                    )
            day += timedelta(days=1)
    first = center_facility
    db.session.add(
        Incident(
            facility_id=first.id,
            occurred_at=day_start(today - timedelta(days=9)) + timedelta(hours=13),
            risk="fall",
            severity="minor",
            description="午休后起身时滑倒，膝部擦伤，已消毒包扎。",
            action_taken="通知家属，观察一小时无异常",
            follow_up="卫生间加装防滑垫",
            reported_by_id=operator.id,
        )
    )
    db.session.flush()
    return made_members, made_attendance
