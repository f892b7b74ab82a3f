"""The signed-in user, cached between requests, so that authenticating a request costs no database query; and the
users list, cached per caller and query (bazar/caching.py CachedListMixin).

Each user has a generation (bazar/caching.py); every write to the user's row starts a new one, so a block, role,
plan or password change applies to the next request. Writes reach here through post_save/post_delete
(accounts/signals.py) and UserQuerySet (bulk updates). The users list has one generation for every caller, started
anew by every write to a user and every write to a membership (accounts/signals.py): who a caller sees, and what.
"""

from collections.abc import Callable, Iterable

from bazar.caching import cached_and_counted, list_generation_key, start_new_generations

LIST_CACHE = "users"

# A cached copy lives at most this long: it bounds how stale a copy can get if a write's new generation could not
# reach the cache (Redis unreachable at that very moment, and reachable again with the old copy still in it).
USER_TIMEOUT = 60


def _generation_key(user_id) -> str:
    return f"auth:user:{user_id}:generation"


def users_changed(user_ids: Iterable, using: str | None = None) -> None:
    keys = [_generation_key(pk) for pk in user_ids]
    if keys:
        start_new_generations([*keys, list_generation_key(LIST_CACHE)], using=using)


def cached_user(user_id, load: Callable, counter: tuple[str, int] | None = None) -> tuple:
    """(user, count): the user from the cache if no write came since it was cached, else `load()` (one query),
    then cached; with a counter (key, lifetime), the count it reached, taken in the same cache round trip."""
    key, lifetime = counter or (None, 0)
    return cached_and_counted(f"auth:user:{user_id}", _generation_key(user_id), load, USER_TIMEOUT, key, lifetime)
