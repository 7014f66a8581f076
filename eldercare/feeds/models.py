"""The data feeds: named sources of a county (the funeral home, the household register), each
import of a death or move-out list (the file kept, encrypted, with its counts), and the rows
an officer must look at (the review queue) or that were refused."""

from __future__ import annotations

import base64
from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eldercare.auth.models import User
from eldercare.core.crypto import decrypt, encrypt
from eldercare.core.db import TimestampMixin, UTCDateTime, one_of
from eldercare.core.errors import CONSTRAINT_MESSAGES
from eldercare.core.permissions import Role, role_of
from eldercare.extensions import db
from eldercare.people.models import Person
from eldercare.regions.models import Region


class FeedKind(StrEnum):
    """What a list reports (the values of people's LifeEventKind)."""

    DEATH = "death"
    MOVED_OUT = "moved_out"


class ImportStatus(StrEnum):
    UPLOADED = "uploaded"  # the file kept, its columns not yet chosen
    PROCESSED = "processed"


class RowOutcome(StrEnum):
    REVIEW = "review"  # waits for a second officer
    REJECTED = "rejected"  # unreadable: an invalid ID number, no date...


class RowReason(StrEnum):
    """Why a row waits for an officer."""

    NAME_MISMATCH = "name_mismatch"
    UNKNOWN = "unknown"
    DOUBT = "doubt"
    CONFLICT = "conflict"
    REFUSED = "refused"


class RowStatus(StrEnum):
    PENDING = "pending"
    APPLIED = "applied"
    DISMISSED = "dismissed"
    CLOSED = "closed"  # a rejected row: nothing to decide


KIND_LABELS = {FeedKind.DEATH: _l("Death list"), FeedKind.MOVED_OUT: _l("Move-out list")}
IMPORT_STATUS_LABELS = {
    ImportStatus.UPLOADED: _l("Columns not chosen yet"),
    ImportStatus.PROCESSED: _l("Processed"),
}
REASON_LABELS = {
    RowReason.NAME_MISMATCH: _l("Same ID number, another name"),
    RowReason.UNKNOWN: _l("ID number not in the registry"),
    RowReason.DOUBT: _l("A module asks for a check"),
    RowReason.CONFLICT: _l("The registry holds another date"),
    RowReason.REFUSED: _l("Refused when applied"),
}
ROW_STATUS_LABELS = {
    RowStatus.PENDING: _l("Waiting for review"),
    RowStatus.APPLIED: _l("Applied"),
    RowStatus.DISMISSED: _l("Dismissed"),
    RowStatus.CLOSED: _l("Rejected"),
}


def county_scope(column, user):
    """Administrators see every county's feeds; county staff their county's; nobody else."""
    role = role_of(user)
    if role == Role.ADMIN:
        return sa.true()
    if role == Role.COUNTY_STAFF and user.region is not None:
        return column.in_(Region.subtree_ids(user.region))
    return None


class EncryptedBytes(sa.types.TypeDecorator):
    """A file's bytes, Fernet-encrypted in the database (a death list is a list of ID
    numbers: it is kept as encrypted as the registry's own)."""

    impl = sa.LargeBinary
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return encrypt(base64.b64encode(value).decode("ascii")).encode("ascii")

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return base64.b64decode(decrypt(bytes(value).decode("ascii")))


