"""Webhook reminders, the pure part: who hears about an event (`audience`), what is owed (`planning`), how
the ledger is brought to match it (`reconciliation`), its rows (`records`), digests, the message data, one
delivery attempt (`attempts`) and when to try again (`retry`). The worker delivers them."""
