"""Subsidy reports of an area, per program and period, and their .xlsx export. The one place
where each figure is defined:

- the batch ledger of a period: the payments of the program's batch for that period (the
  period itself, back pay for earlier periods, re-issues), plus the reversal entries of any
  of them, counted and added up by kind and status;
- paid in a period: a payment for that period (whichever batch carried it) that is live:
  pending, held, approved, sent to the bank or paid (one per enrolment and period, ever);
- new (新增): enrolments paid in the period and not in the previous one; stopped (停发):
  paid in the previous period and not in this one, with the reason: the enrolment's stop
  reason, a death before the period, a move out of the county, the suspension reason, or
  what happened to the period's payment (its exception, a failed or returned transfer);
- back pay (补发): the batch's payments of kind back pay, with the enrolment's reason;
- amounts per program: for each of the twelve months up to the period, what the batch of
  that period pays out (approved, sent or paid);
- paid on time: a batch is on time when it was first sent to the bank by its due date; a
  period whose due date has passed with no batch sent is late. The share is over the
  periods of the twelve months from the program's first batch on.

ID numbers are masked everywhere, in the page and in the export. The area narrows the
payments (by where the beneficiary lives), not the batches.

The package: ``model`` (the figures and their parts), ``period`` (one program's report of a
period), ``trends`` (amounts per month and punctuality, for the overview too) and
``workbook`` (the .xlsx export); its names are re-exported here for the callers outside.
"""

from __future__ import annotations

from eldercare.subsidies.reports.model import (
    KINDS,
    Cell,
    Line,
    Punctuality,
    Report,
    Series,
    kind_label,
)
from eldercare.subsidies.reports.period import (
    build,
    default_period,
    programs_for,
    related_programs,
)
from eldercare.subsidies.reports.trends import amounts_by_area, amounts_series, punctuality
from eldercare.subsidies.reports.workbook import report_xlsx

__all__ = [
    "KINDS",
    "Cell",
    "Line",
    "Punctuality",
    "Report",
    "Series",
    "amounts_by_area",
    "amounts_series",
    "build",
    "default_period",
    "kind_label",
    "programs_for",
    "punctuality",
    "related_programs",
    "report_xlsx",
]
