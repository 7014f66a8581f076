"""Care facilities: nursing homes, township homes, day-care centers, stations, providers."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eldercare.core.db import TimestampMixin, one_of
from eldercare.core.permissions import STAFF_ROLES, Role, role_of
from eldercare.extensions import db
from eldercare.regions.models import Region

if TYPE_CHECKING:
    from eldercare.auth.models import User


class FacilityKind(StrEnum):
    NURSING_HOME = "nursing_home"
    TOWNSHIP_HOME = "township_home"
    DAY_CARE = "day_care"
    HAPPINESS_HOME = "happiness_home"
    COMMUNITY_STATION = "community_station"
    HOME_CARE_PROVIDER = "home_care_provider"


class Ownership(StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"
    PUBLIC_BUILT_PRIVATE_RUN = "public_built_private_run"


KIND_LABELS = {
    FacilityKind.NURSING_HOME: _l("Nursing home"),
    FacilityKind.TOWNSHIP_HOME: _l("Township home"),
    FacilityKind.DAY_CARE: _l("Day-care center"),
    FacilityKind.HAPPINESS_HOME: _l("Rural happiness home"),
    FacilityKind.COMMUNITY_STATION: _l("Community station"),
    FacilityKind.HOME_CARE_PROVIDER: _l("Home-care provider"),
}
OWNERSHIP_LABELS = {
    Ownership.PUBLIC: _l("Public"),
    Ownership.PRIVATE: _l("Private"),
    Ownership.PUBLIC_BUILT_PRIVATE_RUN: _l("Public-built, privately run"),
}


class Facility(TimestampMixin, db.Model):
    __tablename__ = "facility"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    kind: Mapped[str] = mapped_column(sa.String(32), index=True)
    ownership: Mapped[str] = mapped_column(sa.String(32))
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("region.id"), index=True)
    address: Mapped[str] = mapped_column(sa.String(255), default="")
    latitude: Mapped[Decimal | None] = mapped_column(sa.Numeric(9, 6))
    longitude: Mapped[Decimal | None] = mapped_column(sa.Numeric(9, 6))
    licence_no: Mapped[str | None] = mapped_column(sa.String(64))
    contact_name: Mapped[str | None] = mapped_column(sa.String(80))
    contact_phone: Mapped[str | None] = mapped_column(sa.String(20))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    active: Mapped[bool] = mapped_column(default=True)

    region: Mapped[Region] = relationship()
    operators: Mapped[list[User]] = relationship(back_populates="facility")

    __table_args__ = (
        one_of("kind", FacilityKind, "kind_known"),
        one_of("ownership", Ownership, "ownership_known"),
        sa.CheckConstraint("latitude IS NULL OR (latitude BETWEEN -90 AND 90)", name="latitude"),
        sa.CheckConstraint(
            "longitude IS NULL OR (longitude BETWEEN -180 AND 180)", name="longitude"
        ),
    )

    @property
    def kind_label(self) -> str:
        return str(KIND_LABELS[FacilityKind(self.kind)])

    @property
    def ownership_label(self) -> str:
        return str(OWNERSHIP_LABELS[Ownership(self.ownership)])

    @classmethod
    def __scope__(cls, user):
        role = role_of(user)
        if role == Role.ADMIN:
            return sa.true()
        if role in STAFF_ROLES and user.region is not None:
            return cls.region_id.in_(Region.subtree_ids(user.region))
        if role == Role.OPERATOR:
            return cls.id == user.facility_id
        return None

    def __repr__(self) -> str:
        return f"<Facility {self.id} {self.name}>"


class OfFacility:
    """A record that belongs to a facility (``facility_id``): seen by the facility's own
    operators, by staff of the area it is in, and by admins."""

    @classmethod
    def __scope__(cls, user):
        role = role_of(user)
        if role == Role.ADMIN:
            return sa.true()
        if role == Role.OPERATOR:
            return cls.facility_id == user.facility_id
        if role in STAFF_ROLES and user.region is not None:
            return cls.facility_id.in_(
                sa.select(Facility.id).where(
                    Facility.region_id.in_(Region.subtree_ids(user.region))
                )
            )
        return None
