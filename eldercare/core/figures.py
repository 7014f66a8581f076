"""The one look of every chart: plotly figures share margins, height, font and legend."""

from __future__ import annotations

import plotly.graph_objects as go

FONT = 'system-ui, "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif'


def layout(fig: go.Figure, **kwargs) -> go.Figure:
    fig.update_layout(
        margin={"l": 48, "r": 16, "t": 40, "b": 48},
        height=320,
        font={"family": FONT, "size": 13},
        plot_bgcolor="white",
        legend={"orientation": "h", "y": -0.2},
        **kwargs,
    )
    fig.update_yaxes(gridcolor="#e9ecef")
    return fig