class FeedSource(TimestampMixin, db.Model):
    """Where a county's lists come from ("县殡仪馆", "公安户籍"); remembers which column of
    its files holds which field."""

    __tablename__ = "feed_source"

    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = mapped_column(sa.ForeignKey("region.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(50))
    #: {field: the header of the column that held it last time}
    mapping: Mapped[dict] = mapped_column(sa.JSON, default=dict)

    county: Mapped[Region] = relationship()

    __table_args__ = (sa.UniqueConstraint("county_id", "name"),)

    @classmethod
    def __scope__(cls, user):
        return county_scope(cls.county_id, user)


CONSTRAINT_MESSAGES["uq_feed_source_county_id_name"] = _l(
    "A source of this name already exists in the county."
)


class FeedImport(TimestampMixin, db.Model):
    """One uploaded list: the file as it came, the columns chosen and what came of it."""

    __tablename__ = "feed_import"

    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = mapped_column(sa.ForeignKey("region.id"), index=True)
    source_id: Mapped[int] = mapped_column(sa.ForeignKey("feed_source.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(16), default=ImportStatus.UPLOADED.value)
    original_name: Mapped[str] = mapped_column(sa.String(255))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    content: Mapped[bytes] = mapped_column(EncryptedBytes(), deferred=True)
    #: {field: column index} as chosen when it was processed
    mapping: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    imported_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rows_total: Mapped[int] = mapped_column(default=0)
    applied: Mapped[int] = mapped_column(default=0)
    already_known: Mapped[int] = mapped_column(default=0)
    to_review: Mapped[int] = mapped_column(default=0)
    unknown: Mapped[int] = mapped_column(default=0)
    rejected: Mapped[int] = mapped_column(default=0)
    #: rows already waiting in the review queue from an earlier import (not queued again)
    queued_before: Mapped[int] = mapped_column(default=0)

    county: Mapped[Region] = relationship()
    source: Mapped[FeedSource] = relationship()
    imported_by: Mapped[User] = relationship()

    __table_args__ = (
        one_of("kind", FeedKind, "kind_known"),
        one_of("status", ImportStatus, "status_known"),
    )

    @classmethod
    def __scope__(cls, user):
        return county_scope(cls.county_id, user)

    @property
    def kind_label(self) -> str:
        return str(KIND_LABELS[FeedKind(self.kind)])

    @property
    def status_label(self) -> str:
        return str(IMPORT_STATUS_LABELS[ImportStatus(self.status)])

    @property
    def is_processed(self) -> bool:
        return self.status == ImportStatus.PROCESSED.value

    @property
    def size_label(self) -> str:
        if self.size >= 1024 * 1024:
            return f"{self.size / (1024 * 1024):.1f} MB"
        return f"{max(self.size // 1024, 1)} KB"


class FeedRow(TimestampMixin, db.Model):
    """A row of a list that was not applied by itself: it waits for a second officer
    (``review``), or could not be read (``rejected``)."""

    __tablename__ = "feed_row"

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(sa.ForeignKey("feed_import.id"), index=True)
    county_id: Mapped[int] = mapped_column(sa.ForeignKey("region.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    #: the row's number in the file (the header is row 1)
    row_number: Mapped[int]
    outcome: Mapped[str] = mapped_column(sa.String(16))
    reason: Mapped[str | None] = mapped_column(sa.String(20))
    #: what went wrong or what the doubt is, in the importer's language
    message: Mapped[str] = mapped_column(sa.String(255), default="")
    id_number_index: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    id_number_masked: Mapped[str] = mapped_column(sa.String(18), default="")
    name: Mapped[str] = mapped_column(sa.String(50), default="")
    occurred_on: Mapped[date | None]
    source_text: Mapped[str] = mapped_column(sa.String(100), default="")
    destination: Mapped[str] = mapped_column(sa.String(100), default="")
    #: the registry person of the same ID number, if any
    person_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(16), default=RowStatus.PENDING.value)
    resolved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolution_note: Mapped[str] = mapped_column(sa.String(255), default="")
    #: the person the row was applied to (the officer's choice)
    applied_person_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id"))

    feed_import: Mapped[FeedImport] = relationship()
    person: Mapped[Person | None] = relationship(foreign_keys=[person_id])
    applied_person: Mapped[Person | None] = relationship(foreign_keys=[applied_person_id])
    resolved_by: Mapped[User | None] = relationship()

    __table_args__ = (
        one_of("kind", FeedKind, "kind_known"),
        one_of("outcome", RowOutcome, "outcome_known"),
        one_of("status", RowStatus, "status_known"),
        sa.CheckConstraint(
            "reason IS NULL OR reason IN (" + ", ".join(f"'{r.value}'" for r in RowReason) + ")",
            name="reason_known",
        ),
        sa.Index("ix_feed_row_queue", "county_id", "status", "kind"),
    )

    @classmethod
    def __scope__(cls, user):
        return county_scope(cls.county_id, user)

    @property
    def kind_label(self) -> str:
        return str(KIND_LABELS[FeedKind(self.kind)])

    @property
    def reason_label(self) -> str:
        return str(REASON_LABELS[RowReason(self.reason)]) if self.reason else ""

    @property
    def status_label(self) -> str:
        return str(ROW_STATUS_LABELS[RowStatus(self.status)])

    @property
    def is_pending(self) -> bool:
        return self.status == RowStatus.PENDING.value

    @property
    def source_ref(self) -> str:
        return f"feed:{self.import_id}:{self.row_number}"
