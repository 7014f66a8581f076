"""Plotly figure builders for the bed indicators: data in, figure out (no queries here)."""

from __future__ import annotations

import plotly.graph_objects as go
from flask_babel import gettext as _

from eldercare.beds.models import CARE_TYPE_LABELS, CareType
from eldercare.core.figures import layout
from eldercare.dashboard.indicators import Area, Figures, TrendPoint

COLOURS = {
    CareType.NURSING.value: "#0d6efd",
    CareType.GENERAL.value: "#6c757d",
    CareType.DEMENTIA.value: "#6f42c1",
}


def beds_by_care_type(figures: Figures, target: float) -> go.Figure:
    """Share of beds of each care type (bars, with the count), and the nursing target line."""
    types = [c.value for c in CareType]
    shares = [
        (figures.by_care_type.get(t, 0) / figures.beds * 100) if figures.beds else 0 for t in types
    ]
    fig = go.Figure(
        go.Bar(
            x=[str(CARE_TYPE_LABELS[CareType(t)]) for t in types],
            y=shares,
            text=[_("%(n)s beds", n=figures.by_care_type.get(t, 0)) for t in types],
            textposition="auto",
            marker_color=[COLOURS[t] for t in types],
            hovertemplate="%{x}: %{y:.1f}%<extra></extra>",
        )
    )
    fig.add_hline(
        y=target * 100,
        line_dash="dash",
        line_color="#dc3545",
        annotation_text=_("Nursing-bed target %(pct)s%%", pct=round(target * 100)),
        annotation_position="top right",
    )
    return layout(
        fig,
        title={"text": _("Beds by care type (share of all beds)"), "font": {"size": 15}},
        yaxis={"title": "%", "range": [0, 100]},
    )


def occupancy_trend(points: list[TrendPoint]) -> go.Figure:
    """Occupancy rate on each month's end (the last point: the chosen day)."""
    fig = go.Figure(
        go.Scatter(
            x=[p.day.isoformat() for p in points],
            y=[round(p.rate * 100, 1) if p.rate is not None else None for p in points],
            mode="lines+markers",
            line={"color": "#198754", "width": 3},
            customdata=[[p.occupied, p.beds] for p in points],
            hovertemplate="%{x}: %{y}% (%{customdata[0]}/%{customdata[1]})<extra></extra>",
        )
    )
    return layout(
        fig,
        title={"text": _("Occupancy rate, last 12 months"), "font": {"size": 15}},
        yaxis={"title": "%", "rangemode": "tozero"},
        xaxis={"type": "date", "tickformat": "%Y-%m"},
    )


def beds_by_area(areas: list[Area], title: str) -> go.Figure:
    """Beds of each sub-region, stacked by care type."""
    names = [a.name for a in areas]
    fig = go.Figure(
        [
            go.Bar(
                name=str(CARE_TYPE_LABELS[CareType(t)]),
                x=names,
                y=[a.figures.by_care_type.get(t, 0) for a in areas],
                marker_color=COLOURS[t],
            )
            for t in (c.value for c in CareType)
        ]
    )
    return layout(
        fig,
        barmode="stack",
        title={"text": title, "font": {"size": 15}},
        yaxis={"title": _("Beds")},
        xaxis={"tickangle": -30, "automargin": True},
    )


def indicator_trend(indicator) -> go.Figure:
    """An overview indicator's last 12 months as a line, with its target as a dashed line.
    Shares are drawn in percent, amounts in yuan."""
    scale = {"share": 100, "fen": 0.01}.get(indicator.unit, 1)
    fig = go.Figure(
        go.Scatter(
            x=[p.month.strftime("%Y-%m") for p in indicator.trend],
            y=[None if p.value is None else p.value * scale for p in indicator.trend],
            mode="lines+markers",
            line={"color": "#0d6efd"},
            connectgaps=False,
            hovertemplate="%{x}: %{y:.1f}<extra></extra>",
        )
    )
    if indicator.target is not None and indicator.unit == "share":
        fig.add_hline(y=indicator.target * scale, line_dash="dash", line_color="#dc3545")
    fig = layout(fig)  # the card above the chart names it
    fig.update_layout(height=200, margin={"l": 40, "r": 12, "t": 12, "b": 36}, showlegend=False)
    if indicator.unit == "share":
        fig.update_yaxes(range=[0, 105], ticksuffix="%")
    fig.update_xaxes(type="category")
    return fig


def star_levels(stars) -> go.Figure:
    """Facilities by star level now and at the comparison (the previous round); ``stars`` is
    a ``dashboard.overview.StarChart``."""
    from eldercare.ratings.grades import star_label

    levels = [5, 4, 3, 2, 1, None]
    labels = [star_label(level) for level in levels]
    fig = go.Figure(
        go.Bar(
            name=_("Now"),
            x=labels,
            y=[stars.now.get(level, 0) for level in levels],
            marker_color="#0d6efd",
        )
    )
    if stars.compared:
        fig.add_bar(
            name=_("Before"),
            x=labels,
            y=[stars.before.get(level, 0) for level in levels],
            marker_color="#adb5bd",
        )
    return layout(fig, title={"text": _("Facilities by star level"), "font": {"size": 15}})


def program_amounts(programs) -> go.Figure:
    """The month's subsidy amounts (yuan) by program."""
    fig = go.Figure(
        go.Bar(
            x=[p.name for p in programs],
            y=[p.fen / 100 for p in programs],
            text=[f"{p.fen / 100:,.2f}" for p in programs],
            textposition="auto",
            marker_color="#198754",
        )
    )
    return layout(fig, title={"text": _("Subsidies by program (yuan)"), "font": {"size": 15}})
