"""Webhook reminders, the pure part: what is owed (`planning`), its ledger rows (`records`), digests, the
message data, one delivery attempt (`attempts`) and when to try again (`retry`). The worker delivers them."""
