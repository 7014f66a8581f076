"""Browsing the audit log within one's scope."""
