"""Webhook reminders: `planning` decides what is owed (pure), `service` delivers it from the ledger."""
