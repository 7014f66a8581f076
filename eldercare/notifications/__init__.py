"""Notifications: an outbox of messages (in-app, e-mail, SMS) and the dispatcher that sends them."""
