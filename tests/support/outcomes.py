"""Two past tentative events for the "date passed, outcome not confirmed" tests: one the curator has
recorded (`outcome: unconfirmed`, looked on 2026-12-07), one nobody has looked at since its date."""

from __future__ import annotations

RECORDED = """
  - id: recorded
    title: Hearing on the proposed duties
    kind: hearing
    status: tentative
    outcome: unconfirmed
    countries: [US]
    date: 2026-07-06
    verified: 2026-12-07
    sources: [{title: Notice, url: "https://example.org/n"}]
"""
NOT_YET_RECORDED = """
  - id: not-yet-recorded
    title: Suspension runs out
    kind: deadline
    status: tentative
    countries: [US]
    date: 2026-11-27
    sources: [{title: Notice, url: "https://example.org/n"}]
"""
