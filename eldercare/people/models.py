"""Elderly people, their ability assessments and their verified family links."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eldercare.auth.models import User
from eldercare.core import resident_id
from eldercare.core.crypto import EncryptedString, blind_index
from eldercare.core.db import TimestampMixin, UTCDateTime, local_today, one_of
from eldercare.core.errors import CONSTRAINT_MESSAGES
from eldercare.core.permissions import STAFF_ROLES, Role, role_of
from eldercare.extensions import db
from eldercare.regions.models import Region

ID_INDEX_PURPOSE = "resident-id"


class Sex(StrEnum):
    MALE = "M"
    FEMALE = "F"


class EconomicStatus(StrEnum):
    NONE = "none"
    DIBAO = "dibao"
    TEKUN_CONCENTRATED = "tekun_concentrated"
    TEKUN_DISPERSED = "tekun_dispersed"
    LOW_INCOME = "low_income"


class HukouType(StrEnum):
    LOCAL = "local"
    NON_LOCAL = "non_local"


class AbilityLevel(StrEnum):
    """GB/T 42195-2022 老年人能力评估: five levels, 0 best."""

    INTACT = "intact"
    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"
    TOTAL = "total"


class LifeEventKind(StrEnum):
    """What the registry learns of a person that every feature must act on at once."""

    DEATH = "death"
    MOVED_OUT = "moved_out"  # household registration moved out of the county
    STATUS_LOST = "status_lost"  # no longer on 低保 / 特困
    ABILITY_CHANGED = "ability_changed"  # a new assessment gave another level


class LifeEventSource(StrEnum):
    """How the registry learned of it."""

    REGISTRY = "registry"  # typed on the person's page
    DISCHARGE = "discharge"  # a facility discharged a resident who died
    FEED = "feed"  # a funeral-service or household-register list
    ASSESSMENT = "assessment"  # an ability assessment


class LinkStatus(StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"
    REVOKED = "revoked"


#: The decisions a link in each state takes (the page offers them, decide_link accepts them).
LINK_DECISIONS = {
    LinkStatus.PENDING.value: frozenset({LinkStatus.VERIFIED.value, LinkStatus.REJECTED.value}),
    LinkStatus.VERIFIED.value: frozenset({LinkStatus.REVOKED.value}),
}


SEX_LABELS = {Sex.MALE: _l("Male"), Sex.FEMALE: _l("Female")}
ECONOMIC_LABELS = {
    EconomicStatus.NONE: _l("None"),
    EconomicStatus.DIBAO: _l("Minimum living guarantee (dibao)"),
    EconomicStatus.TEKUN_CONCENTRATED: _l("Extreme poverty, concentrated support"),
    EconomicStatus.TEKUN_DISPERSED: _l("Extreme poverty, dispersed support"),
    EconomicStatus.LOW_INCOME: _l("Low income"),
}
HUKOU_LABELS = {HukouType.LOCAL: _l("Local household"), HukouType.NON_LOCAL: _l("Non-local")}
ABILITY_LABELS = {
    AbilityLevel.INTACT: _l("Ability intact"),
    AbilityLevel.MILD: _l("Mildly disabled"),
    AbilityLevel.MODERATE: _l("Moderately disabled"),
    AbilityLevel.SEVERE: _l("Severely disabled"),
    AbilityLevel.TOTAL: _l("Completely disabled"),
}
LIFE_EVENT_LABELS = {
    LifeEventKind.DEATH: _l("Death"),
    LifeEventKind.MOVED_OUT: _l("Moved out of the county"),
    LifeEventKind.STATUS_LOST: _l("Lost dibao / extreme-poverty status"),
    LifeEventKind.ABILITY_CHANGED: _l("New ability level"),
}
LIFE_SOURCE_LABELS = {
    LifeEventSource.REGISTRY: _l("Registry page"),
    LifeEventSource.DISCHARGE: _l("Discharge from a facility"),
    LifeEventSource.FEED: _l("Data feed"),
    LifeEventSource.ASSESSMENT: _l("Ability assessment"),
}
#: The economic statuses programs pay more for; leaving them is a life event.
SUPPORTED_STATUSES = frozenset(
    {
        EconomicStatus.DIBAO.value,
        EconomicStatus.TEKUN_CONCENTRATED.value,
        EconomicStatus.TEKUN_DISPERSED.value,
    }
)
LINK_LABELS = {
    LinkStatus.PENDING: _l("Awaiting verification"),
    LinkStatus.VERIFIED: _l("Verified"),
    LinkStatus.REJECTED: _l("Rejected"),
    LinkStatus.REVOKED: _l("Revoked"),
}
LIVING_FLAGS = {
    "lives_alone": _l("Living alone"),
    "empty_nest": _l("Empty nest"),
    "left_behind": _l("Left behind"),
    "special_family": _l("Family-planning special family"),
}


def id_number_index(number: str) -> str:
    return blind_index(resident_id.normalise(number), ID_INDEX_PURPOSE)


class Person(TimestampMixin, db.Model):
    __tablename__ = "person"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(50), index=True)
    id_number: Mapped[str] = mapped_column(EncryptedString())
    id_number_index: Mapped[str] = mapped_column(sa.String(64), unique=True)
    id_number_masked: Mapped[str] = mapped_column(sa.String(18))
    birth_date: Mapped[date] = mapped_column(index=True)
    sex: Mapped[str] = mapped_column(sa.String(1))
    phone: Mapped[str | None] = mapped_column(sa.String(20))
    address: Mapped[str] = mapped_column(sa.String(255), default="")
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("region.id"), index=True)
    hukou_type: Mapped[str] = mapped_column(sa.String(16), default=HukouType.LOCAL.value)
    hukou_address: Mapped[str] = mapped_column(sa.String(255), default="")
    lives_alone: Mapped[bool] = mapped_column(default=False)
    empty_nest: Mapped[bool] = mapped_column(default=False)
    left_behind: Mapped[bool] = mapped_column(default=False)
    special_family: Mapped[bool] = mapped_column(default=False)
    economic_status: Mapped[str] = mapped_column(sa.String(24), default=EconomicStatus.NONE.value)
    death_date: Mapped[date | None]
    #: The household registration moved out of the county on this day (see LifeEvent).
    moved_out_on: Mapped[date | None]
    moved_out_to: Mapped[str] = mapped_column(sa.String(100), default="", server_default="")

    region: Mapped[Region] = relationship()
    assessments: Mapped[list[AbilityAssessment]] = relationship(
        back_populates="person",
        order_by=lambda: (AbilityAssessment.assessed_on.desc(), AbilityAssessment.id.desc()),
        cascade="all, delete-orphan",
    )

    __table_args__ = (
        sa.CheckConstraint("sex IN ('M', 'F')", name="sex_known"),
        one_of("economic_status", EconomicStatus, "economic_known"),
        one_of("hukou_type", HukouType, "hukou_known"),
        sa.CheckConstraint(
            "death_date IS NULL OR death_date >= birth_date", name="death_after_birth"
        ),
    )

    def set_id_number(self, number: str) -> resident_id.ResidentId:
        """Store a validated ID number and the facts it carries."""
        parsed = resident_id.parse(number)
        self.id_number = parsed.number
        self.id_number_index = id_number_index(parsed.number)
        self.id_number_masked = parsed.masked
        self.birth_date = parsed.birth_date
        self.sex = parsed.sex
        return parsed

    def age_on(self, day: date) -> int:
        return resident_id.age_on(self.birth_date, day)

    @property
    def age(self) -> int:
        return self.age_on(local_today())

    @property
    def is_deceased(self) -> bool:
        return self.death_date is not None

    @property
    def has_left(self) -> bool:
        """Died or moved out of the county: no feature serves the person any more."""
        return self.death_date is not None or self.moved_out_on is not None

    @property
    def current_ability(self) -> AbilityAssessment | None:
        return self.assessments[0] if self.assessments else None

    @property
    def living_flags(self) -> list[str]:
        return [str(label) for flag, label in LIVING_FLAGS.items() if getattr(self, flag)]

    @property
    def sex_label(self) -> str:
        return str(SEX_LABELS[Sex(self.sex)])

    @property
    def economic_label(self) -> str:
        return str(ECONOMIC_LABELS[EconomicStatus(self.economic_status)])

    @property
    def hukou_label(self) -> str:
        return str(HUKOU_LABELS[HukouType(self.hukou_type)])

    @classmethod
    def __scope__(cls, user):
        role = role_of(user)
        if role == Role.ADMIN:
            return sa.true()
        if role in STAFF_ROLES and user.region is not None:
            return cls.region_id.in_(Region.subtree_ids(user.region))
        if role == Role.FAMILY:
            return cls.id.in_(
                sa.select(FamilyLink.person_id).where(
                    FamilyLink.user_id == user.id, FamilyLink.status == LinkStatus.VERIFIED.value
                )
            )
        if role == Role.OPERATOR:
            # The facility's current residents (the beds feature's stay table, named here
            # as a plain table so the registry does not depend on that feature).
            stay = sa.table(
                "stay", sa.column("person_id"), sa.column("facility_id"), sa.column("discharged_on")
            )
            member = sa.table(
                "daycare_member",
                sa.column("person_id"),
                sa.column("facility_id"),
                sa.column("left_on"),
            )
            # ...and the current members of its day-care center.
            return sa.or_(
                cls.id.in_(
                    sa.select(stay.c.person_id).where(
                        stay.c.facility_id == user.facility_id, stay.c.discharged_on.is_(None)
                    )
                ),
                cls.id.in_(
                    sa.select(member.c.person_id).where(
                        member.c.facility_id == user.facility_id, member.c.left_on.is_(None)
                    )
                ),
            )
        if role == Role.VISITOR:
            # The people assigned to the visitor (the visits feature's tables, named here
            # as plain tables so the registry does not depend on that feature).
            target = sa.table("care_target", sa.column("id"), sa.column("person_id"))
            assignment = sa.table(
                "care_assignment", sa.column("target_id"), sa.column("visitor_id")
            )
            return cls.id.in_(
                sa.select(target.c.person_id)
                .join(assignment, assignment.c.target_id == target.c.id)
                .where(assignment.c.visitor_id == user.id)
            )
        return None

    def __repr__(self) -> str:
        return f"<Person {self.id} {self.name}>"


class AbilityAssessment(TimestampMixin, db.Model):
    """One dated GB/T 42195 assessment; the newest is the person's current level."""

    __tablename__ = "ability_assessment"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id"), index=True)
    assessed_on: Mapped[date]
    level: Mapped[str] = mapped_column(sa.String(16))
    assessor: Mapped[str] = mapped_column(sa.String(80), default="")
    # Health details are sensitive personal information: encrypted at rest.
    notes: Mapped[str | None] = mapped_column(EncryptedString())
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    person: Mapped[Person] = relationship(back_populates="assessments")

    __table_args__ = (one_of("level", AbilityLevel, "level_known"),)

    @property
    def level_label(self) -> str:
        return str(ABILITY_LABELS[AbilityLevel(self.level)])


