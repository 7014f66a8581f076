"""Plotly figures of visit coverage: data in, figure out (no queries here)."""

from __future__ import annotations

import plotly.graph_objects as go
from flask_babel import gettext as _

from eldercare.core.figures import layout
from eldercare.visits.coverage import TARGET_RATE, Coverage


def _target_line(fig: go.Figure) -> None:
    fig.add_hline(
        y=TARGET_RATE * 100,
        line_dash="dash",
        line_color="#dc3545",
        annotation_text=_("Target %(pct)s%%", pct=round(TARGET_RATE * 100)),
        annotation_position="bottom right",
    )


def rate_by_area(result: Coverage) -> go.Figure:
    """The month's visit rate of each area one level down, with the overdue count."""
    areas = result.by_subregion
    fig = go.Figure(
        go.Bar(
            x=[a.region.name for a in areas],
            y=[round(a.rate * 100, 1) if a.rate is not None else 0 for a in areas],
            text=[f"{a.visited}/{a.targets}" for a in areas],
            textposition="auto",
            marker_color=["#198754" if a.meets_target else "#fd7e14" for a in areas],
            customdata=[[a.overdue] for a in areas],
            hovertemplate="%{x}: %{y}% (%{text})<extra></extra>",
        )
    )
    _target_line(fig)
    return layout(
        fig,
        title={"text": _("Monthly visit rate by area"), "font": {"size": 15}},
        yaxis={"title": "%", "range": [0, 105]},
        xaxis={"tickangle": -30, "automargin": True},
    )


def rate_trend(result: Coverage) -> go.Figure:
    """The area's monthly visit rate over the last twelve months."""
    fig = go.Figure(
        go.Scatter(
            x=[month.strftime("%Y-%m") for month, _rate in result.trend],
            y=[round(rate * 100, 1) if rate is not None else None for _m, rate in result.trend],
            mode="lines+markers",
            line={"color": "#0d6efd", "width": 3},
            hovertemplate="%{x}: %{y}%<extra></extra>",
        )
    )
    _target_line(fig)
    return layout(
        fig,
        title={"text": _("Monthly visit rate, last 12 months"), "font": {"size": 15}},
        yaxis={"title": "%", "range": [0, 105]},
        xaxis={"type": "category"},
    )
