"""The regions of 宝鸡市 and its elderly people: valid synthetic ID numbers (encrypted, with
their blind index and masked form), a realistic 60+ age pyramid, living situations, economic
status, deaths and ability assessments."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterator
from datetime import date, timedelta

import sqlalchemy as sa

from eldercare.core import resident_id
from eldercare.devtools.demo.data import GIVEN_F, GIVEN_M, SURNAMES
from eldercare.devtools.scale.base import (
    ABILITY,
    ECONOMIC,
    EMPTY_NEST,
    LEFT_BEHIND,
    LIVES_ALONE,
    SPECIAL_FAMILY,
    Build,
    ScaleError,
    Village,
    Weighted,
)
from eldercare.devtools.scale.bulk import unchecked
from eldercare.devtools.scale.crypto import protect_ids
from eldercare.extensions import db
from eldercare.people.models import AbilityAssessment, Person
from eldercare.regions.models import Region

#: Population of the county-level divisions (10,000s, 2020 census, rounded): the elderly
#: are spread in these proportions.
COUNTY_WEIGHTS = {
    "610302": 48,  # 渭滨区
    "610303": 52,  # 金台区
    "610304": 55,  # 陈仓区
    "610305": 42,  # 凤翔区
    "610323": 40,  # 岐山县
    "610324": 38,  # 扶风县
    "610326": 30,  # 眉县
    "610327": 22,  # 陇县
    "610328": 11,  # 千阳县
    "610329": 8,  # 麟游县
    "610330": 10,  # 凤县
    "610331": 5,  # 太白县
}
#: Age bands of China's 60+ population (7th census, rounded) and how steeply each thins out
#: with age inside the band.
AGE_BANDS = [(60, 69, 0.55, 0.03), (70, 79, 0.30, 0.08), (80, 89, 0.13, 0.15), (90, 104, 0.02, 0.3)]
#: Women outlive men: the share of women by age.
FEMALE_SHARE = [(90, 0.68), (85, 0.62), (80, 0.57), (75, 0.54), (70, 0.52), (65, 0.5), (60, 0.49)]
#: Died in the last two years, by age band.
DEATH_RATE = [(90, 0.15), (80, 0.08), (70, 0.03), (60, 0.01)]
#: Share assessed (GB/T 42195), and the levels intact..total found, by age band.
ASSESSED = [
    (90, 0.75, [20, 25, 25, 17, 13]),
    (80, 0.6, [35, 25, 20, 12, 8]),
    (70, 0.4, [55, 22, 12, 7, 4]),
    (60, 0.25, [70, 18, 7, 3, 2]),
]
ECONOMIC_WEIGHTS = [88, 5, 0.6, 1.4, 5]  # none, dibao, tekun (concentrated, dispersed), low
GIVEN_CHARS_M = "建国志德振文永福长春玉宝树富明新金庆忠世成天学红军平安发正"
GIVEN_CHARS_F = "秀桂玉凤淑兰英珍芳花梅霞云莲娥琴华敏丽萍翠荣素彩美月巧"
ASSESSORS = "老年人能力评估中心"
#: People drawn (and encrypted by the helper) at a time.
CHUNK = 20_000
PERSON_COLUMNS = (
    "id",
    "name",
    "id_number",
    "id_number_index",
    "id_number_masked",
    "birth_date",
    "sex",
    "phone",
    "address",
    "region_id",
    "hukou_type",
    "hukou_address",
    "lives_alone",
    "empty_nest",
    "left_behind",
    "special_family",
    "economic_status",
    "death_date",
    "moved_out_on",
    "moved_out_to",
    "created_at",
    "updated_at",
)
ASSESSMENT_COLUMNS = (
    "id",
    "person_id",
    "assessed_on",
    "level",
    "assessor",
    "created_at",
    "updated_at",
)


def load_regions(build: Build) -> None:
    """宝鸡市's regions as `flask demo` imports them (unless regions are there already),
    and the villages people are spread over."""
    from eldercare.commands import BAOJI_CSV
    from eldercare.regions.operations import import_regions_csv

    if db.session.scalar(sa.select(sa.func.count()).select_from(Region)) == 0:
        with open(BAOJI_CSV, encoding="utf-8") as handle:
            import_regions_csv(handle.read())
        db.session.flush()
    build.regions = {r.code: r for r in db.session.scalars(sa.select(Region))}
    missing = [c for c in COUNTY_WEIGHTS if f"{c}000000" not in build.regions]
    if missing:
        raise ScaleError(f"the regions of 宝鸡市 are incomplete (no {', '.join(missing)})")
    by_id = {r.id: r for r in build.regions.values()}
    villages = sorted(
        (
            r
            for r in build.regions.values()
            if r.level == "village" and r.code[:6] in COUNTY_WEIGHTS
        ),
        key=lambda r: r.code,
    )
    for region in villages:
        township = by_id[region.parent_id]
        county = by_id[township.parent_id]
        city = by_id[county.parent_id]
        build.villages.append(
            Village(
                index=len(build.villages),
                id=region.id,
                code=region.code,
                name=region.name,
                full_name=city.name + county.name + township.name + region.name,
                township_code=region.code[:9],
                county_code=region.code[:6],
                # Statistical codes 001-199 are urban communities (居委会), 200+ villages.
                urban=int(region.code[9:]) < 200,
            )
        )
    build.count("region", len(build.regions))


def _per_age(today: date) -> tuple[Weighted, dict[int, tuple]]:
    """The draw of an age, and per age: the latest birthday of that age, the share of
    women, the death rate, the share assessed and the draw of a level."""
    ages, weights = [], []
    for first, last, share, slope in AGE_BANDS:
        band = [math.exp(-slope * (age - first)) for age in range(first, last + 1)]
        total = sum(band)
        ages += list(range(first, last + 1))
        weights += [share * w / total for w in band]
    facts = {}
    for age in ages:
        assessed, levels = _by_age(ASSESSED, age)
        facts[age] = (
            resident_id.years_before(today, age),
            _by_age(FEMALE_SHARE, age),
            _by_age(DEATH_RATE, age),
            assessed,
            Weighted(range(len(ABILITY)), levels),
        )
    return Weighted(ages, weights), facts


def _by_age(table, age: int):
    for floor, *values in table:
        if age >= floor:
            return values[0] if len(values) == 1 else values
    raise ValueError(age)


def _villages(build: Build, rng) -> Weighted:
    """Where people live: each county by its population, and inside it the towns'
    communities more crowded than the villages."""
    villages, weights = [], []
    for code, population in COUNTY_WEIGHTS.items():
        own = [v for v in build.villages if v.county_code == code]
        local = [(2.5 if v.urban else 1.0) * rng.uniform(0.5, 1.5) for v in own]
        total = sum(local)
        villages += own
        weights += [population * w / total for w in local]
    return Weighted(villages, weights)


def load_people(build: Build) -> None:
    """``scale.people`` people of 60 and over with one ability assessment for some."""
    rng = build.rng("people")
    scale, today, now = build.scale, build.today, build.now
    loader = build.loader
    people = build.people
    where = _villages(build, rng)
    age_draw, per_age = _per_age(today)
    economic_draw = Weighted(range(len(ECONOMIC)), ECONOMIC_WEIGHTS)
    people.first_id = loader.ids(Person.__table__, scale.people)
    assessments: list[tuple] = []
    seen: set[str] = set()
    assessors = {c: build.regions[f"{c}000000"].name + ASSESSORS for c in COUNTY_WEIGHTS}

    def person(index: int) -> tuple:
        """The person's row, with the ID number where its ciphertext and index go."""
        village = where.pick(rng)
        county = village.county_code
        age = age_draw.pick(rng)
        birthday, female_share, death_rate, assessed_share, level_draw = per_age[age]
        born = birthday - timedelta(days=rng.randrange(365))
        female = rng.random() < female_share
        sex = "F" if female else "M"
        # 凤翔区 people carry the old 凤翔县 code 610322 on IDs issued before 2021.
        area = "610322" if county == "610305" and rng.random() < 0.8 else county
        number = resident_id.synthesise(area, born, sex, rng)
        while number in seen:  # drawn again on the (rare) repeat
            number = resident_id.synthesise(area, born, sex, rng)
        seen.add(number)
        if rng.random() < 0.6:
            given = rng.choice(GIVEN_F if female else GIVEN_M)
        else:
            chars = GIVEN_CHARS_F if female else GIVEN_CHARS_M
            given = rng.choice(chars) + rng.choice(chars)
        name = rng.choice(SURNAMES) + given
        if village.urban:
            address = (
                f"{village.name}{rng.randrange(1, 40)}号楼"
                f"{rng.randrange(1, 6)}单元{rng.randrange(1, 19)}{rng.randrange(1, 5):02d}室"
            )
        else:
            address = f"{village.name}{rng.randrange(1, 12)}组{rng.randrange(1, 80)}号"
        flags = 0
        if rng.random() < (0.08 if age < 70 else 0.14 if age < 80 else 0.2):
            flags |= LIVES_ALONE
        elif rng.random() < 0.25:
            flags |= EMPTY_NEST
        if not village.urban and rng.random() < 0.2:
            flags |= LEFT_BEHIND
        if rng.random() < 0.015:
            flags |= SPECIAL_FAMILY
        economic = economic_draw.pick(rng)
        death = None
        if rng.random() < death_rate:
            since_sixty = (today - resident_id.years_before(born, -60)).days
            if since_sixty > 1:
                death = today - timedelta(days=rng.randrange(1, min(720, since_sixty)))
                people.death[index] = death
        if rng.random() < assessed_share:
            level = level_draw.pick(rng)
            assessed = today - timedelta(days=rng.randrange(20, 1000))
            if death is not None and assessed >= death:
                assessed = death - timedelta(days=rng.randrange(1, 60))
            people.ability[index] = (level, assessed)
            at = build.at(assessed, rng.uniform(9, 17))
            assessments.append(
                (people.first_id + index, assessed, ABILITY[level], assessors[county], at, at)
            )
        people.birth.append(born)
        people.village.append(village.index)
        people.flags.append(flags)
        people.economic.append(economic)
        people.name.append(name)
        people.address.append(address)
        registered = now - timedelta(days=rng.randrange(30, 1500), seconds=rng.randrange(86400))
        phone = None
        if rng.random() > 0.1:
            phone = f"1{rng.choice('3578')}{rng.randrange(10**8, 10**9)}"
        return (
            people.first_id + index,
            name,
            number,
            None,
            resident_id.mask(number),
            born,
            sex,
            phone,
            address,
            village.id,
            "non_local" if rng.random() < (0.05 if village.urban else 0.01) else "local",
            village.full_name,
            bool(flags & LIVES_ALONE),
            bool(flags & EMPTY_NEST),
            bool(flags & LEFT_BEHIND),
            bool(flags & SPECIAL_FAMILY),
            ECONOMIC[economic],
            death,
            None,
            "",
            registered,
            registered,
        )

    def rows():
        """Chunk by chunk: the helper encrypts one chunk while the next is drawn."""
        pending = deque()
        for start in range(0, scale.people, CHUNK):
            chunk = [person(i) for i in range(start, min(start + CHUNK, scale.people))]
            pending.append((chunk, build.crypto.submit(protect_ids, [r[2] for r in chunk])))
            if len(pending) > 1:
                yield from _protected(*pending.popleft())
        while pending:
            yield from _protected(*pending.popleft())

    first = loader.ids(AbilityAssessment.__table__, 0)
    with unchecked(loader, "person", "ability_assessment"):
        build.count("person", loader.write(Person.__table__, PERSON_COLUMNS, rows()))
        loader.ids(AbilityAssessment.__table__, len(assessments))
        build.count(
            "ability_assessment",
            loader.write(
                AbilityAssessment.__table__,
                ASSESSMENT_COLUMNS,
                ((first + n, *row) for n, row in enumerate(assessments)),
            ),
        )


def _protected(chunk: list[tuple], protected) -> Iterator[tuple]:
    for row, (cipher, index) in zip(chunk, protected.result(), strict=True):
        yield (*row[:2], cipher, index, *row[4:])