class LifeEvent(TimestampMixin, db.Model):
    """One fact of a person's life recorded once (``people.life_events``), which every
    feature acted on in the same transaction. A death is recorded once per person."""

    __tablename__ = "life_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    occurred_on: Mapped[date]
    source: Mapped[str] = mapped_column(sa.String(16))
    #: Where the source says it comes from: the feed import and row, the stay discharged...
    source_ref: Mapped[str] = mapped_column(sa.String(100), default="")
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    #: The facility that recorded it (a discharge), told of nothing it did itself.
    facility_id: Mapped[int | None] = mapped_column(sa.ForeignKey("facility.id"))
    note: Mapped[str] = mapped_column(sa.String(255), default="")
    #: The change itself, {field: [before, after]} (economic status, ability level).
    details: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    #: What each feature did, as shown to the recorder: [[feature, text], ...] (the
    #: receivers' answers, kept in the recorder's language).
    effects: Mapped[list] = mapped_column(sa.JSON, default=list)

    person: Mapped[Person] = relationship()
    recorded_by: Mapped[User | None] = relationship()

    __table_args__ = (
        one_of("kind", LifeEventKind, "kind_known"),
        one_of("source", LifeEventSource, "source_known"),
        # Two officers recording the same death at once: one wins, the other is told.
        sa.Index(
            "uq_life_event_one_death",
            "person_id",
            unique=True,
            sqlite_where=sa.text("kind = 'death'"),
            postgresql_where=sa.text("kind = 'death'"),
        ),
    )

    @property
    def kind_label(self) -> str:
        return str(LIFE_EVENT_LABELS[LifeEventKind(self.kind)])

    @property
    def source_label(self) -> str:
        return str(LIFE_SOURCE_LABELS[LifeEventSource(self.source)])

    @classmethod
    def __scope__(cls, user):
        people = Person.__scope__(user)
        if people is None:
            return None
        return cls.person_id.in_(sa.select(Person.id).where(people))


