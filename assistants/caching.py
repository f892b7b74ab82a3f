"""The assistants list, cached in Redis per caller and query, and dropped as a whole by every write that could
change what anyone sees in it.

Every entry carries the generation it was built under; a write to an assistant or a membership starts a new
generation, so older entries are never served again. It does so again once its transaction commits: the generation
is read before the rows are, so a list built while the write was not yet visible carries an older generation.
"""

import hashlib
import uuid
from collections.abc import Callable

from django.core.cache import cache
from django.db import transaction

GENERATION_KEY = "assistants:list:generation"
# An entry outlives no write, but a write the cache missed (Redis unreachable at that moment) stales it this long.
ENTRY_TIMEOUT = 60


def _new_generation() -> None:
    cache.set(GENERATION_KEY, uuid.uuid4().hex, timeout=None)


def assistants_changed(using: str | None = None) -> None:
    """Start a new generation now, for reads later in the same transaction, and again once it commits, for lists
    that other requests built from the rows as they were before the commit."""
    _new_generation()
    transaction.on_commit(_new_generation, using=using)


def cached_list(request, build: Callable[[], dict]) -> dict:
    """The list page `build` makes for this request, from the cache when no write came since it was made."""
    user = request.user
    # The role decides the scope (staff see every assistant); memberships are covered by the generation.
    address = hashlib.sha256(request.build_absolute_uri().encode()).hexdigest()
    key = f"assistants:list:{user.pk}:{user.role}:{address}"
    found = cache.get_many([GENERATION_KEY, key])
    generation = found.get(GENERATION_KEY)
    if generation is None:  # never set, or evicted: a fresh one orphans whatever was cached before
        generation = uuid.uuid4().hex
        if not cache.add(GENERATION_KEY, generation, timeout=None):
            generation = cache.get(GENERATION_KEY) or generation
    entry = found.get(key)
    if entry is not None and entry[0] == generation:
        return entry[1]
    data = build()
    cache.set(key, (generation, data), timeout=ENTRY_TIMEOUT)
    return data
