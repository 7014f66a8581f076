"""Registry of care facilities and their operators."""
