"""Pages anyone may open without signing in: finding a facility with a free bed."""
