"""Use cases: what the service does, written once, called by the web API, the pages and the CLI alike.

    subscriptions.py   create, change, delete, re-enable a subscription; send a test; read the log
    events.py          select events (filters, from/to, words) and the one order lists are shown in (pure)
    deadlines.py       select the upcoming deadlines of a calendar, by the day each is shown (pure)
    changes.py         what changed since a moment, narrowed by the feed's filters
    feeds.py           the subscription feed: choices from a query, its canonical address, the render

Adapters (`web/`, `cli/`) parse the request or the command line, call one function here and render
what it returns; errors come back as the typed exceptions of `errors.py`.
"""
