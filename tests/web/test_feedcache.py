"""The feed cache keeps values per generation and key; it knows nothing of what it keeps."""

from __future__ import annotations

from calendar_service.web.feedcache import FeedCache


class Builder:
    """Counts its calls; each call builds a new value."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        return f"value {self.calls}"


def test_a_key_is_built_once_per_generation() -> None:
    cache: FeedCache[str] = FeedCache()
    build = Builder()
    assert cache.get(1, "a", build) == "value 1"
    assert cache.get(1, "a", build) == "value 1"
    assert cache.get(2, "a", build) == "value 2"  # a new generation starts empty
    assert build.calls == 2


def test_an_alias_answers_only_in_its_generation() -> None:
    cache: FeedCache[str] = FeedCache()
    cache.get(1, "a", Builder())
    cache.remember(1, ("host", "q=1"), "spelled")
    assert cache.cached(1, ("host", "q=1")) == "spelled"
    assert cache.cached(1, ("host", "q=2")) is None
    assert cache.cached(2, ("host", "q=1")) is None
    cache.get(2, "a", Builder())
    assert cache.cached(1, ("host", "q=1")) is None
    cache.remember(1, ("host", "q=1"), "stale")  # a request that began on the old generation
    assert cache.cached(2, ("host", "q=1")) is None


def test_least_recently_used_keys_go_first() -> None:
    cache: FeedCache[str] = FeedCache(maxsize=2)
    build = Builder()
    cache.get(1, "a", build)
    cache.get(1, "b", build)
    cache.get(1, "a", build)  # "a" is now the most recent
    cache.get(1, "c", build)  # evicts "b"
    assert build.calls == 3
    cache.get(1, "a", build)
    assert build.calls == 3
    cache.get(1, "b", build)
    assert build.calls == 4


def test_the_alias_index_is_bounded() -> None:
    cache: FeedCache[str] = FeedCache(maxsize=2)
    cache.get(1, "a", Builder())
    for n in range(9):
        cache.remember(1, ("host", f"_={n}"), "a")
    assert len(cache.alias) <= 8
    assert cache.cached(1, ("host", "_=8")) == "a"


def test_a_request_on_an_older_generation_keeps_nothing_and_wipes_nothing() -> None:
    cache: FeedCache[str] = FeedCache()
    build = Builder()
    cache.get(2, "a", build)
    cache.remember(2, ("host", ""), "value 1")
    assert cache.get(1, "a", build) == "value 2"  # began before the reload: built for it alone
    assert cache.get(2, "a", build) == "value 1"
    assert cache.cached(2, ("host", "")) == "value 1"
    assert build.calls == 2
