"""Plotly figures of the star distribution: data in, figure out (no queries here)."""

from __future__ import annotations

import plotly.graph_objects as go
from flask_babel import gettext as _

from eldercare.core.figures import layout
from eldercare.ratings.distribution import LEVELS, Row, StarOverview
from eldercare.ratings.grades import star_label

#: Light to dark with the stars; not rated in grey.
COLOURS = {1: "#cfe2ff", 2: "#9ec5fe", 3: "#6ea8fe", 4: "#3d8bfd", 5: "#0a58ca", None: "#adb5bd"}


def _stacked(rows: list[Row], title: str, compared: bool) -> go.Figure:
    labels = [str(row.label) for row in rows]
    change = " (%{customdata:+d})" if compared else ""
    fig = go.Figure(
        [
            go.Bar(
                name=star_label(level),
                x=labels,
                y=[row.now.by_level[level] for row in rows],
                marker_color=COLOURS[level],
                customdata=[row.change(level) for row in rows] if compared else None,
                hovertemplate="%{x}: %{y}" + change + "<extra>%{fullData.name}</extra>",
            )
            for level in LEVELS
        ]
    )
    return layout(
        fig,
        barmode="stack",
        title={"text": title, "font": {"size": 15}},
        yaxis={"title": _("Facilities"), "rangemode": "tozero"},
        xaxis={"tickangle": -30, "automargin": True, "type": "category"},
    )


def by_kind(overview: StarOverview) -> go.Figure:
    """Facilities of each kind by star level (stacked)."""
    return _stacked(overview.by_kind, _("Star levels by kind of facility"), overview.compared)


def by_township(overview: StarOverview) -> go.Figure:
    """Facilities of each township by star level (stacked)."""
    return _stacked(overview.by_township, _("Star levels by township"), overview.compared)
