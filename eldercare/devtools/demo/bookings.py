"""Demo bookable services and the demo family's bookings, made through the operations so
they obey every rule (slots, capacity, notices)."""

from __future__ import annotations

from datetime import date, time, timedelta

import sqlalchemy as sa

from eldercare.bookings import operations as ops
from eldercare.core.db import local_date, utcnow
from eldercare.extensions import db
from eldercare.facilities.models import Facility
from eldercare.people.models import FamilyLink, LinkStatus, Person

EVERY_DAY = [0, 1, 2, 3, 4, 5, 6]
WORKDAYS = [0, 1, 2, 3, 4]

# facility name, service fields (price in fen; None: free of charge)
SERVICES = [
    (
        "宝鸡市渭滨区社会福利院",
        dict(
            kind="visit",
            name="家属探视",
            description="每个时段接待三组家属，每组最多三人；请携带身份证在门卫处登记。",
            price_fen=None,
            weekdays=EVERY_DAY,
            opens_at=time(9),
            closes_at=time(17),
            slot_minutes=60,
            capacity=3,
            min_notice_hours=2,
            max_days_ahead=14,
            cancel_hours=2,
            auto_confirm=True,
        ),
    ),
    (
        "宝鸡市渭滨区社会福利院",
        dict(
            kind="admission",
            name="入住申请",
            description="预约入住评估日；院方确认后为老人预留床位三天。",
            price_fen=None,
            weekdays=WORKDAYS,
            opens_at=time(9),
            closes_at=time(16),
            slot_minutes=1440,
            capacity=4,
            min_notice_hours=24,
            max_days_ahead=30,
            cancel_hours=24,
            auto_confirm=False,
        ),
    ),
    (
        "渭滨区颐养园养老中心",
        dict(
            kind="visit",
            name="参观与探视",
            description="可参观护理区与餐厅，由接待人员陪同。",
            price_fen=None,
            weekdays=EVERY_DAY,
            opens_at=time(9, 30),
            closes_at=time(16, 30),
            slot_minutes=60,
            capacity=2,
            min_notice_hours=4,
            max_days_ahead=14,
            cancel_hours=2,
            auto_confirm=True,
        ),
    ),
    (
        "马营镇敬老院",
        dict(
            kind="visit",
            name="探视预约",
            price_fen=None,
            weekdays=[1, 3, 5, 6],
            opens_at=time(14),
            closes_at=time(17),
            slot_minutes=90,
            capacity=2,
            min_notice_hours=12,
            max_days_ahead=10,
            cancel_hours=4,
            auto_confirm=True,
        ),
    ),
    (
        "经二路街道日间照料中心",
        dict(
            kind="trial_day",
            name="日托试托一天",
            description="含午餐与午休；请带好常用药品。",
            price_fen=3000,
            weekdays=WORKDAYS,
            opens_at=time(8, 30),
            closes_at=time(17),
            slot_minutes=1440,
            capacity=3,
            min_notice_hours=24,
            max_days_ahead=21,
            cancel_hours=12,
            auto_confirm=False,
        ),
    ),
    (
        "经二路街道日间照料中心",
        dict(
            kind="meal",
            name="助餐送餐上门",
            description="两荤一素，低盐少油，送餐到家。",
            price_fen=1200,
            weekdays=WORKDAYS,
            opens_at=time(11),
            closes_at=time(12, 30),
            slot_minutes=30,
            capacity=6,
            min_notice_hours=3,
            max_days_ahead=7,
            cancel_hours=2,
            auto_confirm=True,
        ),
    ),
    (
        "宝鸡康乐居家养老服务有限公司",
        dict(
            kind="cleaning",
            name="居家助洁（两小时）",
            price_fen=6000,
            weekdays=[0, 1, 2, 3, 4, 5],
            opens_at=time(8),
            closes_at=time(18),
            slot_minutes=120,
            capacity=2,
            min_notice_hours=24,
            max_days_ahead=14,
            cancel_hours=6,
            auto_confirm=False,
        ),
    ),
    (
        "宝鸡康乐居家养老服务有限公司",
        dict(
            kind="bathing",
            name="上门助浴",
            description="两名护理员上门，自带防滑垫与助浴椅。",
            price_fen=8000,
            weekdays=[1, 3, 5],
            opens_at=time(9),
            closes_at=time(16, 30),
            slot_minutes=90,
            capacity=1,
            min_notice_hours=24,
            max_days_ahead=14,
            cancel_hours=12,
            auto_confirm=False,
        ),
    ),
    (
        "宝鸡康乐居家养老服务有限公司",
        dict(
            kind="escort",
            name="助医陪诊（半天）",
            price_fen=10000,
            weekdays=WORKDAYS,
            opens_at=time(7, 30),
            closes_at=time(12),
            slot_minutes=270,
            capacity=2,
            min_notice_hours=24,
            max_days_ahead=14,
            cancel_hours=12,
            auto_confirm=False,
        ),
    ),
]


