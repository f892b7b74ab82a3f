"""The signed-in user, cached between requests, so that authenticating a request costs no database query.

Each user has a generation key; every write to the user's row starts a new generation (now, and again once the
write commits), and a cached copy is served only under the generation it was read under. The generation is read
before the row is, so a copy read while a block, role, plan or password change was not yet visible carries an
older generation and is never served. Writes reach here through post_save/post_delete and UserQuerySet (bulk
updates). Without the cache (Redis unreachable) every request reads the row, as before.
"""

import uuid
from collections.abc import Callable, Iterable

from django.core.cache import cache
from django.db import transaction

# A cached copy lives at most this long: it bounds how stale a copy can get if a write's new generation could not
# reach the cache (Redis unreachable at that very moment, and reachable again with the old copy still in it).
USER_TIMEOUT = 60


def _generation_key(user_id) -> str:
    return f"auth:user:{user_id}:generation"


def _user_key(user_id) -> str:
    return f"auth:user:{user_id}"


def _new_generations(user_ids: list) -> None:
    cache.set_many({_generation_key(pk): uuid.uuid4().hex for pk in user_ids}, timeout=None)


def users_changed(user_ids: Iterable, using: str | None = None) -> None:
    """Start new generations for these users now, and again once the current transaction (if any) commits."""
    user_ids = list(user_ids)
    if user_ids:
        _new_generations(user_ids)
        transaction.on_commit(lambda: _new_generations(user_ids), using=using)


def cached_user(user_id, load: Callable):
    """The user from the cache if no write came since it was cached, else `load()` (one query), then cached."""
    generation_key, user_key = _generation_key(user_id), _user_key(user_id)
    found = cache.get_many([generation_key, user_key])
    generation = found.get(generation_key)
    entry = found.get(user_key)
    if generation is not None and entry is not None and entry[0] == generation:
        return entry[1]
    if generation is None:  # never set, or evicted: a fresh one orphans any copy cached under an older one
        generation = uuid.uuid4().hex
        if not cache.add(generation_key, generation, timeout=None):
            generation = cache.get(generation_key) or generation
    user = load()
    if user is not None:
        cache.set(user_key, (generation, user), timeout=USER_TIMEOUT)
    return user