class FamilyLink(TimestampMixin, db.Model):
    """A family account's claim to be a relative of a person, verified by staff."""

    __tablename__ = "family_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id"), index=True)
    relation: Mapped[str] = mapped_column(sa.String(20))
    status: Mapped[str] = mapped_column(sa.String(16), default=LinkStatus.PENDING.value)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision_note: Mapped[str] = mapped_column(sa.String(255), default="")

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    person: Mapped[Person] = relationship()
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    __table_args__ = (
        sa.UniqueConstraint("user_id", "person_id"),
        one_of("status", LinkStatus, "status_known"),
    )

    @property
    def status_label(self) -> str:
        return str(LINK_LABELS[LinkStatus(self.status)])

    @classmethod
    def __scope__(cls, user):
        role = role_of(user)
        if role == Role.ADMIN:
            return sa.true()
        if role in STAFF_ROLES and user.region is not None:
            return cls.person_id.in_(
                sa.select(Person.id).where(Person.region_id.in_(Region.subtree_ids(user.region)))
            )
        if role == Role.FAMILY:
            return cls.user_id == user.id
        if role == Role.OPERATOR:
            # The facility verifies the relatives of the people it cares for (its residents
            # and day-care members: the people its operators see).
            return cls.person_id.in_(sa.select(Person.id).where(Person.__scope__(user)))
        return None


# A person registered by someone else between a form's or an import's check and its write.
CONSTRAINT_MESSAGES.update(
    {
        "uq_person_id_number_index": _l("This ID number is already registered."),
        "person.id_number_index": _l("This ID number is already registered."),
        "uq_life_event_one_death": _l("This death has just been recorded by someone else."),
    }
)
