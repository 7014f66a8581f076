"""Death and move-out lists from the funeral service, the household register and social
security, imported, matched to the registry and applied through people.life_events."""
