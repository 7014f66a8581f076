"""Plotly figures of subsidy reports: data in, figure out (no queries here)."""

from __future__ import annotations

from datetime import date

import plotly.graph_objects as go
from flask_babel import gettext as _

from eldercare.core.figures import layout
from eldercare.subsidies.bankfile import yuan
from eldercare.subsidies.reports import Series

COLOURS = ["#0d6efd", "#198754", "#fd7e14", "#6f42c1", "#dc3545", "#20c997", "#6c757d"]


def amounts_by_program(months: list[date], series: list[Series]) -> go.Figure:
    """What each program paid out in each of the months, in yuan, side by side."""
    labels = [f"{m:%Y-%m}" for m in months]
    fig = go.Figure(
        [
            go.Bar(
                name=s.program.name,
                x=labels,
                # plotly draws floats; the hover label shows the exact amount.
                y=[float(yuan(fen)) for fen in s.amounts_fen],
                marker_color=COLOURS[i % len(COLOURS)],
                customdata=[str(yuan(fen)) for fen in s.amounts_fen],
                hovertemplate="%{x} %{fullData.name}: %{customdata}<extra></extra>",
            )
            for i, s in enumerate(series)
        ]
    )
    return layout(
        fig,
        barmode="group",
        title={"text": _("Amounts paid out per month"), "font": {"size": 15}},
        xaxis={"type": "category"},
        yaxis={"title": _("Yuan"), "rangemode": "tozero"},
    )
