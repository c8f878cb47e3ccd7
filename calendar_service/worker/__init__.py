"""What `trade-calendar worker` (and `serve`) runs: the reminder scheduler, delivery and their metrics.

Builds on core, render and adapters; web and CLI start it, it never imports them.
"""
