"""Plotly figures of day-care operations: data in, figure out (no queries here)."""

from __future__ import annotations

import plotly.graph_objects as go
from flask_babel import gettext as _

from eldercare.core.figures import layout
from eldercare.daycare.reports import MonthlyReport, Rollup

BLUE = "#0d6efd"
GREEN = "#198754"
ORANGE = "#fd7e14"
RED = "#dc3545"
GREY = "#adb5bd"
LIGHT = "#dee2e6"
LIGHT_RED = "#f5c2c7"
#: Hover label of a center's bar: its name, the value, and the trace's name.
HOVER = "%{customdata}: %{x}"


def attendance_by_day(report: MonthlyReport) -> go.Figure:
    """People present on each day of the month (grey on days the center was not open), the
    meals served, and the capacity line."""
    days = report.days
    x = [d.day.day for d in days]
    labels = [f"{d.day.isoformat()} {d.weekday_label}" for d in days]
    fig = go.Figure(
        [
            go.Bar(
                name=_("Attendance"),
                x=x,
                y=[d.attendance for d in days],
                marker_color=[BLUE if d.open else GREY for d in days],
                customdata=labels,
                hovertemplate="%{customdata}: %{y}<extra></extra>",
            ),
            go.Scatter(
                name=_("Meals"),
                x=x,
                y=[d.meals for d in days],
                mode="lines+markers",
                line={"color": ORANGE, "width": 2},
                customdata=labels,
                hovertemplate="%{customdata}: %{y}<extra></extra>",
            ),
        ]
    )
    fig.add_hline(
        y=report.settings.capacity,
        line_dash="dash",
        line_color=RED,
        annotation_text=_("Capacity %(n)s", n=report.settings.capacity),
        annotation_position="top left",
    )
    last = report.period.last.day if days else 1
    return layout(
        fig,
        title={"text": _("Attendance per day"), "font": {"size": 15}},
        xaxis={"title": report.month.strftime("%Y-%m"), "range": [0.5, max(last, 7) + 0.5]},
        yaxis={"title": _("People"), "rangemode": "tozero"},
        bargap=0.15,
    )


def _height(n: int) -> int:
    """A horizontal bar chart tall enough for every center's name."""
    return max(320, 120 + 30 * n)


def _centers_axis(rollup: Rollup) -> dict:
    # Positions, not names, on the axis: two centers may have the same name.
    return {
        "tickvals": list(range(len(rollup.centers))),
        "ticktext": [r.facility.name for r in rollup.centers],
        "autorange": "reversed",
        "automargin": True,
    }


def attendance_vs_capacity(rollup: Rollup) -> go.Figure:
    """Each center's average daily attendance over its capacity; centers not operating in
    red."""
    rows = rollup.centers
    operating = [i for i, r in enumerate(rows) if not r.not_operating]
    idle = [i for i, r in enumerate(rows) if r.not_operating]

    def average(i: int) -> float:
        value = rows[i].average_daily
        return round(value, 1) if value is not None else 0

    fig = go.Figure(
        [
            *(
                go.Bar(
                    name=_("Capacity"),
                    legendgroup="capacity",
                    showlegend=not red,
                    orientation="h",
                    y=subset,
                    x=[rows[i].capacity for i in subset],
                    marker_color=LIGHT_RED if red else LIGHT,
                    customdata=[rows[i].facility.name for i in subset],
                    hovertemplate=HOVER,
                )
                for subset, red in ((operating, False), (idle, True))
            ),
            go.Bar(
                name=_("Average daily attendance"),
                orientation="h",
                y=operating,
                x=[average(i) for i in operating],
                width=0.5,
                marker_color=BLUE,
                customdata=[rows[i].facility.name for i in operating],
                hovertemplate=HOVER,
            ),
            go.Bar(
                name=_("Not operating"),
                orientation="h",
                y=idle,
                x=[average(i) for i in idle],
                width=0.5,
                marker_color=RED,
                customdata=[rows[i].facility.name for i in idle],
                hovertemplate=HOVER,
            ),
        ]
    )
    layout(
        fig,
        barmode="overlay",
        title={"text": _("Average daily attendance and capacity"), "font": {"size": 15}},
        xaxis={"rangemode": "tozero"},
        yaxis=_centers_axis(rollup),
    )
    return fig.update_layout(height=_height(len(rows)))


def meals_by_center(rollup: Rollup) -> go.Figure:
    """Meals served by each center in the month, subsidised and not."""
    rows = rollup.centers
    positions = list(range(len(rows)))
    fig = go.Figure(
        [
            go.Bar(
                name=_("Subsidised"),
                orientation="h",
                y=positions,
                x=[r.subsidised_meals for r in rows],
                marker_color=GREEN,
                customdata=[r.facility.name for r in rows],
                hovertemplate=HOVER,
            ),
            go.Bar(
                name=_("Not subsidised"),
                orientation="h",
                y=positions,
                x=[r.meals - r.subsidised_meals for r in rows],
                marker_color=BLUE,
                customdata=[r.facility.name for r in rows],
                hovertemplate=HOVER,
            ),
        ]
    )
    layout(
        fig,
        barmode="stack",
        title={"text": _("Meals by center"), "font": {"size": 15}},
        xaxis={"rangemode": "tozero"},
        yaxis=_centers_axis(rollup),
    )
    return fig.update_layout(height=_height(len(rows)))
