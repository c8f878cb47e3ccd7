"""Pure renderers: core values → bytes or text for one reader (iCalendar, Atom, JSON, webhook bodies, pages).

Imports the core and nothing above it; no I/O.
"""
