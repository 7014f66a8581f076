"""Accounts, sign-in, API tokens and the administration of users."""
