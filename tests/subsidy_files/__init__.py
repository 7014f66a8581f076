"""Bank files, the bank's return, resolutions, reversals, reports and jobs of subsidies."""
