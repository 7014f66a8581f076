"""Day-care operating figures: the monthly report of one center (the evidence for operating
subsidies, 运营补贴, and for rating) and the roll-up of every center of an area, and their
.xlsx exports. The one place where each figure is defined:

- period: the calendar month, cut at today (a future part of the current month is not
  counted); all days are county (Asia/Shanghai) dates.
- open days: days of the period on one of the center's opening weekdays that are not one of
  its closed days. A facility never configured has the defaults of ``Center`` (Mon-Fri, 30).
- person-days (出勤人次): attendance records in the period, one per person and day, whatever
  the day (people who came on an extra day still came).
- people served: distinct people who attended or had a meal at the center in the period.
- average daily attendance: person-days / open days (none without an open day); its ratio
  to the capacity.
- members at the end: distinct people whose membership covers the period's last day (the
  leaving day is their last day as a member); new members and leavers: memberships that
  began / ended in the period (distinct people).
- walk-ins: attendance records marked walk-in (person-days of people who were not members).
- meals: meals served in the period, by type; subsidised meals: those marked subsidised, and
  their amount: the sum of the price recorded on each of them, in fen.
- activities: activities that started in the period; participant-times: their participants,
  each counted once per activity.
- incidents: incidents that occurred in the period, by risk; open: those of them not closed.
- not operating (roll-up): no attendance recorded in the ``idle_days`` days up to today
  (today - idle_days + 1 .. today), or never.

Every figure comes from a constant number of grouped queries: none per day, person or center.
"""

from eldercare.daycare.reports.monthly import MonthlyReport, monthly_report
from eldercare.daycare.reports.rollup import Rollup, county_rollup
from eldercare.daycare.reports.xlsx import report_header, report_xlsx, rollup_header, rollup_xlsx

__all__ = [
    "MonthlyReport",
    "Rollup",
    "county_rollup",
    "monthly_report",
    "report_header",
    "report_xlsx",
    "rollup_header",
    "rollup_xlsx",
]
