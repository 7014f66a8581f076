"""The figures of a subsidy report and what they are made of: a cell (count and amount),
a line of a detail list, a program's punctuality and amounts, the report of a period."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from eldercare.facilities.models import Facility
from eldercare.people.models import Person
from eldercare.regions.models import Region
from eldercare.subsidies import periods
from eldercare.subsidies.models import (
    PAYMENT_KIND_LABELS,
    Batch,
    Enrolment,
    Payment,
    PaymentKind,
    PaymentStatus,
    Program,
)

PAY = Payment.__table__
E = Enrolment.__table__
P = Person.__table__
F = Facility.__table__
R = Region.__table__
KINDS = [k.value for k in PaymentKind]
STATUSES = [s.value for s in PaymentStatus]
#: What a batch pays out: what has gone, or is about to go, to the bank.
PAID_OUT = (
    PaymentStatus.APPROVED.value,
    PaymentStatus.EXPORTED.value,
    PaymentStatus.PAID.value,
)
MONTHS = 12
CHUNK = 5000


@dataclass(frozen=True)
class Cell:
    count: int = 0
    fen: int = 0


@dataclass(frozen=True)
class Line:
    """A beneficiary in a detail list (new, stopped, back pay)."""

    enrolment_id: int
    name: str
    id_masked: str
    area: str
    amount_fen: int
    kind: str = ""
    period: str = ""
    reason: str = ""


@dataclass(frozen=True)
class Punctuality:
    program: Program
    due: int
    on_time: int

    @property
    def late(self) -> int:
        return self.due - self.on_time

    @property
    def share(self) -> float | None:
        return self.on_time / self.due if self.due else None


@dataclass(frozen=True)
class Series:
    program: Program
    amounts_fen: list[int]
    #: How many payments make up each month's amount.
    counts: list[int] = field(default_factory=list)


@dataclass
class Report:
    area: Region
    program: Program
    period: date
    previous: date
    batch: Batch | None
    ledger: dict[str, dict[str, Cell]] = field(default_factory=dict)
    new: list[Line] = field(default_factory=list)
    new_count: int = 0
    stopped: list[Line] = field(default_factory=list)
    stopped_count: int = 0
    back_pay: list[Line] = field(default_factory=list)
    back_pay_count: int = 0
    months: list[date] = field(default_factory=list)
    series: list[Series] = field(default_factory=list)
    punctuality: list[Punctuality] = field(default_factory=list)

    @property
    def period_label(self) -> str:
        return periods.label(self.program.frequency, self.period)

    @property
    def previous_label(self) -> str:
        return periods.label(self.program.frequency, self.previous)

    @property
    def statuses(self) -> list[str]:
        """The statuses that occur in the ledger, in their natural order."""
        present = {s for row in self.ledger.values() for s in row}
        return [s for s in STATUSES if s in present]

    @property
    def kinds(self) -> list[str]:
        return [k for k in KINDS if k in self.ledger]

    def kind_total(self, kind: str) -> Cell:
        cells = self.ledger.get(kind, {}).values()
        return Cell(sum(c.count for c in cells), sum(c.fen for c in cells))

    def status_total(self, status: str) -> Cell:
        cells = [row[status] for row in self.ledger.values() if status in row]
        return Cell(sum(c.count for c in cells), sum(c.fen for c in cells))

    @property
    def total(self) -> Cell:
        cells = [c for row in self.ledger.values() for c in row.values()]
        return Cell(sum(c.count for c in cells), sum(c.fen for c in cells))


def in_area(area: Region):
    """Payments to beneficiaries living in ``area`` (or below it)."""
    return PAY.c.region_id.in_(Region.subtree_ids(area))


def kind_label(kind: str) -> str:
    return str(PAYMENT_KIND_LABELS[PaymentKind(kind)])
