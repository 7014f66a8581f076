"""Infrastructure shared by every feature: no feature rules live here."""
