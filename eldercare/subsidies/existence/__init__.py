"""The yearly existence check (生存认证) of the programs whose rules ask for it."""
