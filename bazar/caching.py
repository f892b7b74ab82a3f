"""Cached reads that no write outlives: every entry carries the generation it was built under, and a write starts
a new generation, so older entries are never served again.

A write starts one now, for reads later in its own transaction, and again once the transaction commits: the
generation is read before the rows are, so a value built while the write was not yet visible carries an older
generation. If the generation key is missing (never set, or evicted) a fresh one orphans whatever was cached.
Without the cache (Redis unreachable) every read builds its value, as if nothing were cached. Nothing is cached
unless settings.CACHE_READS (on with Redis: a cache every process shares), and nothing is stored from inside a
transaction, whose rows may still roll back.

A read can take a counter along (`cached_and_counted`): on Redis the entry, its generation and the counter's
increment travel as one script, so that authenticating a request and counting it for its rate cost one round trip.

`CachedListMixin` serves a viewset's list pages this way, per caller and query.
"""

import hashlib
import logging
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django_redis.client import DefaultClient
from redis.commands.core import Script
from redis.exceptions import RedisError
from rest_framework.response import Response

logger = logging.getLogger(__name__)


def _new_generations(generation_keys: list[str]) -> None:
    cache.set_many({key: uuid.uuid4().hex for key in generation_keys}, timeout=None)


def start_new_generations(generation_keys: Iterable[str], using: str | None = None) -> None:
    """Orphan what was cached under these generation keys: now, and again once the current transaction commits."""
    generation_keys = list(generation_keys)
    if generation_keys:
        _new_generations(generation_keys)
        transaction.on_commit(lambda: _new_generations(generation_keys), using=using)


def increment(cache, key: str, timeout: int) -> int | None:
    """Add one to a counter that lives `timeout` seconds from its first increment; None if the cache is unreachable."""
    if isinstance(getattr(cache, "client", None), DefaultClient):
        return _read(cache, [], key, timeout)[1]
    try:
        return cache.incr(key)
    except ValueError:  # the counter's first increment
        if cache.add(key, 1, timeout=timeout):
            return 1
        try:
            return cache.incr(key)  # another process made it first
        except ValueError:
            return None


# What `_read` asks of Redis, as one command: MGET of the keys but the last, INCR of the last, whose lifetime the
# increment that made it sets (EXPIRE NX); missing keys come back as nil, as from MGET. One EVALSHA costs the client
# less than the same commands as a pipeline: users/me went from 2,387K to 2,278K instructions per request
# (scripts/bench/instructions.py).
_READ_AND_COUNT = Script(
    None,
    b"""
local counter = KEYS[#KEYS]
local found = {}
if #KEYS > 1 then
  found = redis.call('MGET', unpack(KEYS, 1, #KEYS - 1))
end
found[#found + 1] = redis.call('INCR', counter)
redis.call('EXPIRE', counter, ARGV[1], 'NX')
return found
""",
)


def _read(cache, keys: list[str], counter: str | None, counter_timeout: int) -> tuple[dict, int | None]:
    """cache.get_many(keys) and, with a counter, that counter incremented: in one round trip on Redis."""
    client = getattr(cache, "client", None)
    if counter is None or not isinstance(client, DefaultClient):
        return cache.get_many(keys), None if counter is None else increment(cache, counter, counter_timeout)
    redis_keys = [client.make_key(key) for key in (*keys, counter)]
    try:
        *values, count = _READ_AND_COUNT(redis_keys, [counter_timeout], client=client.get_client(write=True))
    except (RedisError, OSError):
        logger.warning("cache unreachable: nothing read from it, request not counted", exc_info=True)
        return {}, None
    return {key: client.decode(value) for key, value in zip(keys, values, strict=True) if value is not None}, count


def cached(key: str, generation_key: str, build: Callable, timeout: int):
    """The value cached under `key` if no write started a new generation since, else `build()`, then cached
    (a None result is not)."""
    return cached_and_counted(key, generation_key, build, timeout)[0]


def cached_and_counted(
    key: str, generation_key: str, build: Callable, timeout: int, counter: str | None = None, counter_timeout: int = 0
) -> tuple[Any, int | None]:
    """`cached()`, and `counter` incremented in the same round trip (a request counter, say): (value, count).
    The count is None without a counter, or when the cache is unreachable."""
    if not settings.CACHE_READS:
        return build(), None if counter is None else increment(cache, counter, counter_timeout)
    found, count = _read(cache, [generation_key, key], counter, counter_timeout)
    generation, entry = found.get(generation_key), found.get(key)
    if generation is not None and entry is not None and entry[0] == generation:
        return entry[1], count
    if generation is None:
        generation = uuid.uuid4().hex
        if not cache.add(generation_key, generation, timeout=None):
            generation = cache.get(generation_key) or generation
    value = build()
    if value is not None and not transaction.get_connection().in_atomic_block:
        cache.set(key, (generation, value), timeout=timeout)
    return value, count


# A list page outlives no write, but a write the cache missed (Redis unreachable at that moment) stales it this long.
LIST_PAGE_TIMEOUT = 60


def list_generation_key(name: str) -> str:
    return f"{name}:list:generation"


def lists_changed(name: str, using: str | None = None) -> None:
    """Orphan every cached page of the `name` list (see CachedListMixin)."""
    start_new_generations([list_generation_key(name)], using=using)


class CachedListMixin:
    """list() pages from the cache, per caller and query, until a write that could change what anyone sees in the
    list calls `lists_changed(list_cache)`: the app's signals do, for every write however it came.

    The caller's id and role are in the key (the role decides the scope); what else the scope depends on (their
    memberships, say) must be covered by the writes that start a new generation. Only queries of the list's own
    parameters are cached: others would let a caller fill the cache with copies of one page.
    """

    list_cache: str

    def list(self, request, *args, **kwargs):
        params = {*self.filterset_class.base_filters, "search", "ordering", "page", "page_size"}
        if not set(request.GET) <= params:
            return super().list(request, *args, **kwargs)
        user = request.user
        address = hashlib.sha256(request.build_absolute_uri().encode()).hexdigest()
        key = f"{self.list_cache}:list:{user.pk}:{user.role}:{address}"
        build = lambda: super(CachedListMixin, self).list(request, *args, **kwargs).data  # noqa: E731
        return Response(cached(key, list_generation_key(self.list_cache), build, timeout=LIST_PAGE_TIMEOUT))
