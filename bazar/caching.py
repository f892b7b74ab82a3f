"""Cached reads that no write outlives: every entry carries the generation it was built under, and a write starts
a new generation, so older entries are never served again.

A write starts one now, for reads later in its own transaction, and again once the transaction commits: the
generation is read before the rows are, so a value built while the write was not yet visible carries an older
generation. If the generation key is missing (never set, or evicted) a fresh one orphans whatever was cached.
Without the cache (Redis unreachable) every read builds its value, as if nothing were cached. Nothing is cached
unless settings.CACHE_READS (on with Redis: a cache every process shares), and nothing is stored from inside a
transaction, whose rows may still roll back.
"""

import uuid
from collections.abc import Callable, Iterable

from django.conf import settings
from django.core.cache import cache
from django.db import transaction


def _new_generations(generation_keys: list[str]) -> None:
    cache.set_many({key: uuid.uuid4().hex for key in generation_keys}, timeout=None)


def start_new_generations(generation_keys: Iterable[str], using: str | None = None) -> None:
    """Orphan what was cached under these generation keys: now, and again once the current transaction commits."""
    generation_keys = list(generation_keys)
    if generation_keys:
        _new_generations(generation_keys)
        transaction.on_commit(lambda: _new_generations(generation_keys), using=using)


def cached(key: str, generation_key: str, build: Callable, timeout: int):
    """The value cached under `key` if no write started a new generation since, else `build()`, then cached
    (a None result is not)."""
    if not settings.CACHE_READS:
        return build()
    found = cache.get_many([generation_key, key])
    generation, entry = found.get(generation_key), found.get(key)
    if generation is not None and entry is not None and entry[0] == generation:
        return entry[1]
    if generation is None:
        generation = uuid.uuid4().hex
        if not cache.add(generation_key, generation, timeout=None):
            generation = cache.get(generation_key) or generation
    value = build()
    if value is not None and not transaction.get_connection().in_atomic_block:
        cache.set(key, (generation, value), timeout=timeout)
    return value