def _first_slot(service, day: date, index: int = 0):
    """A slot start on the first day from ``day`` the service is open."""
    while day.weekday() not in service.weekdays:
        day += timedelta(days=1)
    return ops.slot_times(service, day)[index][0]


def load_demo(admin, family) -> str:
    """Services of the demo's facilities, a blackout day, and the demo family's bookings:
    one visit done last week, one confirmed for tomorrow, an admission application waiting
    for the welfare home, and a home-cleaning request."""
    facilities = {
        f.name: f
        for f in db.session.scalars(
            sa.select(Facility).where(Facility.name.in_({name for name, _ in SERVICES}))
        )
    }
    services = {}
    for name, fields in SERVICES:
        if name in facilities:
            service = ops.save_service(facilities[name], fields, admin)
            services[(name, fields["kind"])] = service
    now = utcnow()
    today = local_date(now)
    new_year = date(today.year + 1, 1, 1)
    welfare = facilities.get("宝鸡市渭滨区社会福利院")
    if welfare is not None:
        ops.add_blackout(welfare, new_year, "元旦假期，暂停探视", admin)

    relative = db.session.scalar(
        sa.select(Person)
        .join(FamilyLink, FamilyLink.person_id == Person.id)
        .where(
            FamilyLink.user_id == family.id,
            FamilyLink.status == LinkStatus.VERIFIED.value,
            Person.death_date.is_(None),
        )
        .order_by(Person.id)
    )
    made = 0
    visit = services.get(("宝鸡市渭滨区社会福利院", "visit"))
    if relative is None or visit is None:
        return f"{len(services)} bookable services"
    # Booked ten days ago for a week ago, and recorded as done.
    then = now - timedelta(days=10)
    past = ops.book(
        family, visit, relative, _first_slot(visit, today - timedelta(days=7), 1), {}, now=then
    )
    ops.finish(past, "completed", admin, now=past.ends_at + timedelta(minutes=5))
    ops.book(
        family,
        visit,
        relative,
        _first_slot(visit, today + timedelta(days=1), 1),
        {"party_size": 2, "note": "和孙子一起来"},
    )
    made += 2
    admission = services.get(("宝鸡市渭滨区社会福利院", "admission"))
    if admission is not None:
        ops.book(
            family,
            admission,
            relative,
            _first_slot(admission, today + timedelta(days=3)),
            {"note": "希望入住护理型床位，老人行动不便。"},
        )
        made += 1
    cleaning = services.get(("宝鸡康乐居家养老服务有限公司", "cleaning"))
    if cleaning is not None:
        ops.book(
            family,
            cleaning,
            relative,
            _first_slot(cleaning, today + timedelta(days=6), 1),
            {"place": "马营东村三组12号", "note": "厨房与卫生间"},
        )
        made += 1
    return f"{len(services)} bookable services, {made} bookings"
