"""The pure core: data and `now` in, values out.

Nothing here imports Flask, SQLAlchemy, aiohttp, APScheduler, threads or the environment, nor any other
layer of this package (`tests/test_boundaries.py` checks the rule by path). Every other layer builds on it.
"""
