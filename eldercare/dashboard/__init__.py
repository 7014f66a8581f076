"""County overview: indicators with their targets, and plotly figure builders."""
