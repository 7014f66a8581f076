"""Day-care monthly reports and the county roll-up."""
