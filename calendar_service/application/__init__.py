"""Use cases: what the service does, written once, called by the web API and the CLI alike.

    subscriptions.py   create, change, delete, re-enable a subscription; send a test; read the log
    deadlines.py       select the upcoming deadlines of a calendar (pure)

Adapters (`web/`, `cli/`) parse the request or the command line, call one function here and render
what it returns; errors come back as the typed exceptions of `errors.py`.
"""
