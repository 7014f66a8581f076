"""A county's subsidy programs, which programs exclude each other, and their versioned rule
tables."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eldercare.core.db import TimestampMixin, one_of
from eldercare.extensions import db
from eldercare.regions.models import Region
from eldercare.subsidies.models.enums import (
    BASIS_LABELS,
    FREQUENCY_LABELS,
    KIND_LABELS,
    MONTHS_IN,
    PERSON_KINDS,
    TIMING_LABELS,
    UNDECIDED_PAYMENT,
    Basis,
    Frequency,
    ProgramKind,
    Timing,
)
from eldercare.subsidies.models.scopes import county_of_region


class Program(TimestampMixin, db.Model):
    """A county's subsidy program: who it pays, how often, and by which rule tables."""

    __tablename__ = "subsidy_program"

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("region.id"), index=True)
    code: Mapped[str] = mapped_column(sa.String(20))
    name: Mapped[str] = mapped_column(sa.String(80))
    kind: Mapped[str] = mapped_column(sa.String(20))
    basis: Mapped[str] = mapped_column(sa.String(16), default=Basis.PERSON.value)
    frequency: Mapped[str] = mapped_column(sa.String(10), default=Frequency.MONTHLY.value)
    timing: Mapped[str] = mapped_column(sa.String(8), default=Timing.ADVANCE.value)
    #: Day of the month by which a period's payments are due at the bank.
    pay_day: Mapped[int] = mapped_column(default=10)
    notice_days: Mapped[int] = mapped_column(default=7)
    review_months: Mapped[int] = mapped_column(default=12)
    #: Columns of the bank file, in order (keys of subsidies.bankfile.COLUMNS).
    bank_columns: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    region: Mapped[Region] = relationship()
    tables: Mapped[list[RuleTable]] = relationship(
        back_populates="program", order_by=lambda: RuleTable.effective_from.desc()
    )

    __table_args__ = (
        sa.UniqueConstraint("region_id", "code"),
        one_of("kind", ProgramKind, "kind_known"),
        one_of("basis", Basis, "basis_known"),
        one_of("frequency", Frequency, "frequency_known"),
        one_of("timing", Timing, "timing_known"),
        sa.CheckConstraint("pay_day BETWEEN 1 AND 28", name="pay_day_in_range"),
        sa.CheckConstraint("notice_days BETWEEN 1 AND 60", name="notice_days_in_range"),
        sa.CheckConstraint("review_months BETWEEN 1 AND 36", name="review_months_in_range"),
        # A person program pays per person; a facility program never does.
        sa.CheckConstraint(
            "(kind IN ('age_allowance', 'care_subsidy', 'service_subsidy')) = (basis = 'person')",
            name="basis_matches_kind",
        ),
        sa.CheckConstraint("basis <> 'meal' OR timing = 'arrears'", name="meals_in_arrears"),
    )

    @classmethod
    def __scope__(cls, user):
        return county_of_region(cls.region_id, user)

    @property
    def pays_people(self) -> bool:
        return ProgramKind(self.kind) in PERSON_KINDS

    @property
    def months(self) -> int:
        return MONTHS_IN[Frequency(self.frequency)]

    @property
    def kind_label(self) -> str:
        return str(KIND_LABELS[ProgramKind(self.kind)])

    @property
    def frequency_label(self) -> str:
        return str(FREQUENCY_LABELS[Frequency(self.frequency)])

    @property
    def timing_label(self) -> str:
        return str(TIMING_LABELS[Timing(self.timing)])

    @property
    def basis_label(self) -> str:
        return str(BASIS_LABELS[Basis(self.basis)])

    def table_for(self, period: date) -> RuleTable | None:
        """The rule table in force for a period: the latest that took effect by its start."""
        for table in self.tables:  # newest first
            if table.effective_from <= period:
                return table
        return None


program_exclusion = sa.Table(
    "subsidy_program_exclusion",
    db.metadata,
    sa.Column("program_id", sa.ForeignKey("subsidy_program.id"), primary_key=True),
    sa.Column("other_id", sa.ForeignKey("subsidy_program.id"), primary_key=True),
    sa.CheckConstraint("program_id <> other_id", name="not_itself"),
)


class RuleTable(TimestampMixin, db.Model):
    """One version of a program's amounts, in force from a month on. Frozen once a batch
    has been approved with it; a change of policy is a new version."""

    __tablename__ = "subsidy_rule_table"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(sa.ForeignKey("subsidy_program.id"), index=True)
    version: Mapped[int]
    effective_from: Mapped[date]
    note: Mapped[str] = mapped_column(sa.String(255), default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    program: Mapped[Program] = relationship(back_populates="tables")
    rules: Mapped[list[Rule]] = relationship(
        back_populates="table",
        order_by=lambda: Rule.position,
        cascade="all, delete-orphan",
    )

    __table_args__ = (
        sa.UniqueConstraint("program_id", "version"),
        sa.UniqueConstraint("program_id", "effective_from"),
    )

    @property
    def is_frozen(self) -> bool:
        from eldercare.subsidies.models.batches import Payment  # payments refer to rules

        return (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(Payment)
                .join(Rule, Rule.id == Payment.rule_id)
                .where(Rule.table_id == self.id, Payment.status.not_in(UNDECIDED_PAYMENT))
            )
            > 0
        )


class Rule(db.Model):
    """A row of a rule table: who it applies to and the amount per month (or per unit).

    Empty conditions match anyone. The rows of one table never overlap (checked when saved),
    so a person matches at most one rule and generation needs no precedence.
    """

    __tablename__ = "subsidy_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    table_id: Mapped[int] = mapped_column(sa.ForeignKey("subsidy_rule_table.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    label: Mapped[str] = mapped_column(sa.String(80), default="")
    min_age: Mapped[int | None]
    max_age: Mapped[int | None]
    economic_statuses: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    ability_levels: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    star_levels: Mapped[list[int]] = mapped_column(sa.JSON, default=list)
    amount_fen: Mapped[int]

    table: Mapped[RuleTable] = relationship(back_populates="rules")

    __table_args__ = (
        sa.CheckConstraint("amount_fen BETWEEN 0 AND 100000000", name="amount_in_range"),
        sa.CheckConstraint(
            "min_age IS NULL OR max_age IS NULL OR min_age <= max_age", name="age_range"
        ),
    )
