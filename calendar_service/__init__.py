"""Trade Calendar: trade-policy deadlines as feeds, an API and webhook reminders."""

__version__ = "0.1.0"
